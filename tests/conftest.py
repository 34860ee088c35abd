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
