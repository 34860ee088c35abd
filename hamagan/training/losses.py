"""The paper's losses (section 2.1, eq. 3-5), made well-posed.

As written, l_D = E[D(I_h) + D(I_c) + D(I_d) - D(I)] has no lower bound: adding a constant to D's fake
scores lowers it without end. Here the three fake terms are averaged, every critic layer is spectrally
normalised, and a drift penalty ``drift * D(I)^2`` (Karras et al., 2018) keeps the real score near zero;
SAGAN's hinge form is the alternative (``critic_loss(..., form="hinge")``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from hamagan.models.harmonizer import opponent_moments

_BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16


def unknown_mask(trimap: torch.Tensor) -> torch.Tensor:
    """1 where the trimap is unknown (0.5), else 0; float, same shape."""
    return ((trimap - 0.5).abs() < 0.25).float()


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` over ``mask`` (broadcast over channels); zero when the mask is empty."""
    mask = mask.expand_as(values)
    return (values * mask).sum() / mask.sum().clamp(min=1.0)


def charbonnier(prediction: torch.Tensor, target: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """sqrt((p - t)^2 + eps^2): L1 with a smooth minimum, elementwise."""
    return torch.sqrt((prediction - target) ** 2 + eps * eps)


def alpha_loss(prediction: torch.Tensor, alpha: torch.Tensor, trimap: torch.Tensor) -> torch.Tensor:
    """IndexNet's alpha prediction loss: Charbonnier L1 over the trimap's unknown region."""
    return masked_mean(charbonnier(prediction, alpha), unknown_mask(trimap))


def gradient_loss(prediction: torch.Tensor, alpha: torch.Tensor, trimap: torch.Tensor) -> torch.Tensor:
    """L1 between the horizontal and vertical differences of the predicted and true alpha, over pixel pairs
    inside the unknown region (the gradient loss of GCA Matting, Li & Lu, AAAI 2020): it penalises the
    blurred or noisy edges that the Gradient error (Rhemann et al. 2009) measures."""
    mask = unknown_mask(trimap)
    terms = []
    for dim in (2, 3):
        pred_step, true_step = torch.diff(prediction, dim=dim), torch.diff(alpha, dim=dim)
        pair = mask.narrow(dim, 1, mask.shape[dim] - 1) * mask.narrow(dim, 0, mask.shape[dim] - 1)
        terms.append(masked_mean((pred_step - true_step).abs(), pair))
    return sum(terms) / 2


def _blur(image: torch.Tensor) -> torch.Tensor:
    """5x5 binomial blur of a (N, 1, H, W) map, edges reflected."""
    kernel = (_BINOMIAL[:, None] * _BINOMIAL[None, :]).to(image)[None, None]
    return F.conv2d(F.pad(image, (2, 2, 2, 2), mode="reflect"), kernel)


def laplacian_loss(prediction: torch.Tensor, alpha: torch.Tensor, trimap: torch.Tensor,
                   levels: int = 5) -> torch.Tensor:
    """L1 between band-pass pyramids of the predicted and true alpha (FBA Matting's Laplacian loss, Forte &
    Pitie 2020): level i is x_i - blur(x_i), x_{i+1} = blur(x_i) halved, weighted 2^i; each level's mean runs
    over the unknown region, shrunk with it (a pixel counts where any pixel it covers is unknown). It ties
    alpha's structure at every scale, from single hairs to the outline. The pyramid is linear, so it is built
    once, on the error."""
    mask, error, total = unknown_mask(trimap), prediction - alpha, prediction.new_zeros(())
    for level in range(levels):
        if min(error.shape[2:]) < 5:
            break
        smooth = _blur(error)
        total = total + 2**level * masked_mean((error - smooth).abs(), mask)
        error, mask = smooth[:, :, ::2, ::2], F.max_pool2d(mask, 2, ceil_mode=True)
    return total


def composition_loss(prediction: torch.Tensor, alpha: torch.Tensor, trimap: torch.Tensor, foreground: torch.Tensor,
                     background: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """Deep Image Matting's composition loss: the image recomposited with the predicted alpha, unknown region."""
    recomposed = prediction * foreground + (1 - prediction) * background
    return masked_mean(charbonnier(recomposed, image), unknown_mask(trimap))


def colourfulness(image: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Hasler and Süsstrunk's colourfulness of each (N, 3, H, W) image in [0, 1] over ``weight`` (N, 1, H, W):
    sqrt(var(rg) + var(yb)) + 0.3 sqrt(mean(rg)^2 + mean(yb)^2) with rg = r - g, yb = (r + g) / 2 - b, the
    weighted statistics; :func:`hamagan.metrics.colourfulness` / 255 for a 0/1 weight; differentiable. (N,)"""
    mean, variance = (moments[:, 1:] for moments in opponent_moments(image, weight))  # without luminance
    return (variance.sum(dim=1) + 1e-8).sqrt() + 0.3 * (mean.square().sum(dim=1) + 1e-8).sqrt()


def foreground_normalised_mse(prediction: torch.Tensor, target: torch.Tensor, weight: torch.Tensor,
                               min_area: float = 100.0) -> torch.Tensor:
    """Each image's squared error summed over pixels and channels, divided by 3 x its region's area (the sum of
    ``weight``, (N, 1, H, W), at least ``min_area`` pixels), averaged over the batch: fMSE as the metric takes
    it, on [0, 1] colours. A small region counts as much as a large one, where a plain mean weights each image
    by its region's area (Sofiiuk et al., 2021, FN-MSE). The error is expected to vanish outside the region."""
    squared = (prediction - target).square().sum(dim=(1, 2, 3))
    area = weight.sum(dim=(1, 2, 3)).clamp_min(min_area)
    return (squared / (3 * area)).mean()


def critic_loss(real_scores: torch.Tensor, fake_scores: list[torch.Tensor], form: str = "wgan",
                drift: float = 1e-3) -> torch.Tensor:
    """l_D over the real image's scores and the scores of each kind of fake (I_c, I_d, I_h).

    ``form="wgan"``: mean over kinds of E[D(fake)] - E[D(real)] + drift E[D(real)^2]; the critic learns
    to give real portraits high scores. ``form="hinge"``: E[relu(1 - D(real))] + mean E[relu(1 + D(fake))].
    """
    if form == "wgan":
        fake = torch.stack([s.mean() for s in fake_scores]).mean()
        return fake - real_scores.mean() + drift * (real_scores ** 2).mean()
    if form == "hinge":
        fake = torch.stack([torch.relu(1 + s).mean() for s in fake_scores]).mean()
        return torch.relu(1 - real_scores).mean() + fake
    raise ValueError(f"critic loss form must be 'wgan' or 'hinge', got {form!r}")


def generator_adversarial(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """E[D(I) - D(fake)] (eq. 4 and 5): the generator lowers it by making the critic score its output as real."""
    return (real_scores.detach() - fake_scores).mean()
