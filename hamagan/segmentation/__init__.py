"""Person segmentation for automatic trimaps: MediaPipe's selfie segmenter (Apache-2.0, ``LICENSE-mediapipe``).

The 250 KB ``selfie_segmentation.tflite`` comes from the ``mediapipe==0.10.21`` wheel
(``mediapipe/modules/selfie_segmentation``) and runs on the light ``ai-edge-litert`` runtime: a 256x256
RGB input in [0, 1], a person probability per pixel out.

A selfie segmenter assumes there is a person and will paint one onto many person-free photos, so
:func:`find_person` keeps its largest region only when it looks like a portrait: a confident region
(mean probability >= 0.92) covering 3-85% of the frame with a clean edge (uncertain pixels at most 35% of
its area). These thresholds were set on the 15 bundled portraits and 40 bundled backgrounds.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

MODEL_PATH = Path(__file__).resolve().parent / "selfie_segmentation.tflite"
MIN_CONFIDENCE = 0.92
AREA_RANGE = (0.03, 0.85)
MAX_UNCERTAIN = 0.35
# 0.2 < p < 0.8 in float32, as the closed bounds that cv2.inRange takes.
_OPEN_INTERVAL = (float(np.nextafter(np.float32(0.2), np.float32(1))),
                  float(np.nextafter(np.float32(0.8), np.float32(0))))


@dataclass
class PersonMask:
    """The segmenter's person probability (HxW in [0, 1], the image's size) and its verdict."""

    probability: np.ndarray
    found: bool
    message: str


class PersonSegmenter:
    """MediaPipe selfie segmentation on ai-edge-litert; one interpreter, calls serialised by a lock."""

    def __init__(self, model_path: Path = MODEL_PATH, num_threads: int = 2) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(model_path=str(model_path), num_threads=num_threads)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]
        self._output = self._interpreter.get_output_details()[0]
        self._lock = threading.Lock()

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Person probability for an HxWx3 float image in [0, 1], at the image's size."""
        height, width = self._input["shape"][1:3]
        small = cv2.resize(np.asarray(image, np.float32), (int(width), int(height)), interpolation=cv2.INTER_AREA)
        with self._lock:
            self._interpreter.set_tensor(self._input["index"], small[None])
            self._interpreter.invoke()
            probability = self._interpreter.get_tensor(self._output["index"])[0, ..., 0].copy()
        full = cv2.resize(probability, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
        return np.clip(full, 0.0, 1.0, out=full)


_DEFAULT: PersonSegmenter | None = None
_DEFAULT_LOCK = threading.Lock()


def default_segmenter() -> PersonSegmenter:
    """The shared segmenter, created on first use."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = PersonSegmenter()
        return _DEFAULT


def find_person(image: np.ndarray, segmenter: PersonSegmenter | None = None) -> PersonMask:
    """The largest person region of an HxWx3 image in [0, 1], or an empty mask and the reason."""
    probability = (segmenter or default_segmenter())(image)
    mask = (probability > 0.5).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count < 2:
        return PersonMask(np.zeros_like(probability), False, "no person found in the image")
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    region = (labels == largest).view(np.uint8)
    pixels = int(stats[largest, cv2.CC_STAT_AREA])
    area = pixels / probability.size
    confidence = cv2.mean(probability, mask=region)[0]
    uncertain = cv2.countNonZero(cv2.inRange(probability, *_OPEN_INTERVAL)) / pixels
    if not (AREA_RANGE[0] <= area <= AREA_RANGE[1] and confidence >= MIN_CONFIDENCE and uncertain <= MAX_UNCERTAIN):
        return PersonMask(np.zeros_like(probability), False,
                          f"no clear person found (largest region {area:.0%} of the frame, confidence "
                          f"{confidence:.2f}); draw or upload a trimap instead")
    # Keep the person region's soft edge; drop other blobs.
    keep = cv2.dilate(region, np.ones((5, 5), np.uint8))
    return PersonMask(cv2.bitwise_and(probability, probability, mask=keep), True, "person found")
