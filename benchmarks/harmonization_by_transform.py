"""Harmonization fMSE on HMH composites, by direction and by the transform that made them (or by portrait).

    python -m benchmarks.harmonization_by_transform [--checkpoint PATH_OR_REPO] \
        [--dataset data/hmh-background data/hmh-foreground] [--by portrait]
    python -m benchmarks.harmonization_by_transform --cross-validation runs/cv-cutout --arm cutout \
        --dataset data/hmh-background
    python -m benchmarks.harmonization_by_transform --cross-validation runs/cv-cutout --arm cutout half \
        --dataset data/hmh-background   # the two arms' outputs averaged

Where a harmonizer helps and where it hurts: the model's fMSE of the adjusted region against the
unharmonized composite's, grouped by (direction, transform): Reinhard towards another portrait, an
illumination change, or MSRCR; with ``--by portrait``, by (direction, portrait). By default the shipped model
on the test split; with ``--cross-validation`` (a ``train/cross_validate.py`` output folder) each fold's final
model of ``--arm`` on the rows of the portraits that fold held out (its validation rows without the fixed
validation portrait). Several arms: their fold models' outputs are averaged per composite (an ensemble).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np

from hamagan import HaMaGANPipeline
from hamagan.data.hmh import load_rows
from hamagan.report import (
    HarmonizationCase,
    evaluate_harmonization,
    load_harmonization_cases,
    pipeline_harmonizer,
    unharmonized,
)

Groups = dict[tuple[str, str], tuple[list[float], list[float]]]


def averaged(pipes: Sequence[HaMaGANPipeline]):
    """The harmonizers' outputs averaged per composite (one pipeline: its own output)."""
    methods = [pipeline_harmonizer(pipe) for pipe in pipes]

    def method(case: HarmonizationCase) -> np.ndarray:
        return np.mean([m(case) for m in methods], axis=0)
    return method


def score(pipes: Sequence[HaMaGANPipeline], dataset: str, split: str, groups: Groups, by: str,
          sources: Collection[str] | None = None) -> None:
    """Add the fMSE of ``pipes`` (averaged) and of the composite on ``split``'s rows (of ``sources`` only)."""
    rows = {row["id"]: row for row in load_rows(dataset, split)}
    cases = [case for case in load_harmonization_cases(Path(dataset), split)
             if sources is None or rows[case.case_id]["source_id"] in sources]
    ours = evaluate_harmonization(averaged(pipes), cases, "ours")
    plain = evaluate_harmonization(unharmonized, cases, "composite")
    for mine, theirs in zip(ours.rows, plain.rows, strict=True):
        row = rows[mine["id"]]
        group = groups[(row["perturb"], row["transform"] if by == "transform" else row["source_id"])]
        group[0].append(mine["fMSE"])
        group[1].append(theirs["fMSE"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoint", help="default: the bundled model")
    parser.add_argument("--dataset", nargs="+", default=["data/hmh-background", "data/hmh-foreground"])
    parser.add_argument("--cross-validation", type=Path, help="a train/cross_validate.py output folder")
    parser.add_argument("--arm", nargs="+", help="with --cross-validation: whose fold models to score (averaged)")
    parser.add_argument("--by", choices=["transform", "portrait"], default="transform")
    args = parser.parse_args()
    groups: Groups = defaultdict(lambda: ([], []))
    if args.cross_validation:
        folds = json.loads((args.cross_validation / "results.json").read_text())["folds"]
        for k, held_out in enumerate(folds):
            pipes = [HaMaGANPipeline.from_pretrained(str(args.cross_validation / f"{arm}-fold{k}" / "final"))
                     for arm in args.arm]
            for dataset in args.dataset:
                score(pipes, dataset, "train", groups, args.by, set(held_out))
    else:
        for dataset in args.dataset:
            score([HaMaGANPipeline.from_pretrained(args.checkpoint)], dataset, "test", groups, args.by)
    print(f"| direction | {args.by} | composites | fMSE ours | fMSE composite | change |\n|---|---|---|---|---|---|")
    for (direction, group), (mine, theirs) in sorted(groups.items()):
        ours_mean, plain_mean = np.mean(mine), np.mean(theirs)
        change = 100 * (ours_mean / plain_mean - 1)
        print(f"| {direction} | {group} | {len(mine)} | {ours_mean:.0f} | {plain_mean:.0f} | {change:+.0f}% |")
    mine = [x for group in groups.values() for x in group[0]]
    theirs = [x for group in groups.values() for x in group[1]]
    print(f"| all | all | {len(mine)} | {np.mean(mine):.0f} | {np.mean(theirs):.0f} | "
          f"{100 * (np.mean(mine) / np.mean(theirs) - 1):+.0f}% |")


if __name__ == "__main__":
    main()
