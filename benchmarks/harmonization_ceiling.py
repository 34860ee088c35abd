"""How far a colour-map output can go: the best single colour map per HMH test composite.

    python -m benchmarks.harmonization_ceiling [--dataset data/hmh-background --dataset data/hmh-foreground]

For each test composite, the least-squares affine (3x4) and quadratic (3x10, the harmonizer's
``transform_grid`` form) colour maps from the adjusted layer to the real image over the adjusted region,
fitted with the real image known (an oracle, not a method), applied and recomposited. The fMSE they leave
is the floor for a harmonizer that outputs one such map per image; by transform and direction.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from hamagan.metrics import harmonization_metrics
from hamagan.models.harmonizer import quadratic_features
from hamagan.report import HarmonizationCase, load_harmonization_cases


def _features(pixels: np.ndarray, form: str) -> np.ndarray:
    if form == "affine":
        return np.c_[pixels, np.ones(len(pixels))]
    rgb = torch.from_numpy(pixels.T.copy()).view(1, 3, -1, 1)
    return quadratic_features(rgb).view(-1, len(pixels)).T.double().numpy()


def best_map(case: HarmonizationCase, form: str) -> np.ndarray:
    """The case recomposited with its adjusted layer through the least-squares colour map of ``form``."""
    layer = case.adjusted_layer
    region = case.adjusted > 0.5
    weights, *_ = np.linalg.lstsq(_features(layer[region], form), case.real[region], rcond=None)
    mapped = np.clip(_features(layer.reshape(-1, 3), form) @ weights, 0, 1).reshape(layer.shape)
    return case.with_adjusted_layer(mapped)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", action="append", type=Path)
    args = parser.parse_args()
    groups: dict[str, list[dict[str, float]]] = defaultdict(list)
    for dataset in args.dataset or [Path("data/hmh-background"), Path("data/hmh-foreground")]:
        for case in load_harmonization_cases(dataset):
            scores = {"composite": harmonization_metrics(case.composite, case.real, case.adjusted)["fMSE"]}
            for form in ("affine", "quadratic"):
                scores[form] = harmonization_metrics(best_map(case, form), case.real, case.adjusted)["fMSE"]
            for key in ("all", f"{case.direction} / {case.transform}"):
                groups[key].append(scores)
    print("| composites | n | composite fMSE | best affine map | best quadratic map |\n|---|---|---|---|---|")
    for key, rows in sorted(groups.items(), key=lambda item: item[0] != "all"):
        mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
        cut = {k: 1 - mean[k] / mean["composite"] for k in ("affine", "quadratic")}
        print(f"| {key} | {len(rows)} | {mean['composite']:.0f} | {mean['affine']:.0f} ({cut['affine']:.0%} less) "
              f"| {mean['quadratic']:.0f} ({cut['quadratic']:.0%} less) |")


if __name__ == "__main__":
    main()
