"""HaMaGAN training: matting, harmonization and joint adversarial stages, on one CPU or many GPUs.

    accelerate launch train/train.py --config train/configs/joint.yaml [--resume latest] [--push-to-hub REPO]

The command line and the training loop; the trainer, data, validation and checkpoints live in
:mod:`hamagan.training`. Checkpoints (``save_state``) land in OUTPUT/checkpoints/step-N; ``--resume``
continues at the saved step with the same data order. The main process exports the generators (EMA
weights) to OUTPUT/final with ``save_pretrained`` and a model card holding the validation metrics (with
``select_by``, also those of the evaluation where that metric was lowest, to OUTPUT/best).
OUTPUT/config.yaml records the resolved config (``--set`` and flags applied); ``--resume`` refuses another.
``--export-from CHECKPOINT`` exports one checkpoint's generators; ``--average CHECKPOINT ...`` the live
weights averaged over several (late-training weight averaging); both write to ``--export-to``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch
from accelerate import Accelerator
from tqdm import tqdm

from hamagan import HaMaGANPipeline
from hamagan.training.checkpoints import (
    StopRequest,
    keep_recipe,
    replica_checksums,
    resume_folder,
    save_checkpoint,
)
from hamagan.training.config import TrainConfig, resolve_config
from hamagan.training.loaders import make_loader, training_photos
from hamagan.training.trainer import Trainer
from hamagan.training.validation import evaluate, validation_mattes


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="YAML training config (train/configs/)")
    parser.add_argument("--output-dir", help="override the config's output_dir")
    parser.add_argument("--num-processes", type=int, help="override the expected number of processes")
    parser.add_argument("--seed", type=int, help="override the config's seed")
    parser.add_argument("--init-from", help="override the config's init_from (a pipeline folder or repo id)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a top-level config key, the value read as YAML (repeatable)")
    parser.add_argument("--resume", help="a checkpoint folder, or 'latest' (the newest in OUTPUT/checkpoints)")
    parser.add_argument("--push-to-hub", metavar="REPO", help="push the exported generators to this Hub repo")
    parser.add_argument("--stop-after", type=int, help="exit abruptly after this global step (tests a kill)")
    parser.add_argument("--export-from", metavar="CHECKPOINT",
                        help="only export the EMA generators of this checkpoint folder (to --export-to) and exit")
    parser.add_argument("--average", nargs="+", metavar="CHECKPOINT",
                        help="only export the live generators averaged over these checkpoint folders (to --export-to) "
                             "and exit")
    parser.add_argument("--export-to", metavar="FOLDER", help="where --export-from or --average writes the pipeline")
    return parser.parse_args(argv)


def read_config(args: argparse.Namespace) -> TrainConfig:
    return resolve_config(args.config, args.set, {"output_dir": args.output_dir, "num_processes": args.num_processes,
                                                  "seed": args.seed, "init_from": args.init_from})


def log_images(accelerator: Accelerator, batch: dict[str, torch.Tensor], step: int) -> None:
    """A grid of the batch's first rows (every layer side by side) to TensorBoard."""
    writer = accelerator.get_tracker("tensorboard", unwrap=True)
    columns = [batch[k][:4].expand(-1, 3, -1, -1) for k in ("image", "trimap", "alpha") if k in batch]
    grid = torch.cat([torch.cat(list(c), dim=2) for c in columns], dim=1)
    writer.add_image("batch", grid.clamp(0, 1), step)


def interrupted(trainer: Trainer, out: Path, step: int, metrics: dict[str, float], saved: bool) -> int:
    """Save a checkpoint (unless this step was ``saved``) and export the generators as they are; exit code 143."""
    if not saved:
        save_checkpoint(trainer, out, step)
    if trainer.accelerator.is_main_process:
        trainer.export(out / "interrupted", metrics)
        (out / "interrupted" / "progress.json").write_text(json.dumps({"step": step}))
        print(f"train.py: stopped by SIGTERM after step {step}; generators in {out / 'interrupted'}, "
              f"continue with --resume latest", file=sys.stderr)
    trainer.accelerator.wait_for_everyone()
    trainer.accelerator.end_training()
    return 143


def best_so_far(folder: Path, metric: str | None) -> float:
    """The lowest ``metric`` exported to ``folder`` so far (a resumed run's), infinity if none."""
    path = folder / "metrics.json"
    return json.loads(path.read_text())[metric] if metric and path.exists() else float("inf")


def keep_best(trainer: Trainer, folder: Path, metrics: dict[str, float], step: int, best: float,
              exported: HaMaGANPipeline | None) -> float:
    """Export the generators to ``folder`` where the config's ``select_by`` metric is below ``best``; the new
    best."""
    metric = trainer.config.select_by
    if metric not in metrics:
        raise ValueError(f"select_by {metric!r} is not among this run's validation metrics: {sorted(metrics)}")
    if metrics[metric] >= best:
        return best
    trainer.export(folder, metrics, exported)
    (folder / "metrics.json").write_text(json.dumps({**metrics, "step": step}, indent=2))
    return metrics[metric]


