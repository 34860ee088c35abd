"""Inference copies of trained networks: batch norm folded into the convolution before it, ReLU6 run inside
the convolution, channels-last, in the precision asked for.

Folding (Ioffe & Szegedy's normalisation as an affine map, merged into the preceding linear layer) is exact
in eval mode; on the CPU it removes a full pass over every feature map per layer, as running the ReLU6 as
oneDNN's post-op of its convolution removes another; channels-last is the layout oneDNN's convolutions run
fastest in.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

# oneDNN's convolution with a fused element-wise post-op (what torch.compile's CPU backend calls).
_CONV_POINTWISE = getattr(getattr(torch.ops, "mkldnn", None), "_convolution_pointwise", None)


def fold_batch_norm(module: nn.Module) -> nn.Module:
    """Fold, in place, every BatchNorm2d that directly follows a Conv2d inside an nn.Sequential into that
    convolution (the norm becomes nn.Identity); the module must be in eval mode."""
    for child in module.children():
        fold_batch_norm(child)
    if isinstance(module, nn.Sequential):
        names = list(module._modules)
        for first, second in zip(names, names[1:], strict=False):
            conv, norm = module._modules[first], module._modules[second]
            if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d):
                module._modules[first] = fuse_conv_bn_eval(conv, norm)
                module._modules[second] = nn.Identity()
    return module


class ConvReLU6(nn.Module):
    """A convolution followed by ReLU6, as one oneDNN call on the CPU (plain PyTorch elsewhere)."""

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        self.conv = conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv = self.conv
        if x.device.type == "cpu" and _CONV_POINTWISE is not None and conv.padding_mode == "zeros":
            return _CONV_POINTWISE(x, conv.weight, conv.bias, conv.padding, conv.stride, conv.dilation, conv.groups,
                                   "hardtanh", [0.0, 6.0], "")
        return F.relu6(conv(x))


def fuse_relu6(module: nn.Module) -> nn.Module:
    """Replace, in place, each Conv2d followed by ReLU6 in an nn.Sequential (identities between them allowed,
    as :func:`fold_batch_norm` leaves them) with one :class:`ConvReLU6`."""
    for child in module.children():
        fuse_relu6(child)
    if isinstance(module, nn.Sequential):
        names = list(module._modules)
        for i, name in enumerate(names):
            if not isinstance(module._modules[name], nn.Conv2d):
                continue
            j = i + 1
            while j < len(names) and isinstance(module._modules[names[j]], nn.Identity):
                j += 1
            if j < len(names) and isinstance(module._modules[names[j]], nn.ReLU6):
                module._modules[name] = ConvReLU6(module._modules[name])
                module._modules[names[j]] = nn.Identity()
    return module


class InferenceCopy:
    """A folded, fused, channels-last copy of a network for inference in a given dtype, rebuilt whenever the
    network's weights, device or mode change (an optimiser step or ``load_state_dict`` bumps a tensor's
    version), so training and validation never see stale weights. A network in training mode is used as it is.
    """

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._copy: nn.Module | None = None

    def __call__(self, network: nn.Module, dtype: torch.dtype = torch.float32) -> nn.Module:
        if network.training:
            return network
        tensors = [*network.parameters(), *network.buffers()]
        key = (id(network), dtype, *((t.data_ptr(), t._version, t.device) for t in tensors))
        if key != self._key:
            with torch.no_grad():
                fused = fuse_relu6(fold_batch_norm(copy.deepcopy(network)))
                self._copy = fused.to(dtype=dtype, memory_format=torch.channels_last)
            self._key = key
        return self._copy
