"""The photo pool's photos of people with the person finder's soft mask: real people under real masks.

Harmonization composites made from them recolour a real person or the real scene around one, as iHarmony4 and
the held-out people sets do. Training reads the pool's train split; validation and test theirs. Photos where
the finder finds nobody are left out.
"""

from __future__ import annotations

import cv2
import numpy as np

from hamagan.data.photo_pool import pool_photos
from hamagan.images import to_array


def resized(image: np.ndarray, long_side: int) -> np.ndarray:
    """``image`` scaled so its long side is ``long_side`` pixels."""
    scale = long_side / max(image.shape[:2])
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


def pool_people(split: str, long_side: int = 512) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, photo HxWx3 float32 in [0, 1], mask HxW float32 in [0, 1]) of the pool's photos of people in
    ``split``; empty when the pool is not fetched."""
    from hamagan.segmentation import find_people

    out = []
    for path in pool_photos(role="people", split=split):
        photo = resized(to_array(path, 3), long_side).astype(np.float32)
        found = find_people(photo)
        if found.found:
            mask = cv2.resize(found.probability.astype(np.float32), photo.shape[1::-1], interpolation=cv2.INTER_LINEAR)
            out.append((path.stem, photo, np.clip(mask, 0, 1)))
    return out
