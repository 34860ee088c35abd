"""The Space's use, looked at: held-out portraits composed on the photo pool's test photos (no truth exists),
each direction, the plain composite beside each checkpoint's harmonized result.

    python -m benchmarks.new_backgrounds --checkpoint v9=runs/release-v9 --checkpoint v11=DEFAULT \
        [--photos 8] [--people] [--out benchmarks/harmonization_heldout/new_backgrounds.jpg]

Rows: one per photo and direction (background adjusted, then the portrait); columns: the composite, then each
checkpoint. The portraits (the three test portraits in turn) are prepared as the matting recipe prepares them
(long side 512, the trimap their soft region grown by 10 px: ``load_matting_case``). ``--people`` takes instead
the pool's held-out photos of people (validation and test splits), cut out by the automatic trimap as a Space
user's photo is, on the held-out bundled photos. Needs the photo pool (``python -m hamagan.data.photo_pool``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from hamagan import HaMaGANPipeline, samples
from hamagan.data.hmh import DIRECTIONS
from hamagan.data.photo_pool import pool_photos
from hamagan.evaluation import load_matting_case
from hamagan.harmonization_sets import bundled_held_out
from hamagan.images import to_array
from hamagan.report import labelled_checkpoint

ROW_HEIGHT = 150


Portrait = tuple[np.ndarray, np.ndarray | None]  # an image and its trimap (None: the automatic one)


def reference_portraits(count: int) -> list[Portrait]:
    """The three test portraits in turn, as the matting recipe prepares them."""
    cases = [load_matting_case(samples.TEST_PORTRAITS[index % len(samples.TEST_PORTRAITS)]) for index in range(count)]
    return [(case.image.astype(np.float32), case.trimap.astype(np.float32)) for case in cases]


def held_out_people() -> list[Portrait]:
    """The photo pool's held-out photos of people, for the automatic trimap."""
    paths = pool_photos("people", split="validation") + pool_photos("people", split="test")
    return [(to_array(str(path), 3), None) for path in paths]


def sheet_rows(pipes: dict[str, HaMaGANPipeline], portraits: list[Portrait], photos: list[Path]
               ) -> list[np.ndarray]:
    """One row per portrait and direction, on the photos in turn: the composite, then each pipeline's harmonized
    result (a portrait in which no person is found has no row)."""
    rows = []
    for index, (image, trimap) in enumerate(portraits):
        background = to_array(str(photos[index % len(photos)]), 3)
        for direction in DIRECTIONS:
            outputs = [pipe(image, trimap, background=background, direction=direction) for pipe in pipes.values()]
            if outputs[0].composite is None:
                break
            tiles = [outputs[0].composite] + [out.harmonized for out in outputs]
            width = round(tiles[0].shape[1] * ROW_HEIGHT / tiles[0].shape[0])
            rows.append(np.hstack([cv2.resize(t, (width, ROW_HEIGHT), interpolation=cv2.INTER_AREA) for t in tiles]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", action="append", required=True,
                        help="LABEL=PATH (PATH DEFAULT: the bundled model)")
    parser.add_argument("--photos", type=int, default=8)
    parser.add_argument("--people", action="store_true", help="the pool's held-out photos of people as portraits")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/harmonization_heldout/new_backgrounds.jpg"))
    args = parser.parse_args()
    photos = pool_photos("no-people", split="test")[:args.photos]
    if not photos:
        raise SystemExit("the photo pool is not fetched: python -m hamagan.data.photo_pool")
    if args.people:
        portraits, photos = held_out_people(), bundled_held_out()[:args.photos]
    else:
        portraits = reference_portraits(len(photos))
    pipes = {label: HaMaGANPipeline.from_pretrained(path) for label, path in map(labelled_checkpoint, args.checkpoint)}
    rows = sheet_rows(pipes, portraits, photos)
    width = max(row.shape[1] for row in rows)
    sheet = np.vstack([np.pad(row, ((0, 4), (0, width - row.shape[1]), (0, 0)), constant_values=1.0) for row in rows])
    Image.fromarray((np.clip(sheet, 0, 1) * 255).round().astype(np.uint8)).save(args.out, quality=80)
    print(f"{args.out}: columns composite, {', '.join(pipes)}; photos {', '.join(p.name for p in photos)}")


if __name__ == "__main__":
    main()
