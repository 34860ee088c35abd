"""Compositing and resolution handling."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from hamagan.compose import (
    box_filter,
    composite,
    estimate_foreground,
    fit_background,
    guided_upsample,
    pad_to_multiple,
    resize,
    resize_trimap,
)


def test_pad_to_multiple_keeps_the_original_top_left() -> None:
    x = torch.rand(1, 3, 33, 51)
    padded, size = pad_to_multiple(x, 32)
    assert padded.shape == (1, 3, 64, 64) and size == (33, 51)
    assert torch.equal(padded[:, :, :33, :51], x)
    tiny, _ = pad_to_multiple(torch.rand(1, 1, 1, 1), 32)  # smaller than the pad: replicate
    assert tiny.shape == (1, 1, 32, 32)


def test_fit_background_covers_and_centre_crops() -> None:
    background = torch.zeros(1, 3, 100, 400)
    background[:, :, :, 150:250] = 1  # a white centre stripe
    fitted = fit_background(background, (200, 100))
    assert fitted.shape == (1, 3, 200, 100)
    assert fitted[:, :, :, 40:60].mean() > 0.99  # the centre survives the crop, unstretched


def test_box_filter_matches_a_direct_window_mean() -> None:
    x = torch.rand(1, 2, 17, 23)
    ones = torch.ones(1, 1, 17, 23)
    direct = F.avg_pool2d(F.pad(x, (3, 3, 3, 3)), 7, 1) / F.avg_pool2d(F.pad(ones, (3, 3, 3, 3)), 7, 1)
    torch.testing.assert_close(box_filter(x, 3), direct, atol=1e-6, rtol=1e-5)


def test_resize_trimap_marks_mixed_pixels_unknown() -> None:
    trimap = torch.zeros(1, 1, 8, 8)
    trimap[..., 4:] = 1
    trimap[..., 3:5] = 0.5
    small = resize_trimap(trimap, (4, 4))
    assert set(small.unique().tolist()) <= {0.0, 0.5, 1.0}
    assert torch.all(small[..., 1:3] == 0.5) and torch.all(small[..., 0] == 0) and torch.all(small[..., 3] == 1)


def test_guided_upsample_recovers_a_local_affine_colour_map_exactly() -> None:
    torch.manual_seed(0)
    full = torch.rand(1, 3, 64, 96)
    low = resize(full, (16, 24))
    matrix = torch.tensor([[0.8, 0.1, 0.0], [0.0, 0.9, 0.2], [0.1, 0.0, 0.7]])
    target = torch.einsum("kc,nchw->nkhw", matrix, low) + 0.05
    expected = torch.einsum("kc,nchw->nkhw", matrix, full) + 0.05
    torch.testing.assert_close(guided_upsample(low, target, full, radius=2, eps=1e-8), expected, atol=2e-3, rtol=0)


def test_guided_alpha_upsampling_beats_bilinear_on_a_real_portrait(portrait) -> None:
    image, alpha = portrait
    img = torch.from_numpy(image).permute(2, 0, 1)[None]
    a = torch.from_numpy(alpha)[None, None]
    size = (img.shape[2] // 4, img.shape[3] // 4)
    low_img, low_alpha = resize(img, size), resize(a, size)
    bilinear = resize(low_alpha, tuple(img.shape[2:]))
    guided = guided_upsample(low_img, low_alpha, img, radius=1, eps=1e-4).clamp(0, 1)
    soft = (a > 0.02) & (a < 0.98)
    assert (guided - a).abs()[soft].mean() < (bilinear - a).abs()[soft].mean()


def test_blur_fusion_removes_the_old_background_from_soft_edges() -> None:
    torch.manual_seed(0)
    h, w = 64, 160
    fg = torch.tensor([0.9, 0.6, 0.3]).view(1, 3, 1, 1).expand(1, 3, h, w)
    bg = torch.tensor([0.0, 0.2, 1.0]).view(1, 3, 1, 1).expand(1, 3, h, w)
    # Solid portrait on the left, open background on the right, a 20-pixel soft edge between.
    ramp = torch.cat([torch.ones(70), torch.linspace(1, 0, 20), torch.zeros(70)])
    alpha = ramp.view(1, 1, 1, w).expand(1, 1, h, w).contiguous()
    image = composite(fg, bg, alpha)
    estimate = estimate_foreground(image, alpha, "blur_fusion")
    band = (alpha > 0.2) & (alpha < 0.9)
    naive_error = (image - fg).abs().mean(dim=1, keepdim=True)[band].mean()
    estimate_error = (estimate - fg).abs().mean(dim=1, keepdim=True)[band].mean()
    assert estimate_error < 0.25 * naive_error
    assert np.isfinite(estimate.numpy()).all()
