"""Choosing, on validation, how the matting refinement's weight (mu) follows G_m's confidence, and when a given
trimap is refined by default.

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 python -m benchmarks.matting_refinement_weight \\
        [--checkpoint PATH] [--count 96]

Validation only (never the test portraits or the test seed): the refinement gate's three sets
(``matting_refinement_gate.validation_sets``), the validation portrait over the 8 held-out bundled photos
(``--count`` engine samples with 5-60 px bands: a portrait G_m never trained on, unlike the training portraits'
set) and a third of ``--count`` each of the engine's lace, smoke and blur families over the same photos
(families training draws, photos it never saw). Per sample: G_m's mean confidence over the band
(:func:`hamagan.refinement.network_confidence`), SAD and Grad of G_m alone and refined at each of ``WEIGHTS``.

First, every sample refined: each weight alone, and mu by confidence for each (low, high) of ``SPANS`` and each
``UNSURE`` weight: that weight below low, ``MIDDLE`` up to high, ``SURE`` above (steps standing in for the
config's log-linear ramp). Then, with the chosen span, when to refine: where the band is at least T px wide
(``refine_from_band``) or G_m's confidence is below C (``refine_below_confidence``), G_m alone elsewhere. Both
choices by the refinement gate's rule: the lowest mean over the sets of SAD as a share of G_m alone's. The
chosen settings are then run as the pipeline runs them (``refinement_weight_unsure`` = the chosen unsure weight,
``refinement_weight`` = ``SURE``, the ramp between) and reported per set. Per-sample values:
``matting_refinement_weight.csv``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from benchmarks.matting_refinement import as_cases, held_out_photos, refinement_parser
from benchmarks.matting_refinement_gate import validation_sets
from benchmarks.rows import write_rows
from hamagan import HaMaGANPipeline, samples
from hamagan.data.builder import validation_portrait
from hamagan.data.matting_engine import EngineSettings, MattingEngine
from hamagan.images import to_array
from hamagan.metrics import grad, matting_metrics, sad
from hamagan.refinement import band_width, network_confidence, refine_alpha
from hamagan.report import pipeline_matting
from hamagan.training.validation import held_out_portrait_mattes

HERE = Path(__file__).resolve().parent
UNSURE, MIDDLE, SURE = (3e-5, 3e-6, 3e-7), 3e-4, 3e-3
WEIGHTS = (*UNSURE, MIDDLE, SURE)
SPANS = [(low, high) for low in (0.6, 0.7, 0.75, 0.8, 0.85) for high in (0.8, 0.85, 0.9, 0.95) if high > low]
BANDS = (0, 20, 30, 40, 50, 60, 70, 80, 100, None)
CONFIDENCES = (None, 0.6, 0.7, 0.75, 0.8, 0.85)
FAMILY_SEED = 10**6 + 7


def validation_cutout() -> tuple[np.ndarray, np.ndarray]:
    """The validation portrait's foreground and alpha."""
    image, alpha = samples.portrait_paths(validation_portrait())
    return to_array(image, 3), to_array(alpha, 1)


