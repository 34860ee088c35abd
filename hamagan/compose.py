"""Compositing, foreground estimation and resolution handling (pad, resize, guided upsampling).

All functions take and return float tensors (N, C, H, W) in [0, 1].
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from hamagan.extras import require


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad the bottom and right so both sides are multiples of ``multiple``; returns the original size."""
    h, w = x.shape[2:]
    pad_h, pad_w = (-h) % multiple, (-w) % multiple
    if pad_h or pad_w:
        # Reflection needs the pad to be smaller than the side; replicate covers tiny images.
        mode = "reflect" if pad_h < h and pad_w < w else "replicate"
        x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
    return x, (h, w)


def resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize, antialiased when shrinking."""
    if tuple(x.shape[2:]) == tuple(size):
        return x
    shrinking = size[0] < x.shape[2] or size[1] < x.shape[3]
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=shrinking)


def fit_size(height: int, width: int, max_side: int) -> tuple[int, int]:
    """The size with the same aspect ratio whose long side is at most ``max_side``."""
    scale = min(1.0, max_side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def resize_trimap(trimap: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Shrink a trimap by area averaging; any pixel that mixes levels becomes unknown."""
    if tuple(trimap.shape[2:]) == tuple(size):
        return trimap
    mixed = F.interpolate(trimap, size=size, mode="area") if size[0] <= trimap.shape[2] else \
        F.interpolate(trimap, size=size, mode="bilinear", align_corners=False)
    return torch.where(mixed <= 1e-3, 0.0, torch.where(mixed >= 1 - 1e-3, 1.0, 0.5))


