"""Screens variants of the joint stage on one seed (issue 26), each against the separate arm of that seed.

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 python train/screen_joint.py [--only NAME ...]

Every variant of train/joint_variants.yaml is the ablation's joint arm (its base config, lambda1 =
0.02, lambda2 = 0.01) with the joint-stage settings the variant names. They shape only the critic, so each is
measured against the tables' separate run of that seed (``--tables``/separate-seed-N, trained when missing).
Finished runs are reused. Writes REPORT.md (per variant and evaluation set: joint minus separate in SAD and
Grad, read against the spread of the paper arm's same-seed difference over the tables' seeds), REPORT.csv (every
image) and REPORT-critic.png.
"""

from __future__ import annotations

import argparse
import csv
import shlex
import sys
from pathlib import Path

import numpy as np
import yaml

from hamagan.training.ablation import (
    CRITIC_SETTINGS,
    PAPER,
    SEPARATE,
    evaluation_sets,
    run_folder,
    train_arm,
)
from hamagan.training.ablation_report import critic_health, evaluate_export
from hamagan.training.config import load_config

ROOT = Path(__file__).resolve().parents[1]
METRICS = ("SAD", "Grad")


def read_variants(path: Path, only: list[str] | None) -> dict[str, dict]:
    """The variants (name to joint-stage settings), refused where a setting does more than shape the critic."""
    variants = yaml.safe_load(path.read_text())
    unknown = sorted(set(only or ()) - set(variants))
    if unknown:
        raise SystemExit(f"screen_joint.py: no variant {', '.join(unknown)} in {path}")
    for name, settings in variants.items():
        beyond = sorted(set(settings or {}) - set(CRITIC_SETTINGS))
        if beyond:
            raise SystemExit(f"screen_joint.py: variant {name} sets {', '.join(beyond)}, which reach the separate "
                             f"arm too; a screen only changes the critic ({', '.join(CRITIC_SETTINGS)})")
    return {name: settings or {} for name, settings in variants.items() if not only or name in only}


def mean(rows: list[dict], metric: str) -> float:
    return float(np.mean([row[metric] for row in rows]))


def seed_spread(tables: Path, sets: dict[str, list]) -> dict[tuple[str, str], float]:
    """The standard deviation over the tables' seeds of the paper arm's same-seed difference from separate, per
    set and metric: how far one seed's difference wanders by chance."""
    pairs = []
    for seed in sorted(int(f.name.rsplit("-", 1)[1]) for f in tables.glob(f"{SEPARATE.label}-seed-*")):
        caches = [run_folder(tables, arm, seed) / "evaluation.json" for arm in (PAPER, SEPARATE)]
        if all(cache.exists() for cache in caches):
            pairs.append([evaluate_export(cache.parent / "final", sets, cache) for cache in caches])
    if len(pairs) < 2:
        return {}
    return {(name, metric): float(np.std([mean(j[name], metric) - mean(s[name], metric) for j, s in pairs], ddof=1))
            for name in sets for metric in METRICS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", default=str(ROOT / "train/joint_variants.yaml"))
    parser.add_argument("--only", nargs="+", help="screen these variants only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--base", default=str(ROOT / "train/configs/trials/ablation.yaml"))
    parser.add_argument("--tables", default=str(ROOT / "runs/ablation"), help="the tables' runs (train/ablation.py)")
    parser.add_argument("--report", default=str(ROOT / "benchmarks/joint_variants"))
    parser.add_argument("--count", type=int, default=96, help="images in each held-out engine set")
    args = parser.parse_args()
    base, tables, report = Path(args.base), Path(args.tables), Path(args.report)
    variants = read_variants(Path(args.variants), args.only)
    config = load_config(base)
    sets = evaluation_sets(config.datasets[config.stages[0].direction], args.count)
    separate_folder = run_folder(tables, SEPARATE, args.seed)
    train_arm(base, SEPARATE, args.seed, separate_folder)
    separate = evaluate_export(separate_folder / "final", sets, separate_folder / "evaluation.json")
    folders = {"separate": separate_folder}
    results = {}
    for name, settings in variants.items():
        out = tables if not settings else tables / "variants" / name
        folder = run_folder(out, PAPER, args.seed)
        train_arm(base, PAPER, args.seed, folder, settings)
        results[name] = evaluate_export(folder / "final", sets, folder / "evaluation.json")
        folders[name] = folder
        print(f"screen_joint.py: {name} evaluated", file=sys.stderr)
    spread = seed_spread(tables, sets)
    command = "python train/screen_joint.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    lines = ["# Variants of the joint stage, screened on one seed (issue 26)", "",
             f"Made by `LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 {command}`. Each variant is "
             f"the ablation's joint arm (lambda1 = {PAPER.lambda_matting:g}, lambda2 = "
             f"{PAPER.lambda_harmonization:g}, {config.stages[0].steps} steps, seed {args.seed}) with the critic "
             "settings named; every cell is its mean minus the separate run's (same seed, same samples; negative: "
             "joint better). The bar: twice the standard deviation over the tables' seeds of the paper arm's "
             "same-seed difference"
             + (" (" + ", ".join(f"{n} {m} {2 * v:.4f}" for (n, m), v in spread.items()) + ")." if spread
                else " (not known: the tables need two seeds of both arms)."), "",
             "| variant | settings | " + " | ".join(f"{n} {m}" for n in sets for m in METRICS) + " |",
             "|---|---|" + "---|" * (len(sets) * len(METRICS))]
    lines.append("| separate (absolute) | lambda1 = lambda2 = 0 | " + " | ".join(
        f"{mean(separate[n], m):.3f}" for n in sets for m in METRICS) + " |")
    for name, rows in results.items():
        cells = []
        for set_name in sets:
            for metric in METRICS:
                delta = mean(rows[set_name], metric) - mean(separate[set_name], metric)
                bar = spread.get((set_name, metric))
                mark = "" if bar is None or abs(delta) <= 2 * bar else (" (better)" if delta < 0 else " (worse)")
                cells.append(f"{delta:+.4f}{mark}")
        settings = ", ".join(f"{k} = {v}" for k, v in variants[name].items()) or "the tables' joint arm"
        lines.append(f"| {name} | {settings} | " + " | ".join(cells) + " |")
    lines += ["", "## The critics", "", *critic_health(folders, report.with_name(report.name + "-critic.png"))]
    report.with_suffix(".md").write_text("\n".join(lines))
    with report.with_suffix(".csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["variant", "set", "image", *METRICS])
        for name, rows in {"separate": separate, **results}.items():
            for set_name, images in rows.items():
                writer.writerows([name, set_name, row["id"], *(f"{row[m]:.6f}" for m in METRICS)] for row in images)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