def weight_sets(count: int) -> dict[str, list]:
    """The gate's validation sets, the validation portrait over held-out photos, and lace, smoke and blur."""
    held_out = held_out_photos()
    sets = validation_sets(count, held_out)
    sets["validation portrait over held-out photos"] = as_cases(
        held_out_portrait_mattes(held_out, [validation_cutout()], count=count, size=320))
    for family in ("lace", "smoke", "blur"):
        engine = MattingEngine(held_out, settings=EngineSettings(size=320, families={family: 1.0}), seed=FAMILY_SEED)
        sets[family] = as_cases([engine(position) for position in range(count // 3)])
    return sets


def measure(pipe: HaMaGANPipeline, sets: dict[str, list]) -> list[dict]:
    """Per sample: band width, G_m's confidence, SAD and Grad of G_m alone and refined at each weight."""
    network, rows = pipeline_matting(pipe, refine=False), []
    for name, cases in sets.items():
        for position, case in enumerate(cases):
            alpha = network(case.image, case.trimap)
            row = {"set": name, "case": case.case_id, "band_width": band_width(case.trimap),
                   "confidence": network_confidence(alpha, case.trimap)}
            refined = [(f"mu {w:g}", refine_alpha(case.image, case.trimap, alpha, w)) for w in WEIGHTS]
            for label, prediction in [("G_m", alpha), *refined]:
                row[f"sad {label}"] = sad(prediction, case.alpha, case.trimap)
                row[f"grad {label}"] = grad(prediction, case.alpha, case.trimap)
            rows.append(row)
            print(f"\r{name}: {position + 1} / {len(cases)}", end="", file=sys.stderr)
        print(file=sys.stderr)
    return rows


def stepped(row: dict, ramp: tuple[float, float, float], metric: str) -> float:
    """``metric`` of the weight the steps of ``ramp`` = (unsure weight, low, high) give this row's confidence."""
    unsure, low, high = ramp
    weight = unsure if row["confidence"] < low else MIDDLE if row["confidence"] < high else SURE
    return row[f"{metric} mu {weight:g}"]


def gated(row: dict, ramp: tuple[float, float, float], band: float | None, confidence: float | None,
          metric: str) -> float:
    """``metric`` of refining (by the ramp's steps) where the band is at least ``band`` px wide or G_m's
    confidence is below ``confidence``; of G_m alone elsewhere."""
    refine = (band is not None and row["band_width"] >= band) or (confidence is not None
                                                                  and row["confidence"] < confidence)
    return stepped(row, ramp, metric) if refine else row[f"{metric} G_m"]


def rules_table(rows: list[dict], rules: dict, first: str) -> tuple[list[str], str]:
    """Mean SAD / Grad per set of each rule (``first``, its column's name) and the mean over the sets of SAD
    as a share of G_m alone's; the label of the rule with the lowest share."""
    sets = list(dict.fromkeys(r["set"] for r in rows))
    lines = [f"| {first} | " + " | ".join(sets) + " | SAD / G_m alone's, mean over the sets |",
             "|---|" + "---|" * (len(sets) + 1)]
    shares = {label: float(np.mean([np.mean([rule(r, "sad") for r in rows if r["set"] == name])
                                     / np.mean([r["sad G_m"] for r in rows if r["set"] == name]) for name in sets]))
              for label, rule in rules.items()}
    best = min(shares, key=shares.get)
    for label, rule in rules.items():
        cells = []
        for name in sets:
            chosen = [r for r in rows if r["set"] == name]
            cells.append(f"{np.mean([rule(r, 'sad') for r in chosen]):.3f} / "
                         f"{np.mean([rule(r, 'grad') for r in chosen]):.3f}")
        mark = " (**chosen**)" if label == best else ""
        lines.append(f"| {label}{mark} | " + " | ".join(cells) + f" | {shares[label]:.3f} |")
    return lines, best


def choose(rows: list[dict]) -> tuple[list[str], tuple[float, float, float], float | None, float | None]:
    """The report's tables, the chosen ramp (unsure weight, low, high), band width and confidence."""
    ramps = {f"by confidence {low}-{high}, unsure {unsure:g}": (unsure, low, high)
             for unsure in UNSURE for low, high in SPANS}
    rules = {"G_m alone": lambda r, m: r[f"{m} G_m"]}
    rules |= {f"mu {w:g}": (lambda r, m, w=w: r[f"{m} mu {w:g}"]) for w in WEIGHTS}
    rules |= {label: (lambda r, m, ramp=ramp: stepped(r, ramp, m)) for label, ramp in ramps.items()}
    weights, best = rules_table(rows, rules, "every sample refined")
    if best not in ramps:
        raise SystemExit(f"no ramp beats every single weight ({best} won)")
    ramp = ramps[best]
    gates = {f"{'never' if b is None else f'{b} px'}, {'-' if c is None else c}": (b, c)
             for b in BANDS for c in CONFIDENCES}
    when, best = rules_table(rows, {label: (lambda r, m, b=b, c=c: gated(r, ramp, b, c, m))
                                    for label, (b, c) in gates.items()}, "band at least, or confidence below")
    band, confidence = gates[best]
    lines = ["## Every sample refined: mean SAD / Grad per set", "", *weights, "",
             f"## When to refine ({ramp_label(ramp)}): mean SAD / Grad per set", "", *when]
    return lines, ramp, band, confidence


def ramp_label(ramp: tuple[float, float, float]) -> str:
    """The ramp in words."""
    unsure, low, high = ramp
    return f"mu {unsure:g} to {SURE:g} over confidence {low}-{high}"


def run_chosen(pipe: HaMaGANPipeline, sets: dict[str, list], ramp: tuple[float, float, float],
               band: float | None, confidence: float | None) -> list[str]:
    """Mean SAD / Grad per set with the chosen settings as the pipeline runs them: G_m alone, every sample
    refined, and by default."""
    config = pipe.config
    config.refinement_weight, config.refinement_weight_unsure, config.refinement_confidence = SURE, ramp[0], ramp[1:]
    config.refine_from_band, config.refine_below_confidence = band, confidence
    lines = ["| set | samples | G_m alone SAD / Grad | refined (every sample) | by default |", "|---|---|---|---|---|"]
    for name, cases in sets.items():
        cells = []
        for refine in (False, True, None):
            method = pipeline_matting(pipe, refine=refine)
            scores = [matting_metrics(method(c.image, c.trimap), c.alpha, c.trimap) for c in cases]
            cells.append(f"{np.mean([s['SAD'] for s in scores]):.3f} / {np.mean([s['Grad'] for s in scores]):.3f}")
        lines.append(f"| {name} | {len(cases)} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    args = refinement_parser(96).parse_args()
    pipe = HaMaGANPipeline.from_pretrained(args.checkpoint)
    sets = weight_sets(args.count)
    rows = measure(pipe, sets)
    write_rows(HERE / "matting_refinement_weight.csv", rows)
    lines, ramp, band, confidence = choose(rows)
    print("\n".join(lines))
    print(f"\n## As the pipeline runs it: {ramp_label(ramp)}; by default refined where the band is at least "
          f"{band} px or the confidence below {confidence}\n")
    print("\n".join(run_chosen(pipe, sets, ramp, band, confidence)))


if __name__ == "__main__":
    main()
