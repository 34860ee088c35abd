"""Choosing, on validation, the band around G_m's edge in which its alpha is refined (``refine_edge``).

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 python -m benchmarks.matting_edge \\
        [--checkpoint PATH] [--count 96] [--share 0.003 --share 0.006 ...]     # about 20 minutes

``refine_edge`` refines G_m's alpha by the matting Laplacian only within that share of G_m's working size's
long side of where G_m's alpha is soft (``hamagan.trimap.tightened_trimap``), wherever the config's other rules
do not refine the whole band (those stay as the checkpoint has them). Two groups of validation sets, with
true alpha, the pipeline as it runs by default with each share (None: as the checkpoint ships):

- Given trimaps: the refinement weight benchmark's seven sets (``matting_refinement_weight.weight_sets``:
  held-out strand styles, training portraits and the validation portrait over the held-out photos, the
  validation portrait's rows at 5-30 px, lace, smoke and blur; 320 px), SAD and Grad over the unknown region.
- Automatic trimaps (``pipe(image)``): the twelve non-test portraits at the reference recipe's long side 512 and
  the proxy scenes of ``hamagan.data.person_scenes`` (the bundled portraits at 3-30% of a 1280-pixel frame, by
  its edge and in pairs, over the validation half of the bundled photos), whole-image SAD (/1000); photos where
  the finder finds no one are left out (every setting mattes them alike: not at all).

The rule, fixed after a first probe (a ``/tmp`` script) on the same sets: the lowest mean over the twelve sets of
SAD as a share of the shipped setting's; among shares within 0.005 of that mean, the widest band. ``--split
test`` runs the automatic sets of the test half (the three test portraits, the test scenes) once, for the record;
the given trimaps' test figures are ``matting_trimap_widths`` and ``matting_engine``'s. Per-sample values:
``matting_edge_<split>.csv``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from benchmarks.matting_refinement import timed_scores
from benchmarks.matting_refinement_weight import weight_sets
from benchmarks.rows import write_rows
from hamagan import HaMaGANPipeline
from hamagan.data.person_scenes import person_scenes
from hamagan.evaluation import load_matting_case
from hamagan.samples import TEST_PORTRAITS, portrait_ids

HERE = Path(__file__).resolve().parent
SHARES = (0.003, 0.006, 0.012)


def automatic_sets(split: str) -> dict[str, list[tuple[str, np.ndarray, np.ndarray]]]:
    """(name, image, true alpha) per set: the split's portraits at 512 as they are, and its proxy scenes by kind."""
    ids = TEST_PORTRAITS if split == "test" else [p for p in portrait_ids() if p not in TEST_PORTRAITS]
    sets: dict[str, list] = {"automatic: portraits at 512": []}
    for portrait_id in ids:
        case = load_matting_case(portrait_id, long_side=512)
        sets["automatic: portraits at 512"].append((portrait_id, case.image.astype(np.float32), case.alpha))
    for scene in person_scenes(split, seed={"validation": 0, "test": 1}[split]):
        kind, name = scene.name.split(" ", 1)
        sets.setdefault(f"automatic: {kind} scenes", []).append((name, scene.image.astype(np.float32), scene.alpha))
    return sets


def measure(pipe: HaMaGANPipeline, split: str, count: int, shares: tuple[float | None, ...]) -> list[dict]:
    """Per sample and share: SAD, Grad (given trimaps; "" for automatic ones) and the matting's seconds."""
    rows = []
    for name, cases in weight_sets(count).items() if split == "validation" else ():
        for case in cases:
            row = {"set": name, "sample": case.case_id}
            for share in shares:
                pipe.config.refine_edge = share
                row |= timed_scores(pipe, case, share)
            rows.append(row)
        print(f"{name}: {len(cases)}", flush=True)
    for name, photos in automatic_sets(split).items():
        for photo, image, truth in photos:
            row = {"set": name, "sample": photo}
            for share in shares:
                pipe.config.refine_edge = share
                out = pipe(image)
                if out.alpha.max() <= 0.5:
                    break
                row[f"seconds {share}"] = out.seconds["matting"]
                row[f"sad {share}"], row[f"grad {share}"] = float(np.abs(out.alpha - truth).sum() / 1000), ""
            else:
                rows.append(row)
        print(f"{name}: {len(photos)}", flush=True)
    return rows


def report(rows: list[dict], shares: tuple[float | None, ...]) -> list[str]:
    """Per set: mean SAD (Grad) per share, SAD as a share of the first setting's and how many samples fell."""
    first = shares[0]
    lines = ["| set | samples | " + " | ".join(f"refine_edge {s}" for s in shares) + " |",
             "|---|---|" + "---|" * len(shares)]
    ratios: dict[float | None, list[float]] = {s: [] for s in shares[1:]}
    for name in dict.fromkeys(r["set"] for r in rows):
        chosen = [r for r in rows if r["set"] == name]
        cells = []
        for share in shares:
            cell = f"{np.mean([r[f'sad {share}'] for r in chosen]):.3f}"
            if chosen[0][f"grad {share}"] != "":
                cell += f" / {np.mean([r[f'grad {share}'] for r in chosen]):.3f}"
            if share != first:
                ratio = float(np.mean([r[f"sad {share}"] / max(r[f"sad {first}"], 1e-9) for r in chosen]))
                ratios[share].append(ratio)
                cell += f" ({ratio:.3f}, {sum(r[f'sad {share}'] < r[f'sad {first}'] for r in chosen)} lower)"
            cells.append(cell)
        lines.append(f"| {name} | {len(chosen)} | " + " | ".join(cells) + " |")
    means = {share: float(np.mean(v)) for share, v in ratios.items()}
    best = min(means.values())
    choice = max(share for share, mean in means.items() if mean <= best + 0.005)
    automatic = [r for r in rows if r["grad " + str(first)] == ""]
    seconds = [f"{share}: {np.median([r[f'seconds {share}'] for r in automatic]):.2f} s" for share in shares]
    lines += ["", "mean over the sets of SAD as a share of refine_edge " + f"{first}'s: "
              + ", ".join(f"{share} {mean:.3f}" for share, mean in means.items()) + f"; by the rule: {choice}",
              "median seconds of the matting stage with the automatic trimap: " + ", ".join(seconds)]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None, help="a pipeline folder (default: the bundled model)")
    parser.add_argument("--split", choices=["validation", "test"], default="validation")
    parser.add_argument("--count", type=int, default=96, help="given-trimap samples per set (validation)")
    parser.add_argument("--share", type=float, action="append", help="refine_edge values to compare")
    args = parser.parse_args()
    pipe = HaMaGANPipeline.from_pretrained(args.checkpoint)
    pipe.matting_bf16 = False
    shares = (pipe.config.refine_edge, *(args.share or SHARES))
    rows = measure(pipe, args.split, args.count, shares)
    write_rows(HERE / f"matting_edge_{args.split}.csv", rows)
    print(f"\n## {args.split}: SAD (/ Grad) by refine_edge, the first as the checkpoint ships (float32)\n")
    print("\n".join(report(rows, shares)))


if __name__ == "__main__":
    main()
