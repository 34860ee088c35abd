"""The three networks: the paper's sizes, shapes and the structural choices the issue names."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from hamagan.models import AttentionUNetHarmonizer, IndexNetMatting, SelfAttentionCritic
from hamagan.models.indexnet import DepthwiseIndexBlock


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_indexnet_paper_size() -> None:
    assert abs(count(IndexNetMatting()) - 8.15e6) / 8.15e6 < 0.02


def test_harmonizer_paper_size_and_plain_unet() -> None:
    assert count(AttentionUNetHarmonizer()) == 54_759_939
    # pix2pix's plain U-Net (3 inputs, no attention): 54.41 M.
    assert abs(count(AttentionUNetHarmonizer(in_channels=3, attention_levels=0)) - 54.41e6) < 0.01e6


def test_critic_sagan_size_and_no_batch_norm() -> None:
    critic = SelfAttentionCritic()
    assert 3.1e6 < count(critic) < 3.3e6
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in critic.modules())
    convs = [m for m in critic.modules() if isinstance(m, nn.Conv2d)]
    assert convs and all(hasattr(m, "parametrizations") for m in convs)  # spectral norm on every conv, last too


def test_indexnet_five_learned_pools_and_output_stride() -> None:
    model = IndexNetMatting(width_mult=0.25).eval()
    blocks = [m for m in model.modules() if isinstance(m, DepthwiseIndexBlock)]
    assert len(blocks) == 5
    x = torch.rand(1, 4, 96, 160)
    with torch.no_grad():
        assert model(x).shape == (1, 1, 96, 160)


def test_indexnet_predict_clips_and_keeps_known_regions() -> None:
    model = IndexNetMatting(width_mult=0.25).eval()
    trimap = torch.full((1, 1, 64, 64), 0.5)
    trimap[..., :20, :] = 0
    trimap[..., -20:, :] = 1
    with torch.no_grad():
        alpha = model.predict(torch.rand(1, 3, 64, 64), trimap)
    assert alpha.min() >= 0 and alpha.max() <= 1
    assert torch.all(alpha[..., :20, :] == 0) and torch.all(alpha[..., -20:, :] == 1)


def test_harmonizer_attention_at_three_levels_and_output_range() -> None:
    model = AttentionUNetHarmonizer(base_channels=4).eval()
    attention = [m for m in model.modules() if getattr(m, "attention", None) is not None]
    assert sorted(m.attention[0].in_channels for m in attention) == [8, 16, 32]
    with torch.no_grad():
        out = model(torch.rand(2, 3, 256, 256), torch.rand(2, 1, 256, 256))
    assert out.shape == (2, 3, 256, 256) and out.min() >= 0 and out.max() <= 1


def test_harmonizer_rejects_too_few_levels() -> None:
    with pytest.raises(ValueError, match="num_downs"):
        AttentionUNetHarmonizer(num_downs=4)


def test_critic_scores_each_image_and_has_gradients() -> None:
    critic = SelfAttentionCritic(widths=(8, 16, 32, 64))
    images = torch.rand(3, 3, 64, 64, requires_grad=True)
    scores = critic(images)
    assert scores.shape == (3,)
    scores.sum().backward()
    assert images.grad is not None and images.grad.abs().sum() > 0
