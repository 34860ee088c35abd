"""Concurrent composes through the Space's API: several users sending 1080p photos at once, on loopback.

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 python -m benchmarks.space_compose_load \
        [--users 4] [--size 1920x1080]

Launches the app as ``hamagan.space.app.launch`` does (bundled model, its queue), writes the bundled astronaut
photo for each user at ``--size`` (JPEG), and lets every user call /compose at the same moment (automatic trimap,
a bundled background). Reports each user's time from sending the request to holding the results (uploads, queueing,
the pipeline, PNG writing and downloads included), after one warm-up compose.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image, ImageOps

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--size", default="1920x1080", help="WIDTHxHEIGHT of each user's photo")
    args = parser.parse_args()
    from gradio_client import Client, handle_file

    from hamagan.samples import BARE_PORTRAIT
    from hamagan.space.app import make_services, serve

    size = tuple(int(v) for v in args.size.split("x"))
    folder = Path(tempfile.mkdtemp())
    # The bundled astronaut for every user: the P3M portraits' faces are blurred, and since the close pose look
    # (2026-12-04) the finder confirms only some of them.
    photo = folder / "user.jpg"
    ImageOps.fit(Image.open(BARE_PORTRAIT).convert("RGB"), size).save(photo, quality=92)
    photos = [photo] * args.users
    app = serve(make_services(folder / "ratings.sqlite"), server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    clients = [Client(app.local_url, verbose=False) for _ in photos]

    def compose(index: int) -> float:
        start = time.perf_counter()
        message = clients[index].predict(handle_file(str(photos[index])), "automatic", None, None, "mate-Aqua", None,
                                         "background", api_name="/compose")[-1]
        assert message.startswith("found 1 person"), message
        return time.perf_counter() - start

    compose(0)  # warm-up: the first call builds the inference copy of G_m and the segmenter
    barrier = threading.Barrier(args.users)

    def together(index: int) -> float:
        barrier.wait()
        return compose(index)

    with ThreadPoolExecutor(args.users) as pool:
        seconds = sorted(pool.map(together, range(args.users)))
    app.close()
    print(f"{args.users} users composing {args.size} photos at once: each finished in "
          + ", ".join(f"{s:.2f}" for s in seconds) + f" s (slowest {seconds[-1]:.2f} s)")


if __name__ == "__main__":
    main()
