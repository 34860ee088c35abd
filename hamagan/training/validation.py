"""Validation during training: matting and harmonization metrics on held-out HMH rows, of a run's live and
averaged generators."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch
from torch import nn

from hamagan.compose import pad_to_multiple
from hamagan.data.harmonization_engine import HarmonizationEngine, HarmonizationSettings
from hamagan.data.hmh import HMHRow, adjusted_coverage
from hamagan.data.matting_engine import HELD_OUT_STYLES, EngineSettings, MattingEngine, MattingSample
from hamagan.images import array_to_tensor, tensor_to_array
from hamagan.metrics import colourfulness, harmonization_metrics, matting_metrics
from hamagan.pipeline import HaMaGANPipeline
from hamagan.training.config import StageConfig, TrainConfig
from hamagan.training.loaders import load_rows
from hamagan.training.samples import HMHSamples, SampleOptions
from hamagan.training.steps import disharmonious, land_change
from hamagan.training.trainer import Trainer, generators


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]} if rows else {}


@torch.no_grad()
def _matting_scores(matting: nn.Module, cases: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]],
                    device: torch.device | str) -> dict[str, float]:
    """Mean SAD / MSE / Grad / Conn of G_m over (image, trimap, alpha) float arrays, padded to its stride."""
    was_training = matting.training
    matting.eval()
    results = []
    for image, trimap, alpha in cases:
        image_t, (h, w) = pad_to_multiple(array_to_tensor(image).to(device), 32)
        trimap_t, _ = pad_to_multiple(array_to_tensor(trimap[..., None]).to(device), 32)
        predicted = tensor_to_array(matting.predict(image_t, trimap_t)[:, :, :h, :w].cpu())
        results.append(matting_metrics(predicted, alpha, trimap))
    matting.train(was_training)
    return _mean(results)


def validate_matting(matting: nn.Module, rows, device: torch.device | str = "cpu") -> dict[str, float]:
    """Mean SAD / MSE / Grad / Conn of G_m over the rows at their stored size, with their stored trimaps."""
    cases = ((np.asarray(row["image"].convert("RGB"), np.float32) / 255,
              np.round(np.asarray(row["trimap"].convert("L"), np.float32) / 255 * 2) / 2,
              np.asarray(row["alpha"].convert("L"), np.float32) / 255) for row in rows)
    return _matting_scores(matting, cases, device)


def held_out_mattes(photos: Sequence[np.ndarray], count: int = 48, size: int = 256, seed: int = 10**6
                    ) -> list[MattingSample]:
    """A fixed validation set of the engine's held-out strand styles (never in training) over held-out
    ``photos``: what the engine cannot have taught by its own shortcuts."""
    settings = EngineSettings(size=size, families={"strands": 1.0}, styles=HELD_OUT_STYLES)
    engine = MattingEngine(photos, settings=settings, seed=seed)
    chosen, position = [], 0
    while len(chosen) < count:  # as a person's trimap: some known foreground and background
        sample = engine(position)
        if (sample.trimap == 0).any() and (sample.trimap == 1).any():
            chosen.append(sample)
        position += 1
    return chosen


def held_out_portrait_mattes(photos: Sequence[np.ndarray], cutouts: Sequence[tuple[np.ndarray, np.ndarray]],
                             count: int = 48, size: int = 256, seed: int = 10**6 + 1, finder_bands: float = 0.0
                             ) -> list[MattingSample]:
    """A fixed validation set of held-out portraits (``cutouts``: foreground and alpha of validation rows) over
    held-out ``photos``, with the engine's trimaps (bands of 5-60 px at long side 512; ``finder_bands``: the
    share around a person finder's mask): does G_m keep the portraits' quality at every band width while it
    learns hair?"""
    settings = EngineSettings(size=size, families={"portrait": 1.0}, finder_bands=finder_bands)
    engine = MattingEngine(photos, cutouts, settings=settings, seed=seed)
    return [engine(position) for position in range(count)]


def validation_mattes(config: TrainConfig, held_out: Sequence[np.ndarray]) -> dict[str, list[MattingSample]]:
    """The engine samples a run's matting stages validate on: held-out strand styles, and the first matting
    stage's validation portraits (its direction's validation rows) with trimaps grown from their alpha and,
    apart, with trimaps as the person finder makes them, each over the ``held_out`` photos."""
    mattes = {"held_out_strands": held_out_mattes(held_out, size=config.size)}
    direction = next((stage.direction for stage in config.stages if stage.name == "matting"), None)
    rows = load_rows(config.datasets[direction], "validation", config.validation_sources) if direction else None
    if rows is not None and len(rows):
        cutouts = [(row.floats("foreground"), row.floats("alpha")) for row in map(HMHRow.decode, rows)]
        mattes["held_out_portraits"] = held_out_portrait_mattes(held_out, cutouts, size=config.size)
        mattes["held_out_portraits_finder"] = held_out_portrait_mattes(held_out, cutouts, size=config.size,
                                                                       seed=10**6 + 2, finder_bands=1.0)
    return mattes


def validate_matting_samples(matting: nn.Module, samples: Sequence[MattingSample], device: torch.device | str = "cpu"
                             ) -> dict[str, float]:
    """Mean SAD / MSE / Grad / Conn of G_m over engine samples, with their own trimaps."""
    return _matting_scores(matting, ((s.image, s.trimap, s.alpha) for s in samples), device)


@torch.no_grad()
def validate_harmonization(harmonizer: nn.Module, rows, size: int = 256, device: torch.device | str = "cpu",
                           backgrounds: Sequence[np.ndarray] = (), fresh_samples: int = 24,
                           own_scene: bool = False) -> dict[str, float]:
    """Mean MSE / fMSE / PSNR of G_h (true alpha, change landed on the adjusted layer) and of the
    unharmonized composite, rows resized to ``size``. With ``backgrounds`` (photos held out from training),
    it scores ``fresh_samples`` seeded recomposites of the rows over them instead: a harmonizer that
    remembers the training photos' colours cannot pass this one; with ``own_scene`` too, the rows keep their
    own scenes and the photos only serve as fresh transforms' targets (fresh disharmonies of real scenes)."""
    was_training = harmonizer.training
    harmonizer.eval()
    options = SampleOptions(kind="full", size=size, flip=False, fresh_background=1.0 if backgrounds else 0.0,
                            own_scene=1.0 if own_scene else 0.0)
    samples = HMHSamples(rows, options, backgrounds, seed=0, cache=False, shuffle=False)
    directions = [rows[index]["perturb"] for index in range(len(rows))]  # one read per row, not per sample
    results = []
    for position in range(fresh_samples if backgrounds else len(rows)):
        batch = {k: v[None].to(device) for k, v in samples[position].items()}
        composite = disharmonious(batch, batch["alpha"])
        direction = directions[samples.row_index(position)]
        output = land_change(harmonizer(composite, batch["alpha"]).float().clamp(0, 1), composite, batch["alpha"],
                             direction)
        adjusted = adjusted_coverage(batch["alpha"], direction)
        real, mask = tensor_to_array(batch["image"].cpu()), tensor_to_array(adjusted.cpu())
        ours = harmonization_metrics(tensor_to_array(output.cpu()), real, mask)
        plain = harmonization_metrics(tensor_to_array(composite.cpu()), real, mask)
        results.append({**ours, **{f"composite_{k}": v for k, v in plain.items()}})
    harmonizer.train(was_training)
    return _mean(results)


