"""End-to-end pipeline latency, peak memory and FLOPs per stage, on this machine's CPU.

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 \
        python benchmarks/pipeline_latency.py [--checkpoint PATH_OR_REPO] [--sizes 512x512 2048x1536]

Stages: matting (G_m at its working size, plus guided upsampling when the image is larger), foreground
estimation (full resolution), harmonization (G_h at 256x256 plus the colour transform at full
resolution). Memory: each stage runs once more in a fresh process (weights and inputs loaded first),
and its peak resident set size above that baseline, sampled every 2 ms, is reported, so no allocator
cache from an earlier stage hides it. It also reports how close the full-resolution path is to running
G_m at full resolution.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import threading
import time
from collections.abc import Callable

import numpy as np
import psutil
import torch
from PIL import Image
from torch.utils.flop_counter import FlopCounterMode

from hamagan import HaMaGANPipeline
from hamagan.compose import composite, estimate_foreground, fit_background, fit_size, guided_upsample, resize
from hamagan.images import load_image
from hamagan.samples import background_paths, portrait_paths
from hamagan.trimap import load_trimap, trimap_from_alpha

PEAK_GFLOPS = {"fp32": 140.0, "bf16": 380.0}  # measured matmul peak of this 2-core CPU


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Median seconds over ``repeats`` runs, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), result


def peak_rss_mib(fn: Callable[[], object]) -> float:
    """Peak RSS increase (MiB) while ``fn`` runs once."""
    process = psutil.Process()
    base = peak = process.memory_info().rss
    running = True

    def sample() -> None:
        nonlocal peak
        while running:
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.002)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    fn()
    running = False
    thread.join()
    return (peak - base) / 2**20


def load_pipe(checkpoint: str | None) -> HaMaGANPipeline:
    torch.manual_seed(0)
    return (HaMaGANPipeline.from_pretrained(checkpoint) if checkpoint else HaMaGANPipeline()).eval()


def stage_call(pipe: HaMaGANPipeline, stage: str, inputs: dict[str, torch.Tensor]) -> Callable[[], object]:
    if stage == "matting":
        return lambda: pipe.matte(inputs["image"], inputs["trimap"])
    if stage == "foreground":
        return lambda: estimate_foreground(inputs["image"], inputs["alpha"], pipe.config.foreground_method)
    return lambda: pipe.harmonize(inputs["plain"], inputs["alpha"], "background", inputs["background"])


def _child_peak(checkpoint: str | None, stage: str, inputs_path: str, queue: multiprocessing.Queue) -> None:
    pipe = load_pipe(checkpoint)
    queue.put(peak_rss_mib(stage_call(pipe, stage, torch.load(inputs_path))))


def fresh_process_peak(checkpoint: str | None, stage: str, inputs_path: str) -> float:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_child_peak, args=(checkpoint, stage, inputs_path, queue))
    child.start()
    value = queue.get()
    child.join()
    return value


def gflops(module: torch.nn.Module, *inputs: torch.Tensor) -> float:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(*inputs)
    return counter.get_total_flops() / 1e9


def portrait_at(size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """A real portrait, its 10-px trimap and alpha, resized to (width, height)."""
    image_path, alpha_path = portrait_paths("p_09ba26b4")
    image = Image.open(image_path).convert("RGB").resize(size, Image.BICUBIC)
    alpha = np.asarray(Image.open(alpha_path).convert("L").resize(size, Image.BICUBIC), np.float32) / 255
    return load_image(image), load_trimap(trimap_from_alpha(alpha, 10 * max(size) / 512)), alpha


def run(pipe: HaMaGANPipeline, checkpoint: str | None, size: tuple[int, int], repeats: int) -> None:
    image, trimap, gt_alpha = portrait_at(size)
    background = fit_background(load_image(background_paths()[0]), tuple(image.shape[2:]))
    work = fit_size(image.shape[2], image.shape[3], pipe.config.matting_max_side)
    pad = [-(-s // 32) * 32 for s in work]
    side = pipe.config.harmonize_size
    matting_flops = gflops(pipe.matting, torch.rand(1, 4, *pad))
    harmonizer = next(iter(pipe.harmonizers.values()))
    harmonizer_flops = gflops(harmonizer, torch.rand(1, 3, side, side), torch.rand(1, 1, side, side))

    inputs = {"image": image, "trimap": trimap, "background": background}
    t_m, inputs["alpha"] = timed(stage_call(pipe, "matting", inputs), repeats)
    t_f, foreground = timed(stage_call(pipe, "foreground", inputs), repeats)
    inputs["plain"] = composite(foreground, background, inputs["alpha"])
    t_h, _ = timed(stage_call(pipe, "harmonization", inputs), repeats)
    total = t_m + t_f + t_h
    with tempfile.TemporaryDirectory() as folder:
        torch.save(inputs, f"{folder}/inputs.pt")
        m_m, m_f, m_h = (fresh_process_peak(checkpoint, stage, f"{folder}/inputs.pt")
                         for stage in ("matting", "foreground", "harmonization"))
    alpha = inputs["alpha"]
    print(f"\n## {size[0]}x{size[1]} (G_m at {work[1]}x{work[0]}, padded {pad[1]}x{pad[0]}; G_h at {side}x{side})")
    print("| stage | s | peak MiB | GFLOPs | GFLOP/s achieved |")
    print("|---|---|---|---|---|")
    print(f"| matting | {t_m:.3f} | {m_m:.0f} | {matting_flops:.1f} | {matting_flops / t_m:.1f} |")
    print(f"| foreground | {t_f:.3f} | {m_f:.0f} | - | - |")
    print(f"| harmonization | {t_h:.3f} | {m_h:.0f} | {harmonizer_flops:.1f} | - |")
    print(f"| total | {total:.3f} | | {matting_flops + harmonizer_flops:.1f} | |")
    if work != tuple(image.shape[2:]):
        report_full_resolution(pipe, image, trimap, gt_alpha, alpha, work)


def report_full_resolution(pipe: HaMaGANPipeline, image: torch.Tensor, trimap: torch.Tensor,
                           gt_alpha: np.ndarray, alpha: torch.Tensor, work: tuple[int, int]) -> None:
    """How far the working-resolution path lands from full resolution, two ways."""
    unknown = ((trimap - 0.5).abs() < 0.25)[0, 0].numpy()
    # 1. The mechanism on the true matte: shrink it to the working size, bring it back.
    gt = torch.from_numpy(gt_alpha)[None, None]
    small_image, small_gt = resize(image, work), resize(gt, work)
    guided = guided_upsample(small_image, small_gt, image, radius=1, eps=1e-4).clamp(0, 1)
    bilinear = resize(small_gt, tuple(image.shape[2:]))
    for name, up in (("guided", guided), ("bilinear", bilinear)):
        err = (up - gt).abs()[0, 0].numpy()[unknown]
        print(f"- true alpha shrunk to {work[1]}x{work[0]} and brought back ({name}): "
              f"mean |error| in the unknown band {err.mean():.4f}, SAD {err.sum() / 1000:.2f}")
    # 2. This checkpoint: working-resolution path against G_m run at full resolution.
    saved = pipe.config.matting_max_side
    pipe.config.matting_max_side = max(image.shape[2:])
    start = time.perf_counter()
    full = pipe.matte(image, trimap)
    elapsed = time.perf_counter() - start
    pipe.config.matting_max_side = saved
    err = (alpha - full).abs()[0, 0].numpy()[unknown]
    print(f"- this checkpoint, working-size path vs G_m at full resolution ({elapsed:.1f} s): "
          f"mean |error| in the unknown band {err.mean():.4f}, SAD {err.sum() / 1000:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", help="folder or repo id; default: the paper configuration, random weights")
    parser.add_argument("--sizes", nargs="+", default=["512x512", "2048x1536"], help="WIDTHxHEIGHT")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    pipe = load_pipe(args.checkpoint)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, checkpoint: "
          f"{args.checkpoint or 'paper configuration, random weights'}; "
          f"machine peak {PEAK_GFLOPS['fp32']:.0f} GFLOP/s fp32")
    for spec in args.sizes:
        w, h = (int(v) for v in spec.split("x"))
        run(pipe, args.checkpoint, (w, h), args.repeats)


if __name__ == "__main__":
    main()
