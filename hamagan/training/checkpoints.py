"""A run's folder: its recorded recipe, checkpoints, resumption, and a stop requested by SIGTERM."""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import torch
from accelerate import Accelerator
from torch import nn

from hamagan.training.config import TrainConfig, config_differences, load_config, save_config
from hamagan.training.trainer import Trainer


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
