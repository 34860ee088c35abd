"""Harmonization fMSE on the HMH test composites, by direction and by the transform that made them.

    python benchmarks/harmonization_by_transform.py [--checkpoint PATH_OR_REPO] \
        [--dataset data/hmh-background data/hmh-foreground]

Where a harmonizer helps and where it hurts: the shipped model's fMSE of the adjusted region against the
unharmonized composite's, grouped by (direction, transform): Reinhard towards another photo, an
illumination change, or MSRCR.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

from hamagan import HaMaGANPipeline
from hamagan.report import evaluate_harmonization, load_harmonization_cases, pipeline_harmonizer, unharmonized
from hamagan.training.rows import load_rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoint", help="default: the bundled model")
    parser.add_argument("--dataset", nargs="+", default=["data/hmh-background", "data/hmh-foreground"])
    args = parser.parse_args()
    pipe = HaMaGANPipeline.from_pretrained(args.checkpoint)
    groups: dict[tuple[str, str], tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for dataset in args.dataset:
        kinds = {row["id"]: (row["perturb"], row["transform"]) for row in load_rows(dataset, "test")}
        cases = load_harmonization_cases(Path(dataset), "test")
        ours = evaluate_harmonization(pipeline_harmonizer(pipe), cases, "ours")
        plain = evaluate_harmonization(unharmonized, cases, "composite")
        for mine, theirs in zip(ours.rows, plain.rows, strict=True):
            group = groups[kinds[mine["id"]]]
            group[0].append(mine["fMSE"])
            group[1].append(theirs["fMSE"])
    print("| direction | transform | composites | fMSE ours | fMSE composite | change |\n|---|---|---|---|---|---|")
    for (direction, transform), (mine, theirs) in sorted(groups.items()):
        ours_mean, plain_mean = np.mean(mine), np.mean(theirs)
        change = 100 * (ours_mean / plain_mean - 1)
        print(f"| {direction} | {transform} | {len(mine)} | {ours_mean:.0f} | {plain_mean:.0f} | {change:+.0f}% |")


if __name__ == "__main__":
    main()
