"""One function per training stage's step; each runs inside one ``accelerator.accumulate`` context.

Batches are dicts of (N, C, H, W) float tensors in [0, 1] from :class:`hamagan.training.samples.HMHSamples`.
Optimizers are the accelerator's prepared ones, which skip ``step``/``zero_grad`` between accumulation
boundaries. Each step returns its losses as floats.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from accelerate import Accelerator
from torch import nn

from hamagan.data import hmh
from hamagan.models.indexnet import matting_input, paste_known
from hamagan.training.adversarial import RECOMPOSITES, band_boxes, crop_boxes, matting_pair, r1_penalty
from hamagan.training.losses import (
    alpha_loss,
    colourfulness,
    composition_loss,
    critic_loss,
    foreground_normalised_mse,
    generator_adversarial,
    gradient_loss,
    laplacian_loss,
)

HARMONIZATION_LOSSES = ("l1", "mse", "fn_mse")


@dataclass
class JointSettings:
    """The joint stage's weights (paper: lambda1 = 0.02, lambda2 = 0.01) and its well-posed critic loss.

    The variants of issue 26: ``recomposite`` is what G_m's critic term compares ("image", the paper's I_c, or
    "foreground"; :mod:`hamagan.training.adversarial`), ``critic_patch`` crops that pair to squares of that many
    pixels around the unknown band (0: whole images), ``r1_weight`` adds ``r1_weight / 2`` times the R1 penalty
    on real images to the critic's loss, and for the first ``adversarial_warmup`` steps the critic learns while
    the generators learn from L1 alone.
    """

    lambda_matting: float = 0.02
    lambda_harmonization: float = 0.01
    critic_form: str = "wgan"
    drift: float = 1e-3
    update_matting: bool = True
    harmonizer_grad_to_matting: bool = False
    max_grad_norm: float | None = 1.0
    recomposite: str = "image"
    critic_patch: int = 0
    r1_weight: float = 0.0
    adversarial_warmup: int = 0

    def __post_init__(self) -> None:
        if self.recomposite not in RECOMPOSITES:
            raise ValueError(f"recomposite must be one of {RECOMPOSITES}, got {self.recomposite!r}")
        if self.critic_patch < 0 or self.r1_weight < 0 or self.adversarial_warmup < 0:
            raise ValueError("critic_patch, r1_weight and adversarial_warmup cannot be negative")

    @property
    def own_matting_pair(self) -> bool:
        """Whether the critic compares G_m's recomposite with another real than the image itself."""
        return self.recomposite != "image" or self.critic_patch > 0


def _clip(accelerator: Accelerator, model: nn.Module, max_norm: float | None) -> None:
    if max_norm and accelerator.sync_gradients:
        accelerator.clip_grad_norm_(model.parameters(), max_norm)


def matting_step(accelerator: Accelerator, matting: nn.Module, optimizer: torch.optim.Optimizer,
                 batch: dict[str, torch.Tensor], composition_weight: float = 0.0, gradient_weight: float = 0.0,
                 laplacian_weight: float = 0.0, max_grad_norm: float | None = 1.0) -> dict[str, float]:
    """G_m alone: alpha loss on the unknown region (+ the composition, gradient and Laplacian losses when
    weighted)."""
    with accelerator.accumulate(matting):
        with accelerator.autocast():
            raw = matting(matting_input(batch["image"], batch["trimap"])).float()
        loss = alpha_loss(raw, batch["alpha"], batch["trimap"])
        losses = {"alpha_l1": loss.item()}
        if composition_weight:
            composition = composition_loss(raw, batch["alpha"], batch["trimap"], batch["foreground"],
                                           batch["background"], batch["image"])
            losses["composition"] = composition.item()
            loss = loss + composition_weight * composition
        if gradient_weight:
            gradient = gradient_loss(raw, batch["alpha"], batch["trimap"])
            losses["gradient"] = gradient.item()
            loss = loss + gradient_weight * gradient
        if laplacian_weight:
            laplacian = laplacian_loss(raw, batch["alpha"], batch["trimap"])
            losses["laplacian"] = laplacian.item()
            loss = loss + laplacian_weight * laplacian
        accelerator.backward(loss)
        _clip(accelerator, matting, max_grad_norm)
        optimizer.step()
        optimizer.zero_grad()
    return losses


def disharmonious(batch: dict[str, torch.Tensor], alpha: torch.Tensor) -> torch.Tensor:
    """I_d: the adjusted and unadjusted layers of the row composited with ``alpha``."""
    return hmh.composite(batch["layer_fg"], batch["layer_bg"], alpha)


