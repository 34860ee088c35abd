"""IndexNet matting generator G_m.

Lu et al., "Indices Matter: Learning to Index for Deep Image Matting", ICCV 2019
(https://arxiv.org/abs/1908.00672). A MobileNetV2 encoder on RGB + trimap whose five stride-2 stages are
replaced by learned index pooling; the decoder upsamples with the matching learned indices. The defaults
are the paper's best model (depthwise M2O index blocks, nonlinear + context, ASPP, 5x5 decoder).
Its published size, 8.15 M parameters, is reached when the nonlinear index branches have a hidden width of
twice their input (as the paper's holistic index block has); the public code's depthwise branches keep the
input width, which gives 5.95 M. ``index_expansion`` selects either; the default is the paper's 2.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hamagan.models.layers import ASPP, ConvBNReLU6, InvertedResidual

# MobileNetV2 stages: expand ratio, output channels, blocks, downsample after the stage.
_STAGES = ((1, 16, 1, False), (6, 24, 2, True), (6, 32, 3, True), (6, 64, 4, True),
           (6, 96, 3, False), (6, 160, 3, True), (6, 320, 1, False))

IMAGE_MEAN = (0.485, 0.456, 0.406)
IMAGE_STD = (0.229, 0.224, 0.225)


def matting_input(image: torch.Tensor, trimap: torch.Tensor) -> torch.Tensor:
    """IndexNet's input: ImageNet-normalised [0, 1] RGB and the trimap (0, 0.5, 1)."""
    mean = torch.tensor(IMAGE_MEAN, device=image.device, dtype=image.dtype).view(1, 3, 1, 1)
    std = torch.tensor(IMAGE_STD, device=image.device, dtype=image.dtype).view(1, 3, 1, 1)
    return torch.cat([(image - mean) / std, trimap], dim=1)


def unknown_mask(trimap: torch.Tensor) -> torch.Tensor:
    """Where a trimap in [0, 1] (0 / 0.5 / 1) is unknown: within 0.25 of 0.5; the rest rounds to 0 or 1."""
    return (trimap - 0.5).abs() < 0.25


def paste_known(alpha: torch.Tensor, trimap: torch.Tensor) -> torch.Tensor:
    """``alpha`` clipped to [0, 1] in the trimap's unknown region, the trimap's known values elsewhere."""
    return torch.where(unknown_mask(trimap), alpha.clamp(0, 1), trimap.round())


def snap_certain(alpha: torch.Tensor, within: float) -> torch.Tensor:
    """``alpha`` with the values within ``within`` of 0 or 1 set to 0 or 1 (``within`` 0: unchanged)."""
    if within <= 0:
        return alpha
    return torch.where(alpha >= 1 - within, 1.0, torch.where(alpha <= within, 0.0, alpha))


class DepthwiseIndexBlock(nn.Module):
    """Predicts encoder and decoder indices for 2x2 pooling, one index map per channel.

    ``many_to_one`` lets every input channel inform each channel's index (M2O, the paper's best);
    otherwise each channel sees only itself (O2O). ``context`` uses 4x4 instead of 2x2 windows and
    ``nonlinear`` adds BN + ReLU6 + 1x1 convolution after a hidden layer ``expansion`` times as wide.
    """

    def __init__(self, channels: int, many_to_one: bool = True, nonlinear: bool = True, context: bool = True,
                 expansion: int = 2) -> None:
        super().__init__()
        kernel, padding = (4, 1) if context else (2, 0)
        groups = 1 if many_to_one else channels
        hidden = channels * expansion if nonlinear else channels

        def branch() -> nn.Sequential:
            layers: list[nn.Module] = [nn.Conv2d(channels, hidden, kernel, 2, padding, groups=groups, bias=False)]
            if nonlinear:
                layers += [nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
                           nn.Conv2d(hidden, channels, 1, groups=groups, bias=False)]
            return nn.Sequential(*layers)

        self.branches = nn.ModuleList(branch() for _ in range(4))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = torch.stack([b(x) for b in self.branches], dim=2)  # N, C, 4, H/2, W/2
        decoder_index = torch.sigmoid(logits)
        encoder_index = F.softmax(decoder_index, dim=2)
        n, c, _, h, w = logits.shape
        return (F.pixel_shuffle(encoder_index.reshape(n, c * 4, h, w), 2),
                F.pixel_shuffle(decoder_index.reshape(n, c * 4, h, w), 2))


