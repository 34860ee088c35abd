"""Colour changes that make a disharmonious background (or portrait): the HMH dataset's transforms.

- Reinhard colour transfer (Reinhard et al., "Color Transfer between Images", IEEE CG&A 2001): match the
  per-channel mean and standard deviation of a target image, in lαβ (Reinhard's space, via LMS and a
  log) or in CIELAB (as the public HMH generator). The generator's two bugs are not repeated: each
  channel is scaled by *its own* std ratio target/source, and negative a/b (or α/β) values are kept.
- Illumination change: a brightness offset in [-100, 200] on the 0..255 scale.
- MSRCR (Jobson, Rahman, Woodell, "A Multiscale Retinex for Bridging the Gap...", IEEE TIP 1997):
  multi-scale retinex with colour restoration, then a simplest-colour-balance stretch.

Images are float32 HxWx3 RGB arrays in [0, 1].
"""

from __future__ import annotations

import cv2
import numpy as np

_RGB_TO_LMS = np.array([[0.3811, 0.5783, 0.0402], [0.1967, 0.7244, 0.0782], [0.0241, 0.1288, 0.8444]])
_LMS_TO_LAB = np.diag([1 / np.sqrt(3), 1 / np.sqrt(6), 1 / np.sqrt(2)]) @ np.array(
    [[1, 1, 1], [1, 1, -2], [1, -1, 0]], dtype=np.float64)
_LOG_FLOOR = 1.0 / 255.0  # log10 needs positive LMS values; black maps to the darkest 8-bit level
_LOG_CEILING = 10.0  # log10 LMS beyond this (far past white, clipped anyway) would overflow to inf, then NaN
COLOR_SPACES = ("lalphabeta", "cielab")


def to_color_space(rgb: np.ndarray, space: str) -> np.ndarray:
    """RGB in [0, 1] -> lαβ (Reinhard) or CIELAB (L 0..100, a and b signed), float64."""
    if space == "lalphabeta":
        lms = np.maximum(rgb.astype(np.float64) @ _RGB_TO_LMS.T, _LOG_FLOOR)
        return np.log10(lms) @ _LMS_TO_LAB.T
    if space == "cielab":
        return cv2.cvtColor(np.clip(rgb, 0, 1).astype(np.float32), cv2.COLOR_RGB2Lab).astype(np.float64)
    raise ValueError(f"unknown colour space {space!r}; choose from {COLOR_SPACES}")


def from_color_space(values: np.ndarray, space: str) -> np.ndarray:
    """Inverse of :func:`to_color_space`, clipped to [0, 1], float32."""
    if space == "lalphabeta":
        lms = 10 ** np.minimum(values @ np.linalg.inv(_LMS_TO_LAB).T, _LOG_CEILING)
        rgb = lms @ np.linalg.inv(_RGB_TO_LMS).T
    elif space == "cielab":
        rgb = cv2.cvtColor(values.astype(np.float32), cv2.COLOR_Lab2RGB)
    else:
        raise ValueError(f"unknown colour space {space!r}; choose from {COLOR_SPACES}")
    return np.clip(rgb, 0, 1).astype(np.float32)


