"""Bundled real sample data: 15 portraits with soft alpha mattes (P3M, MIT) and 40 background photos.

Licences and provenance are in ``portraits/SOURCES.md``, ``portraits/LICENSE-P3M`` and
``backgrounds/SOURCES.md`` beside this file. The portraits' fixed split keeps three for testing only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
PORTRAITS = ROOT / "portraits"
BACKGROUNDS = ROOT / "backgrounds"
TEST_PORTRAITS = ("p_09ba26b4", "p_818e689d", "p_bd6af989")
BARE_PORTRAIT = PORTRAITS / "astronaut-no-alpha.png"


def portrait_ids(split: str = "all") -> list[str]:
    """Portrait ids of the "train", "test" or "all" split, sorted."""
    ids = sorted(p.stem for p in (PORTRAITS / "image").glob("*.jpg"))
    if split == "all":
        return ids
    if split == "test":
        return [i for i in ids if i in TEST_PORTRAITS]
    if split == "train":
        return [i for i in ids if i not in TEST_PORTRAITS]
    raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")


def portrait_paths(portrait_id: str) -> tuple[Path, Path]:
    """(image, alpha) paths of one bundled portrait."""
    return PORTRAITS / "image" / f"{portrait_id}.jpg", PORTRAITS / "alpha" / f"{portrait_id}.png"


def portrait_cutouts(split: str = "train") -> list[tuple[np.ndarray, np.ndarray]]:
    """(image HxWx3, alpha HxW) float32 arrays in [0, 1] of the split's portraits: the matting engine's cut-outs."""
    from hamagan.images import to_array

    return [(to_array(image, 3), to_array(alpha, 1)) for image, alpha in map(portrait_paths, portrait_ids(split))]


def background_paths() -> list[Path]:
    """The 40 bundled background photos, sorted by name."""
    return sorted(BACKGROUNDS.glob("*.jpg"))