def land_change(output: torch.Tensor, composite: torch.Tensor, alpha: torch.Tensor, direction: str) -> torch.Tensor:
    """G_h's change on the adjusted layer only (weighted by its coverage), the other layer untouched, as the
    pipeline composites it: the composite itself where nothing was adjusted, and where G_h changes nothing."""
    return composite + hmh.adjusted_coverage(alpha, direction) * (output - composite)


def harmonization_step(accelerator: Accelerator, harmonizer: nn.Module, optimizer: torch.optim.Optimizer,
                       batch: dict[str, torch.Tensor], direction: str = "background", loss_form: str = "l1",
                       max_grad_norm: float | None = 1.0, colourfulness_weight: float = 0.0) -> dict[str, float]:
    """G_h alone: L1 (or squared error, ``loss_form="mse"``; or squared error per image over its adjusted
    region's area, ``"fn_mse"``: :func:`foreground_normalised_mse`) between its output on the disharmonious
    composite (true alpha), landed on the adjusted layer, and the real image; plus ``colourfulness_weight``
    times the squared difference of the adjusted layer's colourfulness (:func:`colourfulness`) between
    the output and the real image.

    The disharmony is ambiguous (a white wall, or a wall brightened to white?): L1 picks the likelier
    reading, squared error the mean of the readings, which is what fMSE rewards; a mean of tints that
    disagree is greyer than any of them, which the colourfulness term counters."""
    if loss_form not in HARMONIZATION_LOSSES:
        raise ValueError(f"harmonization loss must be one of {HARMONIZATION_LOSSES}, got {loss_form!r}")
    with accelerator.accumulate(harmonizer):
        with accelerator.autocast():
            composite = disharmonious(batch, batch["alpha"])
            output = harmonizer(composite, batch["alpha"]).float()
        landed = land_change(output, composite, batch["alpha"], direction)
        coverage = hmh.adjusted_coverage(batch["alpha"], direction)
        if loss_form == "fn_mse":
            reconstruction = foreground_normalised_mse(landed, batch["image"], coverage)
        elif loss_form == "mse":
            reconstruction = (landed - batch["image"]).square().mean()
        else:
            reconstruction = (landed - batch["image"]).abs().mean()
        logged = {f"harmonization_{loss_form}": reconstruction}
        loss = reconstruction
        if colourfulness_weight:
            gap = (colourfulness(landed, coverage) - colourfulness(batch["image"], coverage)).square()
            logged["harmonization_colourfulness"] = gap.mean()
            loss = loss + colourfulness_weight * gap.mean()
        accelerator.backward(loss)
        _clip(accelerator, harmonizer, max_grad_norm)
        optimizer.step()
        optimizer.zero_grad()
    return {name: value.item() for name, value in logged.items()}


