"""The trainer of one run: prepared generators, critics, optimizers and weight averages; export of the
averaged generators with batch-norm statistics of their own."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from torch import nn
from torch.utils.data import default_collate

from hamagan.models.discriminator import SelfAttentionCritic
from hamagan.models.indexnet import matting_input
from hamagan.pipeline import HaMaGANPipeline
from hamagan.training.config import StageConfig, TrainConfig
from hamagan.training.ema import EMA, hold_batch_norm, recompute_batch_norm
from hamagan.training.loaders import make_samples
from hamagan.training.steps import disharmonious, harmonization_step, joint_step, matting_step
from hamagan.weights import split_networks, tensor_digest


def check_pinned(start: HaMaGANPipeline, source: str, pinned: dict[str, str]) -> None:
    """Refuse a starting checkpoint whose networks named in ``pinned`` (network folder name to tensor digest)
    hold other weights than the recipe was trained from."""
    networks = split_networks(start.state_dict(), start.config.directions)
    for name, digest in pinned.items():
        found = tensor_digest(networks[name]) if name in networks else "absent"
        if found != digest:
            raise ValueError(f"{source}: its {name} holds other weights than this recipe starts from (digest "
                             f"{found}, pinned {digest}); see the recipe's comments for where the pinned ones are")


def initialise_from(pipeline: HaMaGANPipeline, source: str, verbose: bool, harmonizers_from: str | None = None,
                    pinned: dict[str, str] | None = None) -> None:
    """Copy the generators of a pipeline checkpoint (the harmonizers from ``harmonizers_from`` when given):
    G_m whole, each harmonizer's tensors wherever their names and shapes match. ``pinned`` digests (network
    folder name to :func:`hamagan.weights.tensor_digest`) must match the networks copied."""
    pinned = pinned or {}
    start = HaMaGANPipeline.from_pretrained(source)
    check_pinned(start, source, {k: v for k, v in pinned.items() if k == "matting" or not harmonizers_from})
    if asdict(start.config.matting) != asdict(pipeline.config.matting):
        raise ValueError(f"init_from {source}: its matting network differs from the config's")
    pipeline.matting.load_state_dict(start.matting.state_dict())
    if harmonizers_from:
        source, start = harmonizers_from, HaMaGANPipeline.from_pretrained(harmonizers_from)
        check_pinned(start, source, {k: v for k, v in pinned.items() if k != "matting"})
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
            initialise_from(pipeline, config.init_from, accelerator.is_main_process, config.init_harmonizers_from,
                            config.init_digests)
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
        # Engine samples that matting stages validate on, by name: held-out strand styles and held-out
        # portraits, over held-out photos.
        self.validation_mattes: dict[str, list] = {}
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

    def step(self, stage_index: int, batch: dict[str, torch.Tensor], stage_step: int = 0) -> dict[str, float]:
        stage = self.config.stages[stage_index]
        optimizers = self.optimizers[stage_index]
        harmonizer = f"harmonizer/{stage.direction}"
        if stage.name == "joint":
            self.models["matting"].train(stage.joint.update_matting)
        for name in self.config.frozen_batch_norm:
            hold_batch_norm(self.models[name])
        if stage.name == "matting":
            losses = matting_step(self.accelerator, self.models["matting"], optimizers["matting"], batch,
                                  stage.composition_weight, stage.gradient_weight, stage.laplacian_weight)
        elif stage.name == "harmonization":
            losses = harmonization_step(self.accelerator, self.models[harmonizer], optimizers["harmonizer"], batch,
                                        stage.direction, stage.harmonization_loss,
                                        colourfulness_weight=stage.colourfulness_weight)
        else:
            losses = joint_step(self.accelerator, self.models["matting"], self.models[harmonizer],
                                self.models[f"critic/{stage.direction}"], optimizers, batch, stage.joint,
                                stage.direction, stage_step, patch_places(self.config.seed, stage_index, stage_step))
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
        fixed training batches; nothing when that is 0 or the generator's statistics are frozen."""
        if not self.config.bn_calibration_batches or name in self.config.frozen_batch_norm:
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


def patch_places(seed: int, stage_index: int, stage_step: int) -> torch.Generator:
    """Where a joint step's critic patches fall: a stream of their own per step (a resumed run draws the same
    places, and the run's other draws stay as they were)."""
    state = np.random.SeedSequence([seed, stage_index, stage_step]).generate_state(1)
    return torch.Generator().manual_seed(int(state[0]))


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
