"""Scenes with known people, to measure the person finder: bundled portraits cut out by their alpha,
scaled to a share of the frame and placed over real photos (one, two, small, cut by the frame's edge);
and a group photo of small people with real faces (:func:`group_scene`).

A portrait whose matte touches the bottom of its photo (a bust) is placed standing on the frame's
bottom edge, as such a person would be photographed; others anywhere. Deterministic by seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from hamagan.images import to_array
from hamagan.samples import BACKGROUNDS, BARE_PORTRAIT, background_paths, portrait_ids, portrait_paths

FRAME_LONG_SIDE = 1280
ASPECTS = (16 / 9, 3 / 2, 4 / 3, 2 / 3)


@dataclass
class PersonScene:
    """A composite photo (HxWx3 float32 in [0, 1]), its true alpha and how it was made."""

    image: np.ndarray
    alpha: np.ndarray
    people: int
    shares: tuple[float, ...]
    name: str


@dataclass
class Cutout:
    """A portrait cropped to its matte's bounding box, and whether it stands on the photo's bottom edge."""

    image: np.ndarray
    alpha: np.ndarray
    standing: bool


def load_cutout(portrait_id: str) -> Cutout:
    """A bundled portrait cropped to where its alpha exceeds 0.02."""
    image_path, alpha_path = portrait_paths(portrait_id)
    image, alpha = to_array(image_path, channels=3), to_array(alpha_path, channels=1)
    rows, cols = np.flatnonzero((alpha > 0.02).any(1)), np.flatnonzero((alpha > 0.02).any(0))
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    return Cutout(image[top:bottom, left:right], alpha[top:bottom, left:right], bottom >= alpha.shape[0] - 2)


def frame(photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random crop of a photo in one of :data:`ASPECTS`, resized to a long side of :data:`FRAME_LONG_SIDE`."""
    aspect = ASPECTS[rng.integers(len(ASPECTS))]
    height, width = photo.shape[:2]
    crop_w = min(width, int(height * aspect))
    crop_h = min(height, int(crop_w / aspect))
    crop_w = int(crop_h * aspect)
    top, left = rng.integers(0, height - crop_h + 1), rng.integers(0, width - crop_w + 1)
    long = FRAME_LONG_SIDE
    size = (long, round(long / aspect)) if aspect >= 1 else (round(long * aspect), long)
    return cv2.resize(photo[top:top + crop_h, left:left + crop_w], size, interpolation=cv2.INTER_AREA)


def place(background: np.ndarray, alpha_total: np.ndarray, cutout: Cutout, share: float, centre_x: float,
          rng: np.random.Generator, cut: float = 0.0) -> None:
    """Composite ``cutout`` in place so its matte covers ``share`` of the frame, centred at ``centre_x``
    (a fraction of the width); ``cut`` shifts it that fraction of its width past the left or right edge."""
    height, width = background.shape[:2]
    scale = np.sqrt(share * height * width / max(float(cutout.alpha.sum()), 1.0))
    h, w = cutout.alpha.shape
    new_h, new_w = max(2, round(h * scale)), max(2, round(w * scale))
    image = cv2.resize(cutout.image, (new_w, new_h), interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(cutout.alpha, (new_w, new_h), interpolation=cv2.INTER_AREA)
    left = round(centre_x * width - new_w / 2)
    if cut:
        left = round(-cut * new_w) if rng.random() < 0.5 else round(width - (1 - cut) * new_w)
    if new_h > height:  # taller than the frame: keep the head, as a close-up would
        top = 0
    else:
        top = height - new_h if cutout.standing else int(rng.integers(0, height - new_h + 1))
    # Clip the pasted rectangle to the frame.
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + new_h, height), min(left + new_w, width)
    if y0 >= y1 or x0 >= x1:
        return
    a = alpha[y0 - top:y1 - top, x0 - left:x1 - left, None]
    region = background[y0:y1, x0:x1]
    region[:] = a * image[y0 - top:y1 - top, x0 - left:x1 - left] + (1 - a) * region
    alpha_total[y0:y1, x0:x1] = 1 - (1 - alpha_total[y0:y1, x0:x1]) * (1 - a[..., 0])


