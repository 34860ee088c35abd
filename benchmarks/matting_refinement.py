"""Choosing the matting refinement's weight (mu) on validation, and its cost.

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 python -m benchmarks.matting_refinement \\
        [--checkpoint PATH] [--count 48] [--speed-only]

Validation only (the test portraits and the test seed are never drawn here): ``--count`` samples of each of
two engine sets over the 8 bundled photos the recipes hold out, at 320x320 with their own uneven trimaps:
the held-out strand styles (training never draws them; the validation seed training chooses by) and the
training portraits' cut-outs, recoloured and merged (``portrait``, ``portrait_texture`` and ``merged``
families; a seed of their own). G_m without refinement, then refined at each weight; SAD / Grad per set and
the refinement's own seconds per sample. Then the pipeline's matting (``matte``, G_m and refinement) at each
weight on the 12 training portraits by the reference recipe (long side 512, 10-px band): median seconds of 3
runs per portrait, mean over the portraits.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.timing import median_seconds
from hamagan import HaMaGANPipeline, samples
from hamagan.data.matting_engine import EngineSettings, MattingEngine
from hamagan.evaluation import MattingCase, load_matting_case
from hamagan.metrics import matting_metrics
from hamagan.refinement import refine_alpha
from hamagan.report import fix_refinement_weight, pipeline_matting
from hamagan.training.samples import load_backgrounds
from hamagan.training.validation import held_out_mattes

HELD_OUT_PHOTOS = 8
WEIGHTS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
PORTRAIT_SEED = 10**6 + 1
PORTRAIT_FAMILIES = {"portrait": 0.5, "portrait_texture": 0.25, "merged": 0.25}  # recoloured and merged too


def portrait_samples(photos: list[np.ndarray], count: int, size: int = 320) -> list:
    """The training portraits recoloured and merged over ``photos``: ``count`` seeded engine samples of ``size``."""
    settings = EngineSettings(size=size, families=PORTRAIT_FAMILIES)
    engine = MattingEngine(photos, samples.portrait_cutouts("train"), settings, seed=PORTRAIT_SEED)
    return [engine(position) for position in range(count)]


def as_cases(mattes: list) -> list[MattingCase]:
    return [MattingCase(f"{position}", m.image.astype(np.float64), m.alpha.astype(np.float64),
                        m.trimap.astype(np.float64)) for position, m in enumerate(mattes)]


def mean_scores(cases: list[MattingCase], alphas: list[np.ndarray]) -> dict[str, float]:
    rows = [matting_metrics(alpha, case.alpha, case.trimap) for case, alpha in zip(cases, alphas, strict=True)]
    return {key: float(np.mean([row[key] for row in rows])) for key in rows[0]}


def timed_scores(pipe: HaMaGANPipeline, case: MattingCase, key: object) -> dict[str, float]:
    """The pipeline's matting of ``case`` as its config stands: ``seconds KEY``, ``sad KEY`` and ``grad KEY``."""
    start = time.perf_counter()
    alpha = pipeline_matting(pipe)(case.image, case.trimap)
    seconds = time.perf_counter() - start
    scores = matting_metrics(alpha, case.alpha, case.trimap)
    return {f"seconds {key}": seconds, f"sad {key}": scores["SAD"], f"grad {key}": scores["Grad"]}


def held_out_photos() -> list[np.ndarray]:
    """The bundled photos every recipe holds out (the last ``HELD_OUT_PHOTOS``), at long side 640."""
    return load_backgrounds(samples.background_paths(), 640)[-HELD_OUT_PHOTOS:]


def refinement_parser(count: int) -> argparse.ArgumentParser:
    """The refinement benchmarks' shared options: ``--checkpoint`` and ``--count`` (default ``count``)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoint", default=None, help="a pipeline folder (default: the bundled model)")
    parser.add_argument("--count", type=int, default=count)
    return parser


def main() -> None:
    parser = refinement_parser(48)
    parser.add_argument("--speed-only", action="store_true", help="only the pipeline's seconds per weight")
    args = parser.parse_args()
    pipe = HaMaGANPipeline.from_pretrained(args.checkpoint)
    if not args.speed_only:
        choose_weight(pipe, args.count)
    cases = [load_matting_case(portrait) for portrait in samples.portrait_ids("train")]
    print("\npipeline matting at long side 512 (training portraits, 10-px band), seconds:")
    for weight in (None, *WEIGHTS):
        if weight is not None:
            fix_refinement_weight(pipe, weight)
        method = pipeline_matting(pipe, refine=weight is not None)
        seconds = np.mean([median_seconds(lambda c=case, m=method: m(c.image, c.trimap), 3) for case in cases])
        print(f"  {'G_m alone' if weight is None else f'refined, mu {weight}'}: {seconds:.3f} s")


def choose_weight(pipe: HaMaGANPipeline, count: int) -> None:
    held_out = held_out_photos()
    sets = {"held-out strands": as_cases(held_out_mattes(held_out, count=count, size=320)),
            "portraits over held-out photos": as_cases(portrait_samples(held_out, count))}
    network = pipeline_matting(pipe, refine=False)
    print("| set | method | SAD | Grad | refinement s/sample |\n|---|---|---|---|---|")
    for name, cases in sets.items():
        predictions = [network(case.image, case.trimap) for case in cases]
        plain = mean_scores(cases, predictions)
        print(f"| {name} | G_m | {plain['SAD']:.3f} | {plain['Grad']:.3f} | - |")
        for weight in WEIGHTS:
            refined, seconds = [], []
            for case, alpha in zip(cases, predictions, strict=True):
                start = time.perf_counter()
                refined.append(refine_alpha(case.image, case.trimap, alpha, weight))
                seconds.append(time.perf_counter() - start)
            scores = mean_scores(cases, refined)
            print(f"| {name} | refined, mu {weight} | {scores['SAD']:.3f} | {scores['Grad']:.3f} | "
                  f"{np.median(seconds):.3f} |")

if __name__ == "__main__":
    main()
