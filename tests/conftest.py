"""Shared fixtures: small pipelines and real sample images."""

from __future__ import annotations

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
