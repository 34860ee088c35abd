"""Releases: a checkpoint assembled from the per-network folders of training runs, each pinned by digest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from hamagan import HaMaGANPipeline
from hamagan.cli import main
from hamagan.pipeline import DEFAULT_CHECKPOINT, HaMaGANConfig
from hamagan.release import load_recipe, network_digest
from hamagan.weights import read_checkpoint_tensors, split_networks, tensor_digest

ROOT = Path(__file__).resolve().parents[1]


def _train(tmp_path: Path, dataset: Path, name: str, stage: dict, seed: int) -> Path:
    config = yaml.safe_load((ROOT / "train/configs/tiny.yaml").read_text())
    config.update(datasets={"background": str(dataset), "foreground": str(dataset)}, seed=seed, stages=[stage],
                  output_dir=str(tmp_path / "runs" / name), eval_every=100, bn_calibration_batches=1)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    done = subprocess.run([sys.executable, str(ROOT / "train/train.py"), "--config", str(path)], capture_output=True,
                          text=True, timeout=600, env={**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    return tmp_path / "runs" / name / "final"


@pytest.mark.slow
def test_a_release_assembles_exactly_the_runs_networks(tiny_hmh: Path, tmp_path: Path) -> None:
    matting = _train(tmp_path, tiny_hmh, "matting", {"name": "matting", "steps": 2}, seed=1)
    harmonizer = _train(tmp_path, tiny_hmh, "harmonizer",
                        {"name": "harmonization", "direction": "background", "steps": 2}, seed=2)
    sources = {"matting": matting / "matting", "harmonizer_background": harmonizer / "harmonizer_background",
               "harmonizer_foreground": matting / "harmonizer_foreground"}
    recipe = {"pipeline": {"harmonize_size": 64}, "card": "card.md",
              "networks": {name: {"from": str(folder.relative_to(tmp_path)), "digest": network_digest(folder)}
                           for name, folder in sources.items()}}
    (tmp_path / "card.md").write_text("---\nlibrary_name: hamagan\n---\n# a tiny release\n")
    (tmp_path / "releases").mkdir()
    (tmp_path / "releases/tiny.yaml").write_text(yaml.safe_dump(recipe))
    # A folder written before an option existed lacks its key: it means the default, so the harmonizers agree.
    old_config = harmonizer / "harmonizer_background" / "config.json"
    old_config.write_text(json.dumps({k: v for k, v in json.loads(old_config.read_text()).items()
                                      if k != "layer_statistics"}))
    out = tmp_path / "release"
    assert main(["release", str(tmp_path / "releases/tiny.yaml"), "--out", str(out)]) == 0
    released = split_networks(read_checkpoint_tensors(out), ["background", "foreground"])
    for name, folder in sources.items():
        theirs = read_checkpoint_tensors(folder.parent)
        wanted = split_networks(theirs, ["background", "foreground"])[name]
        assert released[name].keys() == wanted.keys()
        assert all(torch.equal(released[name][k], wanted[k]) for k in wanted), name
        assert (out / name / "model.safetensors").read_bytes() == (folder / "model.safetensors").read_bytes()
    # The two runs trained different networks: the release holds the trained one of each.
    assert tensor_digest(released["harmonizer_background"]) != network_digest(matting / "harmonizer_background")
    assert (out / "README.md").read_text().endswith("# a tiny release\n")
    assert HaMaGANPipeline.from_pretrained(str(out)).config.harmonize_size == 64
    # A network whose weights are not the pinned ones is refused before anything is written.
    recipe["networks"]["matting"]["from"] = str((harmonizer / "matting").relative_to(tmp_path))
    (tmp_path / "releases/tiny.yaml").write_text(yaml.safe_dump(recipe))
    assert main(["release", str(tmp_path / "releases/tiny.yaml"), "--out", str(tmp_path / "other")]) == 2
    assert not (tmp_path / "other").exists()


def test_the_shipped_checkpoint_is_the_one_its_release_recipe_pins() -> None:
    recipe = load_recipe(ROOT / "releases/default.yaml")
    shipped = split_networks(read_checkpoint_tensors(DEFAULT_CHECKPOINT), ["background", "foreground"])
    assert {name: tensor_digest(tensors) for name, tensors in shipped.items()} == {
        name: source.digest for name, source in recipe.networks.items()}
    for name, source in recipe.networks.items():
        assert (ROOT / source.recipe).is_file(), name


def test_the_shipped_pipeline_settings_are_the_ones_its_release_recipe_sets() -> None:
    recipe = load_recipe(ROOT / "releases/default.yaml")
    shipped = json.loads((DEFAULT_CHECKPOINT / "config.json").read_text())
    rebuilt = HaMaGANConfig(matting=shipped["matting"], harmonizer=shipped["harmonizer"],
                            directions=shipped["directions"], **recipe.pipeline)
    assert HaMaGANConfig(**shipped) == rebuilt  # `hamagan release` would write back the same settings
