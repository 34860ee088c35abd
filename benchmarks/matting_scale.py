"""Choosing, on validation, the widest unknown band G_m is run on (``matting_band_width``).

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 python -m benchmarks.matting_scale \\
        [--checkpoint PATH] [--count 48] [--width 32 --width 48 ...]

G_m was trained on 256-px crops with bands of 5-60 px at long side 512 scaled to the crop (about 2.5-30 px). Run
on a whole image at long side 512 it errs inside wide bands in ways it does not on the same image shrunk (a `/tmp`
probe, 2026-12-07: on 512-px engine samples, G_m alone's SAD falls from 14.1 to 5.0 on the training portraits over
held-out photos when shrunk to half). With ``matting_band_width`` the pipeline shrinks each image so that its
trimap's band is at most that wide, runs G_m there, enlarges its alpha back and refines the edge at the working
size as before. (A first run of this benchmark shrank by the subject's size instead, ``--side`` 256 and 320: it
helped wide bands and hurt narrow ones, 5-10 px, and failed the rule below; ``matting_scale_subject.txt``.)

Validation only (never the test portraits or the test seed), the pipeline's default matte in float32 for each
candidate band width and without one (today): the refinement weight benchmark's seven sets at 320 px
(``matting_refinement_weight.weight_sets``), the held-out strands, training portraits and validation portrait over
held-out photos drawn at 512 px (half the count), and the validation portrait placed at 15-50% of the frame over
the person-free validation photos (``auto_trimap.held_out_people``; SAD with its 10-px trimap, and whole-image
SAD with the automatic trimap).

The rule, fixed before the run: a width is adopted when, over the sets, its mean SAD as a share of today's is
below 0.97, its mean Grad share below 1, and no set's SAD share is above 1.03; of those, the lowest mean SAD
share. The matting's time at long side 512 is checked apart (``benchmarks.matting_speed``). Per set and width:
``matting_scale.csv``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from benchmarks.auto_trimap import held_out_people
from benchmarks.matting_refinement import as_cases, held_out_photos, portrait_samples
from benchmarks.matting_refinement_weight import validation_cutout, weight_sets
from benchmarks.rows import write_rows
from hamagan import HaMaGANPipeline
from hamagan.evaluation import MattingCase
from hamagan.metrics import matting_metrics
from hamagan.report import pipeline_matting
from hamagan.training.validation import held_out_mattes, held_out_portrait_mattes
from hamagan.trimap import trimap_from_alpha

HERE = Path(__file__).resolve().parent
LARGE = 512
AUTOMATIC = "validation portrait in a scene, automatic trimap"


def large_sets(count: int) -> dict[str, list[MattingCase]]:
    """The held-out strands, training portraits and validation portrait over held-out photos, drawn at 512 px."""
    held_out = held_out_photos()
    return {f"held-out strands at {LARGE}": as_cases(held_out_mattes(held_out, count=count, size=LARGE)),
            f"portraits over held-out photos at {LARGE}": as_cases(portrait_samples(held_out, count, LARGE)),
            f"validation portrait over held-out photos at {LARGE}": as_cases(
                held_out_portrait_mattes(held_out, [validation_cutout()], count=count, size=LARGE))}


def scene_sets(count: int) -> dict[str, list[MattingCase]]:
    """The validation portrait small in the frame, with its 10-px trimap, and for the automatic trimap (the set
    ``AUTOMATIC``) with an all-unknown trimap: the region its whole-image scores are taken over."""
    people = [(f"{i}", image.astype(np.float64), alpha) for i, (_, image, alpha, _) in
              enumerate(held_out_people("validation", count))]
    return {"validation portrait in a scene, 10-px trimap": [
                MattingCase(i, image, alpha, trimap_from_alpha(alpha, 10).astype(np.float64))
                for i, image, alpha in people],
            AUTOMATIC: [MattingCase(i, image, alpha, np.full(alpha.shape, 0.5)) for i, image, alpha in people]}


def scores(pipe: HaMaGANPipeline, case: MattingCase, automatic: bool) -> tuple[float, float]:
    """SAD and Grad of the default matte over the trimap's unknown region; ``automatic``: of the pipeline's alpha
    with its own trimap, over the whole image."""
    if automatic:
        alpha = pipe(case.image.astype(np.float32)).alpha.astype(np.float64)
        result = matting_metrics(alpha, case.alpha, case.trimap)
    else:
        result = matting_metrics(pipeline_matting(pipe)(case.image, case.trimap), case.alpha, case.trimap)
    return result["SAD"], result["Grad"]


def measure(variants: dict[str, HaMaGANPipeline], sets: dict[str, list[MattingCase]]) -> list[dict]:
    """Per case, SAD and Grad of each variant (a pipeline as configured), in columns ``sad NAME``, ``grad NAME``."""
    rows = []
    for name, cases in sets.items():
        for position, case in enumerate(cases):
            row = {"set": name, "case": case.case_id}
            for variant, pipe in variants.items():
                row[f"sad {variant}"], row[f"grad {variant}"] = scores(pipe, case, name == AUTOMATIC)
            rows.append(row)
            print(f"\r{name}: {position + 1} / {len(cases)}", end="", file=sys.stderr)
        print(file=sys.stderr)
    return rows


def passes(sad_share: float, grad_share: float, largest_sad_share: float) -> bool:
    """The rule, fixed before the first run: mean SAD share below 0.97, mean Grad share below 1, and no set's
    SAD share above 1.03."""
    return sad_share < 0.97 and grad_share < 1 and largest_sad_share <= 1.03


def share_report(rows: list[dict], variants: list[str], label: str) -> tuple[list[str], list[str]]:
    """Per set, mean SAD / Grad by variant; per variant after the first, its shares of the first's and whether
    they pass the rule. Returns the table's lines and the passing variants, lowest mean SAD share first."""
    names = list(dict.fromkeys(r["set"] for r in rows))
    lines = ["| set | samples | " + " | ".join(f"{label} {variant}" for variant in variants) + " |",
             "|---|---|" + "---|" * len(variants)]
    shares: dict[str, dict[str, list[float]]] = {variant: {"sad": [], "grad": []} for variant in variants}
    for name in names:
        chosen = [r for r in rows if r["set"] == name]
        means = {(key, variant): float(np.mean([r[f"{key} {variant}"] for r in chosen]))
                 for key in ("sad", "grad") for variant in variants}
        for variant in variants:
            for key in ("sad", "grad"):
                shares[variant][key].append(means[key, variant] / means[key, variants[0]])
        lines.append(f"| {name} | {len(chosen)} | " + " | ".join(
            f"{means['sad', variant]:.3f} / {means['grad', variant]:.3f}" for variant in variants) + " |")
    lines += ["", f"| {label} | mean SAD share | mean Grad share | largest SAD share | passes the rule |",
              "|---|---|---|---|---|"]
    passing = {}
    for variant in variants[1:]:
        sad, grad = np.mean(shares[variant]["sad"]), np.mean(shares[variant]["grad"])
        largest = max(shares[variant]["sad"])
        if passes(sad, grad, largest):
            passing[variant] = sad
        verdict = "yes" if variant in passing else "no"
        lines.append(f"| {variant} | {sad:.3f} | {grad:.3f} | {largest:.3f} | {verdict} |")
    return lines, sorted(passing, key=passing.get)


