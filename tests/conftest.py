"""Shared fixtures: small pipelines and real sample images."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hamagan import HaMaGANConfig, HaMaGANPipeline, HarmonizerConfig, MattingConfig
from hamagan.samples import portrait_paths


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
    from PIL import Image

    image_path, alpha_path = portrait_paths("p_09ba26b4")
    image = Image.open(image_path).convert("RGB")
    scale = 256 / max(image.size)
    size = (round(image.width * scale), round(image.height * scale))
    img = np.asarray(image.resize(size, Image.BICUBIC), dtype=np.float32) / 255
    alpha = np.asarray(Image.open(alpha_path).convert("L").resize(size, Image.BICUBIC), dtype=np.float32) / 255
    return img, alpha
