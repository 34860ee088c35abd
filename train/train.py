"""HaMaGAN training: matting, harmonization and joint adversarial stages, on one CPU or many GPUs.

    accelerate launch train/train.py --config train/configs/joint.yaml [--resume latest] [--push-to-hub REPO]

This script wires config, accelerator, data, logging and checkpoints; every step's logic is in
:mod:`hamagan.training.steps`. Checkpoints (``save_state``) land in OUTPUT/checkpoints/step-N; ``--resume``
continues at the saved step with the same data order. The main process exports the generators (EMA
weights) to OUTPUT/final with ``save_pretrained`` and a model card holding the validation metrics.
OUTPUT/config.yaml records the resolved config (``--set`` and flags applied); ``--resume`` refuses another.
``--export-from CHECKPOINT`` exports one checkpoint's generators; ``--average CHECKPOINT ...`` the live
weights averaged over several (late-training weight averaging); both write to ``--export-to``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import signal
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from torch import nn
from torch.utils.data import DataLoader, default_collate
from tqdm import tqdm

from hamagan import HaMaGANPipeline
from hamagan.models.discriminator import SelfAttentionCritic
from hamagan.models.indexnet import matting_input
from hamagan.training.config import (
    StageConfig,
    TrainConfig,
    config_differences,
    load_config,
    parse_settings,
    save_config,
)
from hamagan.training.data import (
    HMHSamples,
    SampleOptions,
    StreamSampler,
    init_loader_worker,
    load_backgrounds,
    loader_context,
)
from hamagan.training.ema import EMA, recompute_batch_norm
from hamagan.training.rows import load_rows as read_rows
from hamagan.training.rows import move_sources
from hamagan.training.steps import disharmonious, harmonization_step, joint_step, matting_step
from hamagan.training.validation import validate_harmonization, validate_matting


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
    """The config file with the ``--set`` overrides (``init_from=null`` too), then the flags that were given."""
    flags = {"output_dir": args.output_dir, "num_processes": args.num_processes, "seed": args.seed,
             "init_from": args.init_from}
    return load_config(args.config, {**parse_settings(args.set), **{k: v for k, v in flags.items() if v is not None}})


def keep_recipe(config: TrainConfig, out: Path, resuming: bool, main_process: bool) -> list[str]:
    """Record the resolved config in OUTPUT/config.yaml (a run's exact recipe, which ``--config`` reads back).
    Resuming, a recorded config must match (its output_dir aside): returns the keys that differ, if any."""
    path = out / "config.yaml"
    if resuming and path.exists():
        return config_differences(config, load_config(path), ignore=("output_dir",))
    if main_process:
        out.mkdir(parents=True, exist_ok=True)
        save_config(config, path)
    return []


def initialise_from(pipeline: HaMaGANPipeline, source: str, verbose: bool, harmonizers_from: str | None = None) -> None:
    """Copy the generators of a pipeline checkpoint (the harmonizers from ``harmonizers_from`` when given):
    G_m whole, each harmonizer's tensors wherever their names and shapes match."""
    start = HaMaGANPipeline.from_pretrained(source)
    if asdict(start.config.matting) != asdict(pipeline.config.matting):
        raise ValueError(f"init_from {source}: its matting network differs from the config's")
    pipeline.matting.load_state_dict(start.matting.state_dict())
    if harmonizers_from:
        source, start = harmonizers_from, HaMaGANPipeline.from_pretrained(harmonizers_from)
    for direction, harmonizer in pipeline.harmonizers.items():
        fresh = copy_matching(harmonizer, start.harmonizers[direction]) if direction in start.harmonizers else ["all"]
        if fresh and verbose:
            print(f"train.py: in the {direction} harmonizer, {', '.join(fresh)} start fresh (not in {source} "
                  "with this shape)", file=sys.stderr)


def copy_matching(target: nn.Module, source: nn.Module) -> list[str]:
    """Copy the tensors of ``source`` whose names and shapes ``target`` shares (a changed head keeps the
    trained body); returns the names of ``target``'s tensors left as they were."""
    theirs, ours = source.state_dict(), target.state_dict()
    shared = {k: v for k, v in theirs.items() if k in ours and ours[k].shape == v.shape}
    target.load_state_dict(shared, strict=False)
    return [k for k in ours if k not in shared]


def generators(pipeline: HaMaGANPipeline) -> dict[str, nn.Module]:
    """A pipeline's generators under the run's model names ("matting", "harmonizer/<direction>")."""
    return {"matting": pipeline.matting, **{f"harmonizer/{d}": h for d, h in pipeline.harmonizers.items()}}


class Trainer:
    """Holds the prepared models, optimizers and EMAs of one run."""

    def __init__(self, config: TrainConfig, accelerator: Accelerator) -> None:
        self.config, self.accelerator = config, accelerator
        set_seed(config.seed)
        pipeline = HaMaGANPipeline(config.model)
        if config.init_from:
            initialise_from(pipeline, config.init_from, accelerator.is_main_process, config.init_harmonizers_from)
        pipeline.train()
        self.critics = nn.ModuleDict({d: SelfAttentionCritic(widths=config.critic_widths)
                                      for d in config.model.directions})
        named = {**generators(pipeline), **{f"critic/{d}": c for d, c in self.critics.items()}}
        names, modules = list(named), list(named.values())
        self.optimizers = [self._optimizers(stage, pipeline, self.critics) for stage in config.stages]
        flat = [opt for group in self.optimizers for opt in group.values()]
        prepared = accelerator.prepare(*modules, *flat)
        self.models = dict(zip(names, prepared[:len(modules)], strict=True))
        it = iter(prepared[len(modules):])
        self.optimizers = [{k: next(it) for k in group} for group in self.optimizers]
        self.emas = {name: EMA(model, config.ema_decay) for name, model in generators(pipeline).items()}
        self.backgrounds: list[np.ndarray] = []  # the training photos, for batch-norm calibration samples
        for ema in self.emas.values():
            accelerator.register_for_checkpointing(ema)

    @staticmethod
    def _optimizers(stage: StageConfig, pipeline: HaMaGANPipeline, critics: nn.ModuleDict) -> dict:
        matting = pipeline.matting
        encoder = [p for m in (matting.stem, matting.stages) for p in m.parameters()]
        encoder_ids = {id(p) for p in encoder}
        decoder = [p for p in matting.parameters() if id(p) not in encoder_ids]
        # Each group keeps its base rate ("base_lr"): set_lr scales it by the stage's schedule.
        out = {}
        if stage.name == "matting" or (stage.name == "joint" and stage.joint.update_matting):
            out["matting"] = torch.optim.Adam([
                {"params": encoder, "lr": stage.lr_encoder, "base_lr": stage.lr_encoder},
                {"params": decoder, "lr": stage.lr_decoder, "base_lr": stage.lr_decoder}])
        if stage.name in ("harmonization", "joint"):
            params = pipeline.harmonizers[stage.direction].parameters()
            out["harmonizer"] = torch.optim.Adam([{"params": params, "lr": stage.lr_harmonizer,
                                                   "base_lr": stage.lr_harmonizer}], betas=(0.5, 0.999))
        if stage.name == "joint":
            params = critics[stage.direction].parameters()
            out["critic"] = torch.optim.Adam([{"params": params, "lr": stage.lr_critic, "base_lr": stage.lr_critic}],
                                             betas=(0.5, 0.999))
        return out

    def set_lr(self, stage_index: int, step: int) -> None:
        stage = self.config.stages[stage_index]
        factor = stage.lr_factor(step)
        for optimizer in self.optimizers[stage_index].values():
            for group in optimizer.param_groups:
                group["lr"] = group["base_lr"] * factor

    def step(self, stage_index: int, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        stage = self.config.stages[stage_index]
        optimizers = self.optimizers[stage_index]
        harmonizer = f"harmonizer/{stage.direction}"
        if stage.name == "matting":
            losses = matting_step(self.accelerator, self.models["matting"], optimizers["matting"], batch,
                                  stage.composition_weight, stage.gradient_weight, stage.laplacian_weight)
        elif stage.name == "harmonization":
            losses = harmonization_step(self.accelerator, self.models[harmonizer], optimizers["harmonizer"], batch,
                                        stage.direction, stage.harmonization_loss)
        else:
            self.models["matting"].train(stage.joint.update_matting)
            losses = joint_step(self.accelerator, self.models["matting"], self.models[harmonizer],
                                self.models[f"critic/{stage.direction}"], optimizers, batch, stage.joint,
                                stage.direction)
            self.models["matting"].train()
        if self.accelerator.sync_gradients:  # the generators this stage optimises
            for name in (harmonizer if key == "harmonizer" else key for key in optimizers if key != "critic"):
                self.emas[name].update(self.accelerator.unwrap_model(self.models[name]))
        return losses

    def exported(self) -> HaMaGANPipeline:
        """The generators as the export writes them (EMA weights, or the live ones with ``ema_decay: 0``), as a
        new pipeline on the CPU. Averaged generators that differ from the live ones get their own batch-norm
        statistics (``bn_calibration_batches``; a generator this run never trained keeps its own)."""
        pipeline = HaMaGANPipeline(self.config.model)
        for name, target in generators(pipeline).items():
            live = self.accelerator.unwrap_model(self.models[name])
            if self.config.ema_decay <= 0:
                target.load_state_dict(live.state_dict())
                continue
            self.emas[name].copy_to(target)
            if not same_parameters(target, live):
                self.calibrate(name, target)
        return pipeline

    def averaged_checkpoints(self, folders: list[str]) -> HaMaGANPipeline:
        """The generators' live weights averaged uniformly over checkpoint ``folders`` (late-training weight
        averaging, as SWA), as a new pipeline on the CPU; a generator that changed between the checkpoints gets
        batch-norm statistics of its own."""
        pipeline = HaMaGANPipeline(self.config.model)
        targets = generators(pipeline)
        sums: dict[str, dict[str, torch.Tensor]] = {name: {} for name in targets}
        for folder in folders:
            self.accelerator.load_state(folder)
            for name in targets:
                for key, value in self.accelerator.unwrap_model(self.models[name]).state_dict().items():
                    sums[name][key] = sums[name].get(key, 0) + value.detach().cpu().double()
        for name, target in targets.items():  # the live models now hold the last checkpoint
            live = self.accelerator.unwrap_model(self.models[name])
            dtypes = {k: v.dtype for k, v in live.state_dict().items()}
            target.load_state_dict({k: (v / len(folders)).to(dtypes[k]) for k, v in sums[name].items()})
            if not same_parameters(target, live):
                self.calibrate(name, target)
        return pipeline

    def calibrate(self, name: str, target: nn.Module) -> None:
        """Batch-norm statistics of ``target``'s own weights (generator ``name``) over ``bn_calibration_batches``
        fixed training batches; nothing when that is 0."""
        if not self.config.bn_calibration_batches:
            return
        device = self.accelerator.device
        inputs = calibration_inputs(self.config, name, self.backgrounds, device)
        # Dropout draws from a seeded fork: the same statistics every time, the run's RNG untouched.
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(self.config.seed)
            with self.accelerator.autocast():
                recompute_batch_norm(target.to(device), inputs)
        target.cpu()

    def export(self, out: Path, metrics: dict[str, float], pipeline: HaMaGANPipeline | None = None
               ) -> HaMaGANPipeline:
        """The exported generators (``pipeline``, by default :meth:`exported`), saved as a pipeline in ``out``
        with a model card."""
        pipeline = pipeline or self.exported()
        pipeline.save_pretrained(out)
        (out / "README.md").write_text(model_card(self.config, metrics))
        return pipeline


def model_card(config: TrainConfig, metrics: dict[str, float]) -> str:
    """A short model card for an exported run: recipe and validation metrics."""
    lines = ["---", "library_name: hamagan", "license: mit", "tags: [image-matting, image-harmonization, portrait]",
             "pipeline_tag: image-segmentation", "---", "", "# HaMaGAN checkpoint", "",
             "Trained with `accelerate launch train/train.py` (stages below); validation metrics at the end of "
             "training (HMH validation split).", "", "| stage | direction | steps |", "|---|---|---|"]
    lines += [f"| {s.name} | {s.direction} | {s.steps} |" for s in config.stages]
    lines += ["", "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {v:.4f} |" for k, v in sorted(metrics.items())]
    return "\n".join(lines) + "\n"


@functools.cache
def load_rows(source: str, split: str, validation_sources: tuple[str, ...] = ()):
    """One read per dataset split for the whole run (every stage's loader and every validation use it), with
    the ``validation_sources`` portraits moved from training to validation."""
    if not validation_sources:
        return read_rows(source, split)
    train, validation = move_sources(read_rows(source, "train"), read_rows(source, "validation"),
                                     set(validation_sources))
    return train if split == "train" else validation


def scene_backgrounds(rows) -> list[np.ndarray]:
    """The training portraits' own inpainted backgrounds (one per portrait), as uint8 photos."""
    first = {}
    for index, source_id in enumerate(rows["source_id"]):
        first.setdefault(source_id, index)
    return [np.asarray(rows[index]["background"].convert("RGB")) for index in first.values()]


def make_samples(config: TrainConfig, stage: StageConfig, backgrounds: list) -> HMHSamples:
    """The stage's training samples (an endless, seeded stream indexed by position)."""
    rows = load_rows(config.datasets[stage.direction], "train", config.validation_sources)
    if stage.name == "harmonization" and config.scene_backgrounds:
        backgrounds = backgrounds + scene_backgrounds(rows)
    # Fresh backgrounds for the harmonization stage only: the joint stage's critic must see real photos as I.
    options = SampleOptions(kind="crop" if stage.name == "matting" else "full", size=config.size,
                            scale=config.scale, trimap_radius=config.trimap_radius, keep_original=config.keep_original,
                            fresh_background=config.fresh_background if stage.name == "harmonization" else 0.0,
                            background_gamma=config.background_gamma, own_scene=config.own_scene,
                            scene_gain=config.scene_gain, photo_cutout=config.photo_cutout,
                            untouched=config.untouched)
    return HMHSamples(rows, options, backgrounds if stage.name != "joint" else (), seed=config.seed)


def make_loader(config: TrainConfig, stage: StageConfig, accelerator: Accelerator, start_step: int,
                backgrounds: list) -> DataLoader:
    samples = make_samples(config, stage, backgrounds)
    sampler = StreamSampler(config.batch_size, accelerator.process_index, accelerator.num_processes, start_step)
    # Its own generator: creating a loader must not draw from the global RNG that dropout uses, or a resumed
    # run (which creates one mid-stage) would diverge from an uninterrupted one.
    generator = torch.Generator().manual_seed(config.seed)
    return DataLoader(samples, batch_size=config.batch_size, sampler=sampler, num_workers=config.num_workers,
                      persistent_workers=config.num_workers > 0, generator=generator,
                      worker_init_fn=init_loader_worker,
                      multiprocessing_context=loader_context() if config.num_workers > 0 else None)


CALIBRATION_POSITION = 10**9  # far beyond any run's samples, and the same for any number of processes


def calibration_inputs(config: TrainConfig, name: str, backgrounds: list, device: torch.device
                       ) -> list[tuple[torch.Tensor, ...]]:
    """``bn_calibration_batches`` fixed batches of the generator ``name``'s own training samples, as the
    arguments of its calls: G_m's network input, or G_h's composite and alpha."""
    if name == "matting":
        direction = next((s.direction for s in config.stages if s.name != "harmonization"), "background")
        stage = StageConfig(name="matting", steps=1, direction=direction)
    else:
        stage = StageConfig(name="harmonization", steps=1, direction=name.split("/")[1])
    samples = make_samples(config, stage, backgrounds)
    inputs = []
    for first in range(CALIBRATION_POSITION, CALIBRATION_POSITION + config.bn_calibration_batches * config.batch_size,
                       config.batch_size):
        items = [samples[position] for position in range(first, first + config.batch_size)]
        batch = {k: v.to(device) for k, v in default_collate(items).items()}  # as the training loader batches
        if name == "matting":
            inputs.append((matting_input(batch["image"], batch["trimap"]),))
        else:
            inputs.append((disharmonious(batch, batch["alpha"]), batch["alpha"]))
    return inputs


def same_parameters(a: nn.Module, b: nn.Module) -> bool:
    """Whether two networks of one architecture hold identical parameters (buffers aside)."""
    return all(torch.equal(x.detach().cpu().float(), y.detach().cpu().float())
               for x, y in zip(a.parameters(), b.parameters(), strict=True))


def evaluate(trainer: Trainer, stage: StageConfig, held_out: list, exported: HaMaGANPipeline | None = None
             ) -> dict[str, float]:
    """Validation metrics (``val/``) of the current (raw) generators on the direction's validation split (and,
    for G_h, on its portraits recomposited over the ``held_out`` background photos, and on their own scenes
    under fresh transforms towards those photos); with ``ema_decay`` > 0, the same (``val_ema/``) for the
    averaged weights that the export writes (``exported``, when the caller has built them already)."""
    config = trainer.config
    rows = load_rows(config.datasets[stage.direction], "validation", config.validation_sources)
    if rows is None or len(rows) == 0:
        return {}
    names = ["matting"] + ([f"harmonizer/{stage.direction}"] if stage.name != "matting" else [])
    live = {name: trainer.accelerator.unwrap_model(trainer.models[name]) for name in names}
    metrics = validate_generators(trainer, stage, rows, held_out, live, "val")
    if config.ema_decay > 0:
        pipeline = exported if exported is not None else trainer.exported()
        averaged = generators(pipeline.to(trainer.accelerator.device))
        metrics.update(validate_generators(trainer, stage, rows, held_out, averaged, "val_ema"))
        pipeline.cpu()  # where exported pipelines live (and are saved from)
    return metrics


def validate_generators(trainer: Trainer, stage: StageConfig, rows, held_out: list, models: dict[str, nn.Module],
                        prefix: str) -> dict[str, float]:
    config, device = trainer.config, trainer.accelerator.device
    metrics = {f"{prefix}/matting_{k}": v for k, v in validate_matting(models["matting"], rows, device).items()}
    if stage.name != "matting":
        harmonizer = models[f"harmonizer/{stage.direction}"]
        metrics.update({f"{prefix}/{stage.direction}_{k}": v for k, v in
                        validate_harmonization(harmonizer, rows, config.size, device).items()})
        if held_out:
            metrics.update({f"{prefix}/{stage.direction}_fresh_{k}": v for k, v in
                            validate_harmonization(harmonizer, rows, config.size, device, held_out).items()})
            metrics.update({f"{prefix}/{stage.direction}_scene_{k}": v for k, v in validate_harmonization(
                harmonizer, rows, config.size, device, held_out, own_scene=True).items()})
    return metrics


def log_images(accelerator: Accelerator, batch: dict[str, torch.Tensor], step: int) -> None:
    """A grid of the batch's first rows (every layer side by side) to TensorBoard."""
    writer = accelerator.get_tracker("tensorboard", unwrap=True)
    columns = [batch[k][:4].expand(-1, 3, -1, -1) for k in ("image", "trimap", "alpha") if k in batch]
    grid = torch.cat([torch.cat(list(c), dim=2) for c in columns], dim=1)
    writer.add_image("batch", grid.clamp(0, 1), step)


def save_checkpoint(trainer: Trainer, out: Path, step: int) -> None:
    folder = out / "checkpoints" / f"step-{step:07d}"
    trainer.accelerator.save_state(str(folder))
    if trainer.accelerator.is_main_process:
        (folder / "progress.json").write_text(json.dumps({"step": step}))
        old = sorted((out / "checkpoints").glob("step-*"))[:-trainer.config.keep_checkpoints]
        for path in old:
            shutil.rmtree(path)
    trainer.accelerator.wait_for_everyone()


def resume_folder(out: Path, resume: str) -> Path:
    if resume != "latest":
        return Path(resume)
    found = sorted(p for p in (out / "checkpoints").glob("step-*") if (p / "progress.json").exists())
    if not found:
        raise FileNotFoundError(f"--resume latest: no checkpoint in {out / 'checkpoints'}")
    return found[-1]


class StopRequest:
    """SIGTERM as a flag that the training loop reads between steps."""

    def __init__(self) -> None:
        self.requested = False
        signal.signal(signal.SIGTERM, self._request)

    def _request(self, signum: int, frame: object) -> None:
        self.requested = True

    def agreed(self, accelerator: Accelerator) -> bool:
        """True on every process once any of them was asked to stop (they must save together)."""
        if accelerator.num_processes == 1:
            return self.requested
        flag = torch.tensor([float(self.requested)], device=accelerator.device)
        return bool(accelerator.reduce(flag, reduction="sum").item() > 0)


def replica_checksums(accelerator: Accelerator, models: dict[str, nn.Module]) -> list[float]:
    """One checksum of every model's parameters per process: equal on all ranks when data parallelism holds."""
    total = torch.zeros(1, dtype=torch.float64, device=accelerator.device)
    for model in models.values():
        for index, parameter in enumerate(accelerator.unwrap_model(model).parameters()):
            total += (parameter.detach().double().flatten() * (1 + index % 7)).sum()
    return accelerator.gather(total).tolist()


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
    backgrounds = []
    if config.backgrounds:
        from hamagan import samples

        paths = (samples.background_paths() if config.backgrounds == "bundled"
                 else sorted(Path(config.backgrounds).glob("*.jpg")) + sorted(Path(config.backgrounds).glob("*.png")))
        backgrounds = load_backgrounds(paths)
    # The last ``held_out_backgrounds`` photos never reach a training sample; validation composites over them.
    split = len(backgrounds) - config.held_out_backgrounds
    backgrounds, held_out = backgrounds[:split], backgrounds[split:]
    trainer.backgrounds = backgrounds
    if args.export_from:
        accelerator.load_state(args.export_from)
        if accelerator.is_main_process:
            trainer.export(Path(args.export_to or Path(args.export_from) / "export"), {})
        return 0
    if args.average:
        if not args.export_to:
            print("train.py: --average needs --export-to", file=sys.stderr)
            return 2
        pipeline = trainer.averaged_checkpoints(args.average)
        if accelerator.is_main_process:
            trainer.export(Path(args.export_to), {}, pipeline)
        return 0
    step = 0
    if args.resume:
        folder = resume_folder(out, args.resume)
        accelerator.load_state(str(folder))
        step = json.loads((folder / "progress.json").read_text())["step"]
    accelerator.init_trackers("hamagan", config={k: str(v) for k, v in config.to_dict().items()})
    metrics: dict[str, float] = {}
    exported: HaMaGANPipeline | None = None  # the last stage's export, which the final one repeats
    stop = StopRequest()
    progress = tqdm(total=config.total_steps, initial=step, disable=not accelerator.is_main_process,
                    desc="training", unit="step", dynamic_ncols=True)
    while step < config.total_steps:
        stage_index, first_step = config.stage_at(step)
        stage = config.stages[stage_index]
        loader = iter(make_loader(config, stage, accelerator, first_step, backgrounds))
        progress.set_description(f"{stage.name}/{stage.direction}")
        started, images = time.perf_counter(), 0
        for stage_step in range(first_step, stage.steps):
            batch = {k: v.to(accelerator.device) for k, v in next(loader).items()}
            trainer.set_lr(stage_index, stage_step)
            losses = trainer.step(stage_index, batch)
            step += 1
            images += config.batch_size * accelerator.num_processes
            progress.update(1)
            if step % config.log_every == 0:
                rate = images / (time.perf_counter() - started)
                accelerator.log({f"{stage.name}/{k}": v for k, v in losses.items()} | {"images_per_s": rate}, step)
                progress.set_postfix({**{k: f"{v:.4f}" for k, v in losses.items()}, "img/s": f"{rate:.1f}"})
            if accelerator.is_main_process and step % config.image_every == 0:
                log_images(accelerator, batch, step)
            stage_end = stage_step == stage.steps - 1
            if stage_end and accelerator.is_main_process:  # averaged and calibrated once: validated, then saved
                exported = trainer.exported()
            if step % config.eval_every == 0 or stage_end:
                metrics = (evaluate(trainer, stage, held_out, exported if stage_end else None)
                           if accelerator.is_main_process else {})
                accelerator.log(metrics, step)
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
