"""How a pipeline's weights are stored: one folder per network, each with its config.json and
model.safetensors (as diffusers stores a pipeline's components), so that retraining one network changes only
its own file. Checkpoints saved before December 2026 hold one model.safetensors for all; they still load."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import safetensors.torch
import torch

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"


def network_folders(directions: list[str], statistics: list[str] = ()) -> dict[str, str]:
    """Each network's state-dict prefix and its folder: G_m in ``matting/``, each G_h in ``harmonizer_<direction>/``
    and the colour-statistics correction of each G_h in ``statistics`` in ``statistics_<direction>/``."""
    folders = {"matting": "matting", **{f"harmonizers.{d}": f"harmonizer_{d}" for d in directions}}
    return folders | {f"statistics.{d}": f"statistics_{d}" for d in statistics}


def split_networks(tensors: dict[str, torch.Tensor], directions: list[str]) -> dict[str, dict[str, torch.Tensor]]:
    """A pipeline's state dict as one state dict per network folder (keys without the network's prefix); the
    colour-statistics corrections' folders where the state dict holds them."""
    statistics = [d for d in directions if any(k.startswith(f"statistics.{d}.") for k in tensors)]
    out = {}
    for prefix, folder in network_folders(directions, statistics).items():
        out[folder] = {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
    return out


def save_network(tensors: dict[str, torch.Tensor], config: dict, folder: Path) -> None:
    """One network's weights and config in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_file({k: v.detach().cpu().contiguous() for k, v in sorted(tensors.items())},
                                str(folder / WEIGHTS_NAME))
    (folder / CONFIG_NAME).write_text(json.dumps(config, sort_keys=True, indent=2))


def load_pipeline_tensors(fetch: Callable[[str], str], directions: list[str], statistics: list[str] = ()
                          ) -> dict[str, torch.Tensor]:
    """A pipeline's state dict, from its per-network files (and those of the colour-statistics corrections of the
    directions in ``statistics``) or (older checkpoints) its single file. ``fetch`` maps a file name inside the
    checkpoint to a local path, raising FileNotFoundError (or the Hub's not-found errors, which are OSErrors) when
    the checkpoint has no such file."""
    try:
        first = fetch(f"matting/{WEIGHTS_NAME}")
    except OSError:
        return safetensors.torch.load_file(fetch(WEIGHTS_NAME))
    tensors = {}
    for prefix, folder in network_folders(directions, statistics).items():
        path = first if folder == "matting" else fetch(f"{folder}/{WEIGHTS_NAME}")
        tensors.update({f"{prefix}.{k}": v for k, v in safetensors.torch.load_file(path).items()})
    return tensors


def checkpoint_files(folder: Path, directions: list[str]) -> list[str]:
    """The files a checkpoint folder publishes: its config and card, and its weights in whichever layout."""
    statistics = [d for d in directions if (folder / f"statistics_{d}" / WEIGHTS_NAME).is_file()]
    weights = ([f"{f}/{name}" for f in network_folders(directions, statistics).values()
                for name in (CONFIG_NAME, WEIGHTS_NAME)]
               if (folder / "matting" / WEIGHTS_NAME).is_file() else [WEIGHTS_NAME])
    return [CONFIG_NAME, *weights, "README.md"]


def read_checkpoint_tensors(folder: Path) -> dict[str, torch.Tensor]:
    """A local checkpoint folder's state dict under the pipeline's names, in either layout."""
    config = json.loads((Path(folder) / CONFIG_NAME).read_text())

    def fetch(filename: str) -> str:
        path = Path(folder) / filename
        if not path.is_file():
            raise FileNotFoundError(path)
        return str(path)

    return load_pipeline_tensors(fetch, config["directions"], config.get("colour_statistics", []))


def tensor_digest(tensors: dict[str, torch.Tensor]) -> str:
    """sha256 of a state dict's names, dtypes, shapes and values: the same network gives the same digest in
    either storage layout (a release recipe pins its inputs by it)."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()