def export_only(args: argparse.Namespace, trainer: Trainer) -> int:
    """``--export-from`` or ``--average``: write the generators of saved checkpoints, train nothing."""
    accelerator = trainer.accelerator
    if args.export_from:
        accelerator.load_state(args.export_from)
        if accelerator.is_main_process:
            trainer.export(Path(args.export_to or Path(args.export_from) / "export"), {})
        return 0
    if not args.export_to:
        print("train.py: --average needs --export-to", file=sys.stderr)
        return 2
    pipeline = trainer.averaged_checkpoints(args.average)
    if accelerator.is_main_process:
        trainer.export(Path(args.export_to), {}, pipeline)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = read_config(args)
    use_cpu = not torch.cuda.is_available() or os.environ.get("ACCELERATE_USE_CPU", "").lower() == "true"
    accelerator = Accelerator(cpu=use_cpu, mixed_precision=config.mixed_precision, log_with="tensorboard",
                              project_dir=config.output_dir,
                              gradient_accumulation_steps=config.gradient_accumulation_steps)
    if accelerator.num_processes != config.num_processes:
        print(f"train.py: expected {config.num_processes} processes but the launcher started "
              f"{accelerator.num_processes}; on CPU use `accelerate launch --multi_gpu --num_processes N "
              f"--num_machines 1` with ACCELERATE_USE_CPU=true (--cpu starts one)", file=sys.stderr)
        return 2
    out = Path(config.output_dir)
    if accelerator.is_main_process:
        print(f"train.py: {accelerator.num_processes} process(es) on {accelerator.device}, mixed precision "
              f"{accelerator.mixed_precision}, {config.total_steps} steps in {len(config.stages)} stages",
              file=sys.stderr)
    if not (args.export_from or args.average):
        changed = keep_recipe(config, out, bool(args.resume), accelerator.is_main_process)
        if changed:
            if accelerator.is_main_process:
                print(f"train.py: --resume with a config that differs from the run's {out / 'config.yaml'} in "
                      f"{', '.join(changed)}; resume with --config {out / 'config.yaml'}, or start a new run "
                      "(init_from its export)", file=sys.stderr)
            return 2
    trainer = Trainer(config, accelerator)
    backgrounds, held_out = training_photos(config)
    trainer.backgrounds = backgrounds
    if held_out and config.engine_share:
        trainer.validation_mattes = validation_mattes(config, held_out)
    if args.export_from or args.average:
        return export_only(args, trainer)
    step = 0
    if args.resume:
        folder = resume_folder(out, args.resume)
        accelerator.load_state(str(folder))
        step = json.loads((folder / "progress.json").read_text())["step"]
    accelerator.init_trackers("hamagan", config={k: str(v) for k, v in config.to_dict().items()})
    metrics: dict[str, float] = {}
    exported: HaMaGANPipeline | None = None  # the last stage's export, which the final one repeats
    best = best_so_far(out / "best", config.select_by)
    stop = StopRequest()
    progress = tqdm(total=config.total_steps, initial=step, disable=not accelerator.is_main_process,
                    desc="training", unit="step", dynamic_ncols=True)
    while step < config.total_steps:
        stage_index, first_step = config.stage_at(step)
        stage = config.stages[stage_index]
        loader = iter(make_loader(config, stage, accelerator, first_step, backgrounds))
        progress.set_description(f"{stage.name}/{stage.direction}")
        started, images, waited = time.perf_counter(), 0, 0.0
        for stage_step in range(first_step, stage.steps):
            asked = time.perf_counter()
            batch = {k: v.to(accelerator.device) for k, v in next(loader).items()}
            waited += time.perf_counter() - asked  # time the step waited for its data
            trainer.set_lr(stage_index, stage_step)
            losses = trainer.step(stage_index, batch, stage_step)
            step += 1
            images += config.batch_size * accelerator.num_processes
            progress.update(1)
            if step % config.log_every == 0:
                elapsed = time.perf_counter() - started
                rate, wait = images / elapsed, waited / elapsed
                accelerator.log({f"{stage.name}/{k}": v for k, v in losses.items()}
                                | {"images_per_s": rate, "data_wait_share": wait}, step)
                progress.set_postfix({**{k: f"{v:.4f}" for k, v in losses.items()}, "img/s": f"{rate:.1f}",
                                      "data wait": f"{wait:.0%}"})
            if accelerator.is_main_process and step % config.image_every == 0:
                log_images(accelerator, batch, step)
            stage_end = stage_step == stage.steps - 1
            if stage_end and accelerator.is_main_process:  # averaged and calibrated once: validated, then saved
                exported = trainer.exported()
            if step % config.eval_every == 0 or stage_end:
                metrics = (evaluate(trainer, stage, held_out, exported if stage_end else None)
                           if accelerator.is_main_process else {})
                accelerator.log(metrics, step)
                if config.select_by and accelerator.is_main_process:
                    best = keep_best(trainer, out / "best", metrics, step, best, exported if stage_end else None)
            if stage_end and accelerator.is_main_process:
                # Each stage's generators, e.g. the separately trained ones before the joint stage.
                trainer.export(out / "stages" / f"{stage_index}-{stage.name}-{stage.direction}", metrics, exported)
            saved = step % config.checkpoint_every == 0 or step == config.total_steps
            if saved:
                save_checkpoint(trainer, out, step)
            if stop.agreed(accelerator):
                return interrupted(trainer, out, step, metrics, saved)
            if args.stop_after is not None and step >= args.stop_after:
                accelerator.wait_for_everyone()
                os._exit(3)
    progress.close()
    checksums = replica_checksums(accelerator, trainer.models)
    if len(set(checksums)) != 1:
        raise RuntimeError(f"the processes' weights differ after training: {checksums}")
    if accelerator.is_main_process:
        pipeline = trainer.export(out / "final", metrics, exported)
        (out / "final" / "metrics.json").write_text(json.dumps(metrics, indent=2))
        (out / "replicas.json").write_text(json.dumps({"processes": accelerator.num_processes,
                                                       "checksums": checksums}))
        if args.push_to_hub:
            pipeline.push_to_hub(args.push_to_hub)
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return 0


if __name__ == "__main__":
    sys.exit(main())
