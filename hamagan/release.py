"""A release: the pipeline checkpoint assembled from the per-network folders that training runs exported, each
pinned by the digest of its tensors, as a release recipe (``releases/*.yaml``) names them.

    hamagan release releases/default.yaml --out hamagan/checkpoints/default

A recipe::

    pipeline: {matting_max_side: 1024, harmonize_size: 256, foreground_method: blur_fusion}
    card: releases/default-card.md          # optional: the model card, copied to README.md
    networks:
      matting: {from: runs/v5-matting/final/matting, digest: <sha256 of its tensors>, recipe: train/configs/...}
      harmonizer_background: {...}
      statistics_background: {...}         # optional: a harmonizer's colour-statistics correction

Paths are relative to the recipe's folder's parent (the repository). Each network folder is copied byte for
byte; its config.json gives the pipeline its matting and harmonizer configs (the harmonizers must agree).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import safetensors.torch
import yaml

from hamagan.pipeline import HaMaGANConfig, HaMaGANPipeline, HarmonizerConfig
from hamagan.weights import CONFIG_NAME, WEIGHTS_NAME, network_folders, tensor_digest


@dataclass
class NetworkSource:
    """One network of a release: the folder a run exported, and the digest its tensors must have."""

    folder: Path
    digest: str
    recipe: str = ""  # the training config that made it, for the reader


@dataclass
class ReleaseRecipe:
    networks: dict[str, NetworkSource]
    pipeline: dict = field(default_factory=dict)
    card: Path | None = None


def load_recipe(path: str | Path) -> ReleaseRecipe:
    """Read a release recipe; relative paths are taken from the repository (the recipe folder's parent)."""
    path = Path(path)
    root = path.resolve().parent.parent
    data = yaml.safe_load(path.read_text())
    networks = {name: NetworkSource(root / spec["from"], spec["digest"], spec.get("recipe", ""))
                for name, spec in data["networks"].items()}
    card = root / data["card"] if data.get("card") else None
    return ReleaseRecipe(networks, data.get("pipeline", {}), card)


def network_digest(folder: Path) -> str:
    """The digest of the tensors in a network folder's model.safetensors."""
    return tensor_digest(safetensors.torch.load_file(str(folder / WEIGHTS_NAME)))


def assemble(recipe: ReleaseRecipe, out: Path) -> HaMaGANPipeline:
    """Check every network against its pinned digest, then write the checkpoint to ``out`` (replacing the
    weights there) and load it back strictly."""
    directions = [name.removeprefix("harmonizer_") for name in recipe.networks if name.startswith("harmonizer_")]
    statistics = [name.removeprefix("statistics_") for name in recipe.networks if name.startswith("statistics_")]
    expected = set(network_folders(directions, [d for d in statistics if d in directions]).values())
    if set(recipe.networks) != expected or not directions:
        raise ValueError(f"a release needs the networks {sorted(expected)} (matting, at least one harmonizer and "
                         f"any colour-statistics correction of one of them), got {sorted(recipe.networks)}")
    configs = {}
    for name, source in recipe.networks.items():
        if not (source.folder / WEIGHTS_NAME).is_file():
            raise FileNotFoundError(f"{name}: no {WEIGHTS_NAME} in {source.folder}")
        found = network_digest(source.folder)
        if found != source.digest:
            raise ValueError(f"{name}: {source.folder} holds other weights than the recipe pins (digest {found}, "
                             f"pinned {source.digest})")
        configs[name] = json.loads((source.folder / CONFIG_NAME).read_text())
    # compared as configs, defaults filled in: a folder written before an option existed lacks its key
    harmonizer_configs = [HarmonizerConfig(**configs[f"harmonizer_{d}"]) for d in directions]
    if any(c != harmonizer_configs[0] for c in harmonizer_configs):
        raise ValueError("the harmonizers of a release must share one configuration")
    config = HaMaGANConfig(matting=configs["matting"], harmonizer=harmonizer_configs[0], directions=directions,
                           **{"colour_statistics": statistics, **recipe.pipeline})
    out.mkdir(parents=True, exist_ok=True)
    (out / WEIGHTS_NAME).unlink(missing_ok=True)  # the single file of the older layout
    for name, source in recipe.networks.items():
        (out / name).mkdir(exist_ok=True)
        for filename in (CONFIG_NAME, WEIGHTS_NAME):
            shutil.copyfile(source.folder / filename, out / name / filename)
    (out / CONFIG_NAME).write_text(json.dumps(asdict(config), sort_keys=True, indent=2))  # as save_pretrained
    if recipe.card is not None and recipe.card.resolve() != (out / "README.md").resolve():
        shutil.copyfile(recipe.card, out / "README.md")
    return HaMaGANPipeline.from_pretrained(str(out))
