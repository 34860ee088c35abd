"""Training configuration, read from YAML (``train/configs/*.yaml``)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import yaml

from hamagan.pipeline import HaMaGANConfig
from hamagan.training.samples import SampleOptions, SampleRecipe
from hamagan.training.steps import HARMONIZATION_LOSSES, JointSettings

STAGES = ("matting", "harmonization", "joint")


@dataclass
class StageConfig:
    """One stage: what it trains, for how many steps, at which rates.

    ``lr_encoder`` / ``lr_decoder`` are G_m's rates for its MobileNetV2 encoder and for everything else
    (index blocks, ASPP, decoder, head); IndexNet trains the decoder 100x faster than a pretrained encoder,
    the paper fine-tunes with 1e-5 / 1e-7. ``schedule`` is "cosine" (to 0 after ``warmup`` linear steps)
    or "constant". ``composition_weight``, ``gradient_weight`` and ``laplacian_weight`` add those matting losses
    to the alpha loss; ``harmonization_loss`` is G_h's reconstruction loss in its own stage, "l1", "mse" or
    "fn_mse" (squared error per image over its adjusted region's area, as fMSE takes it), and
    ``colourfulness_weight`` adds that times the squared gap between the harmonized and the real adjusted layer's
    colourfulness (Hasler and Süsstrunk's, on [0, 1] colours) to it.
    """

    name: str
    steps: int
    direction: str = "background"
    lr_encoder: float = 1e-3
    lr_decoder: float = 1e-3
    lr_harmonizer: float = 2e-4
    lr_critic: float = 2e-4
    schedule: str = "cosine"
    warmup: int = 0
    composition_weight: float = 0.0
    gradient_weight: float = 0.0
    laplacian_weight: float = 0.0
    harmonization_loss: str = "l1"
    colourfulness_weight: float = 0.0
    joint: JointSettings = field(default_factory=JointSettings)

    def __post_init__(self) -> None:
        if isinstance(self.joint, dict):
            self.joint = JointSettings(**self.joint)
        if self.name not in STAGES:
            raise ValueError(f"stage name must be one of {STAGES}, got {self.name!r}")
        if self.harmonization_loss not in HARMONIZATION_LOSSES:
            raise ValueError(f"harmonization_loss must be one of {HARMONIZATION_LOSSES}, "
                             f"got {self.harmonization_loss!r}")
        if self.colourfulness_weight < 0:
            raise ValueError(f"colourfulness_weight must be at least 0, got {self.colourfulness_weight}")
        if self.schedule not in ("cosine", "constant"):
            raise ValueError(f"schedule must be 'cosine' or 'constant', got {self.schedule!r}")
        if self.steps < 1:
            raise ValueError(f"stage {self.name}: steps must be positive")

    def lr_factor(self, step: int) -> float:
        """Learning-rate multiplier at ``step`` (0-based) of this stage."""
        if step < self.warmup:
            return (step + 1) / self.warmup
        if self.schedule == "constant":
            return 1.0
        progress = (step - self.warmup) / max(1, self.steps - self.warmup)
        return 0.5 * (1 + math.cos(math.pi * progress))


@dataclass(kw_only=True)
class TrainConfig(SampleRecipe):
    """A whole run. ``datasets`` maps a direction to a built HMH folder (``hamagan dataset build``) or a Hub id.
    The sample recipe's fields (``scale``, ``fresh_background``, ``own_scene``...) are
    :class:`hamagan.training.samples.SampleRecipe`'s, documented there.

    ``num_processes`` is the world size the run expects; training refuses to start on any other.
    ``batch_size`` is per process and per accumulation micro-step. ``backgrounds``: "bundled" (the 40 photos
    in the package), "pool" (those and the photo pool's training split, ``python -m hamagan.data.photo_pool``),
    a folder, or none. ``held_out_backgrounds``: the last that many bundled (or folder) photos are kept from
    training for G_h's validation composites (with "pool", the pool's validation split joins them).
    ``scene_backgrounds`` adds the training portraits' own inpainted backgrounds to the photos of G_h's fresh
    composites.
    ``validation_sources`` moves those portraits (source ids) from the training split to validation: a
    cross-validation fold. ``init_from`` starts the generators from a pipeline checkpoint,
    ``init_harmonizers_from`` (with it) the harmonizers from another; ``init_digests`` pins the weights they
    must hold (network folder name, as ``matting`` or ``harmonizer_background``, to its tensor digest).
    With ``ema_decay`` > 0, the averaged generators' batch-norm statistics are recomputed over
    ``bn_calibration_batches`` training batches before they are validated or exported (0 keeps the live
    model's statistics, as runs before 2026-11-28 did). ``frozen_batch_norm`` names generators ("matting",
    "harmonizer/<direction>") whose batch-norm layers keep the statistics they start with (``init_from``'s)
    throughout the run and in the export: for fine-tuning on crops or batches unlike those the statistics were
    made on. ``select_by`` names a validation metric as logged
    (``val/foreground_engine_fMSE``, lower is better; with ``ema_decay`` > 0 a ``val_ema/`` one, since the export
    writes the averaged generators): the generators of the evaluation where it was lowest are exported to
    OUTPUT/best too, with that evaluation's metrics and step in its ``metrics.json``.
    """

    stages: list[StageConfig]
    datasets: dict[str, str]
    output_dir: str = "runs/hamagan"
    seed: int = 0
    num_processes: int = 1
    batch_size: int = 8
    size: int = 256
    gradient_accumulation_steps: int = 1
    mixed_precision: str = "no"
    num_workers: int = 0
    backgrounds: str | None = "bundled"
    held_out_backgrounds: int = 0
    scene_backgrounds: bool = False
    validation_sources: tuple[str, ...] = ()
    model: HaMaGANConfig = field(default_factory=HaMaGANConfig)
    critic_widths: tuple[int, ...] = (64, 128, 256, 512)
    ema_decay: float = 0.999
    bn_calibration_batches: int = 16
    frozen_batch_norm: tuple[str, ...] = ()
    init_from: str | None = None
    init_harmonizers_from: str | None = None
    init_digests: dict[str, str] = field(default_factory=dict)
    log_every: int = 10
    image_every: int = 200
    eval_every: int = 200
    checkpoint_every: int = 200
    keep_checkpoints: int = 2
    select_by: str | None = None

    def __post_init__(self) -> None:
        self.stages = [StageConfig(**s) if isinstance(s, dict) else s for s in self.stages]
        if isinstance(self.model, dict):
            self.model = HaMaGANConfig(**self.model)
        super().__post_init__()
        self.validation_sources = tuple(self.validation_sources)
        self.critic_widths = tuple(self.critic_widths)
        self.frozen_batch_norm = tuple(self.frozen_batch_norm)
        generator_names = {"matting", *(f"harmonizer/{d}" for d in self.model.directions)}
        if unknown := set(self.frozen_batch_norm) - generator_names:
            raise ValueError(f"frozen_batch_norm names generators ({sorted(generator_names)}), got {sorted(unknown)}")
        if self.mixed_precision not in ("no", "bf16", "fp16"):
            raise ValueError(f"mixed_precision must be 'no', 'bf16' or 'fp16', got {self.mixed_precision!r}")
        if self.select_by is not None and not self.select_by.startswith(("val/", "val_ema/")):
            raise ValueError(f"select_by must name a validation metric (val/... or val_ema/...), got "
                             f"{self.select_by!r}")
        if self.init_harmonizers_from and not self.init_from:
            raise ValueError("init_harmonizers_from needs init_from (the matting network's checkpoint)")
        for stage in self.stages:
            if stage.name != "matting" and stage.direction not in self.model.directions:
                raise ValueError(f"stage {stage.name} trains direction {stage.direction!r}, which the model "
                                 f"config does not hold ({self.model.directions})")
            if stage.direction not in self.datasets:
                raise ValueError(f"stage {stage.name}: no dataset for direction {stage.direction!r} in datasets")

    @property
    def total_steps(self) -> int:
        return sum(s.steps for s in self.stages)

    def stage_at(self, step: int) -> tuple[int, int]:
        """(stage index, step within it) of global step ``step``."""
        for index, stage in enumerate(self.stages):
            if step < stage.steps:
                return index, step
            step -= stage.steps
        return len(self.stages), 0

    def sample_options(self, stage: StageConfig) -> SampleOptions:
        """How ``stage`` draws its samples: crops for G_m alone, whole rows for G_h; fresh backgrounds for
        the harmonization stage only (the joint stage's critic must see real photos as I)."""
        fresh = self.fresh_background if stage.name == "harmonization" else 0.0
        return SampleOptions(**{**self.recipe(), "fresh_background": fresh},
                             kind="crop" if stage.name == "matting" else "full", size=self.size,
                             batch_size=self.batch_size)

    def to_dict(self) -> dict:
        return asdict(self)


def load_config(path: str | Path, overrides: dict | None = None) -> TrainConfig:
    """Read a YAML config; ``overrides`` (top-level keys) replace its values, None included."""
    data = yaml.safe_load(Path(path).read_text()) or {}
    data.update(overrides or {})
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{path}: unknown config keys {unknown}")
    return TrainConfig(**data)


def resolve_config(path: str | Path, settings: list[str] = (), flags: dict | None = None) -> TrainConfig:
    """The config file with the ``--set`` ``settings`` (``init_from=null`` too), then the ``flags`` that are
    not None (a command line's ``--seed``, ``--output-dir``...)."""
    given = {k: v for k, v in (flags or {}).items() if v is not None}
    return load_config(path, {**parse_settings(list(settings)), **given})


def parse_settings(settings: list[str]) -> dict:
    """``--set`` values: KEY=VALUE pairs, each value read as YAML (``own_scene=1.0``, ``stages=[...]``)."""
    out = {}
    for setting in settings:
        key, sep, value = setting.partition("=")
        if not sep or not key:
            raise ValueError(f"--set takes KEY=VALUE, got {setting!r}")
        out[key] = yaml.safe_load(value)
    return out


def config_record(config: TrainConfig) -> dict:
    """``config`` as plain YAML-ready data (lists for tuples): what a run folder's config.yaml holds."""
    return json.loads(json.dumps(config.to_dict()))


def save_config(config: TrainConfig, path: str | Path) -> None:
    """Write ``config`` so that :func:`load_config` reads it back equal: a run's exact recipe."""
    Path(path).write_text(yaml.safe_dump(config_record(config), sort_keys=False))


def config_differences(a: TrainConfig, b: TrainConfig, ignore: tuple[str, ...] = ()) -> list[str]:
    """The top-level keys whose values differ between two configs (``ignore`` left out)."""
    ours, theirs = config_record(a), config_record(b)
    return [key for key in ours if key not in ignore and ours[key] != theirs[key]]
