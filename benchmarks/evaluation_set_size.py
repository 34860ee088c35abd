"""What a test of a few portraits can say: the harmonization fMSE cut over every subset of held-out portraits.

    python -m benchmarks.evaluation_set_size \
        --fold-models data/hmh-background=runs/cv-cutout/cutout \
        --fold-models data/hmh-foreground=runs/cv-foreground-cutout/half --portraits 3 --goal 60

Each ``DATASET=FOLDER/ARM`` scores the fold models ``FOLDER/ARM-fold{k}/final`` of a ``train/cross_validate.py``
run on the rows of the portraits each fold held out (as ``harmonization_by_transform.py --cross-validation``).
The script prints each held-out portrait's cut (both datasets' rows together), the cut over all of them, and
how the cut spreads over every subset of ``--portraits`` portraits: the size of the project's test split.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from benchmarks.harmonization_by_transform import Groups, score
from hamagan import HaMaGANPipeline


def cut(groups: Groups, portraits) -> float:
    """Percent change of the mean fMSE over the rows of ``portraits`` (ours against the composite's)."""
    mine = [x for (_, p), group in groups.items() if p in portraits for x in group[0]]
    theirs = [x for (_, p), group in groups.items() if p in portraits for x in group[1]]
    return 100 * (np.mean(mine) / np.mean(theirs) - 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fold-models", action="append", required=True, metavar="DATASET=FOLDER/ARM")
    parser.add_argument("--portraits", type=int, default=3, help="subset size (the test split's portraits)")
    parser.add_argument("--goal", type=float, default=60, help="the cut to meet, in percent")
    args = parser.parse_args()
    groups: Groups = defaultdict(lambda: ([], []))
    for spec in args.fold_models:
        dataset, models = spec.split("=", 1)
        folder, arm = Path(models).parent, Path(models).name
        folds = json.loads((folder / "results.json").read_text())["folds"]
        for k, held_out in enumerate(folds):
            pipe = HaMaGANPipeline.from_pretrained(str(folder / f"{arm}-fold{k}" / "final"))
            score([pipe], dataset, "train", groups, "portrait", set(held_out))
    portraits = sorted({p for _, p in groups})
    print("| portrait | change |\n|---|---|")
    for p in portraits:
        print(f"| {p} | {cut(groups, {p}):+.0f}% |")
    print(f"| all {len(portraits)} | {cut(groups, set(portraits)):+.0f}% |")
    cuts = np.array([cut(groups, set(s)) for s in itertools.combinations(portraits, args.portraits)])
    low, median, high = np.percentile(cuts, [10, 50, 90])
    print(f"\nOver the {len(cuts)} subsets of {args.portraits} portraits: from {cuts.min():+.0f}% to "
          f"{cuts.max():+.0f}% (10th / 50th / 90th percentile {low:+.0f}% / {median:+.0f}% / {high:+.0f}%); "
          f"{np.mean(cuts <= -args.goal):.0%} of them meet -{args.goal:.0f}%.")


if __name__ == "__main__":
    main()
