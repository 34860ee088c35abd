"""Is there a face where the pose detector put a head? Two MediaPipe models (Apache-2.0):

- the full-range face detector (``face_detection_full_range_sparse.tflite``): a 192x192 square in [-1, 1], one
  score and one box per anchor of a 48x48 grid;
- the face mesh (``face_landmark.tflite``): 468 landmarks and a face-presence score for a 192x192 square in
  [0, 1] framed on a face, as MediaPipe frames it (the detector's box, enlarged 1.5 times).

The detector alone takes a butterfly's wings or a flower's heart for a face; the mesh, framed on what it
found, does not (benchmarks/README.md, "Automatic trimaps"). A face counts by the lower of the two scores.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hamagan.segmentation.regions import Region
from hamagan.segmentation.runtime import LiteModel

MODEL_PATH = Path(__file__).resolve().parent / "face_detection_full_range_sparse.tflite"
MESH_PATH = Path(__file__).resolve().parent / "face_landmark.tflite"
INPUT_SIZE = 192
GRID = 48
MESH_MARGIN = 1.5  # side of the face mesh's square / the detected face box's longer side
HEAD_MARGIN = 2.5  # side of the square looked at / the head box's longer side
_ANCHORS = (np.stack(np.mgrid[0:GRID, 0:GRID][::-1], -1).reshape(-1, 2) + 0.5) / GRID  # (x, y) per anchor


def _sigmoid(logit: float) -> float:
    return 1.0 / (1.0 + float(np.exp(-np.clip(logit, -100.0, 100.0))))


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
        raw, logits = self._model(region.crop(image, INPUT_SIZE) * 2.0 - 1.0)
        best = int(np.argmax(logits[:, 0]))
        score = _sigmoid(float(logits[best, 0]))
        if score < self.verify_from:
            return score
        centre = raw[best, :2] / INPUT_SIZE + _ANCHORS[best]
        size = float(raw[best, 2:4].max()) / INPUT_SIZE
        (left, top) = region.corners()[0]
        face = Region((float(left + centre[0] * region.side), float(top + centre[1] * region.side)),
                      MESH_MARGIN * size * region.side)
        _, presence = self._mesh(face.crop(image, INPUT_SIZE))
        return min(score, _sigmoid(float(presence.ravel()[0])))
