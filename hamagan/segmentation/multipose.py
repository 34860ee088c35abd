"""Whole-body poses of up to six people: MoveNet MultiPose Lightning (``movenet_multipose_lightning.tflite``,
Apache-2.0, ``LICENSE-movenet``).

Trained on COCO's people, it scores most animals and things low where the MediaPipe models take them for
people (benchmarks/README.md, "An animal-versus-person cue from the npm registry"). It sees the photo letterboxed
into a 256x256 square of int32 pixels in 0-255 and returns, per person, 17 keypoints (row, column, score; COCO's
order, nose first) and a person score.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from hamagan.segmentation.runtime import LiteModel

MODEL_PATH = Path(__file__).resolve().parent / "movenet_multipose_lightning.tflite"
KEYPOINTS = 17
SURE_KEYPOINT = 0.2  # a keypoint counts where its score reaches this (MoveNet's own demos draw from 0.2 up)
MIN_SURE_KEYPOINTS = 3  # a pose needs this many sure keypoints to be placed on anyone
PERSON_SCORE = 3 * KEYPOINTS + 4  # each row: the keypoints, then the box (4 values), then the person score


@dataclass(frozen=True)
class Pose:
    """One person: MoveNet's score, and each keypoint's row and column (image pixels) and score."""

    score: float
    rows: np.ndarray
    columns: np.ndarray
    keypoint_scores: np.ndarray

    def lies_on(self, mask: np.ndarray) -> bool:
        """Whether at least ``MIN_SURE_KEYPOINTS`` keypoints are sure and half of those lie on ``mask`` (HxW)."""
        sure = self.keypoint_scores >= SURE_KEYPOINT
        if np.count_nonzero(sure) < MIN_SURE_KEYPOINTS:
            return False
        height, width = mask.shape
        rows = np.clip(self.rows[sure].astype(int), 0, height - 1)
        columns = np.clip(self.columns[sure].astype(int), 0, width - 1)
        return bool(mask[rows, columns].mean() >= 0.5)


class MultiPose:
    """The poses MoveNet finds in an HxWx3 float image in [0, 1]."""

    def __init__(self, model_path: Path = MODEL_PATH, num_threads: int = 2) -> None:
        self._model = LiteModel(model_path, num_threads)

    def __call__(self, image: np.ndarray) -> list[Pose]:
        side = self._model.input_size[0]
        height, width = image.shape[:2]
        scale = side / max(height, width)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = cv2.resize(np.asarray(image, np.float32), size, interpolation=cv2.INTER_AREA)
        square = np.zeros((side, side, 3), np.float32)
        square[:small.shape[0], :small.shape[1]] = np.round(np.clip(small, 0.0, 1.0) * 255)
        (people,) = self._model(square)
        poses = []
        for row in people:
            keypoints = row[:3 * KEYPOINTS].reshape(KEYPOINTS, 3).astype(np.float64)
            poses.append(Pose(float(row[PERSON_SCORE]), keypoints[:, 0] * side / scale, keypoints[:, 1] * side / scale,
                              keypoints[:, 2]))
        return poses


def best_score_on(poses: list[Pose], mask: np.ndarray) -> float:
    """The best score of the poses that lie on ``mask`` (:meth:`Pose.lies_on`); 0 where none does."""
    return max((pose.score for pose in poses if pose.lies_on(mask)), default=0.0)