class IndexedUpsampling(nn.Module):
    """Upsample by the decoder index (nearest then weight), concatenate the skip, convolve."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 5) -> None:
        super().__init__()
        self.conv = ConvBNReLU6(in_channels, out_channels, kernel_size)

    def forward(self, x: torch.Tensor, skip: torch.Tensor, index: torch.Tensor | None = None) -> torch.Tensor:
        if index is not None:
            x = index * F.interpolate(x, size=skip.shape[2:], mode="nearest")
        return self.conv(torch.cat([x, skip], dim=1))


class IndexNetMatting(nn.Module):
    """IndexNet: (N, 4, H, W) normalised RGB + trimap in, raw alpha (N, 1, H, W) out; H, W multiples of 32.

    Use :meth:`predict` for [0, 1] images: it normalises, clips the output to [0, 1] and keeps the
    trimap's known regions.
    """

    stride = 32

    def __init__(self, width_mult: float = 1.0, decoder_kernel_size: int = 5, many_to_one: bool = True,
                 nonlinear_index: bool = True, context_index: bool = True, index_expansion: int = 2,
                 aspp: bool = True) -> None:
        super().__init__()

        def width(c: int) -> int:
            return max(4, int(c * width_mult))

        index_options = (many_to_one, nonlinear_index, context_index, index_expansion)
        stem = width(32)
        self.stem = ConvBNReLU6(4, stem, kernel_size=3)
        self.stem_index = DepthwiseIndexBlock(stem, *index_options)
        self.stages = nn.ModuleList()
        self.indices = nn.ModuleDict()
        channels = [stem]
        in_ch = stem
        for i, (expand, out, blocks, downsample) in enumerate(_STAGES):
            out = width(out)
            self.stages.append(nn.Sequential(*(
                InvertedResidual(in_ch if b == 0 else out, out, expand) for b in range(blocks))))
            if downsample:
                self.indices[str(i)] = DepthwiseIndexBlock(out, *index_options)
            channels.append(out)
            in_ch = out
        bottleneck = width(160)
        self.context = (ASPP(in_ch, bottleneck, branch_channels=width(256)) if aspp
                        else ConvBNReLU6(in_ch, bottleneck, kernel_size=1))
        # Decoder, deepest first: skips are the outputs of stages 5 .. 0 and the stem.
        skips = channels[-2::-1]  # 160, 96, 64, 32, 24, 16, stem
        outs = [width(c) for c in (96, 64, 32, 24, 16, 32, 32)]
        self.decoder = nn.ModuleList()
        x_ch = bottleneck
        for skip, out in zip(skips, outs, strict=True):
            self.decoder.append(IndexedUpsampling(x_ch + skip, out, decoder_kernel_size))
            x_ch = out
        self.head = nn.Sequential(ConvBNReLU6(x_ch, 1, decoder_kernel_size),
                                  nn.Conv2d(1, 1, decoder_kernel_size, padding=decoder_kernel_size // 2, bias=False))
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    @staticmethod
    def _pool(x: torch.Tensor, index_block: DepthwiseIndexBlock) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        encoder_index, decoder_index = index_block(x)
        x = encoder_index * x
        return x, F.avg_pool2d(x, 2, divisor_override=1), decoder_index  # sums of 2x2 windows

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip, x, index = self._pool(self.stem(x), self.stem_index)
        skips, decoder_indices = [skip], [index]
        for i, stage in enumerate(self.stages[:-1]):
            x = stage(x)
            if str(i) in self.indices:
                skip, x, index = self._pool(x, self.indices[str(i)])
            else:
                skip, index = x, None
            skips.append(skip)
            decoder_indices.append(index)
        x = self.context(self.stages[-1](x))
        for block, skip, index in zip(self.decoder, reversed(skips), reversed(decoder_indices), strict=True):
            x = block(x, skip, index)
        return self.head(x)

    def predict(self, image: torch.Tensor, trimap: torch.Tensor) -> torch.Tensor:
        """Alpha in [0, 1] for [0, 1] images and trimaps (0, 0.5, 1) whose size is a multiple of 32."""
        return paste_known(self(matting_input(image, trimap)), trimap)
