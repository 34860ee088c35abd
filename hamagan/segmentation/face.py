"""Is there a face where the pose detector put a head? MediaPipe's full-range face detector
(``face_detection_full_range_sparse.tflite``, Apache-2.0): a 192x192 square in [-1, 1], one score per
anchor of a 48x48 grid. A second, independent opinion on a pose detection's head."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hamagan.segmentation.regions import Region
from hamagan.segmentation.runtime import LiteModel

MODEL_PATH = Path(__file__).resolve().parent / "face_detection_full_range_sparse.tflite"
INPUT_SIZE = 192
HEAD_MARGIN = 2.5  # side of the square looked at / the head box's longer side


class FaceDetector:
    """The best face score in a square around a box (x0, y0, x1, y1) of an HxWx3 image in [0, 1]: ``margin``
    times the box's longer side (a pose detector's head box: 2.5; a whole person: 1)."""

    def __init__(self, model_path: Path = MODEL_PATH, num_threads: int = 2) -> None:
        self._model = LiteModel(model_path, num_threads)

    def __call__(self, image: np.ndarray, box: np.ndarray, margin: float = HEAD_MARGIN) -> float:
        x0, y0, x1, y1 = (float(v) for v in box)
        region = Region(((x0 + x1) / 2, (y0 + y1) / 2), margin * max(x1 - x0, y1 - y0, 1.0))
        _, logits = self._model(region.crop(image, INPUT_SIZE) * 2.0 - 1.0)
        best = float(np.clip(logits.max(), -100.0, 100.0))
        return 1.0 / (1.0 + float(np.exp(-best)))
