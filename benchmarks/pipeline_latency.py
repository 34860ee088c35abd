"""The whole pipeline call, automatic trimap included, from 0.5 to 20 megapixels: medians per stage, the cost
of each further megapixel, peak memory, and G_m's achieved GFLOP/s against this CPU's peak.

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 \
        python -m benchmarks.pipeline_latency [--checkpoint PATH_OR_REPO] [--sizes 960x540 1920x1080 ...]

Each size: a real bundled portrait resized to it and saved as a JPEG (quality 92), then
``pipe(path, background=photo)`` (decoding, automatic trimap, matting, foreground, compositing on a bundled
background, harmonization; float arrays out) timed ``--repeats`` times after one warm-up call; the medians of
the whole call and of each stage (``HaMaGANOutput.seconds``). Peak memory: one call in a fresh process, the
process's peak resident set size (weights included), sampled every 2 ms. The stage names are the pipeline's ``STAGES``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import torch
from PIL import Image
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.timing import cpu_name, median_seconds
from hamagan import HaMaGANPipeline
from hamagan.compose import fit_size
from hamagan.hardware import bf16_is_fast
from hamagan.pipeline import STAGES
from hamagan.samples import background_paths, portrait_paths

PEAK_GFLOPS = {"fp32": 140.0, "bf16": 380.0}  # measured matmul peaks of the 2-core development CPU
SIZES = ("960x540", "1920x1080", "3840x2160", "5472x3648")


def write_photo(size: tuple[int, int], folder: Path) -> Path:
    path = folder / f"portrait-{size[0]}x{size[1]}.jpg"
    Image.open(portrait_paths("p_09ba26b4")[0]).convert("RGB").resize(size, Image.BICUBIC).save(path, quality=92)
    return path


def timed_calls(pipe: HaMaGANPipeline, photo: Path, background: Path, repeats: int) -> tuple[float, dict]:
    """Median seconds of the whole call and of each stage."""
    pipe(photo, background=background)
    totals, stages = [], {s: [] for s in STAGES}
    for _ in range(repeats):
        start = time.perf_counter()
        output = pipe(photo, background=background)
        totals.append(time.perf_counter() - start)
        for stage, seconds in output.seconds.items():
            stages[stage].append(seconds)
    return float(np.median(totals)), {s: float(np.median(v)) for s, v in stages.items() if v}


def _peak_child(checkpoint: str | None, photo: str, background: str, queue: multiprocessing.Queue) -> None:
    process = psutil.Process()
    pipe = HaMaGANPipeline.from_pretrained(checkpoint)
    loaded = peak = process.memory_info().rss
    running = True

    def sample() -> None:  # ru_maxrss would carry the parent's peak over the fork
        nonlocal peak
        while running:
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    pipe(photo, background=background)
    running = False
    sampler.join()
    queue.put((loaded / 2**20, peak / 2**20))


def peak_memory_mib(checkpoint: str | None, photo: Path, background: Path) -> tuple[float, float]:
    """Resident memory (MiB) of a fresh process after loading the model, and its peak during one call
    (sampled every 2 ms)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_peak_child, args=(checkpoint, str(photo), str(background), queue))
    child.start()
    result = queue.get()
    child.join()
    return result


def matting_speed(pipe: HaMaGANPipeline, size: tuple[int, int], repeats: int) -> str:
    """G_m alone (``pipe.matte`` at a size it runs without resizing, one pass: no refinement, no flip): seconds and
    GFLOP/s against the peak."""
    image, trimap = torch.rand(1, 3, *size), torch.full((1, 1, *size), 0.5)
    flip, pipe.config.matting_flip = pipe.config.matting_flip, False
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        pipe.matting(torch.rand(1, 4, *[-(-s // 32) * 32 for s in size]))
    gflops = counter.get_total_flops() / 1e9
    lines = []
    for bf16 in (False, True):
        pipe.matting_bf16 = bf16
        seconds = median_seconds(lambda: pipe.matte(image, trimap, refine=False), repeats)
        precision = "bf16" if bf16 else "fp32"
        lines.append(f"| {size[1]}x{size[0]} | {precision} | {seconds:.3f} | {gflops:.1f} | {gflops / seconds:.0f} | "
                     f"{100 * gflops / seconds / PEAK_GFLOPS[precision]:.0f}% |")
    pipe.matting_bf16 = None
    pipe.config.matting_flip = flip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", help="folder or repo id; default: the bundled model")
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), help="WIDTHxHEIGHT")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    pipe = HaMaGANPipeline.from_pretrained(args.checkpoint)
    background = background_paths()[0]
    print(f"{cpu_name()}; torch {torch.__version__}, {torch.get_num_threads()} threads; checkpoint "
          f"{args.checkpoint or 'bundled default'}; G_m in {'bf16' if bf16_is_fast(pipe.device) else 'fp32'}; "
          f"medians of {args.repeats} calls after a warm-up\n")
    print("| size | MP | total s | " + " | ".join(STAGES) + " | s per MP over the previous size | peak MiB |")
    print("|---|---|---|" + "---|" * len(STAGES) + "---|---|")
    previous = None
    with tempfile.TemporaryDirectory() as folder:
        for spec in args.sizes:
            size = tuple(int(v) for v in spec.split("x"))
            photo = write_photo(size, Path(folder))
            total, stages = timed_calls(pipe, photo, background, args.repeats)
            megapixels = size[0] * size[1] / 1e6
            slope = f"{(total - previous[1]) / (megapixels - previous[0]):.3f}" if previous else "-"
            _, peak = peak_memory_mib(args.checkpoint, photo, background)
            print(f"| {spec} | {megapixels:.1f} | **{total:.3f}** | "
                  + " | ".join(f"{stages.get(s, 0.0):.3f}" for s in STAGES) + f" | {slope} | {peak:.0f} |",
                  flush=True)
            previous = (megapixels, total)
    work = fit_size(1080, 1920, pipe.config.matting_max_side)
    print(f"\nG_m alone (pipe.matte, no resizing), medians of {args.repeats}; peaks: "
          f"{PEAK_GFLOPS['fp32']:.0f} GFLOP/s fp32, {PEAK_GFLOPS['bf16']:.0f} bf16\n")
    print("| size | precision | s | GFLOPs | GFLOP/s | of peak |\n|---|---|---|---|---|---|")
    print(matting_speed(pipe, (512, 512), args.repeats))
    print(matting_speed(pipe, work, args.repeats))


if __name__ == "__main__":
    main()
