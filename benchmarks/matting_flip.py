"""Choosing, on validation, whether the pipeline averages G_m's alpha with its alpha of the mirrored image.

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 python -m benchmarks.matting_flip \\
        [--checkpoint PATH] [--count 96]

Validation only (never the test portraits or the test seed): the refinement weight benchmark's seven sets
(``matting_refinement_weight.weight_sets``: held-out strand styles, training portraits and the validation
portrait over the held-out photos, the validation portrait's rows at 5-30 px, lace, smoke and blur). Per sample,
SAD and Grad of the pipeline's matte without and with ``matting_flip``, G_m alone and as the checkpoint's config
refines by default (the mirrored average changes G_m's confidence, and so which samples are refined).

The rule, fixed before the run: flip is adopted when, by default, SAD and Grad as shares of the unflipped
figures, averaged over the sets, are both below 1 and no set's SAD rises by more than 3%; and the matting at
long side 512 stays within the issue's 0.15 s in float32 (``benchmarks.matting_speed``). Per-sample values:
``matting_flip.csv``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from benchmarks.matting_refinement import refinement_parser
from benchmarks.matting_refinement_weight import weight_sets
from benchmarks.rows import write_rows
from hamagan import HaMaGANPipeline
from hamagan.metrics import matting_metrics
from hamagan.refinement import network_confidence
from hamagan.report import pipeline_matting

HERE = Path(__file__).resolve().parent
RUNS = {"alone": False, "default": None}  # label: the pipeline's ``refine``


def measure(pipe: HaMaGANPipeline, sets: dict[str, list]) -> list[dict]:
    """Per sample: G_m's confidence, SAD and Grad of G_m alone and by default, each without and with flip."""
    rows = []
    for name, cases in sets.items():
        for position, case in enumerate(cases):
            row = {"set": name, "case": case.case_id}
            for flip in (False, True):
                pipe.config.matting_flip = flip
                suffix = "flip" if flip else "plain"
                for label, refine in RUNS.items():
                    alpha = pipeline_matting(pipe, refine=refine)(case.image, case.trimap)
                    scores = matting_metrics(alpha, case.alpha, case.trimap)
                    row[f"sad {label} {suffix}"], row[f"grad {label} {suffix}"] = scores["SAD"], scores["Grad"]
                    if refine is False:
                        row[f"confidence {suffix}"] = network_confidence(alpha, case.trimap)
            rows.append(row)
            print(f"\r{name}: {position + 1} / {len(cases)}", end="", file=sys.stderr)
        print(file=sys.stderr)
    return rows


def report(rows: list[dict], unsure_below: float | None) -> tuple[list[str], bool]:
    """Per set: mean SAD / Grad of each run, the share of samples refined by default, and the rule's verdict."""
    lines = ["| set | samples | G_m alone, plain | G_m alone, flip | default, plain | default, flip | "
             "refined by confidence, plain / flip | default SAD, flip / plain | default Grad, flip / plain |",
             "|---|" + "---|" * 8]
    sad_shares, grad_shares = [], []
    for name in dict.fromkeys(r["set"] for r in rows):
        chosen = [r for r in rows if r["set"] == name]

        def mean(key: str, of: list[dict] = chosen) -> float:
            return float(np.mean([r[key] for r in of]))

        cells = [f"{mean(f'sad {label} {s}'):.3f} / {mean(f'grad {label} {s}'):.3f}"
                 for label in RUNS for s in ("plain", "flip")]
        unsure = ["-"] if unsure_below is None else [
            f"{np.mean([r[f'confidence {s}'] < unsure_below for r in chosen]):.0%}" for s in ("plain", "flip")]
        sad_shares.append(mean("sad default flip") / mean("sad default plain"))
        grad_shares.append(mean("grad default flip") / mean("grad default plain"))
        lines.append(f"| {name} | {len(chosen)} | " + " | ".join(cells) + f" | {' / '.join(unsure)} | "
                     f"{sad_shares[-1]:.3f} | {grad_shares[-1]:.3f} |")
    adopted = bool(np.mean(sad_shares) < 1 and np.mean(grad_shares) < 1 and max(sad_shares) <= 1.03)
    lines += ["", f"mean over the sets, by default: SAD {np.mean(sad_shares):.3f}, Grad {np.mean(grad_shares):.3f} "
              f"of the unflipped; the largest SAD share {max(sad_shares):.3f}. Rule: "
              f"{'adopt' if adopted else 'do not adopt'} flip (speed checked apart, benchmarks.matting_speed)."]
    return lines, adopted


def main() -> None:
    args = refinement_parser(96).parse_args()
    pipe = HaMaGANPipeline.from_pretrained(args.checkpoint)
    pipe.matting_bf16 = False
    rows = measure(pipe, weight_sets(args.count))
    write_rows(HERE / "matting_flip.csv", rows)
    lines, _ = report(rows, pipe.config.refine_below_confidence)
    print(f"checkpoint: {args.checkpoint or 'the bundled model'}, float32; SAD / Grad over the unknown region\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