def validation_sets(count: int) -> dict[str, list[MattingCase]]:
    """Every set of this benchmark: ``count`` samples in each 320-px set, half that in the others."""
    return {**weight_sets(count), **large_sets(count // 2), **scene_sets(count // 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoint", default=None, help="a pipeline folder (default: the bundled model)")
    parser.add_argument("--count", type=int, default=48)
    parser.add_argument("--width", type=int, action="append", help="a candidate matting_band_width (repeatable)")
    args = parser.parse_args()
    widths = [None, *(args.width or [32, 48])]
    variants = {}
    for width in widths:
        variants[str(width)] = HaMaGANPipeline.from_pretrained(args.checkpoint)
        variants[str(width)].matting_bf16 = False
        variants[str(width)].config.matting_band_width = width
    rows = measure(variants, validation_sets(args.count))
    write_rows(HERE / "matting_scale.csv", rows)
    print(f"checkpoint: {args.checkpoint or 'the bundled model'}, float32; SAD / Grad over the unknown region "
          "(the scenes' automatic trimap: the whole image)\n")
    lines, passing = share_report(rows, list(variants), "width")
    verdict = f"adopt width {passing[0]}" if passing else "keep G_m at the working size"
    print("\n".join([*lines, "", f"Rule: {verdict} (speed checked apart, benchmarks.matting_speed)."]))


if __name__ == "__main__":
    main()
