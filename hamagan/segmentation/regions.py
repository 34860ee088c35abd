"""Square, rotated regions of an image and the affine maps between them and a model's input."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Region:
    """A square of ``side`` pixels centred at ``center`` (x, y), turned clockwise by ``angle`` radians."""

    center: tuple[float, float]
    side: float
    angle: float = 0.0

    def corners(self) -> np.ndarray:
        """Top-left, top-right and bottom-left corners (3x2, image pixels, corner convention)."""
        cos, sin = math.cos(self.angle), math.sin(self.angle)
        across, down = np.array([cos, sin]) * self.side / 2, np.array([-sin, cos]) * self.side / 2
        centre = np.asarray(self.center)
        return np.stack([centre - across - down, centre + across - down, centre - across + down])

    def from_unit(self, points: np.ndarray) -> np.ndarray:
        """Points (..., 2) in an unturned region's unit square ([0, 1] across, as a model's crop sees it) in image
        pixels."""
        return np.asarray(points) * self.side + self.corners()[0]

    def to_crop(self, size: int) -> np.ndarray:
        """2x3 affine map from image pixel centres to the pixel centres of a ``size`` x ``size`` crop."""
        crop = np.array([[0, 0], [size, 0], [0, size]], np.float64)
        return cv2.getAffineTransform((self.corners() - 0.5).astype(np.float32), (crop - 0.5).astype(np.float32))

    def crop(self, image: np.ndarray, size: int) -> np.ndarray:
        """The region resampled to ``size`` x ``size``; outside the image is black."""
        return cv2.warpAffine(image, self.to_crop(size), (size, size), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)

    def bounds(self, height: int, width: int) -> tuple[int, int, int, int] | None:
        """(top, bottom, left, right) of the region's bounding box inside the image, or None if outside."""
        corners = self.corners()
        points = np.concatenate([corners, corners[1:2] + corners[2:3] - corners[0:1]])
        left, top = np.floor(points.min(0)).astype(int)
        right, bottom = np.ceil(points.max(0)).astype(int)
        top, left, bottom, right = max(top, 0), max(left, 0), min(bottom, height), min(right, width)
        return (top, bottom, left, right) if top < bottom and left < right else None

    def paste(self, crop: np.ndarray, height: int, width: int) -> tuple[np.ndarray, tuple[int, int, int, int]] | None:
        """A crop's values mapped back into the image: (values over the bounding box, that box), or None."""
        box = self.bounds(height, width)
        if box is None:
            return None
        top, bottom, left, right = box
        to_crop = self.to_crop(crop.shape[0]).copy()
        to_crop[:, 2] += to_crop[:, :2] @ np.array([left, top], np.float64)
        values = cv2.warpAffine(crop, to_crop, (right - left, bottom - top),
                                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT,
                                borderValue=0)
        return values, box
