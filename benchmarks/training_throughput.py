"""Training throughput (images per second) of each stage's step at 256x256, for the default CPU model.

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 python -m benchmarks.training_throughput
    ACCELERATE_USE_CPU=true LD_PRELOAD=... accelerate launch --multi_gpu --num_processes 2 --num_machines 1 \
        --mixed_precision no --dynamo_backend no benchmarks/training_throughput.py

Runs the library's step functions (the code train.py runs) on real HMH samples of the bundled portraits,
with the model sizes, batch size and precision of train/configs/default-cpu.yaml (or --config); the
first steps are warm-up. Images per second count every process's batch.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict
from pathlib import Path

import torch
from accelerate import Accelerator

from hamagan import samples
from hamagan.data.hmh import load_rows
from hamagan.models.discriminator import SelfAttentionCritic
from hamagan.models.harmonizer import AttentionUNetHarmonizer
from hamagan.models.indexnet import IndexNetMatting
from hamagan.training.config import load_config
from hamagan.training.samples import HMHSamples, SampleOptions, load_backgrounds
from hamagan.training.steps import JointSettings, harmonization_step, joint_step, matting_step

ROOT = Path(__file__).resolve().parents[1]


def batch_of(rows, kind: str, size: int, batch: int, rank: int, backgrounds) -> dict[str, torch.Tensor]:
    data = HMHSamples(rows, SampleOptions(kind=kind, size=size), backgrounds if kind == "crop" else ())
    items = [data[rank * batch + i] for i in range(batch)]
    return {k: torch.stack([item[k] for item in items]) for k in items[0]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default=str(ROOT / "train/configs/default-cpu.yaml"))
    parser.add_argument("--dataset", help="built HMH dataset (default: the config's background dataset)")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    config = load_config(args.config)
    accelerator = Accelerator(cpu=not torch.cuda.is_available(), mixed_precision=config.mixed_precision)
    rows = load_rows(args.dataset or str(ROOT / config.datasets["background"]), "train")
    backgrounds = load_backgrounds(samples.background_paths())
    torch.manual_seed(0)
    matting = IndexNetMatting(**asdict(config.model.matting))
    harmonizer = AttentionUNetHarmonizer(**asdict(config.model.harmonizer))
    critic = SelfAttentionCritic(widths=config.critic_widths)
    optimizers = [torch.optim.Adam(m.parameters(), 1e-4) for m in (matting, harmonizer, critic)]
    matting, harmonizer, critic, *optimizers = accelerator.prepare(matting, harmonizer, critic, *optimizers)
    named = dict(zip(("matting", "harmonizer", "critic"), optimizers, strict=True))
    size, batch, rank = config.size, config.batch_size, accelerator.process_index
    crop = {k: v.to(accelerator.device) for k, v in batch_of(rows, "crop", size, batch, rank, backgrounds).items()}
    full = {k: v.to(accelerator.device) for k, v in batch_of(rows, "full", size, batch, rank, backgrounds).items()}
    stages = {
        "matting": lambda: matting_step(accelerator, matting, named["matting"], crop),
        "harmonization": lambda: harmonization_step(accelerator, harmonizer, named["harmonizer"], full),
        "joint": lambda: joint_step(accelerator, matting, harmonizer, critic, named, full, JointSettings()),
    }
    results = {}
    for name, step in stages.items():
        for _ in range(args.warmup):
            step()
        accelerator.wait_for_everyone()
        start = time.perf_counter()
        for _ in range(args.steps):
            step()
        accelerator.wait_for_everyone()
        seconds = time.perf_counter() - start
        results[name] = args.steps * batch * accelerator.num_processes / seconds
    if accelerator.is_main_process:
        print(f"device {accelerator.device}, {accelerator.num_processes} process(es), {torch.get_num_threads()} "
              f"threads each, batch {batch} per process at {size}x{size}, {config.mixed_precision}")
        for name, rate in results.items():
            print(f"{name}: {rate:.2f} images/s")


if __name__ == "__main__":
    main()
