"""Leave a composite as it is where the harmonizer's change is within its own noise.

G_h always moves colours a little, also where the composite already fits: on held-out composites that a
barely visible white balance made (fMSE under 200), it made 48 of 56 worse. Its change there is small (median
14 on 0..255) and large where the composite is far off (median 68 above fMSE 5000), so the size of the change
says whether to trust it: below ``keep_below`` the composite stays, from ``full_from`` the whole change
applies, linearly in between (benchmarks/README.md, "Harmonization on held-out real photos").
"""

from __future__ import annotations

import torch


def change_size(adjusted: torch.Tensor, harmonized: torch.Tensor, coverage: torch.Tensor) -> float:
    """Root mean square of ``harmonized - adjusted`` on 0..255, each pixel weighted by ``coverage`` (N, 1,
    H, W): where the adjusted layer shows in the composite; 0 where it shows nowhere."""
    weight = coverage.sum() * adjusted.shape[1]
    if weight <= 0:
        return 0.0
    squared = ((harmonized - adjusted) * 255).square().mul_(coverage).sum()
    return float((squared / weight).sqrt())


def change_share(size: float, keep_below: float, full_from: float) -> float:
    """The share of a change of ``size`` to apply: 0 below ``keep_below``, 1 from ``full_from``."""
    if full_from <= keep_below:
        return float(size >= full_from)
    return min(1.0, max(0.0, (size - keep_below) / (full_from - keep_below)))
