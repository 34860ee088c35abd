"""A correction to G_h's colour map, read from the colour statistics of the composite's two layers.

G_h (the colour-map head on DoveNet's U-Net) reads each layer's colours through pooled convolutional features and,
with ``layer_statistics``, twelve moments. Trained on this CPU it stops near 60% of the held-out composites' fMSE
whatever the recipe, about as much on its training photos as on held-out ones: it underfits what the composite's
statistics say. An MLP on richer statistics (per layer: the mean, standard deviation and five quantiles of r, g, b,
luminance and Hasler and Süsstrunk's opponent axes, and the portrait's share of the frame), trained in minutes on
engine composites against G_h's own coefficients, adds a change to the 30 coefficients of G_h's map
(benchmarks/README.md, "A colour-statistics correction"). It starts at zero: an untrained corrector changes nothing.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional

STATISTICS_SIDE = 64  # the statistics are read from the composite at this size (area-averaged)
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
CHANNELS = 6  # r, g, b, luminance, r - g, (r + g) / 2 - b
STATISTICS = 2 * CHANNELS * (2 + len(QUANTILES)) + 1
COEFFICIENTS = 30  # the quadratic colour map's: 3 channels x 10 terms


def colour_statistics(composite: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) composite in [0, 1] and (N, 1, H, W) alpha -> (N, STATISTICS): for the portrait (weighted by
    alpha), then the background (1 - alpha), each channel's weighted mean and standard deviation and its
    quantiles over the pixels mostly in that layer (the mean where there are none); last, alpha's mean."""
    size = (STATISTICS_SIDE, STATISTICS_SIDE)
    small = functional.interpolate(composite.float(), size=size, mode="area")
    weight = functional.interpolate(alpha.float(), size=size, mode="area").flatten(1)[..., None]
    r, g, b = small.unbind(dim=1)
    channels = torch.stack([r, g, b, (r + g + b) / 3, r - g, (r + g) / 2 - b], dim=-1).flatten(1, 2)
    levels = torch.tensor(QUANTILES, device=composite.device)
    out = []
    for layer in (weight, 1 - weight):
        total = layer.sum(dim=1).clamp_min(1e-6)
        mean = (channels * layer).sum(dim=1) / total
        std = ((channels - mean[:, None]).square() * layer).sum(dim=1).div(total).clamp_min(1e-8).sqrt()
        inside = torch.where(layer > 0.5, channels, torch.full_like(channels, float("nan")))
        quantiles = torch.nanquantile(inside, levels, dim=1).permute(1, 0, 2)  # (N, quantiles, channels)
        quantiles = torch.where(quantiles.isnan(), mean[:, None].expand_as(quantiles), quantiles)
        out += [mean, std, quantiles.flatten(1)]
    return torch.cat([*out, weight.mean(dim=1)], dim=1)


def correction_inputs(composite: torch.Tensor, alpha: torch.Tensor, features: torch.Tensor | None = None
                      ) -> torch.Tensor:
    """What a correction reads: :func:`colour_statistics`, then G_h's pooled ``features`` (N, F, 1, 1) if given."""
    statistics = colour_statistics(composite, alpha)
    return statistics if features is None else torch.cat([statistics, features.flatten(1).float()], dim=1)


class ColourStatisticsCorrector(nn.Module):
    """(composite, alpha) at G_h's size -> (N, 30, 1, 1): the change to add to G_h's colour-map coefficients.

    It reads the layers' colour statistics and, with ``features`` > 0, that many of G_h's own pooled features
    (:meth:`AttentionUNetHarmonizer.color_transform_and_features`): what G_h saw of the scene beside its colours.
    The inputs are standardised by ``feature_mean`` and ``feature_scale`` (those of the training samples, stored
    with the weights), then a two-layer MLP; its last layer starts at zero.
    """

    def __init__(self, hidden: int = 512, dropout: float = 0.1, features: int = 0) -> None:
        super().__init__()
        self.features = features
        width = STATISTICS + features
        self.register_buffer("feature_mean", torch.zeros(width))
        self.register_buffer("feature_scale", torch.ones(width))
        self.net = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, hidden), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, COEFFICIENTS))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    @classmethod
    def for_weights(cls, first_layer: torch.Tensor) -> ColourStatisticsCorrector:
        """A corrector shaped for stored weights, from its first layer's weight (hidden, inputs)."""
        return cls(hidden=first_layer.shape[0], features=first_layer.shape[1] - STATISTICS)

    @property
    def config(self) -> dict[str, int]:
        """What its network folder's config.json records: the widths its weights were built at."""
        return {"hidden": self.net[0].out_features, "features": self.features}

    def standardise_by(self, statistics: torch.Tensor) -> None:
        """Set the standardisation to that of ``statistics`` (N, inputs), the training samples'."""
        self.feature_mean.copy_(statistics.mean(dim=0))
        self.feature_scale.copy_(statistics.std(dim=0).clamp_min(1e-6))

    def from_statistics(self, statistics: torch.Tensor) -> torch.Tensor:
        """(N, inputs) from :func:`correction_inputs` -> (N, 30, 1, 1)."""
        return self.net((statistics - self.feature_mean) / self.feature_scale)[..., None, None]

    def forward(self, composite: torch.Tensor, alpha: torch.Tensor, features: torch.Tensor | None = None
                ) -> torch.Tensor:
        if (features is None) != (self.features == 0):
            raise ValueError(f"this correction reads {self.features} of G_h's features: pass exactly those")
        return self.from_statistics(correction_inputs(composite, alpha, features))