def match_statistics(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Shift and scale each channel of ``source`` (HxWxC) to the mean and std of ``target`` (..xC)."""
    src = source.reshape(-1, source.shape[-1])
    tgt = target.reshape(-1, target.shape[-1])
    scale = tgt.std(axis=0) / np.maximum(src.std(axis=0), 1e-8)
    return (source - src.mean(axis=0)) * scale + tgt.mean(axis=0)


def reinhard_transfer(source: np.ndarray, target: np.ndarray, space: str = "lalphabeta") -> np.ndarray:
    """Colour-transfer ``source`` towards ``target``'s statistics in the named colour space."""
    return from_color_space(match_statistics(to_color_space(source, space), to_color_space(target, space)), space)


def change_illumination(image: np.ndarray, offset: float) -> np.ndarray:
    """Add a brightness offset given on the 0..255 scale (the HMH generator draws it from [-100, 200])."""
    return np.clip(image + offset / 255.0, 0, 1).astype(np.float32)


def gaussian_blur(image: np.ndarray, sigma: float, downscaled: bool = False) -> np.ndarray:
    """Gaussian blur; ``downscaled`` blurs wide kernels (sigma >= 16) on an image shrunk by sigma // 8 and
    enlarges the result: 20x faster for MSRCR's sigmas at 256 px, a smooth field either way."""
    factor = int(sigma // 8) if downscaled else 1
    if factor < 2:
        return cv2.GaussianBlur(image, (0, 0), sigma)
    h, w = image.shape[:2]
    small = cv2.resize(image, (max(1, round(w / factor)), max(1, round(h / factor))), interpolation=cv2.INTER_AREA)
    return cv2.resize(cv2.GaussianBlur(small, (0, 0), sigma / factor), (w, h), interpolation=cv2.INTER_LINEAR)


def msrcr(image: np.ndarray, sigmas: tuple[float, ...] = (15, 80, 250), alpha: float = 125.0, beta: float = 46.0,
          gain: float = 192.0, offset: float = -30.0, clip_percent: float = 1.0, fast: bool = False) -> np.ndarray:
    """Multi-scale retinex with colour restoration (Jobson et al. 1997's constants).

    ``fast`` blurs on downscaled images (:func:`gaussian_blur`): 0.02 s instead of 0.43 s at 256 px, within
    0.3-1.3 levels (of 255) on average of the exact transform; training samples use it, the dataset not.
    """
    img = image.astype(np.float64) * 255.0 + 1.0
    log_img = np.log10(img)
    retinex = np.zeros_like(img)
    for sigma in sigmas:
        retinex += log_img - np.log10(gaussian_blur(img, sigma, downscaled=fast))
    retinex /= len(sigmas)
    restoration = beta * (np.log10(alpha * img) - np.log10(img.sum(axis=2, keepdims=True)))
    out = gain * (retinex * restoration + offset)
    lo, hi = np.percentile(out, [clip_percent, 100 - clip_percent], axis=(0, 1))
    return np.clip((out - lo) / np.maximum(hi - lo, 1e-8), 0, 1).astype(np.float32)


# Camera-style changes (what real composites show besides the HMH transforms), on sRGB values in [0, 1].
_GAMMA = 2.2  # sRGB <-> linear light, near enough for exposure changes
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def white_balance(image: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """Per-channel gains (3,) in linear light: a camera's white balance (or a tinted light)."""
    return np.clip(((image ** _GAMMA) * np.asarray(gains, np.float32)) ** (1 / _GAMMA), 0, 1).astype(np.float32)


def exposure_contrast(image: np.ndarray, stops: float, contrast: float, saturation: float) -> np.ndarray:
    """Exposure in stops (linear light), then contrast about mid-grey and saturation about each pixel's luma."""
    exposed = np.clip((image ** _GAMMA) * 2.0 ** stops, 0, 1) ** (1 / _GAMMA)
    contrasted = (exposed - 0.5) * contrast + 0.5
    luma = contrasted @ _LUMA
    return np.clip(luma[..., None] + (contrasted - luma[..., None]) * saturation, 0, 1).astype(np.float32)


def tone_curve(image: np.ndarray, gamma: float, s_curve: float) -> np.ndarray:
    """A power curve, then an S-curve of strength ``s_curve`` (negative: flattened), as in photo editors."""
    toned = np.clip(image, 0, 1) ** gamma
    s_shaped = toned - s_curve * np.sin(2 * np.pi * toned) / (2 * np.pi)
    return np.clip(s_shaped, 0, 1).astype(np.float32)


def gradient_gain(image: np.ndarray, start: np.ndarray, end: np.ndarray, angle: float) -> np.ndarray:
    """Per-channel gains changing linearly across the image along ``angle`` (radians) from ``start`` (3,) to
    ``end`` (3,): light that falls off, or a colour cast on one side."""
    h, w = image.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    along = xs / max(w - 1, 1) * np.cos(angle) + ys / max(h - 1, 1) * np.sin(angle)
    t = ((along - along.min()) / max(float(along.max() - along.min()), 1e-6))[..., None]
    gains = np.asarray(start, np.float32) * (1 - t) + np.asarray(end, np.float32) * t
    return np.clip(image * gains, 0, 1).astype(np.float32)
