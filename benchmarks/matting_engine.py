"""The matting data engine: how fast it draws, and a held-out proxy for hair and fur with true alpha.

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 python -m benchmarks.matting_engine \\
        [--checkpoint LABEL=PATH ...] [--count 64] [--refine [--refinement-weight MU]]

1. Samples per second of the training settings at 256 (one thread, as a loader worker runs it).
2. The held-out proxy: ``--count`` strand samples of the styles training never draws (``HELD_OUT_STYLES``:
   wavy_fine, fur) over the 8 bundled photos the recipes hold out (drawn apart from the validation set that
   training chooses by), at 320x320 with their own uneven trimaps
   (5-60 px at long side 512), scored by G_m of each checkpoint, closed-form matting and the trimap alone
   (SAD / MSE / Grad / Conn over the unknown region, as ``hamagan eval``); ``--refine`` adds each checkpoint
   refined by the matting Laplacian, and as its config refines by default (where the band is wide or G_m is
   unsure of it).
   Per-sample values go to benchmarks/matting_engine.csv.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import cv2
import numpy as np

from hamagan import HaMaGANPipeline, samples
from hamagan.data.matting_engine import EngineSettings, MattingEngine
from hamagan.evaluation import MattingCase, closed_form, evaluate_matting, markdown_table, trimap_only
from hamagan.report import REFINEMENT_VARIANTS, fix_refinement_weight, labelled_checkpoint, pipeline_matting
from hamagan.training.samples import load_backgrounds
from hamagan.training.validation import held_out_mattes

HELD_OUT_PHOTOS = 8  # the recipes' held_out_backgrounds: the last 8 bundled photos
TEST_SEED = 2 * 10**6  # not the seed of the validation set that training chooses by


def throughput(photos: list[np.ndarray], count: int) -> float:
    engine = MattingEngine(photos, samples.portrait_cutouts("train"), EngineSettings(size=256), seed=0)
    engine(0)
    start = time.perf_counter()
    for position in range(1, count + 1):
        engine(position)
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoint", action="append", default=[], help="LABEL=PATH (DEFAULT: the bundled model)")
    parser.add_argument("--count", type=int, default=64)
    parser.add_argument("--refine", action="store_true", help="also each checkpoint refined")
    parser.add_argument("--refinement-weight", type=float, help="mu for every checkpoint (default: each one's own)")
    parser.add_argument("--csv", default="benchmarks/matting_engine.csv")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    photos = load_backgrounds(samples.background_paths(), 640)
    training, held_out = photos[:-HELD_OUT_PHOTOS], photos[-HELD_OUT_PHOTOS:]
    print(f"engine, training settings at 256, one thread: {throughput(training, 32):.1f} samples/s")
    cv2.setNumThreads(0)
    mattes = held_out_mattes(held_out, count=args.count, size=320, seed=TEST_SEED)
    cases = [MattingCase(f"{position}", m.image.astype(np.float64), m.alpha.astype(np.float64),
                         m.trimap.astype(np.float64)) for position, m in enumerate(mattes)]
    checkpoints = dict(labelled_checkpoint(c) for c in args.checkpoint) or {"default": None}
    pipes = {label: HaMaGANPipeline.from_pretrained(path) for label, path in checkpoints.items()}
    for pipe in pipes.values() if args.refinement_weight is not None else ():
        fix_refinement_weight(pipe, args.refinement_weight)
    variants = REFINEMENT_VARIANTS if args.refine else {False: ""}
    reports = [evaluate_matting(pipeline_matting(pipe, refine), cases, f"{label}{suffix}", progress=False)
               for refine, suffix in variants.items() for label, pipe in pipes.items()]
    reports += [evaluate_matting(method, cases, name, progress=False)
                for name, method in (("closed-form", closed_form), ("trimap only", trimap_only))]
    print(f"\nheld-out strand styles over held-out photos, {len(cases)} samples at 320x320:\n")
    print(markdown_table(reports))
    with Path(args.csv).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sample", "method", "SAD", "MSE", "Grad", "Conn"])
        for report in reports:
            for row in report.rows:
                writer.writerow([row["id"], report.method, *(f"{row[k]:.4f}" for k in ("SAD", "MSE", "Grad", "Conn"))])


if __name__ == "__main__":
    main()
