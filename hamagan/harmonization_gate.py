"""Leave a composite as it is where the harmonizer's change is within its own noise.

G_h always moves colours a little, also where the composite already fits: on held-out composites that a
barely visible white balance made (fMSE under 200), it made 48 of 56 worse. Its change there is small (median
14 on 0..255) and large where the composite is far off (median 68 above fMSE 5000), so the size of the change
says whether to trust it: below ``keep_below`` the composite stays, from ``full_from`` the whole change
applies, linearly in between (benchmarks/README.md, "Harmonization on held-out real photos").
"""

from __future__ import annotations

import torch


def change_size(adjusted: torch.Tensor, harmonized: torch.Tensor, coverage: torch.Tensor) -> torch.Tensor:
    """Per image (N,): the root mean square of ``harmonized - adjusted`` (N, C, H, W) on 0..255, each pixel
    weighted by ``coverage`` (N, 1, H, W): where the adjusted layer shows in the composite; 0 where it shows
    nowhere."""
    weight = coverage.sum((1, 2, 3)) * adjusted.shape[1]
    squared = ((harmonized - adjusted) * 255).square().mul_(coverage).sum((1, 2, 3))
    return torch.where(weight > 0, squared / weight.clamp_min(1e-12), 0.0).sqrt()


def change_share(size: torch.Tensor, keep_below: float, full_from: float) -> torch.Tensor:
    """The share of a change of ``size`` to apply, per image: 0 below ``keep_below``, 1 from ``full_from``."""
    if full_from <= keep_below:
        return (size >= full_from).to(size.dtype)
    return ((size - keep_below) / (full_from - keep_below)).clamp(0.0, 1.0)


def gate_note(size: torch.Tensor, share: torch.Tensor) -> str:
    """What the gate held back, for a message ("" when it let every change through)."""
    notes = []
    for index, (image_size, image_share) in enumerate(zip(size.tolist(), share.tolist(), strict=True)):
        if image_share < 1.0:
            held = "the composite is left as it is" if image_share == 0.0 else f"{image_share:.0%} of it applied"
            which = f"image {index}: " if len(size) > 1 else ""
            notes.append(f"{which}the harmonizer's change was small ({image_size:.0f} of 255): {held}")
    return "; ".join(notes)
