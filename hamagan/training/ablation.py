"""Joint against separate training (the paper's Tables 1 and 2): the arms, their runs and the critic's health.

Every arm is the base config's joint stage with its own lambda1 (G_m's critic weight) and lambda2 (G_h's);
the separate arm sets both to 0, so it sees exactly the joint arms' samples and steps (the seed fixes them)
and its generators learn from L1 alone. ``train/ablation.py`` trains and evaluates them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from hamagan.training.config import TrainConfig, config_differences, load_config, save_config

CRITIC_REAL_BOUND = 5.0  # a run whose critic scores real portraits beyond +-5 on average has degenerated
# Joint-stage settings that shape only the critic: with lambda1 = lambda2 = 0 the generators never hear it
# (tests/test_adversarial.py), so they are not part of the separate arm's recipe.
CRITIC_SETTINGS = ("critic_form", "drift", "recomposite", "critic_patch", "r1_weight", "adversarial_warmup")


@dataclass(frozen=True)
class Arm:
    """One arm: G_m's and G_h's critic weights."""

    lambda_matting: float
    lambda_harmonization: float = 0.01

    @property
    def separate(self) -> bool:
        return self.lambda_matting == 0 and self.lambda_harmonization == 0

    @property
    def label(self) -> str:
        return "separate" if self.separate else f"joint-l1-{self.lambda_matting:g}-l2-{self.lambda_harmonization:g}"


SEPARATE = Arm(0.0, 0.0)
PAPER = Arm(0.02, 0.01)
TABLE_2_LAMBDAS = (0.01, 0.02, 0.033, 0.1)  # with lambda1 = 0, G_m learns as in the separate arm


def table_arms(table: int) -> list[Arm]:
    """The arms of Table 1 (separate, the paper's lambdas) or Table 2 (separate and four lambda1 values at
    lambda2 = 0.01)."""
    if table == 1:
        return [SEPARATE, PAPER]
    if table == 2:
        return [SEPARATE, *(Arm(value, 0.01) for value in TABLE_2_LAMBDAS)]
    raise ValueError(f"table must be 1 or 2, got {table}")


def run_folder(out: Path, arm: Arm, seed: int) -> Path:
    return out / f"{arm.label}-seed-{seed}"


def arm_config(base: Path, arm: Arm, seed: int, folder: Path, settings: dict | None = None) -> TrainConfig:
    """The base config with the arm's lambdas, ``seed``, ``folder`` as its output and ``settings`` (joint-stage
    keys, e.g. critic_form; the separate arm takes none of :data:`CRITIC_SETTINGS`): the exact recipe of the
    run."""
    if arm.separate:
        settings = {k: v for k, v in (settings or {}).items() if k not in CRITIC_SETTINGS}
    data = yaml.safe_load(base.read_text())
    stages = [s for s in data["stages"] if s["name"] == "joint"]
    if len(data["stages"]) != 1 or not stages:
        raise ValueError(f"{base}: the ablation's base config must hold exactly one stage, a joint one")
    stages[0]["joint"] = {**stages[0].get("joint", {}), **(settings or {}),
                          "lambda_matting": arm.lambda_matting, "lambda_harmonization": arm.lambda_harmonization}
    return load_config(base, {"stages": data["stages"], "seed": seed, "output_dir": str(folder)})


def check_recipe(config: TrainConfig, folder: Path) -> None:
    """Refuse a run folder whose export was trained by another recipe than ``config``."""
    if (folder / "final" / "config.json").exists():
        changed = config_differences(load_config(folder / "config.yaml"), config, ignore=("output_dir",))
        if changed:
            raise ValueError(f"{folder} was trained with another recipe (it differs in {', '.join(changed)}): "
                             "choose another --out for this one")


def train_arm(base: Path, arm: Arm, seed: int, folder: Path, settings: dict | None = None) -> Path:
    """Train one arm with train/train.py, unless ``folder`` already holds its export, which must have been
    trained by the same recipe; returns the export."""
    config, export = arm_config(base, arm, seed, folder, settings), folder / "final"
    check_recipe(config, folder)
    if (export / "config.json").exists():
        return export
    folder.mkdir(parents=True, exist_ok=True)
    recipe = folder / "recipe.yaml"
    save_config(config, recipe)
    script = Path(__file__).resolve().parents[2] / "train" / "train.py"
    subprocess.run([sys.executable, str(script), "--config", str(recipe)], check=True,
                   env={**os.environ, "HF_HUB_OFFLINE": "1"})
    return export


def critic_trace(folder: Path, stage: str = "joint") -> dict[str, np.ndarray]:
    """The critic's logged scores of a run (TensorBoard events under ``folder``/hamagan): steps, real and
    fake means."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder / "hamagan"), size_guidance={"scalars": 0})
    events.Reload()
    out = {}
    for key in ("critic_real", "critic_fake"):
        scalars = events.Scalars(f"{stage}/{key}")
        out["step"] = np.array([s.step for s in scalars])
        out[key] = np.array([s.value for s in scalars])
    return out


def degenerate(trace: dict[str, np.ndarray], bound: float = CRITIC_REAL_BOUND) -> bool:
    """Whether the critic's mean score on real portraits left [-bound, bound] at any logged step."""
    return bool(np.abs(trace["critic_real"]).max() > bound)