@torch.no_grad()
def validate_engine_composites(harmonizer: nn.Module, photos: Sequence[np.ndarray], shapes: Sequence[np.ndarray],
                               direction: str, size: int = 256, count: int = 48, device: torch.device | str = "cpu",
                               seed: int = 10**6 + 2) -> dict[str, float]:
    """Mean MSE / fMSE / PSNR of G_h and of the untouched composite on a fixed set of harmonization-engine
    composites of held-out ``photos`` (masks from ``shapes`` and procedural ones, every transform), and
    ``colourfulness_kept``: the harmonized regions' mean colourfulness over the real photos'."""
    was_training = harmonizer.training
    harmonizer.eval()
    settings = HarmonizationSettings(size=size, gamma=(1.0, 1.0), untouched=0.0)
    engine = HarmonizationEngine(photos, shapes, settings, seed=seed)
    results, kept, real = [], [], []
    for position in range(count):
        drawn = engine(position, direction)
        plain_composite = drawn.composite
        alpha = array_to_tensor(drawn.alpha[..., None]).to(device)
        composite = array_to_tensor(plain_composite).to(device)
        output = tensor_to_array(land_change(harmonizer(composite, alpha).float().clamp(0, 1), composite, alpha,
                                             direction).cpu())
        mask = adjusted_coverage(drawn.alpha, direction)
        ours = harmonization_metrics(output, drawn.image, mask)
        plain = harmonization_metrics(plain_composite, drawn.image, mask)
        results.append({**ours, **{f"composite_{k}": v for k, v in plain.items()}})
        kept.append(colourfulness(output, mask))
        real.append(colourfulness(drawn.image, mask))
    harmonizer.train(was_training)
    return {**_mean(results), "colourfulness_kept": float(np.mean(kept) / max(np.mean(real), 1e-9))}


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
    if stage.name == "matting":
        for name, samples in trainer.validation_mattes.items():
            metrics.update({f"{prefix}/{name}_{k}": v for k, v in
                            validate_matting_samples(models["matting"], samples, device).items()})
    if stage.name != "matting":
        harmonizer = models[f"harmonizer/{stage.direction}"]
        metrics.update({f"{prefix}/{stage.direction}_{k}": v for k, v in
                        validate_harmonization(harmonizer, rows, config.size, device).items()})
        if held_out:
            metrics.update({f"{prefix}/{stage.direction}_fresh_{k}": v for k, v in
                            validate_harmonization(harmonizer, rows, config.size, device, held_out).items()})
            metrics.update({f"{prefix}/{stage.direction}_scene_{k}": v for k, v in validate_harmonization(
                harmonizer, rows, config.size, device, held_out, own_scene=True).items()})
            shapes = [np.asarray(row["alpha"].convert("L"), np.float32) / 255 for row in rows]
            metrics.update({f"{prefix}/{stage.direction}_engine_{k}": v for k, v in validate_engine_composites(
                harmonizer, held_out, shapes, stage.direction, config.size, device=device).items()})
    return metrics
