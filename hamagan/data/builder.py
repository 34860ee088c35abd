"""Build the HMH dataset (paper section 2.2) from real portraits and their alpha mattes.

Per portrait and variant: a random trimap from the alpha, the foreground colours F, the background B by
OpenCV inpainting of the portrait region (Telea, radius 15), a disharmonious background B_f by one random
transform (Reinhard colour transfer towards another portrait of the same split, an illumination change,
or MSRCR), and the composite I_d = A·I + (1 − A)·B_f. With ``perturb="foreground"`` the portrait is
recoloured instead (I_d = A·T(I) + (1 − A)·I), for the foreground-direction harmonizer.

Rows are written as Parquet shards (image bytes embedded) in the Hub layout, one file per shard, each
written atomically, so an interrupted build resumes where it stopped and a rerun gives the same bytes.
"""

from __future__ import annotations

import json
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import datasets
import numpy as np
import torch
from tqdm import tqdm

from hamagan.compose import estimate_foreground
from hamagan.data.hmh import adjusted_layer, layers_by_direction
from hamagan.data.hmh import composite as blend
from hamagan.data.sources import PortraitItem
from hamagan.data.transforms import apply_transform, random_transform
from hamagan.images import ImageError, array_to_tensor, tensor_to_array, to_pil
from hamagan.trimap import trimap_from_alpha
from hamagan.workers import worker_context

IMAGE_COLUMNS = ("image", "foreground", "background", "background_adjusted", "foreground_adjusted", "composite")
FEATURES = datasets.Features({
    "id": datasets.Value("string"),
    "source_id": datasets.Value("string"),
    **{name: datasets.Image() for name in IMAGE_COLUMNS},
    "alpha": datasets.Image(mode="L"),
    "trimap": datasets.Image(mode="L"),
    "perturb": datasets.Value("string"),
    "transform": datasets.Value("string"),
    "transform_params": datasets.Value("string"),
})


@dataclass
class BuildOptions:
    """How rows are made. ``size`` is the square side (or the long side with ``keep_aspect``)."""

    size: int = 256
    keep_aspect: bool = False
    variants: int = 1
    seed: int = 0
    perturb: str = "background"
    color_space: str = "lalphabeta"
    shard_size: int = 64
    test_fraction: float = 0.1
    validation_fraction: float = 0.1


@dataclass
class BuildReport:
    """What a build wrote and what it skipped (file and reason)."""

    rows: dict[str, int] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)
    shards_reused: int = 0


def _rng(seed: int, source_id: str, variant: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(source_id.encode()), variant])


