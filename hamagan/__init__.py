"""HaMaGAN: joint portrait matting and image harmonization (Ren, Liu, Song)."""

from hamagan.images import ImageError, load_image
from hamagan.pipeline import (
    HaMaGANConfig,
    HaMaGANOutput,
    HaMaGANPipeline,
    HarmonizerConfig,
    MattingConfig,
    ModelNotFoundError,
)

__all__ = [
    "HaMaGANConfig",
    "HaMaGANOutput",
    "HaMaGANPipeline",
    "HarmonizerConfig",
    "ImageError",
    "MattingConfig",
    "ModelNotFoundError",
    "load_image",
]
__version__ = "0.1.0"
