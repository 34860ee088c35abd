"""Starting the Space as a newcomer does: `.ci/space` a second time with no package index, `hamagan space`
from another directory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.prefix)
CLOSED = "http://127.0.0.1:9/simple"  # the discard port: nothing listens there


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serving(process: subprocess.Popen, url: str, seconds: float = 120) -> bytes:
    """The page at ``url`` once the server answers (the process must stay up meanwhile)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read()
        except OSError:
            time.sleep(1)
    raise AssertionError(f"nothing served at {url} within {seconds} s")


@pytest.mark.slow
@pytest.mark.skipif(not (VENV / ".hamagan-installed").exists(), reason="this venv was not made by .ci/install")
def test_ci_space_starts_again_with_every_package_index_unreachable(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "HAMAGAN_VENV": str(VENV), "GRADIO_SERVER_PORT": str(port), "HAMAGAN_PORT": str(port),
           "HAMAGAN_DATABASE": str(tmp_path / "ratings.sqlite"), "UV_INDEX_URL": CLOSED, "UV_DEFAULT_INDEX": CLOSED,
           "PIP_INDEX_URL": CLOSED, "UV_OFFLINE": "1", "PIP_NO_INDEX": "1"}
    process = subprocess.Popen(["bash", str(ROOT / ".ci/space")], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        page = _serving(process, f"http://127.0.0.1:{port}/")
        assert b"HaMaGAN" in page
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.slow
def test_hamagan_space_from_another_directory_serves_a_study_item(tmp_path: Path) -> None:
    from gradio_client import Client

    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen([str(VENV / "bin/hamagan"), "space", "--port", str(port), "--database",
                                str(tmp_path / "ratings.sqlite")], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        _serving(process, f"http://127.0.0.1:{port}/")
        _, image, slot, progress, _ = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(api_name="/start")
        assert slot == 0 and progress.startswith("Item 1 of") and Path(image).stat().st_size > 10_000
    finally:
        process.terminate()
        process.wait(timeout=30)
