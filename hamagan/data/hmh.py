"""One HMH row: its layers, which of them was adjusted, and how the disharmonious composite is made.

A row holds the real image I, alpha A, foreground F, inpainted background B and the two adjusted layers.
``direction`` (the dataset's ``perturb`` column) names the layer that was recoloured: with "background",
I_d = A·I + (1 − A)·T(B); with "foreground", I_d = A·T(I) + (1 − A)·I. The helpers below work on numpy
arrays and torch tensors alike (alpha broadcast against the layers by the caller).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

if TYPE_CHECKING:
    import datasets

DIRECTIONS = ("background", "foreground")
LAYERS = ("image", "alpha", "foreground", "background", "background_adjusted", "foreground_adjusted")
Array = TypeVar("Array")


def check_direction(direction: str) -> str:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    return direction


def adjusted_coverage(alpha: Array, direction: str) -> Array:
    """Where the adjusted layer shows: the background (1 − alpha) or the portrait (alpha)."""
    return 1 - alpha if check_direction(direction) == "background" else alpha


def layers_by_direction(adjusted: Array, other: Array, direction: str) -> tuple[Array, Array]:
    """(portrait layer, background layer) of a composite whose ``direction`` layer is ``adjusted``."""
    return (other, adjusted) if check_direction(direction) == "background" else (adjusted, other)


def adjusted_layer(foreground: Array, background: Array, direction: str) -> Array:
    """The layer of the two that ``direction`` names."""
    return background if check_direction(direction) == "background" else foreground


def unadjusted_layer(foreground: Array, background: Array, direction: str) -> Array:
    """The layer of the two that ``direction`` leaves as it was."""
    return foreground if check_direction(direction) == "background" else background


def composite(foreground: Array, background: Array, alpha: Array) -> Array:
    """A·F + (1 − A)·B."""
    return alpha * foreground + (1 - alpha) * background


@dataclass
class HMHRow:
    """A decoded row: uint8 layers (alpha HxW, the others HxWx3) and the row's labels."""

    id: str
    source_id: str
    direction: str
    transform: str
    layers: dict[str, np.ndarray]

    @classmethod
    def decode(cls, record: dict) -> HMHRow:
        """A row of a built HMH dataset (``datasets`` record with PIL images)."""
        layers = {name: np.asarray(record[name].convert("L" if name == "alpha" else "RGB")) for name in LAYERS}
        return cls(record["id"], record["source_id"], check_direction(record["perturb"]), record["transform"], layers)

    @property
    def layer_fg(self) -> np.ndarray:
        """The disharmonious composite's portrait layer."""
        return self.layers["foreground_adjusted"]

    @property
    def layer_bg(self) -> np.ndarray:
        """The disharmonious composite's background layer (the real image where the portrait was adjusted)."""
        return self.layers["background_adjusted"] if self.direction == "background" else self.layers["image"]

    def floats(self, name: str) -> np.ndarray:
        """A layer (or ``layer_fg`` / ``layer_bg``) as float32 in [0, 1]."""
        array = getattr(self, name) if name in ("layer_fg", "layer_bg") else self.layers[name]
        return array.astype(np.float32) / 255.0


def load_rows(source: str, split: str) -> datasets.Dataset | None:
    """The ``split`` of an HMH dataset (a folder built by ``hamagan dataset build``, a ``save_to_disk``
    folder, or a Hub id), or None when it has no such split."""
    import datasets

    from hamagan.data.builder import load_built

    path = Path(source)
    if (path / "data").is_dir():
        built = load_built(path)
    elif (path / "dataset_dict.json").exists() or (path / "arrow" / "dataset_dict.json").exists():
        built = datasets.load_from_disk(str(path if (path / "dataset_dict.json").exists() else path / "arrow"))
    elif path.exists():
        raise FileNotFoundError(f"{source}: not a built HMH dataset (no data/ shards or save_to_disk folder)")
    else:
        built = datasets.load_dataset(source)
    return built[split] if split in built else None


def move_sources(train: datasets.Dataset, validation: datasets.Dataset | None,
                 sources: set[str]) -> tuple[datasets.Dataset, datasets.Dataset | None]:
    """Move the rows of the portraits ``sources`` from ``train`` to the end of ``validation`` (a
    cross-validation fold, when the fixed split has too few validation portraits to choose by)."""
    import datasets

    if not sources:
        return train, validation
    ids = train["source_id"]
    missing = sorted(sources - set(ids))
    if missing:
        raise ValueError(f"validation_sources {missing} are not in the training split")
    moved = [i for i, source in enumerate(ids) if source in sources]
    kept = [i for i, source in enumerate(ids) if source not in sources]
    extra = train.select(moved)
    return train.select(kept), extra if validation is None else datasets.concatenate_datasets([validation, extra])


def folds(sources: list[str], count: int, train_on_fold: bool = False) -> list[list[str]]:
    """The portraits each of ``count`` cross-validation runs holds out: one fold of the training portraits
    ``sources`` (sorted, dealt out), or with ``train_on_fold`` all the portraits outside that fold."""
    sources = sorted(set(sources))
    if count < 2 or count > len(sources):
        raise ValueError(f"--folds must be between 2 and the {len(sources)} training portraits, got {count}")
    dealt = [sources[k::count] for k in range(count)]
    return [sorted(set(sources) - set(fold)) for fold in dealt] if train_on_fold else dealt