def _resize(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize to (width, height): area averaging when shrinking, bicubic when enlarging."""
    shrinking = size[0] * size[1] < array.shape[0] * array.shape[1]
    out = cv2.resize(array, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)
    return np.clip(out, 0, 1).astype(np.float32)


def quantize(array: np.ndarray) -> np.ndarray:
    """Round to the 8-bit levels the row stores, so every derived layer agrees with the stored ones."""
    return (np.round(np.clip(array, 0, 1) * 255) / 255).astype(np.float32)


def output_size(height: int, width: int, options: BuildOptions) -> tuple[int, int]:
    """(width, height) of the rows made from an image of this size."""
    if not options.keep_aspect:
        return options.size, options.size
    scale = options.size / max(height, width)
    return max(1, round(width * scale)), max(1, round(height * scale))


def inpaint_background(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """B: the portrait region (alpha > 0, grown by 3 px) filled by Telea inpainting, radius 15."""
    mask = cv2.dilate((alpha > 0).astype(np.uint8) * 255, np.ones((7, 7), np.uint8))
    filled = cv2.inpaint(np.round(image * 255).astype(np.uint8), mask, 15, cv2.INPAINT_TELEA)
    return filled.astype(np.float32) / 255.0


def make_row(item_id: str, image: np.ndarray, alpha: np.ndarray, variant: int, targets: dict[str, PortraitItem],
             options: BuildOptions) -> dict:
    """One HMH row from a full-size image and alpha (float32 in [0, 1])."""
    rng = _rng(options.seed, item_id, variant)
    size = output_size(*alpha.shape, options)
    image, alpha = quantize(_resize(image, size)), quantize(_resize(alpha, size))
    radius = int(rng.integers(1, 21)) * max(size) / 320
    trimap = trimap_from_alpha(alpha, radius)
    foreground = tensor_to_array(estimate_foreground(array_to_tensor(image), array_to_tensor(alpha)))
    background = inpaint_background(image, alpha)
    candidates = sorted(t for t in targets if t != item_id)
    params = random_transform(rng, candidates, options.color_space)
    target = None
    while params["name"] == "reinhard":
        try:
            target_image, _ = targets[params["target_id"]].load()
        except (ImageError, OSError, ValueError):  # reported by its own row; draw another transform
            candidates.remove(params["target_id"])
            params = random_transform(rng, candidates, options.color_space)
            continue
        target = _resize(target_image, output_size(*target_image.shape[:2], options))
        break
    adjusted = quantize(apply_transform(adjusted_layer(image, background, options.perturb), params, target))
    foreground_adjusted, layer_bg = layers_by_direction(adjusted, image, options.perturb)
    composite = blend(foreground_adjusted, layer_bg, alpha[..., None])
    background_adjusted = adjusted if options.perturb == "background" else background
    params_json = json.dumps({k: v for k, v in params.items() if k != "name"} | {"trimap_radius": radius},
                             sort_keys=True)
    return {
        "id": f"{item_id}-v{variant}", "source_id": item_id,
        "image": to_pil(image), "alpha": to_pil(alpha), "trimap": to_pil(trimap),
        "foreground": to_pil(foreground), "background": to_pil(background),
        "background_adjusted": to_pil(background_adjusted), "foreground_adjusted": to_pil(foreground_adjusted),
        "composite": to_pil(composite), "perturb": options.perturb, "transform": params["name"],
        "transform_params": params_json,
    }


def assign_splits(ids: list[str], test_ids: set[str] | None, options: BuildOptions) -> dict[str, str]:
    """Split by source portrait: the given test ids (else a seeded 10%), then a seeded validation share."""
    ordered = sorted(ids)
    rng = np.random.default_rng(options.seed)
    if test_ids is None:
        shuffled = list(rng.permutation(ordered))
        test_ids = set(shuffled[:max(1, round(len(ordered) * options.test_fraction))]) if len(ordered) > 1 else set()
    rest = [i for i in ordered if i not in test_ids]
    n_validation = max(1, round(len(rest) * options.validation_fraction)) if len(rest) >= 2 else 0
    validation = set(list(rng.permutation(rest))[:n_validation])
    return {i: "test" if i in test_ids else "validation" if i in validation else "train" for i in ordered}


def validation_portrait() -> str:
    """The bundled portrait that the HMH build puts in its validation split (held out by every training recipe)."""
    from hamagan import samples

    splits = assign_splits(samples.portrait_ids("all"), set(samples.TEST_PORTRAITS), BuildOptions())
    return next(i for i, split in splits.items() if split == "validation")


# Per-process build state: set in the parent for in-process builds, and by _init_worker in the workers
# (forked from a preloaded server, or spawned: never forked from this process, whose threads may run).
_STATE: dict = {}


def _init_worker(state: dict) -> None:
    torch.set_num_threads(1)
    _STATE.update(state)


def _shard_name(split: str, index: int, total: int) -> str:
    return f"{split}-{index:05d}-of-{total:05d}"


def _build_shard(task: tuple[str, int, int, list[str]]) -> tuple[str, int, list[dict[str, str]]]:
    split, index, total, ids = task
    items, targets, options, out = _STATE["items"], _STATE["targets"][split], _STATE["options"], _STATE["out"]
    rows, skipped = [], []
    for item_id in ids:
        item = items[item_id]
        try:
            image, alpha = item.load()
            for variant in range(options.variants):
                rows.append(make_row(item_id, image, alpha, variant, targets, options))
        except (ImageError, OSError, ValueError) as exc:
            skipped.append({"file": item.origin, "reason": str(exc)})
    name = _shard_name(split, index, total)
    if rows:
        tmp = out / "data" / f".{name}.parquet.tmp"
        datasets.Dataset.from_list(rows, features=FEATURES).to_parquet(str(tmp))
        tmp.replace(out / "data" / f"{name}.parquet")
    (out / ".build" / f"{name}.json").write_text(json.dumps({"rows": len(rows), "skipped": skipped}))
    return split, len(rows), skipped


def build_dataset(items: list[PortraitItem], out: Path, options: BuildOptions, test_ids: set[str] | None = None,
                  num_proc: int = 1, progress: bool = True) -> BuildReport:
    """Write the Parquet shards of every split under ``out/data`` (resuming finished shards)."""
    if not items:
        raise ValueError("the source holds no portraits")
    out = Path(out)
    wanted, recorded = json.dumps(asdict(options), sort_keys=True), out / ".build" / "options.json"
    if recorded.exists() and recorded.read_text() != wanted:  # resuming would mix two builds' shards
        raise ValueError(f"{out} holds a build with other options ({recorded.read_text()}); build into a new "
                         "folder, or delete this one first")
    (out / "data").mkdir(parents=True, exist_ok=True)
    (out / ".build").mkdir(exist_ok=True)
    recorded.write_text(wanted)
    by_id = {item.source_id: item for item in items}
    splits = assign_splits(list(by_id), test_ids, options)
    tasks = []
    for split in ("train", "validation", "test"):
        ids = [i for i, s in splits.items() if s == split]
        chunks = [ids[k:k + options.shard_size] for k in range(0, len(ids), options.shard_size)]
        tasks += [(split, k, len(chunks), chunk) for k, chunk in enumerate(chunks)]
    targets = {s: {i: by_id[i] for i, v in splits.items() if v == s} for s in ("train", "validation", "test")}
    state = {"items": by_id, "options": options, "out": out, "targets": targets}
    _STATE.update(state)
    report = BuildReport()
    pending = []
    datasets.disable_progress_bars()
    for task in tasks:
        marker = out / ".build" / f"{_shard_name(*task[:3])}.json"
        if marker.exists():
            done = json.loads(marker.read_text())
            report.rows[task[0]] = report.rows.get(task[0], 0) + done["rows"]
            report.skipped += done["skipped"]
            report.shards_reused += 1
        else:
            pending.append(task)
    bar = tqdm(total=sum(len(t[3]) for t in pending), desc="HMH portraits", unit="portrait", disable=not progress)
    if num_proc > 1 and len(pending) > 1:
        context = worker_context(["torch", "cv2", "datasets", __name__])
        with ProcessPoolExecutor(num_proc, mp_context=context, initializer=_init_worker, initargs=(state,)) as pool:
            results = pool.map(_build_shard, pending)
            for task, result in zip(pending, results, strict=True):
                _collect(report, result)
                bar.update(len(task[3]))
    else:
        for task in pending:
            _collect(report, _build_shard(task))
            bar.update(len(task[3]))
    bar.close()
    _STATE.clear()
    return report


def _collect(report: BuildReport, result: tuple[str, int, list[dict[str, str]]]) -> None:
    split, rows, skipped = result
    report.rows[split] = report.rows.get(split, 0) + rows
    report.skipped += skipped


def load_built(out: Path) -> datasets.DatasetDict:
    """The built shards as a DatasetDict (splits with no rows are left out)."""
    files = {split: sorted(str(p) for p in (Path(out) / "data").glob(f"{split}-*.parquet"))
             for split in ("train", "validation", "test")}
    files = {k: v for k, v in files.items() if v}
    loaded = datasets.load_dataset("parquet", data_files=files)
    return datasets.DatasetDict({k: loaded[k].cast(FEATURES) for k in files})