def seed_means(per_image: dict[int, list[dict[str, float]]], metric: str) -> np.ndarray:
    """One arm's per-seed means of ``metric`` over a set's images (``per_image``: seed to per-image rows)."""
    return np.array([np.mean([row[metric] for row in rows]) for _, rows in sorted(per_image.items())])


@dataclass(frozen=True)
class Difference:
    """Joint minus separate over seeds: the difference of the arms' means, the standard error of that
    difference (unpaired: sqrt(s_j^2 / n_j + s_s^2 / n_s)), and the mean paired (same-seed) difference with
    its standard error (std of the per-seed differences / sqrt(n)): the arms of a seed share their samples, so
    the pairing removes the spread that the seeds' data cause in both arms alike."""

    mean: float
    standard_error: float
    paired: float
    paired_error: float

    @property
    def clear(self) -> bool:
        """The difference exceeds twice its standard error (the issue's bar)."""
        return abs(self.mean) > 2 * self.standard_error

    def reading(self) -> str:
        if not self.clear:
            return "within noise"
        return "joint better" if self.mean < 0 else "joint worse"


def difference(joint: np.ndarray, separate: np.ndarray, paired_seeds: bool = True) -> Difference:
    """Joint minus separate from their per-seed means (lower metric values are better); needs 2+ seeds each."""
    if len(joint) < 2 or len(separate) < 2:
        raise ValueError("a difference over seeds needs at least two seeds in each arm")
    error = float(np.sqrt(joint.var(ddof=1) / len(joint) + separate.var(ddof=1) / len(separate)))
    pairs = joint - separate if paired_seeds and len(joint) == len(separate) else np.full(2, np.nan)
    return Difference(float(joint.mean() - separate.mean()), error, float(pairs.mean()),
                      float(pairs.std(ddof=1) / np.sqrt(len(pairs))))


def verdict(readings: dict[tuple[str, str], str]) -> str:
    """The reading of Table 1 by the issue's rule: the claim holds where joint beats separate past twice the SE
    in both SAD and Grad on a held-out set (not the test portraits)."""
    held_out = sorted({name for name, _ in readings if name != "test_portraits"})
    holds = [n for n in held_out if readings[n, "SAD"] == readings[n, "Grad"] == "joint better"]
    worse = sorted({n for (n, m), r in readings.items() if r == "joint worse" and m in ("SAD", "Grad")})
    if holds:
        return f"**Reading: the claim holds here** on {', '.join(holds)} (SAD and Grad both past twice the SE)."
    if worse:
        return f"**Reading: the claim fails here**: joint is worse past twice the SE on {', '.join(worse)}."
    return ("**Reading: joint and separate cannot be told apart from seed noise here**: no held-out set shows joint "
            "better past twice the SE in both SAD and Grad.")


def held_out_photo_paths() -> list[Path]:
    """The photos no training run reads: the last 8 bundled ones, and the photo pool's validation and test
    splits when the pool is fetched (``python -m hamagan.data.photo_pool``)."""
    from hamagan.data.photo_pool import pool_photos
    from hamagan.harmonization_sets import bundled_held_out

    return bundled_held_out() + pool_photos(split="validation") + pool_photos(split="test")


def evaluation_sets(dataset: str, count: int = 96, size: int = 320) -> dict[str, list]:
    """The ablation's three matting sets, as :class:`hamagan.evaluation.MattingCase` lists:

    - ``test_portraits``: the three test portraits at long side 512 with a 10-px band (the reference recipe);
    - ``held_out_strands``: ``count`` engine samples of the strand styles training never draws, over the
      held-out photos, at ``size``;
    - ``held_out_portraits``: ``count`` composites of the HMH validation portraits (``dataset``'s validation
      split, never trained on) over the held-out photos, with the engine's 5-60 px bands, at ``size``.

    Both engine sets use seeds apart from those that training validates with.
    """
    from hamagan.data.hmh import HMHRow
    from hamagan.evaluation import MattingCase, load_matting_case
    from hamagan.samples import TEST_PORTRAITS
    from hamagan.training.loaders import load_rows
    from hamagan.training.samples import load_backgrounds
    from hamagan.training.validation import held_out_mattes, held_out_portrait_mattes

    photos = load_backgrounds(held_out_photo_paths(), 640)
    rows = {row.source_id: row for row in map(HMHRow.decode, load_rows(dataset, "validation"))}
    cutouts = [(row.floats("foreground"), row.floats("alpha")) for row in rows.values()]

    def cases(name: str, mattes: list) -> list[MattingCase]:
        return [MattingCase(f"{name}-{i:03d}", m.image.astype(np.float64), m.alpha.astype(np.float64),
                            m.trimap.astype(np.float64)) for i, m in enumerate(mattes)]

    return {"test_portraits": [load_matting_case(i) for i in TEST_PORTRAITS],
            "held_out_strands": cases("strands", held_out_mattes(photos, count, size, seed=3 * 10**6)),
            "held_out_portraits": cases("portraits", held_out_portrait_mattes(photos, cutouts, count, size,
                                                                               seed=3 * 10**6 + 1))}
