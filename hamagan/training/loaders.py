"""A run's data: HMH rows read once per split, the training photos, and each stage's seeded loader."""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from torch.utils.data import DataLoader

from hamagan.data.hmh import load_rows as read_rows
from hamagan.data.hmh import move_sources
from hamagan.data.photo_pool import not_fetched, pool_photos
from hamagan.data.pool_people import pool_people
from hamagan.training.config import StageConfig, TrainConfig
from hamagan.training.samples import (
    HMHSamples,
    StreamSampler,
    init_loader_worker,
    load_backgrounds,
    loader_context,
)


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


@functools.cache
def training_people() -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The photo pool's training photos of people and their masks (read once per run), or none with a warning
    when the pool is not fetched."""
    people = tuple((photo, mask) for _, photo, mask in pool_people("train"))
    if not people:
        warnings.warn(not_fetched("the harmonization engine draws no person masks"), stacklevel=2)
    return people


def make_samples(config: TrainConfig, stage: StageConfig, backgrounds: list) -> HMHSamples:
    """The stage's training samples (an endless, seeded stream indexed by position)."""
    rows = load_rows(config.datasets[stage.direction], "train", config.validation_sources)
    if stage.name == "harmonization" and config.scene_backgrounds:
        backgrounds = backgrounds + scene_backgrounds(rows)
    options = config.sample_options(stage)
    people = training_people() if stage.name == "harmonization" and config.harmonization_people else ()
    return HMHSamples(rows, options, backgrounds if stage.name != "joint" else (), seed=config.seed, people=people)


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


def photo_paths(config: TrainConfig) -> tuple[list[Path], list[Path]]:
    """The files of the config's background photos (``bundled``, ``pool``, a folder of JPEG/PNG files, or none),
    split into the training photos and the held-out ones, which never reach a training sample (validation
    composites and mattes over them): the last ``held_out_backgrounds`` of the bundled photos or the folder's, and
    with ``pool`` also the photo pool's validation split (its training split joins the training photos; its test
    split is never read). Without a fetched pool, ``pool`` trains on the bundled photos and says so."""
    if not config.backgrounds:
        return [], []
    from hamagan import samples

    folder = Path(config.backgrounds)
    paths = (samples.background_paths() if config.backgrounds in ("bundled", "pool")
             else sorted(folder.glob("*.jpg")) + sorted(folder.glob("*.png")))
    split = len(paths) - config.held_out_backgrounds
    training, held_out = paths[:split], paths[split:]
    if config.backgrounds == "pool":
        pool_training = pool_photos(split="train")
        if not pool_training:
            warnings.warn(not_fetched(f"training on the {len(paths)} bundled photos only"), stacklevel=3)
        training += pool_training
        held_out += pool_photos(split="validation")
    return training, held_out


def training_photos(config: TrainConfig) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The photos of :func:`photo_paths`, loaded."""
    training, held_out = photo_paths(config)
    return load_backgrounds(training), load_backgrounds(held_out)
