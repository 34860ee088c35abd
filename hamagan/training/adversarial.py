"""What the joint stage's critic judges of G_m, and its R1 penalty (the variants of issue 26).

The paper recomposites the real image over its inpainted background with G_m's alpha,
I_c = A_r I + (1 - A_r) B. As I = A F + (1 - A) B, that is A_r A F + (1 - A_r A) B: I_c equals I wherever
A_r = 1, so an alpha too high anywhere in the unknown band is invisible to the critic, and only one too low is
punished. Recompositing the foreground instead (``recomposite="foreground"``: A_r F + (1 - A_r) B against
A F + (1 - A) B, the same layers with the true alpha) makes both errors visible; ``"new_background"`` does so
over another portrait's background of the batch, so that over the steps each portrait meets several scenes.
``band_boxes`` places squares around the unknown band, so the critic can judge the edge, not the portrait.
"""

from __future__ import annotations

import torch

from hamagan.training.losses import unknown_mask

RECOMPOSITES = ("image", "foreground", "new_background")


def matting_pair(batch: dict[str, torch.Tensor], alpha: torch.Tensor, recomposite: str
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """The real image and G_m's recomposite (``alpha``) that the critic compares for G_m."""
    if recomposite == "image":
        image = batch["image"]
        return image, alpha * image + (1 - alpha) * batch["background"]
    if recomposite in ("foreground", "new_background"):
        foreground, background = batch["foreground"], batch["background"]
        if recomposite == "new_background":
            background = background.roll(1, dims=0)
        real = batch["alpha"] * foreground + (1 - batch["alpha"]) * background
        return real, alpha * foreground + (1 - alpha) * background
    raise ValueError(f"recomposite must be one of {RECOMPOSITES}, got {recomposite!r}")


def band_boxes(trimap: torch.Tensor, size: int, generator: torch.Generator) -> list[tuple[int, int]]:
    """One ``size`` square per image (its top-left corner), centred on a random pixel of the trimap's unknown
    band (on the image centre where there is none), shifted inside the image."""
    height, width = trimap.shape[2:]
    if size > min(height, width):
        raise ValueError(f"critic patches of {size} px do not fit {height}x{width} images")
    corners = []
    for mask in unknown_mask(trimap)[:, 0]:
        band = mask.nonzero()
        pick = int(torch.randint(len(band), (1,), generator=generator)) if len(band) else None
        cy, cx = band[pick].tolist() if pick is not None else (height // 2, width // 2)
        corners.append((min(max(cy - size // 2, 0), height - size), min(max(cx - size // 2, 0), width - size)))
    return corners


def crop_boxes(images: torch.Tensor, corners: list[tuple[int, int]], size: int) -> torch.Tensor:
    """Each image's ``size`` square at its corner, stacked."""
    return torch.stack([image[:, y:y + size, x:x + size] for image, (y, x) in zip(images, corners, strict=True)])


def r1_penalty(real_scores: torch.Tensor, real_images: list[torch.Tensor]) -> torch.Tensor:
    """R1 (Mescheder et al., 2018): the mean over real images of the squared norm of the critic's gradient at
    them, kept in the graph so that the critic learns from it. ``real_images`` (the critic's real inputs, which
    must require grad) gave ``real_scores``."""
    gradients = torch.autograd.grad(real_scores.sum(), real_images, create_graph=True)
    return torch.cat([g.float().square().sum(dim=(1, 2, 3)) for g in gradients]).mean()
