"""Attention U-Net harmonization generator G_h.

Cong et al., "DoveNet: Deep Image Harmonization via Domain Verification", CVPR 2020
(https://arxiv.org/abs/1911.13239), generator ``s2ad``: the pix2pix U-Net (Isola et al., 2017) on the
composite and its mask, with batch norm, where at the three skip levels below the outermost the
concatenated skip + decoder features are multiplied by sigmoid(1x1 convolution of themselves). The
defaults are the paper's configuration (8 downsamplings, 64 base channels, 4 inputs): 54,759,939 parameters.

Two output forms not in the paper, both starting as the identity (their last layer is zero at start):
- ``residual=True``: a change added to the composite. Trained from scratch on a dozen portraits for minutes,
  the direct output stays worse than the untouched composite (validation PSNR 9.9 dB against 17.5 dB after
  500 steps), while the residual form starts at the composite.
- ``transform_grid=n``: the coefficients of a quadratic colour transform (each output channel a linear
  function of r, g, b, their squares and products, and 1) from the outermost decoder features averaged over
  an n x n grid of cells (1: one transform for the whole image), interpolated and applied to the composite.
  The HMH changes (Reinhard transfer, a brightness offset, MSRCR) are global colour maps: the best single
  quadratic map per test composite removes 92% of the adjusted region's fMSE, and such an output cannot
  paint remembered backgrounds.
  With ``masked_pooling=True`` (one transform per image) the features are averaged over the portrait and over
  the background separately (weighted by alpha and 1 - alpha) and both means feed the coefficients: the map
  of one layer can then be read from how the two layers' features compare, which a whole-image mean blurs.
  With ``layer_statistics=True`` a small MLP also reads each layer's colour statistics
  (:func:`layer_statistics`, what Reinhard's transfer matches) and adds to the head's pre-activation; its last
  layer starts at zero, so a checkpoint without it starts unchanged. Trained without them, the engine-trained
  harmonizers lower an over-colourful layer's colourfulness to the real photo's (1.01 of it) but leave a dull
  layer dull (0.59; Reinhard: 0.85), as if saturation were hard to read from the pooled features.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional

QUADRATIC_TERMS = 10  # r, g, b, r², g², b², rg, gb, rb, 1
CHUNK_PIXELS = 1 << 20
LAYER_STATISTICS = 12  # per layer: mean and standard deviation of luminance, red-green and yellow-blue
STATISTICS_HIDDEN = 64


def opponent_moments(image: torch.Tensor, weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Weighted mean and variance, (N, 3) each, over (N, 1, H, W) ``weight`` of an (N, 3, H, W) image's
    luminance (the channels' mean) and Hasler and Süsstrunk's opponent axes r - g and (r + g) / 2 - b."""
    r, g, b = image.float().unbind(dim=1)
    opponent = torch.stack([(r + g + b) / 3, r - g, (r + g) / 2 - b], dim=1)
    weight = weight.float()
    total = weight.sum(dim=(2, 3)).clamp_min(1e-6)
    mean = (opponent * weight).sum(dim=(2, 3)) / total
    variance = ((opponent - mean[..., None, None]).square() * weight).sum(dim=(2, 3)) / total
    return mean, variance


def layer_statistics(composite: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) composite in [0, 1] and (N, 1, H, W) alpha -> (N, 12, 1, 1): for the portrait (weighted by
    alpha), then the background (1 - alpha), the mean and standard deviation of :func:`opponent_moments`'
    three axes: exposure, contrast, tint and colourfulness of each layer."""
    out = []
    for weight in (alpha, 1 - alpha.float()):
        mean, variance = opponent_moments(composite, weight)
        out += [mean, (variance.clamp_min(0) + 1e-6).sqrt()]
    return torch.cat(out, dim=1)[..., None, None]


def quadratic_features(rgb: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) -> (N, 10, H, W): the terms of a quadratic colour transform."""
    r, g, b = rgb.unbind(dim=1)
    return torch.stack([r, g, b, r * r, g * g, b * b, r * g, g * b, r * b, torch.ones_like(r)], dim=1)