def joint_step(accelerator: Accelerator, matting: nn.Module, harmonizer: nn.Module, critic: nn.Module,
               optimizers: dict[str, torch.optim.Optimizer], batch: dict[str, torch.Tensor],
               settings: JointSettings, direction: str = "background", step: int = 0,
               generator: torch.Generator | None = None) -> dict[str, float]:
    """The paper's joint step (eq. 3-5): generators first, then the critic.

    G_m predicts A_r from the real image I; I_c = A_r I + (1 - A_r) B recomposites I over its inpainted
    background, so the critic's judgement of I_c reaches G_m. G_h harmonizes I_d, the disharmonious layers
    composited with A_r (detached unless ``harmonizer_grad_to_matting``), into I_h (landed on the adjusted layer).
    l_Gm = L1 + lambda1 E[D(I) - D(I_c)], l_Gh = L1 + lambda2 E[D(I) - D(I_h)], and l_D over I_c, I_d, I_h
    against I. ``optimizers`` holds "matting" (unless G_m is frozen), "harmonizer" and "critic". ``step`` is the
    stage's step (for ``adversarial_warmup``); ``generator`` draws the critic patches' places.
    """
    image, trimap = batch["image"], batch["trimap"]
    critic_net = accelerator.unwrap_model(critic)
    heard = step >= settings.adversarial_warmup
    with accelerator.accumulate(matting, harmonizer, critic):
        # Generators: the critic judges without learning (eval: no spectral-norm power iteration).
        critic_net.eval().requires_grad_(False)
        with accelerator.autocast():
            with torch.set_grad_enabled(settings.update_matting):
                raw = matting(matting_input(image, trimap)).float()
            alpha = paste_known(raw, trimap)
            real_c, recomposited = matting_pair(batch, alpha, settings.recomposite)
            if settings.critic_patch:
                corners = band_boxes(trimap, settings.critic_patch, generator)
                real_c, recomposited = (crop_boxes(t, corners, settings.critic_patch) for t in (real_c, recomposited))
            alpha_h = alpha if settings.harmonizer_grad_to_matting else alpha.detach()
            composite = disharmonious(batch, alpha_h)
            harmonized = land_change(harmonizer(composite, alpha_h).float().clamp(0, 1), composite, alpha_h,
                                     direction)
            real, real_m, scored_c, (scored_h,) = critic_scores(critic_net, settings, image, real_c, recomposited,
                                                               [harmonized])
        lambda_h, lambda_m = ((settings.lambda_harmonization, settings.lambda_matting) if heard else (0.0, 0.0))
        losses = {"harmonization_l1": (harmonized - image).abs().mean()}
        losses["adv_harmonization"] = generator_adversarial(real, scored_h)
        generator_loss = losses["harmonization_l1"] + lambda_h * losses["adv_harmonization"]
        if settings.update_matting:
            losses["alpha_l1"] = alpha_loss(raw, batch["alpha"], trimap)
            losses["adv_matting"] = generator_adversarial(real_m, scored_c)
            generator_loss = generator_loss + losses["alpha_l1"] + lambda_m * losses["adv_matting"]
        accelerator.backward(generator_loss)
        critic_net.train().requires_grad_(True)
        if settings.update_matting:
            _clip(accelerator, matting, settings.max_grad_norm)
            optimizers["matting"].step()
            optimizers["matting"].zero_grad()
        _clip(accelerator, harmonizer, settings.max_grad_norm)
        optimizers["harmonizer"].step()
        optimizers["harmonizer"].zero_grad()
        losses.update(critic_step(accelerator, critic, optimizers["critic"], settings, image, real_c,
                                  [t.detach() for t in (recomposited, composite, harmonized)]))
    return {k: float(v.item()) for k, v in losses.items()}


def critic_scores(critic: nn.Module, settings: JointSettings, image: torch.Tensor, real_c: torch.Tensor,
                  recomposited: torch.Tensor, others: list[torch.Tensor]
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    """The critic's scores of the real image, of G_m's real (the image itself unless the settings give G_m its
    own pair), of G_m's recomposite and of the ``others`` (fakes of the image's size), in one call when G_m has
    no pair of its own."""
    if settings.own_matting_pair:
        real, *scored = critic(torch.cat([image, *others])).float().chunk(1 + len(others))
        real_m, scored_c = critic(torch.cat([real_c, recomposited])).float().chunk(2)
        return real, real_m, scored_c, scored
    real, scored_c, *scored = critic(torch.cat([image, recomposited, *others])).float().chunk(2 + len(others))
    return real, real, scored_c, scored


def critic_step(accelerator: Accelerator, critic: nn.Module, optimizer: torch.optim.Optimizer,
                settings: JointSettings, image: torch.Tensor, real_c: torch.Tensor, fakes: list[torch.Tensor]
                ) -> dict[str, torch.Tensor]:
    """The critic's step: real portraits against the three kinds of fake (I_c, I_d, I_h; all detached), with
    G_m's own real (``real_c``) when the settings give it one, and the R1 penalty when weighted."""
    reals = [image.detach().requires_grad_(settings.r1_weight > 0)]
    if settings.own_matting_pair:
        reals.append(real_c.detach().requires_grad_(settings.r1_weight > 0))
    with accelerator.autocast():
        real, real_m, scored_c, others = critic_scores(critic, settings, reals[0], reals[-1], fakes[0], fakes[1:])
    real_scores = torch.cat([real, real_m]) if settings.own_matting_pair else real
    fake_scores = [scored_c, *others]
    losses = {"critic": critic_loss(real_scores, fake_scores, settings.critic_form, settings.drift)}
    total = losses["critic"]
    if settings.r1_weight:
        losses["critic_penalty"] = r1_penalty(real_scores, reals)
        total = total + settings.r1_weight / 2 * losses["critic_penalty"]
    accelerator.backward(total)
    _clip(accelerator, critic, settings.max_grad_norm)
    optimizer.step()
    optimizer.zero_grad()
    losses["critic_real"], losses["critic_fake"] = real_scores.mean(), torch.cat(fake_scores).mean()
    return losses
