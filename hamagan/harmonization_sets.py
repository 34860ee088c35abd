"""Held-out harmonization composites, drawn the same way on every machine: real photos that no training
sample uses, recoloured on one side of a mask, the real photo the target.

- ``composite_cases(split)``: ``count`` squares drawn by the harmonization engine, both directions in turn,
  every transform (HMH and camera-style), masks from the split's portraits, silhouettes and objects. The
  "validation" photos are the 8 held-out bundled photos and the photo pool's validation split (the photos
  training runs validate on); the "test" photos are the pool's test split, never read by training.
- ``people_cases(split)``: whole photos of people (the pool's photos of people in the split, with the person
  finder's mask, and the split's bundled portraits with their own alpha: the HMH validation portrait, the three
  test portraits), the person or the rest recoloured by each HMH transform: iHarmony4's construction on real
  people.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hamagan import samples
from hamagan.data.builder import validation_portrait
from hamagan.data.harmonization_engine import HarmonizationEngine, HarmonizationSettings
from hamagan.data.hmh import DIRECTIONS, layers_by_direction
from hamagan.data.photo_pool import not_fetched, pool_photos
from hamagan.data.pool_people import pool_people, resized
from hamagan.data.transforms import TRANSFORMS, apply_transform, random_transform
from hamagan.images import to_array
from hamagan.report import HarmonizationCase
from hamagan.training.samples import load_backgrounds

SPLITS = ("validation", "test")
HELD_OUT_BUNDLED = 8  # the last bundled photos, held out by every training config
SEEDS = {"validation": 2311, "test": 4201}


def _check(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return split


def bundled_held_out() -> list[Path]:
    """The bundled photos that every training config holds out (part of the validation split)."""
    return samples.background_paths()[-HELD_OUT_BUNDLED:]


def held_out_photos(split: str) -> list[Path]:
    """The split's photos (see the module docstring); the pool must be fetched."""
    pool = pool_photos(split=_check(split))
    if not pool:
        raise FileNotFoundError(not_fetched(f"the held-out {split} photos are the pool's"))
    bundled = bundled_held_out() if split == "validation" else []
    return bundled + pool


def composite_cases(split: str, count: int = 240, size: int = 512, photos: list[Path] | None = None
                    ) -> list[HarmonizationCase]:
    """``count`` engine composites over the split's photos (directions alternate); ``photos`` replaces them
    (the validation split's bundled photos alone need no photo pool: ``bundled_held_out()``)."""
    photos = load_backgrounds(photos if photos is not None else held_out_photos(split), long_side=1024)
    shapes = [alpha for _, alpha in samples.portrait_cutouts("test" if _check(split) == "test" else "train")]
    settings = HarmonizationSettings(size=size, gamma=(1.0, 1.0), untouched=0.0)
    engine = HarmonizationEngine(photos, shapes, settings, seed=SEEDS[split])
    cases = []
    for position in range(count):
        direction = DIRECTIONS[position % 2]
        drawn = engine(position, direction)
        cases.append(HarmonizationCase(f"{split}-{position:04d}-{drawn.mask}", drawn.layer_fg, drawn.layer_bg,
                                       drawn.alpha, drawn.image, direction, drawn.transform["name"]))
    return cases


def people_photos(split: str, long_side: int = 512) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(id, photo, mask) of the split's photos of people: the split's bundled portraits with their alpha (the
    HMH validation portrait, or the test portraits), pool photos with the person finder's probability
    (:func:`hamagan.data.pool_people.pool_people`)."""
    out = []
    for portrait in samples.TEST_PORTRAITS if _check(split) == "test" else (validation_portrait(),):
        image_path, alpha_path = samples.portrait_paths(portrait)
        image, alpha = (resized(to_array(path, channels), long_side) for path, channels in ((image_path, 3),
                                                                                             (alpha_path, 1)))
        out.append((portrait, image, alpha))
    return out + pool_people(split, long_side)


def people_cases(split: str, draws: int = 2, long_side: int = 512) -> list[HarmonizationCase]:
    """Each photo of people x direction x HMH transform x ``draws`` parameter draws (Reinhard towards the
    split's other held-out photos)."""
    rng = np.random.default_rng(SEEDS[split] + 1)
    targets = load_backgrounds(held_out_photos(split), long_side=long_side)
    cases = []
    for photo_id, photo, mask in people_photos(split, long_side):
        for direction in DIRECTIONS:
            for name in TRANSFORMS:
                for draw in range(draws):
                    params = random_transform(rng, ["photo"], names=(name,))
                    target = targets[int(rng.integers(len(targets)))].astype(np.float32) / 255
                    adjusted = apply_transform(photo, params, target)
                    layer_fg, layer_bg = layers_by_direction(adjusted, photo, direction)
                    cases.append(HarmonizationCase(f"{photo_id}-{direction}-{name}-{draw}", layer_fg, layer_bg, mask,
                                                   photo, direction, name))
    return cases
