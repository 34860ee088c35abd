"""Choosing, on validation, how far the matting refinement's conjugate-gradient solve runs.

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 python -m benchmarks.matting_solver \\
        [--checkpoint PATH] [--count 48]     # about 15 minutes

The pipeline as it runs by default (float32), on the refinement weight benchmark's seven validation sets with
given trimaps (``matting_refinement_weight.weight_sets``: held-out strand styles, training portraits and the
validation portrait over the held-out photos, the validation portrait's rows at 5-30 px, lace, smoke and blur;
320 px), once per solver setting (``refinement_tolerance``, ``refinement_iterations``): the first as
the pipeline ships it (1e-4, 500 steps), then tighter ones. Per set: mean SAD / Grad, SAD as a
share of the first setting's (mean of per-sample ratios) and the matting's median seconds. The rule, fixed
before the run (``benchmarks/README.md``, "The refinement's solve"): a setting replaces the first only if the
mean over the sets of that share is below 1 and no set's mean SAD rises by more than 1%; of those, the
loosest. Per-sample values: ``matting_solver.csv``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from benchmarks.matting_refinement import timed_scores
from benchmarks.matting_refinement_weight import weight_sets
from benchmarks.rows import write_rows
from hamagan import HaMaGANPipeline

HERE = Path(__file__).resolve().parent
SETTINGS = ((1e-4, 500), (1e-5, 5000), (1e-6, 20000))


def label(setting: tuple[float, int]) -> str:
    return f"{setting[0]:g}, {setting[1]} steps"


def measure(pipe: HaMaGANPipeline, count: int) -> list[dict]:
    """Per sample and setting: SAD, Grad and the matting's seconds."""
    rows = []
    for name, cases in weight_sets(count).items():
        for case in cases:
            row = {"set": name, "sample": case.case_id}
            for setting in SETTINGS:
                pipe.config.refinement_tolerance, pipe.config.refinement_iterations = setting
                row |= timed_scores(pipe, case, label(setting))
            rows.append(row)
        print(f"{name}: {len(cases)}", flush=True)
    return rows


def report(rows: list[dict]) -> list[str]:
    """The per-set table and the rule's choice."""
    first, labels = label(SETTINGS[0]), [label(s) for s in SETTINGS]
    lines = ["| set | samples | " + " | ".join(labels) + " |", "|---|---|" + "---|" * len(labels)]
    shares: dict[str, list[float]] = {name: [] for name in labels[1:]}
    rises: dict[str, float] = {name: 0.0 for name in labels[1:]}
    for name in dict.fromkeys(r["set"] for r in rows):
        chosen = [r for r in rows if r["set"] == name]
        base = np.mean([r[f"sad {first}"] for r in chosen])
        cells = []
        for setting in labels:
            sad = np.mean([r[f"sad {setting}"] for r in chosen])
            cell = (f"{sad:.3f} / {np.mean([r[f'grad {setting}'] for r in chosen]):.3f}, "
                    f"{np.median([r[f'seconds {setting}'] for r in chosen]):.2f} s")
            if setting != first:
                share = float(np.mean([r[f"sad {setting}"] / max(r[f"sad {first}"], 1e-9) for r in chosen]))
                shares[setting].append(share)
                rises[setting] = max(rises[setting], sad / base - 1)
                cell += f" ({share:.3f})"
            cells.append(cell)
        lines.append(f"| {name} | {len(chosen)} | " + " | ".join(cells) + " |")
    means = {setting: float(np.mean(v)) for setting, v in shares.items()}
    passing = [s for s in labels[1:] if means[s] < 1 and rises[s] <= 0.01]
    lines += ["", "mean over the sets of SAD as a share of the first setting's: "
              + ", ".join(f"{s}: {m:.3f} (largest rise of a set's SAD {100 * rises[s]:+.1f}%)"
                          for s, m in means.items()),
              f"by the rule: {passing[0] if passing else first}"]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None, help="a pipeline folder (default: the bundled model)")
    parser.add_argument("--count", type=int, default=48, help="samples per engine set")
    args = parser.parse_args()
    pipe = HaMaGANPipeline.from_pretrained(args.checkpoint)
    pipe.matting_bf16 = False
    rows = measure(pipe, args.count)
    write_rows(HERE / "matting_solver.csv", rows)
    print("\n## validation: SAD / Grad, the matting's median seconds (SAD as a share of the first setting's)\n")
    print("\n".join(report(rows)))


if __name__ == "__main__":
    main()
