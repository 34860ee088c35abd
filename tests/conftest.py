"""Shared fixtures: small pipelines and real sample images."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest
import torch

from hamagan import HaMaGANConfig, HaMaGANPipeline, HarmonizerConfig, MattingConfig
from hamagan.evaluation import load_matting_case


@pytest.fixture(scope="session")
def small_config() -> HaMaGANConfig:
    return HaMaGANConfig(matting=MattingConfig(width_mult=0.25), harmonizer=HarmonizerConfig(base_channels=4))


@pytest.fixture(scope="session")
def small_pipe(small_config: HaMaGANConfig) -> HaMaGANPipeline:
    torch.manual_seed(0)
    return HaMaGANPipeline(small_config)


@pytest.fixture
def portrait() -> tuple[np.ndarray, np.ndarray]:
    """A real portrait (RGB float) and its soft alpha, at long side 256."""
    case = load_matting_case("p_09ba26b4", long_side=256)
    return case.image.astype(np.float32), case.alpha.astype(np.float32)


@pytest.fixture(scope="session")
def tiny_hmh(tmp_path_factory: pytest.TempPathFactory):
    """The HMH dataset of the 15 bundled portraits at long side 96 (train 11 / validation 1 / test 3)."""
    from hamagan import samples
    from hamagan.data.builder import BuildOptions, build_dataset
    from hamagan.data.sources import open_source

    out = tmp_path_factory.mktemp("hmh-tiny")
    build_dataset(open_source(str(samples.PORTRAITS)), out, BuildOptions(size=96, keep_aspect=True),
                  test_ids=set(samples.TEST_PORTRAITS), progress=False)
    return out


@pytest.fixture(scope="session")
def saved_small_pipe(tmp_path_factory: pytest.TempPathFactory, small_pipe: HaMaGANPipeline) -> Path:
    folder = tmp_path_factory.mktemp("checkpoint")
    small_pipe.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def study(tmp_path_factory: pytest.TempPathFactory, tiny_hmh: Path, saved_small_pipe: Path):
    """A MOS study of the 3 test rows of the tiny dataset (composite, Reinhard, the small model, real)."""
    from hamagan.space.study import build_study

    return build_study(tiny_hmh, {"ours": str(saved_small_pipe)}, tmp_path_factory.mktemp("study"), rows=3)


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory, saved_small_pipe: Path, study):
    """The app launched in this process on a free port, with a record of every non-loopback connection."""
    outside: list[object] = []
    original = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "localhost", "::1") and self.family != socket.AF_UNIX:
            outside.append(address)
        return original(self, address)

    socket.socket.connect = guarded
    from hamagan.space.app import make_services, serve

    database = tmp_path_factory.mktemp("db") / "ratings.sqlite"
    services = make_services(database, str(saved_small_pipe), str(study.folder))
    app = serve(services, server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True)
    yield app.local_url, services, outside
    app.close()
    socket.socket.connect = original


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch) -> dict:
    """Replaces HfApi's repo creation and folder upload; returns what upload_folder was asked to send."""
    sent: dict = {}

    def fake_upload(self, *, folder_path, repo_id, repo_type, allow_patterns, commit_message):
        sent.update(folder=folder_path, repo=repo_id, type=repo_type, files=allow_patterns)
        return "commit-url"

    monkeypatch.setattr("huggingface_hub.HfApi.create_repo", lambda self, *a, **k: None)
    monkeypatch.setattr("huggingface_hub.HfApi.upload_folder", fake_upload)
    return sent
