"""Is there a face where the pose detector put a head? Two MediaPipe models (Apache-2.0):

- the full-range face detector (``face_detection_full_range_sparse.tflite``): a 192x192 square in [-1, 1], one
  score and one box per anchor of a 48x48 grid;
- the face mesh (``face_landmark.tflite``): 468 landmarks and a face-presence score for a 192x192 square in
  [0, 1] framed on a face, as MediaPipe frames it (the detector's box, enlarged 1.5 times).

The detector alone takes a butterfly's wings or a flower's heart for a face; the mesh, framed on what it
found, does not (benchmarks/README.md, "Automatic trimaps"). A face counts by the lower of the two scores.

:meth:`FaceDetector.find` also searches a whole photo, square by square (:func:`face_views`), for the faces of
a group or a crowd, too small for the pose detector's one look at the whole frame.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from hamagan.segmentation.detector import box_iou
from hamagan.segmentation.regions import Region
from hamagan.segmentation.runtime import LiteModel

MODEL_PATH = Path(__file__).resolve().parent / "face_detection_full_range_sparse.tflite"
MESH_PATH = Path(__file__).resolve().parent / "face_landmark.tflite"
INPUT_SIZE = 192
GRID = 48
MESH_MARGIN = 1.5  # side of the face mesh's square / the detected face box's longer side
HEAD_MARGIN = 2.5  # side of the square looked at / the head box's longer side
MERGE_IOU = 0.3
_ANCHORS = (np.stack(np.mgrid[0:GRID, 0:GRID][::-1], -1).reshape(-1, 2) + 0.5) / GRID  # (x, y) per anchor


def _sigmoid(logit: float) -> float:
    return 1.0 / (1.0 + float(np.exp(-np.clip(logit, -100.0, 100.0))))


def face_views(height: int, width: int, side: float) -> list[Region]:
    """Squares of ``side`` pixels that cover the image, neighbours overlapping by at least 15% of a side."""
    def centres(length: int) -> list[float]:
        if length <= side:
            return [length / 2]
        count = math.ceil((length - side) / (0.85 * side)) + 1
        return [side / 2 + i * (length - side) / (count - 1) for i in range(count)]

    return [Region((x, y), float(side)) for y in centres(height) for x in centres(width)]


class FaceDetector:
    """The face score in a square around a box (x0, y0, x1, y1) of an HxWx3 image in [0, 1], ``margin`` times
    the box's longer side (a pose detector's head box: 2.5; a whole person: 1): the best detection's score,
    or, where that reaches ``verify_from``, the lower of it and the face mesh's presence score there."""

    def __init__(self, model_path: Path = MODEL_PATH, mesh_path: Path = MESH_PATH, num_threads: int = 2,
                 verify_from: float = 0.5) -> None:
        self._model = LiteModel(model_path, num_threads)
        self._mesh = LiteModel(mesh_path, num_threads)
        self.verify_from = verify_from

    def __call__(self, image: np.ndarray, box: np.ndarray, margin: float = HEAD_MARGIN) -> float:
        x0, y0, x1, y1 = (float(v) for v in box)
        region = Region(((x0 + x1) / 2, (y0 + y1) / 2), margin * max(x1 - x0, y1 - y0, 1.0))
        scores, boxes = self._detect(image, region)
        best = int(np.argmax(scores))
        if scores[best] < self.verify_from:
            return float(scores[best])
        return min(float(scores[best]), self._presence(image, boxes[best]))

    def find(self, image: np.ndarray, views: list[Region], min_score: float) -> list[tuple[float, np.ndarray]]:
        """Every face in ``views`` whose detector and face-mesh scores both reach ``min_score``, as (the lower
        score, box x0, y0, x1, y1 in image pixels), best first; overlapping detections (IoU > 0.3) count once."""
        detected = [self._detect(image, view) for view in views]
        scores = np.concatenate([s for s, _ in detected])
        boxes = np.concatenate([b for _, b in detected])
        keep = scores >= min_score
        scores, boxes = scores[keep], boxes[keep]
        order = np.argsort(-scores, kind="stable")
        faces = []
        while order.size:
            box = boxes[order[0]]
            score = min(float(scores[order[0]]), self._presence(image, box))
            if score >= min_score:
                faces.append((score, box))
            order = order[1:][box_iou(box, boxes[order[1:]]) <= MERGE_IOU]
        return sorted(faces, key=lambda face: -face[0])

    def _detect(self, image: np.ndarray, region: Region) -> tuple[np.ndarray, np.ndarray]:
        """Every anchor's score and box (x0, y0, x1, y1, image pixels) in a square region."""
        raw, logits = self._model(region.crop(image, INPUT_SIZE) * 2.0 - 1.0)
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits[:, 0].astype(np.float64), -100.0, 100.0)))
        centre = raw[:, :2] / INPUT_SIZE + _ANCHORS
        half = raw[:, 2:4] / INPUT_SIZE / 2
        return scores, np.concatenate([region.from_unit(centre - half), region.from_unit(centre + half)], 1)

    def _presence(self, image: np.ndarray, box: np.ndarray) -> float:
        """The face mesh's presence score, framed on a detected face as MediaPipe frames it."""
        x0, y0, x1, y1 = (float(v) for v in box)
        face = Region(((x0 + x1) / 2, (y0 + y1) / 2), MESH_MARGIN * max(x1 - x0, y1 - y0))
        _, presence = self._mesh(face.crop(image, INPUT_SIZE))
        return _sigmoid(float(presence.ravel()[0]))
