"""Inference copies of trained networks: batch norm folded into the convolution before it, ReLU6 run inside
the convolution, IndexNet's index blocks without pixel shuffles, channels-last, in the precision asked for.

Folding (Ioffe & Szegedy's normalisation as an affine map, merged into the preceding linear layer) is exact
in eval mode; on the CPU it removes a full pass over every feature map per layer, as running the ReLU6 as
oneDNN's post-op of its convolution removes another; channels-last is the layout oneDNN's convolutions run
fastest in.
"""

from __future__ import annotations

import copy
import functools

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from hamagan.models.indexnet import DepthwiseIndexBlock

# oneDNN's convolution with a fused element-wise post-op (what torch.compile's CPU backend calls).
_CONV_POINTWISE = getattr(getattr(torch.ops, "mkldnn", None), "_convolution_pointwise", None)


@functools.cache
def _onednn_takes(dtype: torch.dtype) -> bool:
    """Whether oneDNN runs convolutions of ``dtype`` on this CPU (bf16 needs AVX512 or AVX-NE-CONVERT)."""
    if _CONV_POINTWISE is None:
        return False
    return dtype == torch.float32 or (dtype == torch.bfloat16 and torch.ops.mkldnn._is_mkldnn_bf16_supported())


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
    """A convolution followed by ReLU6, as one oneDNN call on the CPU where oneDNN takes the dtype (plain
    PyTorch elsewhere)."""

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        self.conv = conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv = self.conv
        if x.device.type == "cpu" and conv.padding_mode == "zeros" and _onednn_takes(x.dtype):
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


class InterleavedIndexBlock(nn.Module):
    """A :class:`DepthwiseIndexBlock` for inference: the same outputs, computed in the channels-last memory's own
    order without a stack, a softmax kernel or pixel shuffles, and with the four many-to-one branches merged into
    one convolution and one grouped 1x1 convolution. Takes a folded, fused block (see :func:`fuse_relu6`)."""

    def __init__(self, block: DepthwiseIndexBlock) -> None:
        super().__init__()
        self.merged = _merged_branches(block.branches)
        self.branches = block.branches if self.merged is None else nn.ModuleList()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.merged is not None:
            logits = self.merged(x)  # N, 4C, H/2, W/2: branch-major channels
        else:
            logits = torch.cat([b(x) for b in self.branches], dim=1)
        n, channels, h, w = logits.shape
        # Channels-last memory holds (N, h, w, 4, C): a view, so every element-wise pass below runs contiguous.
        decoder_index = torch.sigmoid(logits.permute(0, 2, 3, 1).reshape(n, h, w, 4, channels // 4))
        # Softmax over the four branches; sigmoid outputs lie in (0, 1), so exp needs no shift by the maximum.
        weights = decoder_index.exp()
        encoder_index = weights.div_(weights.sum(dim=3, keepdim=True))
        return _interleave(encoder_index), _interleave(decoder_index)


def _merged_branches(branches: nn.ModuleList) -> nn.Sequential | None:
    """The four branches [ConvReLU6, identities, Conv2d 1x1] as one ConvReLU6 over their stacked kernels and one
    grouped 1x1 convolution, giving their outputs concatenated; None where the branches are not of that form or
    not many-to-one."""
    layers = [[m for m in branch if not isinstance(m, nn.Identity)] for branch in branches]
    if not all(len(pair) == 2 and isinstance(pair[0], ConvReLU6) and isinstance(pair[1], nn.Conv2d) for pair in layers):
        return None
    firsts, seconds = [pair[0].conv for pair in layers], [pair[1] for pair in layers]
    if any(c.groups != 1 or c.bias is None for c in firsts) or any(
            c.groups != 1 or c.bias is not None for c in seconds):
        return None
    one = firsts[0]
    first = nn.Conv2d(one.in_channels, 4 * one.out_channels, one.kernel_size, one.stride, one.padding)
    second = nn.Conv2d(4 * one.out_channels, 4 * seconds[0].out_channels, 1, groups=4, bias=False)
    with torch.no_grad():
        first.weight.copy_(torch.cat([c.weight for c in firsts]))
        first.bias.copy_(torch.cat([c.bias for c in firsts]))
        second.weight.copy_(torch.cat([c.weight for c in seconds]))
    return nn.Sequential(ConvReLU6(first), second).to(one.weight)


def _interleave(index: torch.Tensor) -> torch.Tensor:
    """(N, h, w, 4, C) -> channels-last (N, C, 2h, 2w): branch 2 di + dj fills the pixels (2i + di, 2j + dj), as
    the pixel shuffle of the training form does; in one copy."""
    n, h, w, _, c = index.shape
    out = index.new_empty(n, 2 * h, 2 * w, c)
    out.view(n, h, 2, w, 2, c).copy_(index.view(n, h, w, 2, 2, c).permute(0, 1, 3, 2, 4, 5))
    return out.permute(0, 3, 1, 2)


def interleave_index_blocks(module: nn.Module) -> nn.Module:
    """Replace, in place, every :class:`DepthwiseIndexBlock` with its :class:`InterleavedIndexBlock`; the module
    must be folded and fused."""
    for name, child in module.named_children():
        if isinstance(child, DepthwiseIndexBlock):
            module._modules[name] = InterleavedIndexBlock(child)
        else:
            interleave_index_blocks(child)
    return module


class InferenceCopy:
    """A folded, fused, interleaved, channels-last copy of a network for inference in a given dtype, rebuilt
    whenever the network's weights, device or mode change (an optimiser step or ``load_state_dict`` bumps a
    tensor's version), so training and validation never see stale weights. A network in training mode is used
    as it is."""

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
                fused = interleave_index_blocks(fuse_relu6(fold_batch_norm(copy.deepcopy(network))))
                self._copy = fused.to(dtype=dtype, memory_format=torch.channels_last)
            self._key = key
        return self._copy
