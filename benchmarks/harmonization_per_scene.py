"""How the test portraits' scenes compare with the training data's, and the harmonization cut without each.

    python -m benchmarks.harmonization_per_scene [--results benchmarks/eval/results.json] [--method "ours (default v8)"]

Prints, for every bundled portrait, the share of its background (alpha < 0.05) that is blown out (every
channel at least 235 of 255) and the mean brightness of background and portrait ("train": the 12 portraits
outside the test split, the validation portrait among them); the same share for the
training background photos (the bundled photos but the last ``--held-out-photos``); and, from an evaluation
report (``hamagan evaluate``'s results.json), the method's fMSE cut against the untouched composite over the
test composites, per test portrait and with each left out.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.evaluation_set_size import cut
from benchmarks.harmonization_by_transform import Groups
from hamagan import samples

BLOWN_OUT = 235  # every channel at least this: clipped highlights (a white sky, a lamp)


def blown_out(rgb: np.ndarray, where: np.ndarray | None = None) -> float:
    """Share of the pixels ``where`` (a boolean mask; all by default) whose every channel is at least
    ``BLOWN_OUT``."""
    clipped = rgb.min(axis=2) >= BLOWN_OUT
    return float((clipped if where is None else clipped[where]).mean())


def portrait_rows() -> list[tuple[str, str, float, float, float]]:
    """(id, split, blown-out share of the background, background and portrait mean brightness) per portrait."""
    rows = []
    for portrait in samples.portrait_ids():
        image_path, alpha_path = samples.portrait_paths(portrait)
        rgb = np.asarray(Image.open(image_path).convert("RGB"))
        alpha = np.asarray(Image.open(alpha_path).convert("L")) / 255
        background, person = alpha < 0.05, alpha > 0.95
        brightness = rgb.mean(axis=2)
        split = "test" if portrait in samples.TEST_PORTRAITS else "train"
        rows.append((portrait, split, blown_out(rgb, background), brightness[background].mean(),
                     brightness[person].mean()))
    return rows


def report_groups(results: Path, method: str) -> Groups:
    """The method's and the untouched composite's fMSE per test composite (both directions), grouped by
    portrait as ``evaluation_set_size.cut`` reads them."""
    report = json.loads(results.read_text())["harmonization"]
    groups: Groups = defaultdict(lambda: ([], []))
    for ours, plain in zip(report[method]["per_image"], report["composite"]["per_image"], strict=True):
        if ours["id"] != plain["id"]:
            raise ValueError(f"{results}: the method's and the composite's rows differ ({ours['id']}, {plain['id']})")
        mine, theirs = groups[("all", ours["id"].split("-")[0])]
        mine.append(ours["fMSE"])
        theirs.append(plain["fMSE"])
    return groups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=Path("benchmarks/eval/results.json"))
    parser.add_argument("--method", default="ours (default v8)")
    parser.add_argument("--held-out-photos", type=int, default=8, help="photos kept from training (the configs')")
    args = parser.parse_args()
    print(f"| portrait | split | background blown out (>= {BLOWN_OUT}) | background brightness | portrait brightness |")
    print("|---|---|---|---|---|")
    for portrait, split, share, background, person in sorted(portrait_rows(), key=lambda r: -r[2]):
        print(f"| {portrait} | {split} | {100 * share:.1f}% | {background:.0f} | {person:.0f} |")
    photos = samples.background_paths()[:-args.held_out_photos]
    shares = [blown_out(np.asarray(Image.open(p).convert("RGB"))) for p in photos]
    print(f"\ntraining photos ({len(photos)}): blown out at most {100 * max(shares):.1f}% "
          f"({photos[int(np.argmax(shares))].name}), over 25% in {sum(s > 0.25 for s in shares)}")
    groups = report_groups(args.results, args.method)
    portraits = sorted(p for _, p in groups)
    print(f"\n{args.method}, test composites (both directions), fMSE against the untouched composite's: "
          f"{cut(groups, set(portraits)):+.1f}%")
    print("| portrait | composites | composite's fMSE | method's fMSE | change | over the other two |")
    print("|---|---|---|---|---|---|")
    for portrait in portraits:
        mine, theirs = groups[("all", portrait)]
        print(f"| {portrait} | {len(mine)} | {np.mean(theirs):.0f} | {np.mean(mine):.0f} | "
              f"{cut(groups, {portrait}):+.1f}% | {cut(groups, set(portraits) - {portrait}):+.1f}% |")

if __name__ == "__main__":
    main()