def make_scene(photo: np.ndarray, cutouts: list[Cutout], shares: list[float], rng: np.random.Generator,
               cut: float = 0.0, name: str = "") -> PersonScene:
    """One scene: ``cutouts`` at ``shares`` of the frame, spread across it left to right."""
    image = frame(photo, rng).copy()
    alpha = np.zeros(image.shape[:2], np.float32)
    slots = (np.arange(len(cutouts)) + 0.5) / len(cutouts)
    for cutout, share, slot in zip(cutouts, shares, slots, strict=True):
        jitter = rng.uniform(-0.15, 0.15) / len(cutouts)
        place(image, alpha, cutout, share, float(np.clip(slot + jitter, 0.1, 0.9)), rng, cut)
    return PersonScene(image, alpha, len(cutouts), tuple(shares), name)


def person_scenes(split: str, seed: int = 0, per_portrait: int = 4) -> list[PersonScene]:
    """Scenes over half of the bundled photos: ``"validation"`` (even positions) or ``"test"`` (odd).

    Per portrait and round: one person at 3-10% of the frame, one at 10-30%, one cut by the frame's edge
    (a third to half outside) and one pair (each 4-20%) with another portrait.
    """
    half = {"validation": 0, "test": 1}[split]
    photos = background_paths()[half::2]
    ids = portrait_ids()
    cutouts = {pid: load_cutout(pid) for pid in ids}
    rng = np.random.default_rng([seed, half])
    scenes = []
    for round_ in range(per_portrait):
        for pid in ids:
            photo = to_array(photos[rng.integers(len(photos))], channels=3)
            other = ids[(ids.index(pid) + 1 + rng.integers(len(ids) - 1)) % len(ids)]
            kind = round_ % 4
            if kind == 0:
                scenes.append(make_scene(photo, [cutouts[pid]], [rng.uniform(0.03, 0.10)], rng, name=f"small {pid}"))
            elif kind == 1:
                scenes.append(make_scene(photo, [cutouts[pid]], [rng.uniform(0.10, 0.30)], rng, name=f"medium {pid}"))
            elif kind == 2:
                scenes.append(make_scene(photo, [cutouts[pid]], [rng.uniform(0.08, 0.25)], rng,
                                         cut=rng.uniform(0.33, 0.5), name=f"edge {pid}"))
            else:
                scenes.append(make_scene(photo, [cutouts[pid], cutouts[other]], list(rng.uniform(0.04, 0.20, 2)), rng,
                                         name=f"two {pid}+{other}"))
    return scenes


def group_scene(photo_side: int, rows: int = 2, per_row: int = 6) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """A group photo of the bundled astronaut (a real, unblurred face): ``rows`` rows of ``per_row`` copies of
    her photo, ``photo_side`` pixels each, over a bundled sky at 640x427; returns the image and each face's
    centre (x, y). Her face spans about a fifth of her photo's side."""
    scene = cv2.resize(to_array(BACKGROUNDS / "mate-Storm.jpg"), (640, 427), interpolation=cv2.INTER_AREA)
    person = cv2.resize(to_array(BARE_PORTRAIT), (photo_side, photo_side), interpolation=cv2.INTER_AREA)
    faces = []
    for row in range(rows):
        for i in range(per_row):
            x, y = 5 + i * (photo_side + 4) + row * 20, 120 + row * (photo_side + 10)
            if x + photo_side > scene.shape[1] or y + photo_side > scene.shape[0]:
                raise ValueError(f"{rows}x{per_row} photos of {photo_side} px do not fit the 640x427 frame")
            scene[y:y + photo_side, x:x + photo_side] = person
            faces.append((int(x + 0.44 * photo_side), int(y + 0.24 * photo_side)))
    return scene, faces
