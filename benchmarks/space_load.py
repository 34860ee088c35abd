"""Load on the Space's rating API: 20 simulated raters rating at once through gradio_client.

    python -m benchmarks.space_load [--raters 20] [--per-rater 50]

Launches the app (bundled model and study, a fresh SQLite file), lets every rater start a session and
rate ``per-rater`` items concurrently, then checks the database: every rating stored exactly once
(none lost, none duplicated). Reports ratings per second and the slowest request.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--raters", type=int, default=20)
    parser.add_argument("--per-rater", type=int, default=50)
    args = parser.parse_args()
    from gradio_client import Client

    from hamagan.space.app import make_services, serve

    database = Path(tempfile.mkdtemp()) / "ratings.sqlite"
    services = make_services(database)
    slots = len(services.study.plan("probe"))
    if args.per_rater > slots:
        raise SystemExit(f"the study has {slots} slots per rater; ask for at most that many ratings per rater")
    app = serve(services, server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    latencies: list[float] = []

    def session(index: int) -> list[tuple[str, int]]:
        client = Client(app.local_url, verbose=False)
        rater, _, slot, _, _ = client.predict(api_name="/start")
        sent = []
        for k in range(args.per_rater):
            start = time.perf_counter()
            _, next_slot, _, _ = client.predict(rater, slot, 1 + (index + k) % 5, api_name="/rate")
            latencies.append(time.perf_counter() - start)
            sent.append((rater, slot))
            slot = next_slot
        return sent

    start = time.perf_counter()
    with ThreadPoolExecutor(args.raters) as pool:
        sent = [s for result in pool.map(session, range(args.raters)) for s in result]
    seconds = time.perf_counter() - start
    stored = services.store.ratings(services.study.study_id)
    keys = [(r["rater_id"], r["slot"]) for r in stored]
    app.close()
    assert len(stored) == len(sent) == args.raters * args.per_rater, (len(stored), len(sent))
    assert len(set(keys)) == len(keys) and set(keys) == set(sent), "lost or duplicated ratings"
    latencies.sort()
    median = latencies[len(latencies) // 2]
    print(f"{args.raters} raters x {args.per_rater} ratings = {len(sent)} ratings in {seconds:.1f} s: "
          f"{len(sent) / seconds:.1f} ratings/s; request latency median {median * 1000:.0f} ms, "
          f"slowest {latencies[-1] * 1000:.0f} ms; stored exactly once: {len(stored)} rows, 0 lost, 0 duplicated")


if __name__ == "__main__":
    main()
