"""A plain install (``pip install .``, no extras) runs the pipeline from Python and ``hamagan compose``, without
the Space's, the trainer's or the dataset's packages; a command that needs an extra names it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = """
from hamagan import HaMaGANPipeline, samples
from hamagan.images import load_image
import importlib.util
assert [m for m in ("gradio", "accelerate", "datasets", "pymatting") if importlib.util.find_spec(m)] == []
image, _ = samples.portrait_paths(samples.TEST_PORTRAITS[0])
out = HaMaGANPipeline.from_pretrained()(load_image(image), background=samples.background_paths()[0])
print("alpha", out.alpha.shape, float(out.alpha.mean()))
"""


def _find_links() -> list[str]:
    """The local wheel folder pip is configured with (it holds the CPU build of torch), as uv arguments."""
    found = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.find-links"], capture_output=True,
                           text=True)
    return ["--find-links", found.stdout.strip()] if found.returncode == 0 and found.stdout.strip() else []


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("uv") is None, reason="needs uv (installed by .ci/install)")
def test_plain_install_composes_without_the_optional_packages(tmp_path: Path) -> None:
    venv = tmp_path / "plain"
    subprocess.run(["uv", "venv", "-q", "-p", sys.executable, str(venv)], check=True)
    installed = subprocess.run(["uv", "pip", "install", "-q", "-p", str(venv), *_find_links(), str(ROOT)],
                               capture_output=True, text=True, timeout=900)
    assert installed.returncode == 0, installed.stderr[-3000:]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    python = subprocess.run([str(venv / "bin/python"), "-c", COMPOSE], capture_output=True, text=True, cwd=tmp_path,
                            env=env, timeout=600)
    assert python.returncode == 0, python.stderr[-3000:]
    assert "alpha" in python.stdout
    out = tmp_path / "composed.png"
    portrait = ROOT / "hamagan/samples/portraits/astronaut-no-alpha.png"
    cli = subprocess.run([str(venv / "bin/hamagan"), "compose", str(portrait), "--random-background", "--seed", "1",
                          "-o", str(out)], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert cli.returncode == 0, cli.stderr[-3000:]
    assert out.stat().st_size > 10_000
    space = subprocess.run([str(venv / "bin/hamagan"), "space"], capture_output=True, text=True, env=env, timeout=300)
    assert space.returncode == 2 and "[space] extra" in space.stderr and "pip install 'hamagan[space]'" in space.stderr
    train = subprocess.run([str(venv / "bin/python"), "-c", "import hamagan.training.trainer"], capture_output=True,
                           text=True, env=env, timeout=300)
    assert train.returncode != 0 and "[train] extra" in train.stderr
