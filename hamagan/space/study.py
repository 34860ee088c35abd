"""MOS study items: made once from a dataset's test split and checkpoints, stored with the study.

    python -m hamagan.space.study --dataset data/hmh-background --checkpoint "ours (default)=DEFAULT" \\
        --checkpoint "after the joint stage=runs/default-cpu-v2/final" --rows 12 --out hamagan/space/study

Each test row gives one image per method: the plain composite, Reinhard's transfer, each checkpoint's
harmonization, and the real photo as a reference. ``items.json`` records which method made each image;
raters never see it. Each rater gets every item once in an order drawn from their id, plus a few items
shown again later (separate slots) to measure consistency.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from hamagan.images import to_pil
from hamagan.pipeline import HaMaGANPipeline
from hamagan.report import labelled_checkpoint, load_harmonization_cases, pipeline_harmonizer, reinhard_region

BUNDLED_STUDY = Path(__file__).resolve().parent / "study"
QUESTION = ("Are the foreground and background coordinated and realistic? "
            "1 (bad), 2 (poor), 3 (fair), 4 (good), 5 (excellent)")


@dataclass(frozen=True)
class Item:
    item_id: str
    method: str
    source_id: str
    image: str


@dataclass(frozen=True)
class Slot:
    slot: int
    item: Item
    repeat: bool


class Study:
    """A folder with ``items.json`` and ``images/``."""

    def __init__(self, folder: Path, repeats: int = 4) -> None:
        self.folder = Path(folder)
        meta = json.loads((self.folder / "items.json").read_text())
        self.study_id: str = meta["study_id"]
        self.items = [Item(**i) for i in meta["items"]]
        self.by_id = {i.item_id: i for i in self.items}
        self.repeats = min(repeats, len(self.items))

    def image_path(self, item: Item) -> Path:
        return self.folder / item.image

    def plan(self, rater_id: str) -> list[Slot]:
        """The rater's presentation: every item once in a rater-specific order, repeats in the second half."""
        seed = int(hashlib.sha256(f"{self.study_id}/{rater_id}".encode()).hexdigest()[:16], 16)
        rng = random.Random(seed)
        order = list(self.items)
        rng.shuffle(order)
        half = len(order) // 2
        repeated = rng.sample(order[:half] or order, self.repeats)
        second = order[half:] + repeated
        rng.shuffle(second)
        sequence = order[:half] + second
        shown: set[str] = set()
        slots = []
        for index, item in enumerate(sequence):
            slots.append(Slot(index, item, item.item_id in shown))
            shown.add(item.item_id)
        return slots


def build_study(dataset: Path, checkpoints: dict[str, str | None], out: Path, rows: int = 12, seed: int = 0,
                long_side: int = 512) -> Study:
    """Write the study's images (JPEG, long side ``long_side``) and ``items.json`` to ``out``."""
    cases = load_harmonization_cases(dataset)
    random.Random(seed).shuffle(cases)
    cases = cases[:rows]
    methods = {"composite": lambda c: c.composite, "reinhard": reinhard_region,
               **{label: pipeline_harmonizer(HaMaGANPipeline.from_pretrained(path))
                  for label, path in checkpoints.items()},
               "real": lambda c: c.real}
    (out / "images").mkdir(parents=True, exist_ok=True)
    items = []
    for case in tqdm(cases, desc="study items", unit="row"):
        for method, make in methods.items():
            image = to_pil(np.asarray(make(case)))
            image.thumbnail((long_side, long_side))
            item_id = hashlib.sha256(f"{case.case_id}/{method}".encode()).hexdigest()[:10]
            name = f"images/{item_id}.jpg"
            image.save(out / name, quality=92)
            items.append({"item_id": item_id, "method": method, "source_id": case.case_id, "image": name})
    study_id = f"{dataset.name}-{len(cases)}x{len(methods)}-seed{seed}"
    (out / "items.json").write_text(json.dumps({"study_id": study_id, "question": QUESTION,
                                                "methods": list(methods), "items": items}, indent=1))
    return Study(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, help="built HMH dataset; its test split is used")
    parser.add_argument("--checkpoint", action="append", default=[],
                        help="LABEL=PATH_OR_REPO (DEFAULT = the bundled model); repeat for several methods")
    parser.add_argument("--rows", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(BUNDLED_STUDY))
    args = parser.parse_args(argv)
    checkpoints = dict(labelled_checkpoint(value) for value in args.checkpoint or ["ours=DEFAULT"])
    study = build_study(Path(args.dataset), checkpoints, Path(args.out), args.rows, args.seed)
    print(f"wrote {len(study.items)} items to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
