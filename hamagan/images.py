"""The project's one image loader and its conversions at the edges (files, PIL, numpy, tensors).

Inside the library images are float32 tensors in [0, 1] of shape (N, C, H, W). Files of any common mode
load: grayscale, RGBA, palette, CMYK and 16-bit images are converted and EXIF orientation is applied;
only unreadable or empty images raise :class:`ImageError`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

ImageInput = Union[str, os.PathLike, Image.Image, np.ndarray, torch.Tensor]  # noqa: UP007 (runtime alias)

# Pillow modes whose samples are wider than 8 bits, with their full-scale value.
_WIDE_MODES = {"I;16": 65535.0, "I;16B": 65535.0, "I;16L": 65535.0, "I;16N": 65535.0, "I": 65535.0, "F": 1.0}


class ImageError(ValueError):
    """An input image (or trimap) that cannot be used; the message names the source and the problem."""


def describe(source: object) -> str:
    """A short name for an input, for error messages."""
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    if isinstance(source, Image.Image):
        return f"PIL image {source.size[0]}x{source.size[1]} mode {source.mode}"
    if isinstance(source, (np.ndarray, torch.Tensor)):
        return f"{type(source).__name__} of shape {tuple(source.shape)}"
    return type(source).__name__


def open_image(path: str | os.PathLike) -> Image.Image:
    """Open a file fully, with EXIF orientation applied."""
    path = Path(path)
    try:
        with Image.open(path) as img:
            img.load()
            return ImageOps.exif_transpose(img)
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{path}: not a readable image ({exc})") from None


def _pil_pixels(img: Image.Image, channels: int) -> np.ndarray:
    """PIL image -> HxWx3 (``channels=3``) or HxW (``channels=1``) array: uint8 for 8-bit modes, float32 in
    [0, 1] for wider ones."""
    if img.mode in _WIDE_MODES:
        data = np.asarray(img, dtype=np.float32) / _WIDE_MODES[img.mode]
        data = np.clip(data, 0.0, 1.0)
        return np.repeat(data[..., None], 3, axis=2) if channels == 3 else data
    if img.mode == "P":
        img = img.convert("RGBA")
    return np.asarray(img.convert("RGB" if channels == 3 else "L"))


def _pil_to_array(img: Image.Image, channels: int) -> np.ndarray:
    """PIL image -> float32 array in [0, 1], HxWx3 for ``channels=3`` or HxW for ``channels=1``."""
    data = _pil_pixels(img, channels)
    return data.astype(np.float32) / 255.0 if data.dtype == np.uint8 else data


def _array_to_float(data: np.ndarray, name: str) -> np.ndarray:
    if data.dtype == np.uint8:
        return data.astype(np.float32) / 255.0
    if data.dtype == np.uint16:
        return data.astype(np.float32) / 65535.0
    if data.dtype == np.bool_:
        return data.astype(np.float32)
    if not np.issubdtype(data.dtype, np.floating):
        raise ImageError(f"{name}: unsupported array type {data.dtype}; use uint8, uint16 or float in [0, 1]")
    data = data.astype(np.float32, copy=False)
    if not np.isfinite(data).all():
        raise ImageError(f"{name}: contains NaN or infinite values")
    return data


def to_array(source: ImageInput, channels: int = 3) -> np.ndarray:
    """Any supported input -> float32 array in [0, 1] (HxWx3, or HxW for ``channels=1``).

    Tensors are taken as (C, H, W) or (1, C, H, W) in [0, 1]; arrays as HxW, HxWx1, HxWx3 or HxWx4.
    """
    name = describe(source)
    if isinstance(source, (str, os.PathLike)):
        data = _pil_to_array(open_image(source), channels)
    elif isinstance(source, Image.Image):
        data = _pil_to_array(ImageOps.exif_transpose(source), channels)
    else:
        if isinstance(source, torch.Tensor):
            tensor = source.detach().cpu()
            if tensor.dim() == 4 and tensor.shape[0] == 1:
                tensor = tensor[0]
            if tensor.dim() == 3:
                tensor = tensor.permute(1, 2, 0)
            source = tensor.float().numpy()
        data = _array_to_float(np.asarray(source), name)
        if data.ndim == 3 and data.shape[2] in (1, 3, 4):
            data = data[..., :3] if data.shape[2] >= 3 else data[..., 0]
        if data.ndim != 2 and not (data.ndim == 3 and data.shape[2] == 3):
            raise ImageError(f"{name}: expected an HxW or HxWxC image")
        if channels == 3 and data.ndim == 2:
            data = np.repeat(data[..., None], 3, axis=2)
        elif channels == 1 and data.ndim == 3:
            data = data @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    if data.shape[0] == 0 or data.shape[1] == 0:
        raise ImageError(f"{name}: the image is empty ({data.shape[1]}x{data.shape[0]} pixels)")
    return np.ascontiguousarray(data, dtype=np.float32)


def load_image(source: ImageInput) -> torch.Tensor:
    """Any supported input -> RGB tensor (1, 3, H, W) in [0, 1]."""
    if isinstance(source, (str, os.PathLike, Image.Image)):
        img = open_image(source) if isinstance(source, (str, os.PathLike)) else ImageOps.exif_transpose(source)
        pixels = _pil_pixels(img, channels=3)
        if pixels.dtype == np.uint8 and pixels.size:  # one pass from bytes to planar floats
            planar = torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))
            return planar.unsqueeze(0).float().div_(255.0)
    return array_to_tensor(np.clip(to_array(source, channels=3), 0.0, 1.0))


def array_to_tensor(data: np.ndarray) -> torch.Tensor:
    """HxW or HxWxC float array -> (1, C, H, W) tensor."""
    if data.ndim == 2:
        data = data[..., None]
    return torch.from_numpy(np.ascontiguousarray(data.transpose(2, 0, 1))).unsqueeze(0).float()


def tensor_to_array(tensor: torch.Tensor) -> np.ndarray:
    """(1, C, H, W) tensor -> float32 array HxWxC, or HxW for one channel."""
    data = tensor.detach().cpu().float()[0].permute(1, 2, 0).numpy()
    return data[..., 0] if data.shape[2] == 1 else data


def to_pil(data: np.ndarray) -> Image.Image:
    """Float array in [0, 1] (HxW, HxWx3 or HxWx4) -> 8-bit PIL image (L, RGB or RGBA)."""
    return Image.fromarray(np.round(np.clip(data, 0.0, 1.0) * 255.0).astype(np.uint8))
