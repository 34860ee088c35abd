"""Harmonization on held-out real photos (``hamagan.harmonization_sets``): fMSE / MSE / PSNR against the
untouched composite and Reinhard's transfer, by direction and transform, the share of composites made worse,
and the colourfulness the harmonized region keeps.

    python -m benchmarks.harmonization_heldout --split validation \
        --checkpoint v8=DEFAULT --checkpoint new=runs/NAME/final [--out benchmarks/harmonization_heldout]

``--gate KEEP_BELOW,FULL_FROM`` (repeatable; ``none`` for no gate) scores each checkpoint under those
``harmonize_gate`` settings instead of its own (``hamagan.harmonization_gate``). ``--people-draws N`` draws each
transform N times per photo of people (2 by default; the validation's four photos of people need more to tell
two models apart).

Validation chooses; ``--split test`` is run once, at the end. Writes ``SPLIT.md`` (tables, and each photo of
people's own cut), ``SPLIT.csv`` (one row per composite and method) and ``SPLIT.jpg`` (evenly spaced composites of
each set: the composite, each method's output, the real photo) under ``--out``. Needs the photo pool (``python -m
hamagan.data.photo_pool``).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from benchmarks.rows import write_rows
from hamagan import HaMaGANPipeline
from hamagan.harmonization_sets import composite_cases, people_cases
from hamagan.metrics import colourfulness, harmonization_metrics
from hamagan.report import (
    HarmonizationCase,
    HarmonizationMethod,
    labelled_checkpoint,
    pipeline_harmonizer,
    reinhard_region,
    unharmonized,
)

BASELINES = {"composite": unharmonized, "reinhard": reinhard_region}
RESAMPLES = 2000  # bootstrap draws of the composites for the cut's 90% interval
# "Worse than the composite" means an fMSE above the composite's by more than this: an output that leaves the
# composite as it is differs from it by float rounding alone (under 0.001 here).
WORSE_BY = 0.01


def score(methods: dict, cases: list[HarmonizationCase], set_name: str, shown: int = 8
          ) -> tuple[list[dict], list[np.ndarray]]:
    """Metric rows of every method on every case, and ``shown`` evenly spaced sheet rows (outputs side by side)."""
    rows, sheet = [], []
    picked = set(np.linspace(0, len(cases) - 1, shown).round().astype(int).tolist())
    for index, case in enumerate(tqdm(cases, desc=set_name, unit="composite")):
        real_colour = colourfulness(case.real, case.adjusted)
        outputs = []
        for name, method in methods.items():
            output = method(case)
            outputs.append(output)
            rows.append({"set": set_name, "id": case.case_id, "direction": case.direction,
                         "transform": case.transform, "method": name,
                         **harmonization_metrics(output, case.real, case.adjusted),
                         "colourfulness": colourfulness(output, case.adjusted), "real_colourfulness": real_colour})
        if index in picked:
            sheet.append(np.concatenate([_tile(image) for image in (*outputs, case.real)], axis=1))
    return rows, sheet


def _tile(image: np.ndarray, side: int = 160) -> np.ndarray:
    """The image's centred square, ``side`` pixels across."""
    h, w = image.shape[:2]
    top, left = (h - min(h, w)) // 2, (w - min(h, w)) // 2
    square = np.round(np.clip(image[top:top + min(h, w), left:left + min(h, w)], 0, 1) * 255).astype(np.uint8)
    return np.asarray(Image.fromarray(square).resize((side, side)))


def colourfulness_kept(rows: list[dict]) -> str:
    """Mean colourfulness of the outputs over the mean of the real photos' (ratio of the means), or "-"."""
    if not rows:
        return "-"
    real = max(float(np.mean([r["real_colourfulness"] for r in rows])), 1e-9)
    return f"{np.mean([r['colourfulness'] for r in rows]) / real:.2f}"


