"""Choosing, on validation, how wide a trimap's unknown band must be before the pipeline refines by default.

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 python -m benchmarks.matting_refinement_gate \\
        [--checkpoint PATH] [--count 96]

Validation only (never the test portraits or the test seed): ``--count`` samples each of the held-out strand
styles and of the training portraits recoloured and merged, over the 8 bundled photos the recipes hold out,
320x320 with the engine's uneven trimaps (5-60 px at long side 512); and the validation portrait by the
reference recipe (long side 512) with bands grown by 5, 10, 20 and 30 px. For each sample: the band's width
(:func:`hamagan.refinement.band_width`), SAD and Grad of G_m alone and refined (the checkpoint's weight).
Per width bin, the mean change refinement brings; then, for each candidate threshold, the mean SAD and Grad
of "refine when the band is at least that wide" on each set; the rule, fixed before the run: the threshold
whose SAD, as a share of G_m alone's, is lowest on average over the three sets (the shipped
``refine_from_band``). Per-sample values: ``matting_refinement_gate.csv``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from benchmarks.matting_refinement import as_cases, held_out_photos, portrait_samples, refinement_parser
from benchmarks.rows import write_rows
from hamagan import HaMaGANPipeline
from hamagan.data.builder import validation_portrait
from hamagan.evaluation import load_matting_case
from hamagan.metrics import matting_metrics
from hamagan.refinement import band_width
from hamagan.report import pipeline_matting
from hamagan.training.validation import held_out_mattes

HERE = Path(__file__).resolve().parent
BINS = (0, 20, 30, 40, 50, 60, 70, 80, 100, 150, 1000)
THRESHOLDS = (0, 20, 30, 40, 50, 60, 70, 80, 100, None)


def validation_sets(count: int, held_out: list[np.ndarray]) -> dict[str, list]:
    """Held-out strands and portrait samples over the ``held_out`` photos, and the validation portrait's rows."""
    portrait = validation_portrait()
    return {"held-out strands": as_cases(held_out_mattes(held_out, count=count, size=320)),
            "portraits over held-out photos": as_cases(portrait_samples(held_out, count)),
            "validation portrait, 5-30 px": [load_matting_case(portrait, radius=r) for r in (5, 10, 20, 30)]}


def measure(pipe: HaMaGANPipeline, sets: dict[str, list]) -> list[dict]:
    plain, refined = pipeline_matting(pipe, refine=False), pipeline_matting(pipe, refine=True)
    rows = []
    for name, cases in sets.items():
        for case in cases:
            before = matting_metrics(plain(case.image, case.trimap), case.alpha, case.trimap)
            after = matting_metrics(refined(case.image, case.trimap), case.alpha, case.trimap)
            rows.append({"set": name, "case": case.case_id, "band_width": band_width(case.trimap),
                         "sad": before["SAD"], "sad_refined": after["SAD"],
                         "grad": before["Grad"], "grad_refined": after["Grad"]})
            print(f"\r{name}: {len([r for r in rows if r['set'] == name])} / {len(cases)}", end="", file=sys.stderr)
        print(file=sys.stderr)
    return rows


def report(rows: list[dict]) -> list[str]:
    lines = ["## Refinement's change by band width (mean over the samples in the bin)", "",
             "| set | band width (px) | samples | SAD G_m | SAD refined | Grad G_m | Grad refined |",
             "|---|---|---|---|---|---|---|"]
    sets = list(dict.fromkeys(r["set"] for r in rows))
    for name in sets:
        for low, high in zip(BINS, BINS[1:], strict=False):
            chosen = [r for r in rows if r["set"] == name and low <= r["band_width"] < high]
            if chosen:
                mean = {k: np.mean([r[k] for r in chosen]) for k in ("sad", "sad_refined", "grad", "grad_refined")}
                lines.append(f"| {name} | {low}-{high} | {len(chosen)} | {mean['sad']:.3f} | "
                             f"{mean['sad_refined']:.3f} | {mean['grad']:.3f} | {mean['grad_refined']:.3f} |")
    lines += ["", "## Refine when the band is at least T px wide: mean SAD / Grad per set", "",
              "| T | " + " | ".join(sets) + " | SAD / G_m alone's, mean over the sets |",
              "|---|" + "---|" * (len(sets) + 1)]
    table = []
    for threshold in THRESHOLDS:
        cells, ratios = [], []
        for name in sets:
            chosen = [r for r in rows if r["set"] == name]
            on = [threshold is not None and r["band_width"] >= threshold for r in chosen]
            sad = np.mean([r["sad_refined"] if o else r["sad"] for r, o in zip(chosen, on, strict=True)])
            grad = np.mean([r["grad_refined"] if o else r["grad"] for r, o in zip(chosen, on, strict=True)])
            cells.append(f"{sad:.3f} / {grad:.3f} ({sum(on)} refined)")
            ratios.append(sad / np.mean([r["sad"] for r in chosen]))
        table.append((threshold, cells, float(np.mean(ratios))))
    best = min(table, key=lambda row: row[2])[0]
    for threshold, cells, ratio in table:
        label = "never" if threshold is None else ("always" if threshold == 0 else threshold)
        mark = " (**chosen**)" if threshold == best else ""
        lines.append(f"| {label}{mark} | " + " | ".join(cells) + f" | {ratio:.3f} |")
    return lines


def main() -> None:
    args = refinement_parser(96).parse_args()
    pipe = HaMaGANPipeline.from_pretrained(args.checkpoint)
    rows = measure(pipe, validation_sets(args.count, held_out_photos()))
    write_rows(HERE / "matting_refinement_gate.csv", rows)
    print("\n".join(report(rows)))


if __name__ == "__main__":
    main()
