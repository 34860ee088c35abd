"""The three networks: the paper's sizes, shapes and the structural choices the issue names."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from hamagan.models import AttentionUNetHarmonizer, IndexNetMatting, SelfAttentionCritic
from hamagan.models.harmonizer import QUADRATIC_TERMS, apply_color_transform, layer_statistics
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
    with pytest.raises(ValueError, match="one output form"):
        AttentionUNetHarmonizer(residual=True, transform_grid=1)


def test_transform_harmonizer_starts_as_the_identity_and_outputs_a_colour_map() -> None:
    torch.manual_seed(0)
    model = AttentionUNetHarmonizer(base_channels=4, num_downs=6, transform_grid=1).train()
    composite, alpha = torch.rand(2, 3, 64, 64), torch.rand(2, 1, 64, 64)
    assert torch.equal(model(composite, alpha), composite)
    # A trained head gives one colour map per image: pixels of equal colour come out equal.
    torch.nn.init.normal_(model.net.up[-2].weight, std=0.5)
    composite[0, :, 40, 9] = composite[0, :, 3, 5]
    with torch.no_grad():
        out = model.eval()(composite, alpha)
    assert not torch.allclose(out, composite)
    assert torch.allclose(out[0, :, 40, 9], out[0, :, 3, 5], atol=1e-6)


def test_masked_pooling_reads_the_two_layers_apart() -> None:
    torch.manual_seed(0)
    model = AttentionUNetHarmonizer(base_channels=4, num_downs=6, transform_grid=1, masked_pooling=True).eval()
    composite = torch.rand(1, 3, 64, 64)
    alpha = torch.zeros(1, 1, 64, 64)
    alpha[..., 16:48, 16:48] = 1
    assert torch.equal(model(composite, alpha), composite)  # identity at start
    torch.nn.init.normal_(model.head[0].weight, std=0.5)
    with torch.no_grad():
        coefficients = model.color_transform(composite, alpha)
        # The same image with the layers' roles swapped: the two pooled means trade places.
        swapped = model.color_transform(composite, 1 - alpha)
    assert coefficients.shape == (1, 30, 1, 1)
    assert not torch.allclose(coefficients, swapped, atol=1e-4)
    with pytest.raises(ValueError, match="masked_pooling"):
        AttentionUNetHarmonizer(transform_grid=2, masked_pooling=True)


def test_layer_statistics_start_unchanged_and_read_colourfulness() -> None:
    torch.manual_seed(0)
    plain = AttentionUNetHarmonizer(base_channels=4, num_downs=6, transform_grid=1, masked_pooling=True).eval()
    torch.nn.init.normal_(plain.head[0].weight, std=0.5)
    model = AttentionUNetHarmonizer(base_channels=4, num_downs=6, transform_grid=1, masked_pooling=True,
                                    layer_statistics=True).eval()
    missing = model.load_state_dict(plain.state_dict(), strict=False).missing_keys
    assert missing == [k for k in model.state_dict() if k.startswith("statistics_head")]
    grey = torch.rand(1, 1, 64, 64).repeat(1, 3, 1, 1)
    colourful = torch.rand(1, 3, 64, 64)
    alpha = torch.zeros(1, 1, 64, 64)
    alpha[..., 16:48, 16:48] = 1
    with torch.no_grad():
        assert torch.equal(model(colourful, alpha), plain(colourful, alpha))  # a checkpoint without it: unchanged
        # The portrait's red-green spread is zero on a grey image, not on a colourful one; the background's too.
        for image, spread in ((grey, 0.0), (colourful, 0.41)):
            statistics = layer_statistics(image, alpha).flatten()
            assert statistics.shape == (12,)
            assert statistics[4].item() == pytest.approx(spread, abs=0.05)
            assert statistics[10].item() == pytest.approx(spread, abs=0.05)
        torch.nn.init.normal_(model.statistics_head[-1].weight, std=0.5)
        assert not torch.allclose(model.color_transform(colourful, alpha), plain.color_transform(colourful, alpha))
    with pytest.raises(ValueError, match="layer_statistics"):
        AttentionUNetHarmonizer(transform_grid=1, layer_statistics=True)


def test_colour_transform_is_the_quadratic_map_it_names() -> None:
    rgb = torch.rand(1, 3, 8, 8)
    coefficients = torch.zeros(1, 3, QUADRATIC_TERMS, 1, 1)
    coefficients[0, 0, 3] = 1.0  # red out = r²
    coefficients[0, 1, 6] = 2.0  # green out = 2 r g
    coefficients[0, 2, 9] = 0.25  # blue out = 0.25
    out = apply_color_transform(coefficients.flatten(1, 2), rgb)
    r, g, _ = rgb[0]
    assert torch.allclose(out[0, 0], r * r) and torch.allclose(out[0, 1], 2 * r * g)
    assert torch.allclose(out[0, 2], torch.full_like(r, 0.25))
    # A grid of equal cells is the same map as one cell.
    assert torch.allclose(apply_color_transform(coefficients.flatten(1, 2).expand(-1, -1, 2, 2), rgb), out,
                          atol=1e-6)


def test_critic_scores_each_image_and_has_gradients() -> None:
    critic = SelfAttentionCritic(widths=(8, 16, 32, 64))
    images = torch.rand(3, 3, 64, 64, requires_grad=True)
    scores = critic(images)
    assert scores.shape == (3,)
    scores.sum().backward()
    assert images.grad is not None and images.grad.abs().sum() > 0
