"""Matting and harmonization metrics, following the conventions the papers report with.

Matting (Rhemann et al., CVPR 2009; the Deep Image Matting evaluation code that IndexNet reports with):
alphas are float arrays in [0, 1] (the prediction is clipped to [0, 1]); every metric is computed over
the trimap's unknown region only (trimap == 0.5, i.e. 128 on disk) and reported with the usual scale:

- SAD: sum of |pred - gt| over the region, divided by 1000.
- MSE: mean of (pred - gt)^2 over the region (no scaling).
- Grad: both alphas min-max normalised to [0, 1]; gradient magnitudes by first-derivative-of-Gaussian
  filters (sigma 1.4, each filter scaled to unit L2 norm, border replicated); sum of the squared
  difference of magnitudes over the region, divided by 1000.
- Conn: thresholds 0.1 .. 1.0; at each, the largest 4-connected component of (pred >= t) & (gt >= t);
  l(x) is the last threshold before x leaves that component (1 if never); phi = 1 - d [d >= 0.15] with
  d = alpha - l; sum of |phi_pred - phi_gt| over the region, divided by 1000.

Harmonization (iHarmony4 / DoveNet convention): images on the 0..255 scale.

- MSE: mean squared error over all pixels and channels.
- fMSE: squared error summed over the adjusted region (a soft or binary mask) divided by the region's
  area times the channel count, i.e. the MSE of the adjusted region alone.
- PSNR: 10 log10(255^2 / MSE), in dB.
- Colourfulness (Hasler and Süsstrunk, "Measuring colourfulness in natural images", SPIE 2003): over the
  region's pixels, with rg = R - G and yb = (R + G) / 2 - B, sqrt(var rg + var yb) + 0.3 sqrt(mean rg² +
  mean yb²); a harmonizer that greys scenes out keeps less of the real photo's.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

UNKNOWN = 0.5


def _unknown(trimap: np.ndarray) -> np.ndarray:
    """Boolean mask of the unknown region of a 0/0.5/1 or 0/128/255 trimap."""
    trimap = np.asarray(trimap)
    return trimap == (128 if trimap.max() > 1 else UNKNOWN)


def sad(pred: np.ndarray, gt: np.ndarray, trimap: np.ndarray) -> float:
    """Sum of absolute differences over the unknown region, / 1000."""
    region = _unknown(trimap)
    return float(np.abs(np.clip(pred, 0, 1) - gt)[region].sum() / 1000)


def mse(pred: np.ndarray, gt: np.ndarray, trimap: np.ndarray) -> float:
    """Mean squared error over the unknown region (0 when there is none)."""
    region = _unknown(trimap)
    if not region.any():
        return 0.0
    return float(((np.clip(pred, 0, 1) - gt) ** 2)[region].mean())


def _gaussian_derivative_filters(sigma: float = 1.4, epsilon: float = 1e-2) -> tuple[np.ndarray, np.ndarray]:
    half = math.ceil(sigma * math.sqrt(-2 * math.log(math.sqrt(2 * math.pi) * sigma * epsilon)))
    u = np.arange(-half, half + 1, dtype=np.float64)
    gauss = np.exp(-u**2 / (2 * sigma**2)) / (sigma * math.sqrt(2 * math.pi))
    dgauss = -u * gauss / sigma**2
    hx = np.outer(gauss, dgauss)  # rows: Gaussian; columns: its derivative (an x gradient)
    hx /= np.sqrt((hx**2).sum())
    return hx, hx.T


def _normalise(x: np.ndarray) -> np.ndarray:
    lo, hi = x.min(), x.max()
    return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)


def gradient_magnitude(alpha: np.ndarray, sigma: float = 1.4) -> np.ndarray:
    """|∇alpha| by first-derivative-of-Gaussian filters (replicated border)."""
    hx, hy = _gaussian_derivative_filters(sigma)
    gx = ndimage.convolve(alpha, hx, mode="nearest")
    gy = ndimage.convolve(alpha, hy, mode="nearest")
    return np.sqrt(gx**2 + gy**2)


def grad(pred: np.ndarray, gt: np.ndarray, trimap: np.ndarray, sigma: float = 1.4) -> float:
    """Gradient error over the unknown region, / 1000."""
    p = gradient_magnitude(_normalise(np.clip(pred, 0, 1).astype(np.float64)), sigma)
    g = gradient_magnitude(_normalise(np.asarray(gt, np.float64)), sigma)
    return float(((p - g) ** 2)[_unknown(trimap)].sum() / 1000)


def _connectivity_levels(pred: np.ndarray, gt: np.ndarray, step: float = 0.1) -> np.ndarray:
    thresholds = np.linspace(0, 1, round(1 / step) + 1)
    level = np.full(pred.shape, -1.0)
    four = ndimage.generate_binary_structure(2, 1)
    for previous, threshold in zip(thresholds[:-1], thresholds[1:], strict=True):
        labels, count = ndimage.label((pred >= threshold) & (gt >= threshold), structure=four)
        if count:
            sizes = np.bincount(labels.ravel())[1:]
            largest = labels == (np.argmax(sizes) + 1)
        else:
            largest = np.zeros(pred.shape, bool)
        level[(level == -1) & ~largest] = previous
    level[level == -1] = 1.0
    return level


def conn(pred: np.ndarray, gt: np.ndarray, trimap: np.ndarray, step: float = 0.1) -> float:
    """Connectivity error over the unknown region, / 1000."""
    p = np.clip(pred, 0, 1).astype(np.float64)
    g = np.asarray(gt, np.float64)
    level = _connectivity_levels(p, g, step)
    d_p, d_g = p - level, g - level
    phi_p = 1 - d_p * (d_p >= 0.15)
    phi_g = 1 - d_g * (d_g >= 0.15)
    return float(np.abs(phi_p - phi_g)[_unknown(trimap)].sum() / 1000)


def matting_metrics(pred: np.ndarray, gt: np.ndarray, trimap: np.ndarray) -> dict[str, float]:
    """SAD, MSE, Grad and Conn of one alpha (see the module docstring for units and region)."""
    return {"SAD": sad(pred, gt, trimap), "MSE": mse(pred, gt, trimap), "Grad": grad(pred, gt, trimap),
            "Conn": conn(pred, gt, trimap)}


def _to_255(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, np.float64)
    return image * 255.0 if image.max() <= 1.0 else image


def harmonization_metrics(pred: np.ndarray, real: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """MSE, fMSE (over ``mask``, the adjusted region) and PSNR on the 0..255 scale.

    ``pred`` and ``real`` are HxWx3 in [0, 1] (or already 0..255); ``mask`` is HxW in [0, 1].
    """
    p, r = _to_255(pred), _to_255(real)
    squared = (p - r) ** 2
    mse_value = float(squared.mean())
    weight = np.asarray(mask, np.float64)[..., None]
    area = float(weight.sum()) * squared.shape[2]
    fmse = float((squared * weight).sum() / area) if area > 0 else 0.0
    psnr = float("inf") if mse_value == 0 else 10 * math.log10(255.0**2 / mse_value)
    return {"MSE": mse_value, "fMSE": fmse, "PSNR": psnr}


def colourfulness(image: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Hasler and Süsstrunk's colourfulness of ``image`` (HxWx3 in [0, 1] or 0..255) where ``mask`` > 0.5
    (everywhere when None); 0 for an empty region."""
    pixels = _to_255(image).reshape(-1, 3) if mask is None else _to_255(image)[np.asarray(mask) > 0.5]
    if len(pixels) == 0:
        return 0.0
    rg = pixels[:, 0] - pixels[:, 1]
    yb = 0.5 * (pixels[:, 0] + pixels[:, 1]) - pixels[:, 2]
    return float(math.sqrt(rg.var() + yb.var()) + 0.3 * math.sqrt(rg.mean() ** 2 + yb.mean() ** 2))
