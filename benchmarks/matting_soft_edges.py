"""Setting ``refine_soft_edge`` on calibration samples: how much wider the image's edge is than G_m's.

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 python -m benchmarks.matting_soft_edges \\
        [--checkpoint PIPELINE_FOLDER] [--matting PIPELINE_FOLDER] [--count 64] [--threshold 1.3 ...]

Neither validation nor test: engine samples over the bundled photos training reads (all but the held-out
``HELD_OUT_PHOTOS``), drawn with a seed of their own (``CALIBRATION_SEED``): the blur family (hard polygons under
motion or defocus blur) and the training portraits (recoloured, merged) at 320 px, the portraits at 512 px with the
engine's trimaps, and the same with 10-px trimaps (the reference recipe's width). Per sample: the band's width,
G_m's mean confidence, :func:`hamagan.refinement.edge_width_ratio`, and SAD of G_m alone and of its band refined
whole at the pipeline's unsure weight. The report gives each set's ratios (quantiles) and, for each threshold, the
mean SAD of the pipeline's whole-band rule (confidence below ``refine_below_confidence``) with and without "or the
ratio at least the threshold". ``--matting`` takes G_m from another pipeline folder (a trained candidate). About
10 minutes. Per sample: ``matting_soft_edges.csv``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from benchmarks.auto_trimap import snapped
from benchmarks.matting_checkpoints import with_matting_of
from benchmarks.matting_refinement import HELD_OUT_PHOTOS, PORTRAIT_FAMILIES, as_cases
from benchmarks.rows import write_rows
from hamagan import HaMaGANPipeline, samples
from hamagan.data.matting_engine import EngineSettings, MattingEngine
from hamagan.evaluation import MattingCase
from hamagan.metrics import matting_metrics
from hamagan.refinement import band_width, edge_width_ratio, network_confidence, refine_alpha
from hamagan.report import pipeline_matting
from hamagan.training.samples import load_backgrounds
from hamagan.trimap import trimap_from_alpha

HERE = Path(__file__).resolve().parent
CALIBRATION_SEED = 424242


def calibration_sets(count: int) -> dict[str, list[MattingCase]]:
    """``count`` blur and portrait samples at 320 px, half that of portraits at 512 px with either trimap."""
    photos = load_backgrounds(samples.background_paths(), 640)[:-HELD_OUT_PHOTOS]
    cutouts = samples.portrait_cutouts("train")

    def drawn(size: int, families: dict[str, float], number: int, seed: int) -> list[MattingCase]:
        engine = MattingEngine(photos, cutouts, EngineSettings(size=size, families=families), seed=seed)
        return as_cases([engine(position) for position in range(number)])

    large = drawn(512, PORTRAIT_FAMILIES, count // 2, CALIBRATION_SEED + 1)
    return {"blur": drawn(320, {"blur": 1.0}, count, CALIBRATION_SEED),
            "portraits": drawn(320, PORTRAIT_FAMILIES, count, CALIBRATION_SEED),
            "portraits at 512": large,
            "portraits at 512, 10-px trimap": [
                MattingCase(case.case_id, case.image, case.alpha,
                            trimap_from_alpha(snapped(case.alpha), 10).astype(np.float64)) for case in large]}


def measure(pipe: HaMaGANPipeline, sets: dict[str, list[MattingCase]]) -> list[dict]:
    """Per sample: band width, G_m's confidence and edge width ratio, SAD alone and refined whole (unsure mu)."""
    network, rows = pipeline_matting(pipe, refine=False), []
    weight = pipe.soft_edge_weight
    for name, cases in sets.items():
        for position, case in enumerate(cases):
            alpha = network(case.image, case.trimap)
            refined = refine_alpha(case.image, case.trimap, alpha, weight)
            rows.append({"set": name, "case": case.case_id, "band_width": band_width(case.trimap),
                         "confidence": network_confidence(alpha, case.trimap),
                         "ratio": edge_width_ratio(case.image, alpha, case.trimap),
                         "sad G_m": matting_metrics(alpha, case.alpha, case.trimap)["SAD"],
                         "sad refined": matting_metrics(refined, case.alpha, case.trimap)["SAD"]})
            print(f"\r{name}: {position + 1} / {len(cases)}", end="", file=sys.stderr)
        print(file=sys.stderr)
    return rows


def report(rows: list[dict], below_confidence: float, thresholds: list[float]) -> list[str]:
    """Each set's ratio quantiles, then each rule's mean SAD and how many samples it refines whole."""
    names = list(dict.fromkeys(row["set"] for row in rows))
    lines = ["| set | samples | ratio: 5% | 25% | median | 75% | 95% | largest |", "|---|---|---|---|---|---|---|---|"]
    for name in names:
        ratios = np.array([row["ratio"] for row in rows if row["set"] == name])
        quantiles = np.quantile(ratios, [0.05, 0.25, 0.5, 0.75, 0.95, 1.0])
        lines.append(f"| {name} | {ratios.size} | " + " | ".join(f"{q:.2f}" for q in quantiles) + " |")
    rules = {"G_m alone": lambda row: False,
             f"confidence < {below_confidence:g}": lambda row: row["confidence"] < below_confidence,
             **{f"confidence < {below_confidence:g} or ratio >= {t:g}":
                (lambda row, t=t: row["confidence"] < below_confidence or row["ratio"] >= t) for t in thresholds},
             "every band": lambda row: True}
    lines += ["", "Mean SAD (samples refined whole) of each rule:", "",
              "| rule | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for label, refines in rules.items():
        cells = []
        for name in names:
            chosen = [(row["sad refined"] if refines(row) else row["sad G_m"], refines(row))
                      for row in rows if row["set"] == name]
            cells.append(f"{np.mean([sad for sad, _ in chosen]):.3f} ({sum(whole for _, whole in chosen)})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoint", default=None, help="a pipeline folder (default: the bundled model)")
    parser.add_argument("--matting", default=None, help="a pipeline folder whose G_m replaces the checkpoint's")
    parser.add_argument("--count", type=int, default=64)
    parser.add_argument("--threshold", type=float, action="append", help="a refine_soft_edge to report")
    parser.add_argument("--csv", default=str(HERE / "matting_soft_edges.csv"))
    args = parser.parse_args()
    pipe = (with_matting_of(args.checkpoint, args.matting) if args.matting
            else HaMaGANPipeline.from_pretrained(args.checkpoint))
    pipe.matting_bf16 = False
    rows = measure(pipe, calibration_sets(args.count))
    write_rows(Path(args.csv), rows)
    below = pipe.config.refine_below_confidence
    print(f"pipeline: {args.checkpoint or 'the bundled model'}; G_m: {args.matting or 'its own'}; float32; "
          f"calibration seed {CALIBRATION_SEED}; refined whole at mu {pipe.soft_edge_weight:g}\n")
    print("\n".join(report(rows, 0.0 if below is None else below, args.threshold or [1.2, 1.3, 1.5, 2.0])))


if __name__ == "__main__":
    main()