def apply_color_transform(coefficients: torch.Tensor, rgb: torch.Tensor) -> torch.Tensor:
    """Quadratic colour transform: coefficients (N, 3 * 10, h, w) on a grid, interpolated to ``rgb``'s
    (N, 3, H, W) pixels (one transform per image when h = w = 1), applied to them."""
    n, _, h, w = coefficients.shape
    if h == w == 1:
        matrix = coefficients.view(n, 3, QUADRATIC_TERMS)
        # Row stripes of about a megapixel: the ten feature planes never exist at full size.
        rows = max(1, CHUNK_PIXELS // rgb.shape[3])
        if rgb.shape[2] <= rows:
            return torch.einsum("nck,nkhw->nchw", matrix, quadratic_features(rgb))
        out = rgb.new_empty(rgb.shape)
        for top in range(0, rgb.shape[2], rows):
            stripe = rgb[:, :, top:top + rows]
            out[:, :, top:top + rows] = torch.einsum("nck,nkhw->nchw", matrix, quadratic_features(stripe))
        return out
    features = quadratic_features(rgb)
    per_pixel = functional.interpolate(coefficients, size=rgb.shape[2:], mode="bilinear", align_corners=False)
    return (per_pixel.view(n, 3, QUADRATIC_TERMS, *rgb.shape[2:]) * features.unsqueeze(1)).sum(dim=2)


class UNetLevel(nn.Module):
    """One U-Net level: down, the levels below, up, then the skip concatenation (with optional attention)."""

    def __init__(self, outer_channels: int, inner_channels: int, inner: nn.Module | None = None,
                 in_channels: int | None = None, outermost: bool = False, dropout: float = 0.0,
                 attention: bool = False) -> None:
        super().__init__()
        in_channels = in_channels or outer_channels
        self.outermost = outermost
        down: list[nn.Module] = [] if outermost else [nn.LeakyReLU(0.2, inplace=True)]
        down.append(nn.Conv2d(in_channels, inner_channels, 4, 2, 1, bias=False))
        if inner is not None and not outermost:
            down.append(nn.BatchNorm2d(inner_channels))
        up_in = inner_channels if inner is None else inner_channels * 2
        up: list[nn.Module] = [nn.ReLU(inplace=True)]
        if outermost:
            up += [nn.ConvTranspose2d(up_in, outer_channels, 4, 2, 1), nn.Tanh()]
        else:
            up += [nn.ConvTranspose2d(up_in, outer_channels, 4, 2, 1, bias=False), nn.BatchNorm2d(outer_channels)]
            if dropout > 0:
                up.append(nn.Dropout(dropout))
        self.down = nn.Sequential(*down)
        self.inner = inner if inner is not None else nn.Identity()
        self.up = nn.Sequential(*up)
        joined = in_channels + outer_channels
        self.attention = (nn.Sequential(nn.Conv2d(joined, joined, 1), nn.Sigmoid())
                          if attention and not outermost else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.up(self.inner(self.down(x)))
        if self.outermost:
            return y
        joined = torch.cat([x, y], dim=1)
        return joined * self.attention(joined) if self.attention is not None else joined


class AttentionUNetHarmonizer(nn.Module):
    """DoveNet's attention U-Net: (composite, alpha) in [0, 1] -> harmonized image in [0, 1].

    Inputs must be a multiple of ``2 ** num_downs`` pixels on each side (256 for the paper's 8 levels).
    """

    def __init__(self, in_channels: int = 4, out_channels: int = 3, base_channels: int = 64, num_downs: int = 8,
                 attention_levels: int = 3, dropout: float = 0.5, residual: bool = False,
                 transform_grid: int = 0, masked_pooling: bool = False, layer_statistics: bool = False) -> None:
        super().__init__()
        if num_downs < 5:
            raise ValueError(f"num_downs must be at least 5, got {num_downs}")
        if residual and transform_grid:
            raise ValueError("choose one output form: residual or transform_grid")
        if masked_pooling and transform_grid != 1:
            raise ValueError("masked_pooling needs one transform per image (transform_grid=1)")
        if layer_statistics and not masked_pooling:
            raise ValueError("layer_statistics feeds the masked_pooling head: set masked_pooling=True")
        if transform_grid:
            out_channels = 3 * QUADRATIC_TERMS
        self.stride = 2 ** num_downs
        c = base_channels
        level = UNetLevel(c * 8, c * 8)  # innermost
        for _ in range(num_downs - 5):
            level = UNetLevel(c * 8, c * 8, level, dropout=dropout)
        for depth, (outer, inner) in enumerate(((c * 4, c * 8), (c * 2, c * 4), (c, c * 2))):
            level = UNetLevel(outer, inner, level, attention=depth >= 3 - attention_levels)
        self.net = UNetLevel(out_channels, c, level, in_channels=in_channels, outermost=True)
        self.residual, self.transform_grid = residual, transform_grid
        self.head: nn.Sequential | None = None
        self.statistics_head: nn.Sequential | None = None
        if masked_pooling:  # the outermost decoder features, pooled per layer by color_transform, to coefficients
            self.net.up = nn.ReLU(inplace=True)
            self.head = nn.Sequential(nn.Conv2d(c * 4, out_channels, 1), nn.Tanh())
        elif transform_grid:  # the outermost decoder features, averaged per cell, to coefficients
            self.net.up = nn.Sequential(nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(transform_grid),
                                        nn.Conv2d(c * 2, out_channels, 1), nn.Tanh())
        if layer_statistics:  # pooled features and the layers' statistics, added before the head's tanh
            self.statistics_head = nn.Sequential(nn.Conv2d(c * 4 + LAYER_STATISTICS, STATISTICS_HIDDEN, 1),
                                                 nn.ReLU(inplace=True), nn.Conv2d(STATISTICS_HIDDEN, out_channels, 1))
            nn.init.zeros_(self.statistics_head[-1].weight)
            nn.init.zeros_(self.statistics_head[-1].bias)
        if residual or transform_grid:  # start as the identity: the last layer's change is zero until trained
            last = self.head[0] if self.head is not None else self.net.up[-2]
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
        identity = torch.zeros(3, QUADRATIC_TERMS)
        identity[:, :3] = torch.eye(3)
        self.register_buffer("identity", identity.view(1, -1, 1, 1), persistent=False)

    def _unet(self, composite: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([composite * 2 - 1, alpha], dim=1))

    def color_transform(self, composite: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        """The quadratic colour map's coefficients (N, 30, n, n) for ``transform_grid=n`` models."""
        return self.color_transform_and_features(composite, alpha)[0]

    def color_transform_and_features(self, composite: torch.Tensor, alpha: torch.Tensor
                                     ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """:meth:`color_transform` and, for ``masked_pooling`` models, the features its head reads: the outermost
        decoder's channels averaged over the portrait, then over the background (N, 4 * base_channels, 1, 1);
        otherwise None."""
        if not self.transform_grid:
            raise ValueError("this harmonizer outputs an image, not a colour transform (transform_grid=0)")
        out = self._unet(composite, alpha).float()
        features = None
        if self.head is not None:  # features averaged over the portrait and over the background, then mapped
            weight = functional.interpolate(alpha.float(), size=out.shape[2:], mode="area")
            pooled = [(out * w).sum(dim=(2, 3), keepdim=True) / w.sum(dim=(2, 3), keepdim=True).clamp_min(1e-6)
                      for w in (weight, 1 - weight)]
            features = torch.cat(pooled, dim=1)
            before_tanh = self.head[0](features)
            if self.statistics_head is not None:
                statistics = layer_statistics(composite, alpha).to(features.dtype)
                before_tanh = before_tanh + self.statistics_head(torch.cat([features, statistics], dim=1))
            out = self.head[1](before_tanh).float()
        return out + self.identity, features

    def forward(self, composite: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        if self.transform_grid:  # in float32 even under autocast: bf16 would round the colours
            coefficients = self.color_transform(composite, alpha)
            with torch.autocast(composite.device.type, enabled=False):
                return apply_color_transform(coefficients, composite.float())
        out = self._unet(composite, alpha)
        return composite + out / 2 if self.residual else (out + 1) / 2
