"""A person's mask inside their body region: MediaPipe's BlazePose full landmark model
(``pose_landmark_full.tflite``, Apache-2.0).

The model sees the region as a 256x256 RGB square in [0, 1] and returns 33 landmarks (plus 6
auxiliary), a pose-presence score and person logits over the square; we use the score and the mask.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from hamagan.segmentation.regions import Region
from hamagan.segmentation.runtime import LiteModel

MODEL_PATH = Path(__file__).resolve().parent / "pose_landmark_full.tflite"
INPUT_SIZE = 256


class BodySegmenter:
    """Pose presence in [0, 1] and person probability over a :class:`Region` of an HxWx3 float image."""

    def __init__(self, model_path: Path = MODEL_PATH, num_threads: int = 2) -> None:
        self._model = LiteModel(model_path, num_threads)

    def __call__(self, image: np.ndarray, region: Region) -> tuple[float, np.ndarray]:
        """(presence, probability over the region at 256x256)."""
        _, presence, logits, *_ = self._model(region.crop(image, INPUT_SIZE))
        probability = cv2.exp(-np.clip(logits[..., 0], -60, 60))
        return float(presence[0]), 1.0 / (1.0 + probability)
