"""K-fold cross-validation of training recipes over the training portraits.

    python train/cross_validate.py --config train/configs/trials/cv-background-harmonizer.yaml \\
        --arm half own_scene=0.5 --arm all own_scene=1.0 --folds 3 --parallel 2 --out runs/cv-own-scene

The fixed split has one validation portrait: too few to choose between recipes. Fold k moves every
``folds``-th training portrait (sorted by id, starting at the k-th) to validation (``validation_sources``);
each arm (a name and ``--set`` overrides of the config) trains once per fold with train/train.py, and
``OUT/table.md`` gives each run's final validation metrics per fold and on average (``OUT/results.json``
holds every figure, and under ``folds`` the portraits each run held out). Finished runs are kept: a second
call only runs what is missing, and refuses a finished run whose recorded recipe (its config.yaml)
differs from the arm's. With ``--train-on-fold`` each run trains on one fold's portraits and holds
out all the others: a point of a learning curve (a third of the portraits with 3 folds), comparable
portrait by portrait with the usual runs, which train on the other two thirds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from hamagan.data.hmh import folds, load_rows
from hamagan.training.config import config_differences, load_config, parse_settings

ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="the training config every run starts from")
    parser.add_argument("--arm", nargs="+", action="append", required=True, metavar="NAME [KEY=VALUE ...]",
                        help="a recipe: its name, then train.py --set overrides (repeat for each arm)")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--parallel", type=int, default=1, help="runs at a time (threads split among them)")
    parser.add_argument("--train-on-fold", action="store_true",
                        help="train on one fold's portraits and hold out the rest (default: the other way round)")
    parser.add_argument("--metric", action="append", default=[],
                        help="metrics for the table (default: every fMSE the runs report)")
    parser.add_argument("--out", required=True, help="folder for the runs, table.md and results.json")
    return parser.parse_args(argv)


def config_folds(config_path: str, count: int, train_on_fold: bool = False) -> list[list[str]]:
    """The folds of the training portraits of the config's first stage's dataset."""
    config = load_config(config_path)
    return folds(load_rows(config.datasets[config.stages[0].direction], "train")["source_id"], count, train_on_fold)


def run(config: str, folder: Path, settings: list[str], fold: list[str], threads: int) -> dict[str, float]:
    """One training run (skipped when it already finished with the same recipe); its final validation metrics."""
    metrics = folder / "final" / "metrics.json"
    recorded = folder / "config.yaml"  # runs before 2026-11-28 have none and are trusted
    if metrics.exists() and recorded.exists():
        wanted = load_config(config, {"validation_sources": fold, **parse_settings(settings)})
        changed = config_differences(wanted, load_config(recorded), ignore=("output_dir",))
        if changed:
            raise RuntimeError(f"{folder} finished with another recipe (it differs in {', '.join(changed)}): "
                               "remove it or choose another --out or arm name")
    if not metrics.exists():
        command = [sys.executable, str(ROOT / "train/train.py"), "--config", config, "--output-dir", str(folder),
                   "--set", f"validation_sources={json.dumps(fold)}"]
        for setting in settings:
            command += ["--set", setting]
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        with open(folder.with_suffix(".log"), "w") as log:
            done = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        if done.returncode != 0:
            raise RuntimeError(f"{folder}: train.py exited with {done.returncode} (see {folder.with_suffix('.log')})")
    return json.loads(metrics.read_text())


def table(results: dict[str, list[dict[str, float]]], metrics: list[str]) -> str:
    """Markdown: one row per arm and metric, one column per fold, and the mean."""
    count = len(next(iter(results.values())))
    lines = ["| arm | metric | " + " | ".join(f"fold {k}" for k in range(count)) + " | mean |",
             "|---|---|" + "---|" * (count + 1)]
    for arm, runs in results.items():
        for metric in metrics:
            values = [r[metric] for r in runs]
            lines.append(f"| {arm} | {metric} | " + " | ".join(f"{v:.1f}" for v in values)
                         + f" | {np.mean(values):.1f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    split = config_folds(args.config, args.folds, args.train_on_fold)
    record = out / "results.json"
    if record.exists():
        if json.loads(record.read_text())["folds"] != split:
            raise SystemExit(f"{out} holds runs that held out other portraits: choose another --out")
    else:  # recorded before any run, so that an interrupted call's runs are not reused for another split
        record.write_text(json.dumps({"folds": split, "train_on_fold": args.train_on_fold, "arms": {},
                                      "results": {}}, indent=1))
    jobs = [(arm[0], k, arm[1:]) for arm in args.arm for k in range(args.folds)]
    threads = max(1, (os.cpu_count() or 1) // args.parallel)
    with ThreadPoolExecutor(args.parallel) as pool:
        futures = {(name, k): pool.submit(run, args.config, out / f"{name}-fold{k}", settings, split[k], threads)
                   for name, k, settings in jobs}
        for future in tqdm(futures.values(), desc="cross-validation runs", unit="run"):
            future.result()
    results = {arm[0]: [futures[(arm[0], k)].result() for k in range(args.folds)] for arm in args.arm}
    first = next(iter(results.values()))[0]
    metrics = args.metric or sorted(k for k in first if k.endswith("fMSE"))
    record.write_text(json.dumps({"folds": split, "train_on_fold": args.train_on_fold,
                                  "arms": {a[0]: a[1:] for a in args.arm}, "results": results}, indent=1))
    (out / "table.md").write_text(table(results, metrics))
    print(f"held out: {split}\n" + table(results, metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
