"""Joint versus separate training of G_m, over several seeds, measured on the held-out test portraits.

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 python train/ablation.py --seeds 0 1 2

Each seed runs both arms of train/configs/trials/ablation-{joint,separate}.yaml with train/train.py (the same
start, steps and G_m rate), then measures each exported G_m with the reference recipe (long side 512,
10-px trimap). Prints per-image values and the joint-minus-separate difference per seed; writes
runs/ablation/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from hamagan import HaMaGANPipeline
from hamagan.evaluation import evaluate_matting, load_matting_case
from hamagan.report import pipeline_matting
from hamagan.samples import TEST_PORTRAITS

ROOT = Path(__file__).resolve().parents[1]
METRICS = ("SAD", "MSE", "Grad", "Conn")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default=str(ROOT / "runs/ablation"))
    args = parser.parse_args()
    out = Path(args.out)
    cases = [load_matting_case(i) for i in TEST_PORTRAITS]
    results: dict[str, dict[str, list[dict]]] = {}
    for seed in args.seeds:
        for arm in ("joint", "separate"):
            run = out / f"{arm}-{seed}"
            if not (run / "final/config.json").exists():
                subprocess.run([sys.executable, str(ROOT / "train/train.py"), "--config",
                                str(ROOT / f"train/configs/trials/ablation-{arm}.yaml"), "--seed", str(seed),
                                "--output-dir", str(run)], check=True, cwd=ROOT,
                               env={**os.environ, "HF_HUB_OFFLINE": "1"})
            pipe = HaMaGANPipeline.from_pretrained(str(run / "final"))
            report = evaluate_matting(pipeline_matting(pipe), cases, f"{arm}-{seed}", progress=False)
            results.setdefault(str(seed), {})[arm] = report.rows
    print("| seed | arm | " + " | ".join(f"{c.case_id} SAD" for c in cases) + " | mean SAD | mean Grad |")
    print("|---|---|" + "---|" * (len(cases) + 2))
    differences = {k: [] for k in METRICS}
    for seed, arms in results.items():
        for arm, rows in arms.items():
            print(f"| {seed} | {arm} | " + " | ".join(f"{r['SAD']:.3f}" for r in rows)
                  + f" | {np.mean([r['SAD'] for r in rows]):.3f} | {np.mean([r['Grad'] for r in rows]):.3f} |")
        for k in METRICS:
            differences[k].append(np.mean([r[k] for r in arms["joint"]]) - np.mean([r[k] for r in arms["separate"]]))
    print("\njoint minus separate (negative = joint better), per seed and mean ± sd over seeds:")
    for k, values in differences.items():
        print(f"- {k}: " + ", ".join(f"{v:+.4f}" for v in values)
              + f"; mean {np.mean(values):+.4f} ± {np.std(values, ddof=1) if len(values) > 1 else 0:.4f}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"per_image": results, "joint_minus_separate": differences},
                                                 indent=2, default=float))


if __name__ == "__main__":
    main()
