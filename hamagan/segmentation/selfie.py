"""MediaPipe's selfie segmenter (``selfie_segmentation.tflite``, Apache-2.0): a 256x256 RGB input in
[0, 1], a person probability per pixel out. Made for people within about 2 m of the camera, so it is
run on the whole photo (squashed to 256x256, as MediaPipe does) and again on squares framed around
each person the detector or the first pass found."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from hamagan.segmentation.regions import Region
from hamagan.segmentation.runtime import LiteModel

MODEL_PATH = Path(__file__).resolve().parent / "selfie_segmentation.tflite"


class SelfieSegmenter:
    """Person probability of an HxWx3 float image in [0, 1], whole or in a square region."""

    def __init__(self, model_path: Path = MODEL_PATH, num_threads: int = 2) -> None:
        self._model = LiteModel(model_path, num_threads)

    def in_crop(self, crop: np.ndarray, mirror: bool = False) -> np.ndarray:
        """Probability over a crop already at the model's input size; ``mirror``: of the mirrored crop,
        mirrored back."""
        if not mirror:
            return np.ascontiguousarray(self._model(crop)[0][..., 0])
        return np.ascontiguousarray(self._model(np.ascontiguousarray(crop[:, ::-1]))[0][:, ::-1, 0])

    def __call__(self, image: np.ndarray, mirror: bool = False) -> np.ndarray:
        """Probability over the whole image (squashed to the model's input), at the image's size."""
        height, width = self._model.input_size
        small = cv2.resize(np.asarray(image, np.float32), (width, height), interpolation=cv2.INTER_AREA)
        full = cv2.resize(self.in_crop(small, mirror), (image.shape[1], image.shape[0]),
                          interpolation=cv2.INTER_LINEAR)
        return np.clip(full, 0.0, 1.0, out=full)

    def in_region(self, image: np.ndarray, region: Region, mirror: bool = False) -> np.ndarray:
        """Probability over a square region of the image, at the model's input size."""
        return self.in_crop(region.crop(image, self._model.input_size[0]), mirror)