def fit_background(background: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Scale a background to cover ``size`` (height, width), keeping its aspect ratio, and centre-crop it."""
    bh, bw = background.shape[2:]
    scale = max(size[0] / bh, size[1] / bw)
    scaled = resize(background, (max(size[0], math.ceil(bh * scale)), max(size[1], math.ceil(bw * scale))))
    top = (scaled.shape[2] - size[0]) // 2
    left = (scaled.shape[3] - size[1]) // 2
    return scaled[:, :, top:top + size[0], left:left + size[1]]


def composite(foreground: torch.Tensor, background: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """alpha * foreground + (1 - alpha) * background, in one pass."""
    return torch.lerp(background, foreground, alpha)


def box_filter(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over the (2r+1)^2 window clipped at the borders, in O(1) per pixel: OpenCV's multi-threaded box
    filter for float32 tensors on the CPU, summed-area tables (in float64) elsewhere and wherever a gradient
    must flow through."""
    if radius <= 0:
        return x
    needs_grad = x.requires_grad and torch.is_grad_enabled()
    if x.device.type == "cpu" and x.dtype == torch.float32 and not needs_grad:
        return _box_filter_opencv(x, radius)
    return _box_filter_cumsum(x, radius)


def _box_filter_opencv(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Window sums plane by plane (zeros beyond the border), divided by each window's pixel count."""
    h, w = x.shape[2:]
    size = 2 * radius + 1
    counts_h = cv2.boxFilter(np.ones((h, 1), np.float32), -1, (1, size), normalize=False,
                             borderType=cv2.BORDER_CONSTANT)
    counts_w = cv2.boxFilter(np.ones((1, w), np.float32), -1, (size, 1), normalize=False,
                             borderType=cv2.BORDER_CONSTANT)
    inverse_counts = torch.from_numpy(1.0 / (counts_h * counts_w))
    planes = x.contiguous().view(-1, h, w)
    out = torch.empty_like(planes)
    for source, target in zip(planes.numpy(), out.numpy(), strict=True):
        cv2.boxFilter(source, -1, (size, size), dst=target, normalize=False, borderType=cv2.BORDER_CONSTANT)
    return out.mul_(inverse_counts).view(x.shape)


def _box_filter_cumsum(x: torch.Tensor, radius: int) -> torch.Tensor:
    """The same mean from summed-area tables in float64, for any device."""
    h, w = x.shape[2:]
    x64 = x.double()

    def window_sum(t: torch.Tensor, dim: int, n: int) -> torch.Tensor:
        c = torch.cumsum(t, dim=dim)
        c = torch.cat([torch.zeros_like(c.narrow(dim, 0, 1)), c], dim=dim)
        idx = torch.arange(n, device=t.device)
        hi = (idx + radius + 1).clamp(max=n)
        lo = (idx - radius).clamp(min=0)
        return c.index_select(dim, hi) - c.index_select(dim, lo)

    sums = window_sum(window_sum(x64, 2, h), 3, w)
    ones = torch.ones(1, 1, h, w, dtype=torch.float64, device=x.device)
    counts = window_sum(window_sum(ones, 2, h), 3, w)
    return (sums / counts).to(x.dtype)


def estimate_foreground_blur_fusion(image: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Foreground colours by blur fusion (Forte & Pitié, "Approximate Fast Foreground Colour Estimation",
    ICIP 2021, https://arxiv.org/abs/2006.14970): two passes with box radii 90 and 6.

    A plain ``alpha * image`` keeps the old background's colour in hair and soft edges; this removes it.
    """
    # Each pass: F = box(fg a) / box(a), B = box(bg (1 - a)) / box(1 - a), then
    # F + a (I - a F - (1 - a) B) = (1 - a^2) F + a I - a (1 - a) B, with two weights shared by the channels.
    keep_fg = 1 - alpha * alpha
    keep_bg = alpha * (alpha - 1)
    alpha_image = alpha * image

    def one_pass(weighted: list[torch.Tensor], radius: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``weighted`` holds fg a and bg (1 - a); it is emptied as they are used, so their memory goes early."""
        blurred_alpha = box_filter(alpha, radius)
        fg = box_filter(weighted.pop(0), radius).div_(blurred_alpha + 1e-5)
        bg = box_filter(weighted.pop(0), radius).div_(blurred_alpha.neg_().add_(1 + 1e-5))
        return fg.mul_(keep_fg).add_(alpha_image).addcmul_(keep_bg, bg).clamp_(0, 1), bg

    fg, bg = one_pass([alpha_image, image - alpha_image], 90)
    weighted = [fg.mul_(alpha), bg.mul_(1 - alpha)]
    del fg, bg
    return one_pass(weighted, 6)[0]


def estimate_foreground_ml(image: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Foreground colours by pymatting's multi-level method (Germer et al., 2020); slower, often cleaner."""
    require("classic", 'foreground_method="ml"')
    from pymatting import estimate_foreground_ml as pymatting_ml  # first import compiles for ~45 s

    img = image[0].permute(1, 2, 0).double().cpu().numpy()
    a = alpha[0, 0].double().cpu().numpy()
    fg = pymatting_ml(img, a)
    return torch.from_numpy(fg).permute(2, 0, 1).unsqueeze(0).to(image)


FOREGROUND_METHODS = {"blur_fusion": estimate_foreground_blur_fusion, "ml": estimate_foreground_ml}


def estimate_foreground(image: torch.Tensor, alpha: torch.Tensor, method: str = "blur_fusion") -> torch.Tensor:
    """Foreground colours F such that image ≈ alpha F + (1 - alpha) B; ``method`` is a key of FOREGROUND_METHODS."""
    if method not in FOREGROUND_METHODS:
        raise ValueError(f"unknown foreground method {method!r}; choose from {sorted(FOREGROUND_METHODS)}")
    return FOREGROUND_METHODS[method](image, alpha)


def fit_local_affine(guide: torch.Tensor, target: torch.Tensor, radius: int,
                     eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Fit target ≈ A · guide + b in every (2r+1)^2 window (the colour guided filter, He et al., TPAMI 2013).

    Returns the window-averaged coefficients: A of shape (N, K, 3, H, W) and b of shape (N, K, H, W)
    for a (N, 3, H, W) guide and a (N, K, H, W) target.
    """
    n, k, h, w = target.shape
    mean_i = box_filter(guide, radius)
    mean_p = box_filter(target, radius)
    cov_ip = box_filter((target.unsqueeze(2) * guide.unsqueeze(1)).flatten(1, 2), radius).view(n, k, 3, h, w) \
        - mean_p.unsqueeze(2) * mean_i.unsqueeze(1)
    # The guide's covariance is symmetric: its six distinct entries, each + eps on the diagonal.
    pairs = ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))
    products = torch.stack([guide[:, i] * guide[:, j] for i, j in pairs], dim=1)
    means = torch.stack([mean_i[:, i] * mean_i[:, j] for i, j in pairs], dim=1)
    var = (box_filter(products, radius) - means).double()
    var[:, :3] += eps
    inverse = _symmetric_inverse(*var.unbind(dim=1))  # 3 x 3 nested, each (N, H, W)
    cov = cov_ip.double()
    coeff = torch.stack([sum(cov[:, :, j] * inverse[i][j].unsqueeze(1) for j in range(3)) for i in range(3)],
                        dim=2).to(target.dtype)  # N, K, 3, h, w
    offset = mean_p - (coeff * mean_i.unsqueeze(1)).sum(dim=2)
    return box_filter(coeff.flatten(1, 2), radius).view(n, k, 3, h, w), box_filter(offset, radius)


def _symmetric_inverse(a: torch.Tensor, d: torch.Tensor, f: torch.Tensor, b: torch.Tensor, c: torch.Tensor,
                       e: torch.Tensor) -> list[list[torch.Tensor]]:
    """The inverse of [[a, b, c], [b, d, e], [c, e, f]] per pixel, by its adjugate."""
    m00, m01, m02 = d * f - e * e, c * e - b * f, b * e - c * d
    m11, m12, m22 = a * f - c * c, b * c - a * e, a * d - b * b
    det = a * m00 + b * m01 + c * m02
    return [[m / det for m in row] for row in ((m00, m01, m02), (m01, m11, m12), (m02, m12, m22))]


def apply_local_affine(coeff: torch.Tensor, offset: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
    """Upsample local affine coefficients bilinearly to ``guide``'s size and apply them to it.

    This is the fast guided filter's upsampling (He & Sun, 2015): edges come from the full-resolution
    guide, so nothing is blurred by the upsampling itself. Each output channel is accumulated in place,
    one coefficient plane at a time, so memory grows with the output alone.
    """
    size = tuple(guide.shape[2:])
    out = torch.addcmul(resize(offset, size), resize(coeff[:, :, 0], size), guide[:, :1])
    for c in (1, 2):
        out.addcmul_(resize(coeff[:, :, c], size), guide[:, c:c + 1])
    return out


def guided_upsample(guide_low: torch.Tensor, target_low: torch.Tensor, guide_full: torch.Tensor,
                    radius: int, eps: float) -> torch.Tensor:
    """Carry ``target_low`` to full resolution as a local affine function of the full-resolution guide."""
    return apply_local_affine(*fit_local_affine(guide_low, target_low, radius, eps), guide_full)
