"""``hamagan batch`` images per second at 1024x768 on this machine (bundled model, automatic trimap).

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 python -m benchmarks.batch_throughput

Twelve bundled portraits are written at 1024x768 into a temporary folder and run through the same code as
the command (``hamagan.batch.run_batch``) with a random bundled background, once per worker count.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from PIL import Image, ImageOps

from hamagan import HaMaGANPipeline
from hamagan.batch import run_batch
from hamagan.samples import background_paths, portrait_ids, portrait_paths


def main() -> None:
    pipe = HaMaGANPipeline.from_pretrained()
    folder = Path(tempfile.mkdtemp())
    (folder / "in").mkdir()
    for portrait_id in portrait_ids()[:12]:
        image = Image.open(portrait_paths(portrait_id)[0]).convert("RGB")
        ImageOps.fit(image, (1024, 768)).save(folder / "in" / f"{portrait_id}.jpg", quality=95)
    for workers in (1, 2):
        out = folder / f"out-{workers}"
        start = time.perf_counter()
        report = run_batch(pipe, folder / "in", out, "harmonized", background_paths()[3], workers=workers,
                           progress=False)
        seconds = time.perf_counter() - start
        assert len(report.done) == 12 and not report.failed
        print(f"{workers} worker(s): {len(report.done)} images at 1024x768 in {seconds:.1f} s = "
              f"{len(report.done) / seconds:.2f} images/s")


if __name__ == "__main__":
    main()
