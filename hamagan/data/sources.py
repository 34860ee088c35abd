"""Readers of real portrait + alpha collections. Each lists its items cheaply and loads one on demand.

Layouts: a folder of pairs (``image(s)/`` + ``alpha(s)/``, also P3M-10k's ``original/`` + ``mask/``), the
Kaggle AISegment "Matting Human Datasets" (``clip_img/...jpg`` + ``matting/...png``, alpha in the fourth
channel), and any Hugging Face dataset with an image and an alpha column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from hamagan.images import ImageError, open_image, to_array

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
IMAGE_DIRS = ("image", "images", "original", "blurred_image", "clip_img")
ALPHA_DIRS = ("alpha", "alphas", "mask", "matte", "mattes")


@dataclass
class PortraitItem:
    """One portrait of a source: its id, where it came from, and how to load it."""

    source_id: str
    origin: str
    loader: Callable[[], tuple[np.ndarray, np.ndarray]]

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        """(image HxWx3, alpha HxW) float32 in [0, 1]; raises ImageError naming the problem."""
        image, alpha = self.loader()
        if image.shape[:2] != alpha.shape:
            raise ImageError(f"{self.origin}: alpha size {alpha.shape[1]}x{alpha.shape[0]} differs from the "
                             f"image's {image.shape[1]}x{image.shape[0]}")
        return image, alpha


# Loaders are small picklable classes, so items can travel to spawned worker processes.
@dataclass(frozen=True)
class _MissingAlpha:
    origin: str

    def __call__(self) -> tuple[np.ndarray, np.ndarray]:
        raise ImageError(f"{self.origin}: no alpha matte with the same name")


@dataclass(frozen=True)
class _PairLoader:
    image_path: Path
    alpha_path: Path

    def __call__(self) -> tuple[np.ndarray, np.ndarray]:
        return to_array(self.image_path, 3), to_array(self.alpha_path, 1)


def _listed(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def folder_pairs(root: Path) -> list[PortraitItem]:
    """``root/<image dir>/X.jpg`` with ``root/<alpha dir>/X.png`` (same stem, any image suffix)."""
    image_dir = next((root / d for d in IMAGE_DIRS if (root / d).is_dir()), None)
    alpha_dir = next((root / d for d in ALPHA_DIRS if (root / d).is_dir()), None)
    if image_dir is None or alpha_dir is None:
        raise FileNotFoundError(f"{root}: expected an image folder (one of {IMAGE_DIRS}) and an alpha folder "
                                f"(one of {ALPHA_DIRS})")
    alphas = {p.relative_to(alpha_dir).with_suffix(""): p for p in _listed(alpha_dir)}
    items = []
    for path in _listed(image_dir):
        key = path.relative_to(image_dir).with_suffix("")
        alpha = alphas.get(key)
        loader = _PairLoader(path, alpha) if alpha else _MissingAlpha(str(path))
        items.append(PortraitItem(key.as_posix().replace("/", "__"), str(path), loader))
    return items


@dataclass(frozen=True)
class _AISegmentLoader:
    image_path: Path
    matting_path: Path

    def __call__(self) -> tuple[np.ndarray, np.ndarray]:
        matting = open_image(self.matting_path)
        if matting.mode != "RGBA":
            raise ImageError(f"{self.matting_path}: expected an RGBA matting file (alpha in the fourth channel)")
        alpha = np.asarray(matting.getchannel("A"), dtype=np.float32) / 255.0
        return to_array(self.image_path, 3), alpha


def aisegment(root: Path) -> list[PortraitItem]:
    """Kaggle "AISegment Matting Human Datasets": clip_img/A/clip_B/X.jpg with matting/A/matting_B/X.png."""
    clip_root, matting_root = root / "clip_img", root / "matting"
    if not clip_root.is_dir() or not matting_root.is_dir():
        raise FileNotFoundError(f"{root}: expected clip_img/ and matting/ (the AISegment layout)")
    items = []
    for path in _listed(clip_root):
        relative = path.relative_to(clip_root)
        parts = [p.replace("clip_", "matting_", 1) if p.startswith("clip_") else p for p in relative.parts[:-1]]
        matting = matting_root.joinpath(*parts, relative.stem + ".png")
        loader = _AISegmentLoader(path, matting) if matting.is_file() else _MissingAlpha(str(path))
        items.append(PortraitItem(relative.with_suffix("").as_posix().replace("/", "__"), str(path), loader))
    return items


@lru_cache(maxsize=4)
def _open_hf(path: str, split: str):  # noqa: ANN202 (datasets.Dataset, imported lazily)
    import datasets

    if (Path(path) / "dataset_dict.json").exists() or (Path(path) / "state.json").exists():
        loaded = datasets.load_from_disk(path)
    else:
        loaded = datasets.load_dataset(path)
    return loaded[split] if isinstance(loaded, datasets.DatasetDict) else loaded


@dataclass(frozen=True)
class _HFLoader:
    path: str
    split: str
    index: int
    image_column: str
    alpha_column: str

    def __call__(self) -> tuple[np.ndarray, np.ndarray]:
        row = _open_hf(self.path, self.split)[self.index]
        return to_array(row[self.image_column], 3), to_array(row[self.alpha_column], 1)


def hf_dataset(path: str, image_column: str = "image", alpha_column: str = "alpha",
               split: str = "train") -> list[PortraitItem]:
    """Any Hugging Face dataset (a ``save_to_disk`` folder, a local script/data folder or a Hub id)."""
    table = _open_hf(path, split)
    for column in (image_column, alpha_column):
        if column not in table.column_names:
            raise ValueError(f"{path}: no column {column!r} (columns: {table.column_names})")
    id_column = next((c for c in ("id", "source_id", "name") if c in table.column_names), None)
    ids = table[id_column] if id_column else [f"{index:06d}" for index in range(len(table))]
    return [PortraitItem(str(i), f"{path}[{split}][{n}]", _HFLoader(path, split, n, image_column, alpha_column))
            for n, i in enumerate(ids)]


def open_source(source: str, kind: str = "auto", **options) -> list[PortraitItem]:
    """The items of a source; ``kind`` is "folder", "aisegment", "hf" or "auto" (by the folder's layout)."""
    root = Path(source)
    if kind == "auto":
        if not root.exists():
            kind = "hf"
        elif (root / "clip_img").is_dir():
            kind = "aisegment"
        elif (root / "dataset_dict.json").exists() or (root / "state.json").exists():
            kind = "hf"
        else:
            kind = "folder"
    readers = {"folder": folder_pairs, "aisegment": aisegment}
    items = hf_dataset(source, **options) if kind == "hf" else readers[kind](root)
    if not items:
        raise ValueError(f"{source}: the source holds no portraits")
    return items
