"""Layers shared by the three networks.

MobileNetV2 blocks follow Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks"
(https://arxiv.org/abs/1801.04381); the self-attention block follows Zhang et al., "Self-Attention
Generative Adversarial Networks" (https://arxiv.org/abs/1805.08318).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


class ConvBNReLU6(nn.Sequential):
    """Bias-free convolution, batch norm and ReLU6, padded to keep the size."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, groups: int = 1) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, groups=groups, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    """MobileNetV2 inverted residual block at stride 1 (downsampling is left to index pooling)."""

    def __init__(self, in_channels: int, out_channels: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = round(in_channels * expand_ratio)
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvBNReLU6(in_channels, hidden, kernel_size=1))
        layers += [
            ConvBNReLU6(hidden, hidden, kernel_size=3, groups=hidden),
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*layers)
        self.use_residual = in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return x + out if self.use_residual else out


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling with depthwise-separable atrous branches (DeepLabv3, as IndexNet uses)."""

    def __init__(self, in_channels: int, out_channels: int, branch_channels: int = 256,
                 dilations: tuple[int, ...] = (2, 4, 8), dropout: float = 0.5) -> None:
        super().__init__()
        self.branches = nn.ModuleList([ConvBNReLU6(in_channels, branch_channels, kernel_size=1)])
        for d in dilations:
            self.branches.append(nn.Sequential(
                nn.Conv2d(in_channels, in_channels, 3, padding=d, dilation=d, groups=in_channels, bias=False),
                nn.BatchNorm2d(in_channels),
                nn.ReLU6(inplace=True),
                ConvBNReLU6(in_channels, branch_channels, kernel_size=1),
            ))
        self.image_pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), ConvBNReLU6(in_channels, branch_channels, 1))
        self.project = ConvBNReLU6(branch_channels * (len(dilations) + 2), out_channels, kernel_size=1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.image_pool(x).expand(-1, -1, x.shape[2], x.shape[3])
        features = [branch(x) for branch in self.branches] + [pooled]
        return self.dropout(self.project(torch.cat(features, dim=1)))


class SelfAttention(nn.Module):
    """SAGAN self-attention: out = gamma * softmax(QᵀK) V + x, gamma learned from zero."""

    def __init__(self, channels: int, reduction: int = 8, use_spectral_norm: bool = True) -> None:
        super().__init__()
        wrap = spectral_norm if use_spectral_norm else (lambda m: m)
        self.query = wrap(nn.Conv2d(channels, channels // reduction, 1))
        self.key = wrap(nn.Conv2d(channels, channels // reduction, 1))
        self.value = wrap(nn.Conv2d(channels, channels, 1))
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)  # N, HW, C/r
        k = self.key(x).flatten(2)  # N, C/r, HW
        attention = F.softmax(torch.bmm(q, k), dim=-1)  # N, HW, HW
        v = self.value(x).flatten(2)  # N, C, HW
        out = torch.bmm(v, attention.transpose(1, 2)).view(n, c, h, w)
        return self.gamma * out + x
