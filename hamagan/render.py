"""What the command line and the Space write: the harmonized composite, the matte, or an RGBA cut-out."""

from __future__ import annotations

import io
import random
from pathlib import Path

import numpy as np
from PIL import Image

from hamagan import samples
from hamagan.images import to_pil
from hamagan.pipeline import HaMaGANOutput

MODES = ("harmonized", "composite", "alpha", "rgba")


def cutout(output: HaMaGANOutput) -> Image.Image:
    """The portrait with transparency: foreground colours (old background removed) and alpha as RGBA."""
    foreground, alpha = np.asarray(output.foreground, np.float32), np.asarray(output.alpha, np.float32)
    return to_pil(np.concatenate([foreground, alpha[..., None]], axis=2))


def render(output: HaMaGANOutput, mode: str) -> Image.Image:
    """One 8-bit image of a float pipeline output: "harmonized", "composite", "alpha" (L) or "rgba"."""
    if mode == "rgba":
        return cutout(output)
    if mode == "alpha":
        return to_pil(np.asarray(output.alpha))
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    image = getattr(output, mode)
    if image is None:
        raise ValueError(f"no {mode} image: give a background")
    return to_pil(np.asarray(image))


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def write_png(image: Image.Image, path: Path, compress_level: int = 6) -> Path:
    """Write atomically (a partial file never looks finished to a resumed batch) and return the path;
    ``compress_level`` is zlib's, 0-9 (1 is several times faster than PIL's default 6, files somewhat larger)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    image.save(partial, format="PNG", compress_level=compress_level)
    partial.replace(path)
    return path


def random_background(seed: int | None = None) -> Path:
    """One of the bundled background photos, drawn at random (the paper's test protocol)."""
    return random.Random(seed).choice(samples.background_paths())
