"""The joint stage's critic variants (issue 26): what the critic compares for G_m, band patches, R1, warm-up."""

from __future__ import annotations

import pytest
import torch
from accelerate import Accelerator
from torch import nn

from hamagan.models.discriminator import SelfAttentionCritic
from hamagan.models.harmonizer import AttentionUNetHarmonizer
from hamagan.models.indexnet import IndexNetMatting
from hamagan.training.adversarial import band_boxes, crop_boxes, matting_pair, r1_penalty
from hamagan.training.steps import JointSettings, joint_step


def _layers(size: int = 64) -> dict[str, torch.Tensor]:
    """A batch of two: a soft vertical edge (true alpha 0 to 1 across the middle third, the unknown band)
    between a red foreground and a blue background."""
    ramp = torch.linspace(-1, 2, size).clamp(0, 1)
    alpha = ramp.expand(2, 1, size, size).clone()
    foreground = torch.tensor([0.9, 0.1, 0.1]).view(1, 3, 1, 1).expand(2, 3, size, size)
    background = torch.tensor([0.1, 0.1, 0.9]).view(1, 3, 1, 1).expand(2, 3, size, size)
    trimap = torch.where(alpha <= 0, 0.0, torch.where(alpha >= 1, 1.0, 0.5))
    image = alpha * foreground + (1 - alpha) * background
    generator = torch.Generator().manual_seed(0)
    layer = torch.rand(2, 3, size, size, generator=generator)
    return {"image": image, "alpha": alpha, "trimap": trimap, "foreground": foreground, "background": background,
            "layer_fg": layer, "layer_bg": image}


def test_the_papers_recomposite_cannot_see_an_alpha_too_high_and_the_foreground_one_can() -> None:
    batch = _layers()
    too_high = torch.where(batch["trimap"] == 0.5, 1.0, batch["alpha"])
    real, fake = matting_pair(batch, too_high, "image")
    assert torch.allclose(real, fake)  # I_c = A_r A F + (1 - A_r A) B is I wherever A_r = 1
    too_low = torch.where(batch["trimap"] == 0.5, 0.0, batch["alpha"])
    real, fake = matting_pair(batch, too_low, "image")
    assert (real - fake).abs().max() > 0.3
    real, fake = matting_pair(batch, too_high, "foreground")
    assert (real - fake).abs().max() > 0.3
    real, fake = matting_pair(batch, batch["alpha"], "foreground")
    assert torch.allclose(real, fake)
    # Over the next portrait's background: the same comparison in another scene.
    green = torch.tensor([0.1, 0.8, 0.1]).view(3, 1, 1).expand(3, 64, 64)
    batch["background"] = torch.stack([batch["background"][0], green])
    real, fake = matting_pair(batch, too_high, "new_background")
    assert (real - fake).abs().max() > 0.3
    assert torch.allclose(real[1], batch["alpha"][1] * batch["foreground"][1]
                          + (1 - batch["alpha"][1]) * batch["background"][0])
    with pytest.raises(ValueError, match="recomposite"):
        matting_pair(batch, too_high, "background")


def test_band_patches_hold_the_unknown_band_and_stay_inside_the_image() -> None:
    trimap = _layers()["trimap"]
    for seed in range(20):
        corners = band_boxes(trimap, 16, torch.Generator().manual_seed(seed))
        patches = crop_boxes(trimap, corners, 16)
        assert patches.shape == (2, 1, 16, 16)
        assert all(0 <= y <= 48 and 0 <= x <= 48 for y, x in corners)
        assert ((patches == 0.5).flatten(1).any(dim=1)).all()
    empty = torch.zeros(1, 1, 32, 48)
    assert band_boxes(empty, 16, torch.Generator()) == [(8, 16)]  # no band: the centre
    with pytest.raises(ValueError, match="do not fit"):
        band_boxes(trimap, 65, torch.Generator())


def test_r1_is_the_squared_norm_of_the_critics_gradient_at_real_images() -> None:
    linear = nn.Conv2d(3, 1, 4, bias=False)
    images = torch.rand(3, 3, 4, 4, requires_grad=True)
    scores = linear(images).flatten()
    penalty = r1_penalty(scores, [images])
    assert penalty.item() == pytest.approx(linear.weight.square().sum().item(), rel=1e-5)
    penalty.backward()  # in the graph: the critic learns from it
    assert torch.allclose(linear.weight.grad, 2 * linear.weight, atol=1e-6)


def _step(settings: JointSettings, step: int = 0) -> dict[str, list[torch.Tensor]]:
    """Gradients of G_m and the critic in one joint step from the same models and batch."""
    torch.manual_seed(0)
    models = {"matting": IndexNetMatting(width_mult=0.25, decoder_kernel_size=3),
              "harmonizer": AttentionUNetHarmonizer(base_channels=4, num_downs=6, dropout=0.0),
              "critic": SelfAttentionCritic(widths=(8, 16))}
    optimizers = {k: torch.optim.SGD(m.parameters(), lr=0.0) for k, m in models.items()}
    seen = {}
    for name, optimizer in optimizers.items():
        def record(opt, args, kwargs, name=name):
            seen[name] = [p.grad.clone() for g in opt.param_groups for p in g["params"] if p.grad is not None]
        optimizer.register_step_pre_hook(record)
    joint_step(Accelerator(cpu=True), models["matting"], models["harmonizer"], models["critic"], optimizers,
               _layers(), settings, step=step, generator=torch.Generator().manual_seed(1))
    return seen


def _same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return len(a) == len(b) and all(torch.allclose(x, y, atol=1e-9) for x, y in zip(a, b, strict=True))


def test_critic_variants_reach_g_m_only_through_lambda1_and_after_the_warm_up() -> None:
    quiet = _step(JointSettings(lambda_matting=0.0, lambda_harmonization=0.0, max_grad_norm=None))
    variants = dict(recomposite="foreground", critic_patch=32, r1_weight=10.0, max_grad_norm=None)
    # With lambda1 = lambda2 = 0 (the separate arm) the critic's variants leave G_m as it was.
    separate = _step(JointSettings(lambda_matting=0.0, lambda_harmonization=0.0, **variants))
    assert _same(quiet["matting"], separate["matting"])
    assert not _same(quiet["critic"], separate["critic"])
    # With lambda1 they reach it, unless the warm-up has not ended.
    heard = _step(JointSettings(lambda_matting=0.5, **variants), step=3)
    assert not _same(quiet["matting"], heard["matting"])
    warming = _step(JointSettings(lambda_matting=0.5, adversarial_warmup=4, **variants), step=3)
    assert _same(quiet["matting"], warming["matting"])
    after = _step(JointSettings(lambda_matting=0.5, adversarial_warmup=3, **variants), step=3)
    assert _same(heard["matting"], after["matting"])
    # R1 changes the critic's own gradient.
    no_r1 = _step(JointSettings(lambda_matting=0.5, **{**variants, "r1_weight": 0.0}), step=3)
    assert not _same(heard["critic"], no_r1["critic"])
    with pytest.raises(ValueError, match="recomposite"):
        JointSettings(recomposite="trimap")
