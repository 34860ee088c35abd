"""Validation during training: matting and harmonization metrics on held-out HMH rows."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from hamagan.compose import pad_to_multiple
from hamagan.images import array_to_tensor, tensor_to_array
from hamagan.metrics import harmonization_metrics, matting_metrics
from hamagan.training.data import HMHSamples, SampleOptions
from hamagan.training.steps import adjusted_region, disharmonious, land_change


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]} if rows else {}


@torch.no_grad()
def validate_matting(matting: nn.Module, rows, device: torch.device | str = "cpu") -> dict[str, float]:
    """Mean SAD / MSE / Grad / Conn of G_m over the rows at their stored size, with their stored trimaps."""
    was_training = matting.training
    matting.eval()
    results = []
    for row in rows:
        image = np.asarray(row["image"].convert("RGB"), np.float32) / 255
        alpha = np.asarray(row["alpha"].convert("L"), np.float32) / 255
        trimap = np.round(np.asarray(row["trimap"].convert("L"), np.float32) / 255 * 2) / 2
        image_t, (h, w) = pad_to_multiple(array_to_tensor(image).to(device), 32)
        trimap_t, _ = pad_to_multiple(array_to_tensor(trimap[..., None]).to(device), 32)
        predicted = tensor_to_array(matting.predict(image_t, trimap_t)[:, :, :h, :w].cpu())
        results.append(matting_metrics(predicted, alpha, trimap))
    matting.train(was_training)
    return _mean(results)


@torch.no_grad()
def validate_harmonization(harmonizer: nn.Module, rows, size: int = 256, device: torch.device | str = "cpu",
                           backgrounds: Sequence[np.ndarray] = (), fresh_samples: int = 24,
                           own_scene: bool = False) -> dict[str, float]:
    """Mean MSE / fMSE / PSNR of G_h (true alpha, change landed on the adjusted layer) and of the
    unharmonized composite, rows resized to ``size``. With ``backgrounds`` (photos held out from training),
    it scores ``fresh_samples`` seeded recomposites of the rows over them instead: a harmonizer that
    remembers the training photos' colours cannot pass this one; with ``own_scene`` too, the rows keep their
    own scenes and the photos only serve as fresh transforms' targets (fresh disharmonies of real scenes)."""
    was_training = harmonizer.training
    harmonizer.eval()
    options = SampleOptions(kind="full", size=size, flip=False, fresh_background=1.0 if backgrounds else 0.0,
                            own_scene=1.0 if own_scene else 0.0)
    samples = HMHSamples(rows, options, backgrounds, seed=0, cache=False, shuffle=False)
    directions = [rows[index]["perturb"] for index in range(len(rows))]  # one read per row, not per sample
    results = []
    for position in range(fresh_samples if backgrounds else len(rows)):
        batch = {k: v[None].to(device) for k, v in samples[position].items()}
        composite = disharmonious(batch, batch["alpha"])
        direction = directions[samples.row_index(position)]
        output = land_change(harmonizer(composite, batch["alpha"]).float().clamp(0, 1), composite, batch["alpha"],
                             direction)
        adjusted = adjusted_region(batch["alpha"], direction)
        real, mask = tensor_to_array(batch["image"].cpu()), tensor_to_array(adjusted.cpu())
        ours = harmonization_metrics(tensor_to_array(output.cpu()), real, mask)
        plain = harmonization_metrics(tensor_to_array(composite.cpu()), real, mask)
        results.append({**ours, **{f"composite_{k}": v for k, v in plain.items()}})
    harmonizer.train(was_training)
    return _mean(results)
