"""Self-attention critic D.

Zhang et al., "Self-Attention Generative Adversarial Networks", ICML 2019
(https://arxiv.org/abs/1805.08318): strided 4x4 convolutions with spectral normalisation (Miyato et al.,
2018) on every layer, the last one included, LeakyReLU(0.1), and self-attention on the two deepest
feature maps. No batch norm: with per-process batches in data-parallel training its statistics would
differ per rank and per kind of fake. Widths 64-128-256-512 give about 3.2 M parameters.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from hamagan.models.layers import SelfAttention


class SelfAttentionCritic(nn.Module):
    """Scores RGB images in [0, 1]: one realism score per image (the mean of a patch score map)."""

    def __init__(self, in_channels: int = 3, widths: tuple[int, ...] = (64, 128, 256, 512),
                 attention_levels: int = 2) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        previous = in_channels
        for i, width in enumerate(widths):
            layers += [spectral_norm(nn.Conv2d(previous, width, 4, 2, 1)), nn.LeakyReLU(0.1, inplace=True)]
            if i >= len(widths) - attention_levels:
                layers.append(SelfAttention(width))
            previous = width
        self.features = nn.Sequential(*layers)
        self.score = spectral_norm(nn.Conv2d(previous, 1, 4))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.score(self.features(image * 2 - 1)).mean(dim=(1, 2, 3))
