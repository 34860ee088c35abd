"""Harmonization fMSE on HMH composites, by direction and by the transform that made them.

    python benchmarks/harmonization_by_transform.py [--checkpoint PATH_OR_REPO] \
        [--dataset data/hmh-background data/hmh-foreground]
    python benchmarks/harmonization_by_transform.py --cross-validation runs/cv-cutout --arm cutout \
        --dataset data/hmh-background

Where a harmonizer helps and where it hurts: the model's fMSE of the adjusted region against the
unharmonized composite's, grouped by (direction, transform): Reinhard towards another portrait, an
illumination change, or MSRCR. By default the shipped model on the test split; with ``--cross-validation``
(a ``train/cross_validate.py`` output folder) each fold's final model of ``--arm`` on the rows of the
portraits that fold held out (its validation rows without the fixed validation portrait).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from collections.abc import Collection
from pathlib import Path

import numpy as np

from hamagan import HaMaGANPipeline
from hamagan.report import evaluate_harmonization, load_harmonization_cases, pipeline_harmonizer, unharmonized
from hamagan.training.rows import load_rows

Groups = dict[tuple[str, str], tuple[list[float], list[float]]]


def score(pipe: HaMaGANPipeline, dataset: str, split: str, groups: Groups,
          sources: Collection[str] | None = None) -> None:
    """Add the fMSE of ``pipe`` and of the composite on ``split``'s rows (of ``sources`` only, if given)."""
    rows = {row["id"]: row for row in load_rows(dataset, split)}
    cases = [case for case in load_harmonization_cases(Path(dataset), split)
             if sources is None or rows[case.case_id]["source_id"] in sources]
    ours = evaluate_harmonization(pipeline_harmonizer(pipe), cases, "ours")
    plain = evaluate_harmonization(unharmonized, cases, "composite")
    for mine, theirs in zip(ours.rows, plain.rows, strict=True):
        row = rows[mine["id"]]
        group = groups[(row["perturb"], row["transform"])]
        group[0].append(mine["fMSE"])
        group[1].append(theirs["fMSE"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoint", help="default: the bundled model")
    parser.add_argument("--dataset", nargs="+", default=["data/hmh-background", "data/hmh-foreground"])
    parser.add_argument("--cross-validation", type=Path, help="a train/cross_validate.py output folder")
    parser.add_argument("--arm", help="with --cross-validation: whose fold models to score")
    args = parser.parse_args()
    groups: Groups = defaultdict(lambda: ([], []))
    if args.cross_validation:
        folds = json.loads((args.cross_validation / "results.json").read_text())["folds"]
        for k, held_out in enumerate(folds):
            pipe = HaMaGANPipeline.from_pretrained(str(args.cross_validation / f"{args.arm}-fold{k}" / "final"))
            for dataset in args.dataset:
                score(pipe, dataset, "train", groups, set(held_out))
    else:
        pipe = HaMaGANPipeline.from_pretrained(args.checkpoint)
        for dataset in args.dataset:
            score(pipe, dataset, "test", groups)
    print("| direction | transform | composites | fMSE ours | fMSE composite | change |\n|---|---|---|---|---|---|")
    for (direction, transform), (mine, theirs) in sorted(groups.items()):
        ours_mean, plain_mean = np.mean(mine), np.mean(theirs)
        change = 100 * (ours_mean / plain_mean - 1)
        print(f"| {direction} | {transform} | {len(mine)} | {ours_mean:.0f} | {plain_mean:.0f} | {change:+.0f}% |")


if __name__ == "__main__":
    main()
