"""Trimaps: reading and checking user trimaps, making them from alpha mattes, and automatic ones.

A trimap has three values: 0 background, 0.5 unknown, 1 foreground (0 / 128 / 255 on disk).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
from scipy import ndimage

from hamagan.images import ImageError, ImageInput, array_to_tensor, describe, to_array


def load_trimap(source: ImageInput, size: tuple[int, int] | None = None) -> torch.Tensor:
    """Read a trimap (array, PIL image or path; 0/128/255 or 0/0.5/1) as a (1, 1, H, W) tensor of 0, 0.5, 1.

    Args:
        source: the trimap.
        size: the image's (height, width), which the trimap must match.

    Raises:
        ImageError: when it is unreadable, of another size, or has values other than the three levels.
    """
    name = describe(source)
    data = to_array(source, channels=1)
    if size is not None and data.shape != tuple(size):
        raise ImageError(f"trimap {name}: size {data.shape[1]}x{data.shape[0]} differs from the image's "
                         f"{size[1]}x{size[0]}")
    # 8-bit files give k/255; 128/255 is the unknown level.
    levels = np.round(data * 255.0)
    valid = (levels == 0) | (levels == 128) | (levels == 255) | (data == 0.5)
    if not valid.all():
        bad = np.unique(levels[~valid])
        shown = ", ".join(str(int(v)) for v in bad[:5])
        raise ImageError(f"trimap {name}: {int((~valid).sum())} pixels have values other than 0/128/255 "
                         f"(or 0/0.5/1), e.g. {shown} on the 0..255 scale")
    trimap = np.where(levels == 0, 0.0, np.where(levels == 255, 1.0, 0.5)).astype(np.float32)
    return array_to_tensor(trimap)


def trimap_from_alpha(alpha: np.ndarray, radius: float) -> np.ndarray:
    """Trimap from an alpha matte: the soft region 0 < alpha < 1, grown by ``radius`` pixels (Euclidean).

    Pixels with alpha == 1 outside the band are foreground, alpha == 0 background.
    """
    unknown = (alpha > 0) & (alpha < 1)
    if unknown.any() and radius > 0:
        unknown = ndimage.distance_transform_edt(~unknown) <= radius
    trimap = np.where(alpha >= 1, 1.0, 0.0).astype(np.float32)
    trimap[unknown] = 0.5
    return trimap


@dataclass
class AutoTrimap:
    """An automatic trimap (HxW of 0 / 0.5 / 1), whether a person was found, and a message for the user."""

    trimap: np.ndarray
    found: bool
    message: str


def auto_trimap(image: ImageInput, band: float = 0.02, segmenter=None) -> AutoTrimap:
    """A trimap for a bare portrait from the person segmenter (:mod:`hamagan.segmentation`).

    Foreground is the confident person region, background the rest, and unknown a band of
    ``band`` x the image's long side on each side of the segmenter's edge, plus its uncertain pixels. A photo
    with no clear person gets an all-background trimap and ``found=False``.
    """
    from hamagan.segmentation import find_person

    pixels = np.clip(to_array(image, channels=3), 0.0, 1.0)
    person = find_person(pixels, segmenter)
    if not person.found:
        return AutoTrimap(np.zeros(pixels.shape[:2], np.float32), False, person.message)
    probability = person.probability
    inside = (probability > 0.5).astype(np.uint8)
    radius = max(1.0, band * max(pixels.shape[:2]))
    # Exact Euclidean distances (OpenCV's precise mask) to the nearest pixel on the other side of the edge.
    distance = cv2.distanceTransform(inside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    np.copyto(distance, cv2.distanceTransform(1 - inside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE), where=inside == 0)
    unknown = (distance <= radius) | ((probability > 0.1) & (probability < 0.9))
    trimap = inside.astype(np.float32)
    trimap[unknown] = 0.5
    return AutoTrimap(trimap, True, person.message)