def cut_draws(fmse: np.ndarray, plain: np.ndarray, seed: int = 0) -> np.ndarray:
    """The fMSE cut against the composite (1 - mean / composite's mean) over :data:`RESAMPLES` resamples of the
    composites, drawn with replacement (the same draws for every method given the same ``seed``)."""
    picks = np.random.default_rng(seed).integers(len(plain), size=(RESAMPLES, len(plain)))
    return 1 - fmse[picks].sum(axis=1) / plain[picks].sum(axis=1)


def interval(draws: np.ndarray) -> str:
    """The 5th to 95th percentile of ``draws`` (shares), in points."""
    low, high = np.percentile(100 * draws, [5, 95])
    return f"{low:.0f} to {high:.0f}"


def summary(rows: list[dict], methods: list[str]) -> list[str]:
    """Markdown: per (set, direction) and per (set, direction, transform), each method's mean fMSE and its cut
    against the composite's with its 90% bootstrap interval, MSE, PSNR, the share of composites made worse, the
    colourfulness ratio (also apart where the untouched composite is duller than the real photo, and where it is
    not)."""
    groups: dict[tuple, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        for key in ((row["set"], row["direction"], "all"), (row["set"], row["direction"], row["transform"])):
            groups[key][row["method"]].append(row)
    lines = ["| set | direction | transform | n | method | fMSE | cut | cut, 90% interval | MSE | PSNR | "
             "worse than composite | colourfulness kept | kept where the composite is duller / more colourful |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for key in sorted(groups, key=lambda k: (k[0], k[1], k[2] != "all", k[2])):
        plain = groups[key]["composite"]
        plain_fmse = np.mean([r["fMSE"] for r in plain])
        for method in methods:
            mine = groups[key][method]
            fmse = np.mean([r["fMSE"] for r in mine])
            worse = np.mean([m["fMSE"] > p["fMSE"] + WORSE_BY for m, p in zip(mine, plain, strict=True)])
            duller = [m for m, p in zip(mine, plain, strict=True) if p["colourfulness"] < p["real_colourfulness"]]
            brighter = [m for m, p in zip(mine, plain, strict=True) if p["colourfulness"] >= p["real_colourfulness"]]
            kept = f"{colourfulness_kept(mine)} | {colourfulness_kept(duller)} / {colourfulness_kept(brighter)}"
            spread = interval(cut_draws(np.array([r["fMSE"] for r in mine]), np.array([r["fMSE"] for r in plain])))
            lines.append(f"| {' | '.join(key)} | {len(mine)} | {method} | {fmse:.0f} | "
                         f"{100 * (1 - fmse / plain_fmse):.0f}% | {spread} | {np.mean([r['MSE'] for r in mine]):.1f} | "
                         f"{np.mean([r['PSNR'] for r in mine]):.2f} | {100 * worse:.0f}% | {kept} |")
    return lines


def paired_differences(rows: list[dict], methods: list[str]) -> list[str]:
    """Markdown: each method's cut minus the first method's, per (set, direction), with the 90% interval of the
    difference over the same resamples of the composites (much narrower than either cut's own interval: the
    hard composites are hard for both)."""
    if len(methods) < 2:
        return []
    lines = [f"Cut minus {methods[0]}'s, points (90% interval over resampled composites):", "",
             "| set | direction | method | difference | 90% interval |", "|---|---|---|---|---|"]
    keys = sorted({(r["set"], r["direction"]) for r in rows})
    for key in keys:
        fmse = {m: np.array([r["fMSE"] for r in rows if (r["set"], r["direction"]) == key and r["method"] == m])
                for m in ["composite", *methods]}
        first = cut_draws(fmse[methods[0]], fmse["composite"])
        base = 1 - fmse[methods[0]].mean() / fmse["composite"].mean()
        for method in methods[1:]:
            cut = 1 - fmse[method].mean() / fmse["composite"].mean()
            lines.append(f"| {' | '.join(key)} | {method} | {100 * (cut - base):+.1f} | "
                         f"{interval(cut_draws(fmse[method], fmse['composite']) - first)} |")
    return lines


def per_photo(rows: list[dict], methods: list[str]) -> list[str]:
    """Markdown: on the photos of people, each photo's fMSE cut per method and direction (a few photos decide
    the set's figure)."""
    sums: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in rows:
        if row["set"] == "people":
            photo = row["id"].split(f"-{row['direction']}-")[0]
            sums[(photo, row["direction"])][row["method"]] += row["fMSE"]
    lines = ["| photo | direction | " + " | ".join(methods) + " |", "|---|---|" + "---|" * len(methods)]
    for (photo, direction), fmse in sorted(sums.items()):
        cuts = [f"{100 * (1 - fmse[m] / fmse['composite']):.0f}%" for m in methods]
        lines.append(f"| {photo} | {direction} | " + " | ".join(cuts) + " |")
    return lines


def gate_setting(text: str) -> tuple[float, float] | None:
    """``none`` or ``KEEP_BELOW,FULL_FROM``."""
    if text == "none":
        return None
    keep_below, full_from = (float(v) for v in text.split(","))
    return keep_below, full_from


def gated(pipe: HaMaGANPipeline, gate: tuple[float, float] | None) -> HarmonizationMethod:
    """The pipeline's harmonizer under ``gate`` (the pipeline keeps it)."""
    pipe = copy.copy(pipe)
    pipe.config = dataclasses.replace(pipe.config, harmonize_gate=gate)
    return pipeline_harmonizer(pipe)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", choices=["validation", "test"], default="validation")
    parser.add_argument("--checkpoint", action="append", default=[], type=labelled_checkpoint,
                        help="LABEL=PATH_OR_REPO (DEFAULT: the bundled model); repeat to compare")
    parser.add_argument("--gate", action="append", default=[], type=gate_setting,
                        help="KEEP_BELOW,FULL_FROM or none: score each checkpoint with this harmonize_gate; repeat")
    parser.add_argument("--count", type=int, default=240, help="engine composites")
    parser.add_argument("--people-draws", type=int, default=2, help="draws of each transform per photo of people")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/harmonization_heldout"))
    args = parser.parse_args()
    methods = dict(BASELINES)
    for label, path in args.checkpoint or [("default", None)]:
        pipe = HaMaGANPipeline.from_pretrained(path)
        if not args.gate:
            methods[label] = pipeline_harmonizer(pipe)
        for gate in args.gate:
            methods[f"{label} gate {'none' if gate is None else '-'.join(f'{v:g}' for v in gate)}"] = gated(pipe, gate)
    rows, sheet = score(methods, composite_cases(args.split, args.count), "composites")
    people_rows, people_sheet = score(methods, people_cases(args.split, args.people_draws), "people")
    rows += people_rows
    args.out.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(sheet + people_sheet)).save(args.out / f"{args.split}.jpg", quality=85)
    write_rows(args.out / f"{args.split}.csv", rows)
    columns = ", ".join(["composite", *list(methods)[1:], "real photo"])
    text = "\n".join([f"`python -m benchmarks.harmonization_heldout --split {args.split}"
                      + "".join(f" --checkpoint {label}={path or 'DEFAULT'}" for label, path in args.checkpoint)
                      + "".join(f" --gate {'none' if g is None else ','.join(f'{v:g}' for v in g)}" for g in args.gate)
                      + (f" --count {args.count}" if args.count != parser.get_default("count") else "")
                      + (f" --people-draws {args.people_draws}"
                         if args.people_draws != parser.get_default("people_draws") else "")
                      + f"`; {args.split}.jpg's columns: {columns}", "",
                      *summary(rows, [m for m in methods if m != "composite"] + ["composite"]), "",
                      *paired_differences(rows, [m for m in methods if m not in BASELINES]), "",
                      "fMSE cut against the composite per photo of people:", "",
                      *per_photo(rows, [m for m in methods if m != "composite"])])
    (args.out / f"{args.split}.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
