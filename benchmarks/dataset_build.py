"""HMH build throughput (portraits per second) on the bundled 15 portraits.

    python -m benchmarks.dataset_build [--sizes 256 512] [--num-proc 1 2]

Each run builds into a fresh temporary folder (Parquet only, one variant per portrait) and times the whole
build, source reading, inpainting, transforms, PNG encoding and Parquet writing included.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from hamagan import samples
from hamagan.data.builder import BuildOptions, build_dataset
from hamagan.data.sources import open_source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", type=int, default=[256, 512])
    parser.add_argument("--num-proc", nargs="+", type=int, default=[1, 2])
    args = parser.parse_args()
    items = open_source(str(samples.PORTRAITS))
    print("| size | processes | portraits | seconds | portraits/s |")
    print("|---|---|---|---|---|")
    for size in args.sizes:
        for num_proc in args.num_proc:
            with tempfile.TemporaryDirectory() as folder:
                options = BuildOptions(size=size, shard_size=4)
                start = time.perf_counter()
                build_dataset(items, Path(folder), options, set(samples.TEST_PORTRAITS), num_proc=num_proc,
                              progress=False)
                seconds = time.perf_counter() - start
            print(f"| {size} | {num_proc} | {len(items)} | {seconds:.1f} | {len(items) / seconds:.2f} |")


if __name__ == "__main__":
    main()
