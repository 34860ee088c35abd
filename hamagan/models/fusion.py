"""Inference copies of trained networks: batch norm folded into the convolution before it, channels-last.

Folding (Ioffe & Szegedy's normalisation as an affine map, merged into the preceding linear layer) is exact
in eval mode; on the CPU it removes a full pass over every feature map per layer, and channels-last is the
layout oneDNN's convolutions run fastest in.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


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


class InferenceCopy:
    """A folded, channels-last copy of a network for inference, rebuilt whenever the network's weights,
    device or mode change (an optimiser step or ``load_state_dict`` bumps a tensor's version), so training
    and validation never see stale weights. A network in training mode is used as it is."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._copy: nn.Module | None = None

    def __call__(self, network: nn.Module) -> nn.Module:
        if network.training:
            return network
        tensors = [*network.parameters(), *network.buffers()]
        key = (id(network), *((t.data_ptr(), t._version, t.device) for t in tensors))
        if key != self._key:
            with torch.no_grad():
                self._copy = fold_batch_norm(copy.deepcopy(network)).to(memory_format=torch.channels_last)
            self._key = key
        return self._copy
