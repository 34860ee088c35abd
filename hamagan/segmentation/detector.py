"""People in a photo: MediaPipe's BlazePose detector (``pose_detection.tflite``, Apache-2.0).

The detector sees a 224x224 square in [-1, 1] and scores 2254 SSD anchors. Each detection holds a head
box and four alignment points: the hip centre, a point whose distance from it is the radius of the
circle around the whole body, the shoulder centre, and the same for the upper body. From the first two
comes the square, rotated region (:class:`Region`) that the landmark model was trained to see.

Small people are a few pixels to one 224 square, so :func:`detection_views` also looks through
overlapping squares of a wide or large photo; detections of all views are merged by weighted
non-maximum suppression, as MediaPipe does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hamagan.segmentation.regions import Region
from hamagan.segmentation.runtime import LiteModel

MODEL_PATH = Path(__file__).resolve().parent / "pose_detection.tflite"
INPUT_SIZE = 224
# MediaPipe's SSD anchor layout for this model: strides 8, 16, 32 (three layers), two anchors per cell each.
_ANCHOR_LAYERS = ((8, 2), (16, 2), (32, 6))
BODY_SCALE = 1.25  # the margin around the body circle that the landmark model expects
MERGE_IOU = 0.3


@dataclass(frozen=True)
class PersonDetection:
    """One detected person: score, head box (x0, y0, x1, y1) and alignment points (4x2), image pixels."""

    score: float
    box: np.ndarray
    keypoints: np.ndarray

    def body_region(self) -> Region:
        """The square around the whole body, turned upright, as the landmark model expects it."""
        (hip_x, hip_y), (top_x, top_y) = self.keypoints[0], self.keypoints[1]
        radius = math.hypot(top_x - hip_x, top_y - hip_y)
        angle = math.pi / 2 - math.atan2(-(top_y - hip_y), top_x - hip_x)
        angle = (angle + math.pi) % (2 * math.pi) - math.pi
        return Region((float(hip_x), float(hip_y)), 2 * radius * BODY_SCALE, angle)


def _anchor_centres() -> np.ndarray:
    centres = []
    for stride, per_cell in _ANCHOR_LAYERS:
        cells = INPUT_SIZE // stride
        y, x = np.mgrid[0:cells, 0:cells]
        grid = (np.stack([x, y], -1).reshape(-1, 1, 2) + 0.5) / cells
        centres.append(np.repeat(grid, per_cell, axis=1).reshape(-1, 2))
    return np.concatenate(centres).astype(np.float32)


ANCHORS = _anchor_centres()


def detection_views(height: int, width: int) -> list[Region]:
    """Squares the detector looks through: where the photo is more than 1.25 times as long as it is wide,
    overlapping squares of its short side along its long side; otherwise the whole photo, letterboxed."""
    short, long = min(height, width), max(height, width)
    count = math.ceil(long / short - 0.25) if long > 1.25 * short else 0
    if count < 2:
        return [Region((width / 2, height / 2), float(long))]
    views = []
    for i in range(count):
        along = short / 2 + i * (long - short) / (count - 1)
        views.append(Region((along, height / 2) if width >= height else (width / 2, along), float(short)))
    return views


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one box (x0, y0, x1, y1) with each of ``boxes`` (Nx4)."""
    low = np.maximum(box[:2], boxes[:, :2])
    high = np.minimum(box[2:], boxes[:, 2:])
    inter = np.prod(np.clip(high - low, 0, None), axis=1)
    area = lambda b: np.prod(b[..., 2:] - b[..., :2], axis=-1)  # noqa: E731
    return inter / np.maximum(area(box) + area(boxes) - inter, 1e-9)


def merge_detections(detections: list[PersonDetection]) -> list[PersonDetection]:
    """Weighted non-maximum suppression: overlapping detections (IoU > 0.3) become their score-weighted mean."""
    if not detections:
        return []
    scores = np.array([d.score for d in detections])
    boxes = np.stack([d.box for d in detections])
    points = np.stack([d.keypoints for d in detections])
    remaining = np.argsort(-scores, kind="stable")
    merged = []
    while remaining.size:
        overlap = box_iou(boxes[remaining[0]], boxes[remaining]) > MERGE_IOU
        group = remaining[overlap]
        weights = scores[group] / scores[group].sum()
        merged.append(PersonDetection(float(scores[remaining[0]]), np.tensordot(weights, boxes[group], 1),
                                      np.tensordot(weights, points[group], 1)))
        remaining = remaining[~overlap]
    return merged


def merge_apart(detections: list[PersonDetection], strong: float) -> list[PersonDetection]:
    """The detections of at least ``strong`` merged among themselves (:func:`merge_detections`), so that weaker
    boxes never shift them, then the weaker ones merged among themselves, less those where a strong one is."""
    sure = merge_detections([d for d in detections if d.score >= strong])
    weaker = [d for d in merge_detections([d for d in detections if d.score < strong])
              if not any(box_iou(d.box, s.box[None])[0] > MERGE_IOU for s in sure)]
    return sure + weaker


class PoseDetector:
    """People in an HxWx3 float image in [0, 1], as :class:`PersonDetection` in image pixels."""

    def __init__(self, model_path: Path = MODEL_PATH, num_threads: int = 2) -> None:
        self._model = LiteModel(model_path, num_threads)

    def detect_in(self, image: np.ndarray, view: Region, min_score: float) -> list[PersonDetection]:
        """Detections in one square view of the image."""
        raw, logits = self._model(view.crop(image, INPUT_SIZE) * 2.0 - 1.0)
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits[:, 0].astype(np.float64), -100, 100)))
        keep = np.flatnonzero(scores >= min_score)
        if keep.size == 0:
            return []
        offsets = raw[keep].reshape(-1, 6, 2) / INPUT_SIZE
        centre = offsets[:, 0] + ANCHORS[keep]
        half = offsets[:, 1] / 2
        points = offsets[:, 2:] + ANCHORS[keep, None]
        boxes = np.concatenate([view.from_unit(centre - half), view.from_unit(centre + half)], axis=1)
        return [PersonDetection(float(s), b, view.from_unit(k))
                for s, b, k in zip(scores[keep], boxes, points, strict=True)]

    def unmerged(self, image: np.ndarray, min_score: float, views: list[Region] | None = None
                 ) -> list[PersonDetection]:
        """Every detection over ``views`` (default: :func:`detection_views`), before merging."""
        views = views if views is not None else detection_views(*image.shape[:2])
        return [d for view in views for d in self.detect_in(image, view, min_score)]

    def __call__(self, image: np.ndarray, min_score: float = 0.5, views: list[Region] | None = None
                 ) -> list[PersonDetection]:
        """Merged detections over ``views`` (default: :func:`detection_views`), best first."""
        return merge_detections(self.unmerged(image, min_score, views))
