"""Each generator a run trained, as its own small safetensors file (for transfers that cap a file's size).

    python train/extract_generators.py CONFIG OUT [STEP ...]

Writes OUT/<stage folder>.safetensors for every exported stage, OUT/interrupted-step-N-<generator>.safetensors
for a run stopped by SIGTERM (the generators of the stage it was in), and OUT/matting-step-N.safetensors
for each STEP's checkpoint. Keys keep the pipeline's names (``matting.*``, ``harmonizers.<direction>.*``),
so a file loads into a pipeline with ``load_state_dict(..., strict=False)``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from safetensors.torch import load_file, save_file

from hamagan.training.config import StageConfig, load_config
from hamagan.weights import read_checkpoint_tensors


def prefixes(stage: StageConfig) -> list[str]:
    """The key prefixes of the generators a stage trains."""
    harmonizer = f"harmonizers.{stage.direction}."
    if stage.name == "matting":
        return ["matting."]
    if stage.name == "joint" and stage.joint.update_matting:
        return ["matting.", harmonizer]
    return [harmonizer]


def subset(tensors: dict, prefix: str | tuple[str, ...]) -> dict:
    return {k: v for k, v in tensors.items() if k.startswith(prefix)}


def main(argv: list[str]) -> None:
    config, out = load_config(argv[0]), Path(argv[1])
    run = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    for index, stage in enumerate(config.stages):
        folder = run / "stages" / f"{index}-{stage.name}-{stage.direction}"
        if (folder / "config.json").exists():
            save_file(subset(read_checkpoint_tensors(folder), tuple(prefixes(stage))),
                      out / f"{folder.name}.safetensors")
            print("extracted", folder)
    interrupted = run / "interrupted"
    if (interrupted / "progress.json").exists():
        step = json.loads((interrupted / "progress.json").read_text())["step"]
        stage, tensors = config.stages[config.stage_at(step - 1)[0]], read_checkpoint_tensors(interrupted)
        for prefix in prefixes(stage):
            save_file(subset(tensors, prefix),
                      out / f"interrupted-step-{step}-{prefix.rstrip('.').replace('.', '-')}.safetensors")
        print("extracted", interrupted, "at step", step)
    for step in map(int, argv[2:]):  # the first model a run prepares is G_m
        path = run / "checkpoints" / f"step-{step:07d}" / "model.safetensors"
        if path.exists():
            save_file({f"matting.{k}": v for k, v in load_file(path).items()}, out / f"matting-step-{step}.safetensors")
            print("extracted", path)


if __name__ == "__main__":
    main(sys.argv[1:])
