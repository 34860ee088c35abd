"""Train the colour-statistics correction of a checkpoint's harmonizers (``hamagan.models.colour_statistics``).

For each direction: draw engine composites at G_h's size over the harmonizers' training photos (the 32 bundled
training photos and the photo pool's train split, with ``--set-aside`` its set-aside photos' train split too; by
default, as the shipped harmonizers' recipe, a third of the masks real people in their own photos and a tenth of the
photos black-and-white), keep them at the statistics' size with G_h's own colour-map coefficients, and fit the MLP so
that G_h's map plus its change brings the adjusted layer to the real photo (mean squared error over the adjusted
layer's coverage). G_h itself is not changed. Each corrector is written as a network folder
(``statistics_<direction>/``) for a release recipe.

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 python -m hamagan.training.colour_statistics \
        --checkpoint DEFAULT --out runs/statistics-v12 --count 16000 --epochs 40 [--direction background]

Drawing is most of the time (about 13 composites a second on one core, G_h included); the fit takes minutes.
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional
from tqdm import tqdm

from hamagan.data.harmonization_engine import HarmonizationEngine, HarmonizationSettings
from hamagan.data.hmh import adjusted_coverage
from hamagan.models.colour_statistics import STATISTICS_SIDE, ColourStatisticsCorrector, correction_inputs
from hamagan.models.harmonizer import AttentionUNetHarmonizer, apply_color_transform


@dataclass
class StatisticsSamples:
    """Composites at the statistics' size (N, 3, S, S), their alpha (N, 1, S, S), the real photos, the
    direction's G_h coefficients (N, 30, 1, 1) and, for a correction that reads them, G_h's pooled features
    (N, F, 1, 1)."""

    composite: torch.Tensor
    alpha: torch.Tensor
    real: torch.Tensor
    coefficients: torch.Tensor
    direction: str
    features: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.composite)

    def part(self, rows: slice) -> StatisticsSamples:
        return StatisticsSamples(self.composite[rows], self.alpha[rows], self.real[rows], self.coefficients[rows],
                                 self.direction, None if self.features is None else self.features[rows])

    def corrector(self) -> ColourStatisticsCorrector:
        """An untrained (zero) corrector that reads what these samples carry."""
        return ColourStatisticsCorrector(features=0 if self.features is None else self.features.shape[1])

    def coverage(self) -> torch.Tensor:
        """Where the adjusted layer shows (N, 1, S, S)."""
        return adjusted_coverage(self.alpha, self.direction)


def _to_tensor(arrays: list[np.ndarray]) -> torch.Tensor:
    stacked = np.stack([np.asarray(a, np.float32) for a in arrays])
    return torch.from_numpy(stacked[:, None] if stacked.ndim == 3 else stacked.transpose(0, 3, 1, 2))


@torch.no_grad()
def draw_samples(harmonizer: AttentionUNetHarmonizer, engine: HarmonizationEngine, direction: str, count: int,
                 batch: int = 64, progress: bool = True, features: bool = False) -> StatisticsSamples:
    """``count`` composites of ``engine`` (positions 0 ..), each with ``harmonizer``'s coefficients on it (and
    its pooled features, with ``features``)."""
    size = (STATISTICS_SIDE, STATISTICS_SIDE)
    parts: dict[str, list[torch.Tensor]] = {"composite": [], "alpha": [], "real": [], "coefficients": []}
    if features:
        if harmonizer.head is None:
            raise ValueError("only a masked_pooling harmonizer has pooled features to read")
        parts["features"] = []
    for start in tqdm(range(0, count, batch), desc=f"drawing {direction} composites", disable=not progress):
        draws = [engine(position, direction) for position in range(start, min(count, start + batch))]
        composite, alpha = _to_tensor([d.composite for d in draws]), _to_tensor([d.alpha for d in draws])
        coefficients, pooled = harmonizer.color_transform_and_features(composite, alpha)
        parts["coefficients"].append(coefficients.float())
        if features:
            parts["features"].append(pooled.float())
        parts["composite"].append(functional.interpolate(composite, size=size, mode="area"))
        parts["alpha"].append(functional.interpolate(alpha, size=size, mode="area"))
        parts["real"].append(functional.interpolate(_to_tensor([d.image for d in draws]), size=size, mode="area"))
    return StatisticsSamples(**{k: torch.cat(v) for k, v in parts.items()}, direction=direction)


@torch.no_grad()
def statistics_of(samples: StatisticsSamples, chunk: int = 1024) -> torch.Tensor:
    """:func:`correction_inputs` of every sample (N, inputs), a chunk at a time (its quantiles sort a copy)."""
    parts = [samples.part(slice(start, start + chunk)) for start in range(0, len(samples), chunk)]
    return torch.cat([correction_inputs(part.composite, part.alpha, part.features) for part in parts])


def corrected_error(corrector: ColourStatisticsCorrector, statistics: torch.Tensor, samples: StatisticsSamples,
                    index: torch.Tensor) -> torch.Tensor:
    """Per sample: the mean squared error over the adjusted layer of G_h's map plus the correction."""
    coefficients = samples.coefficients[index] + corrector.from_statistics(statistics[index])
    harmonized = apply_color_transform(coefficients, samples.composite[index]).clamp(0, 1)
    coverage = samples.coverage()[index]
    squared = (harmonized - samples.real[index]).square() * coverage
    return squared.sum(dim=(1, 2, 3)) / (coverage.sum(dim=(1, 2, 3)) * 3).clamp_min(1e-6)


def fit_corrector(samples: StatisticsSamples, epochs: int = 40, batch: int = 256, learning_rate: float = 1e-3,
                  seed: int = 0, log: Callable[[str], object] | None = print) -> ColourStatisticsCorrector:
    """A corrector fitted to ``samples`` (AdamW, one-cycle schedule)."""
    torch.manual_seed(seed)
    statistics = statistics_of(samples)
    corrector = samples.corrector()
    corrector.standardise_by(statistics)
    batch = max(1, min(batch, len(samples)))
    steps_per_epoch = max(1, len(samples) // batch)
    optimizer = torch.optim.AdamW(corrector.parameters(), lr=learning_rate, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, learning_rate, total_steps=epochs * steps_per_epoch,
                                                   pct_start=0.05)
    corrector.train()
    for epoch in range(epochs):
        order = torch.randperm(len(samples))
        losses = []
        for step in range(steps_per_epoch):
            loss = corrected_error(corrector, statistics, samples, order[step * batch:(step + 1) * batch]).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
        if log is not None and (epoch + 1) % max(1, epochs // 8) == 0:
            log(f"{samples.direction} epoch {epoch + 1}/{epochs}: loss {np.mean(losses):.5f}")
    return corrector.eval()


@torch.no_grad()
def fmse_cut(corrector: ColourStatisticsCorrector | None, samples: StatisticsSamples) -> float:
    """1 - (mean error with G_h's map, corrected) / (mean error of the composite), over the adjusted layer."""
    index = torch.arange(len(samples))
    coverage = samples.coverage()
    area = (coverage.sum(dim=(1, 2, 3)) * 3).clamp_min(1e-6)
    plain = ((samples.composite - samples.real).square() * coverage).sum(dim=(1, 2, 3)) / area
    if corrector is None:
        corrector = samples.corrector().eval()  # zero change: G_h alone
    statistics = statistics_of(samples)
    return 1 - corrected_error(corrector, statistics, samples, index).mean().item() / plain.mean().item()


def training_portraits(long_side: int = 512) -> list[tuple[np.ndarray, np.ndarray]]:
    """(photo, alpha) of the bundled portraits in the HMH build's train split, at ``long_side`` as the pool's
    photos of people are read."""
    from hamagan.data.builder import validation_portrait
    from hamagan.data.pool_people import resized
    from hamagan.images import to_array
    from hamagan.samples import portrait_ids, portrait_paths

    held_out = validation_portrait()
    ids = [i for i in portrait_ids("train") if i != held_out]
    return [(resized(to_array(image, 3), long_side), np.clip(resized(to_array(alpha, 1), long_side), 0.0, 1.0))
            for image, alpha in map(portrait_paths, ids)]


def set_aside_photos() -> list[np.ndarray]:
    """The photo pool's set-aside photos of its train split, loaded (none, with a warning, when not fetched)."""
    from hamagan.data.photo_pool import not_fetched, pool_photos
    from hamagan.training.samples import load_backgrounds

    paths = pool_photos(role="set-aside", split="train")
    if not paths:
        warnings.warn(not_fetched("no set-aside photos join the training photos"), stacklevel=2)
    return load_backgrounds(paths)


def main() -> None:
    from hamagan.pipeline import HaMaGANPipeline
    from hamagan.samples import portrait_cutouts
    from hamagan.training.config import TrainConfig
    from hamagan.training.loaders import training_people, training_photos
    from hamagan.weights import save_network, tensor_digest

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="DEFAULT", help="the pipeline whose harmonizers are corrected")
    parser.add_argument("--out", required=True, help="a folder for the statistics_<direction>/ network folders")
    parser.add_argument("--count", type=int, default=16000, help="composites per direction")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--held-in", type=int, default=1000, help="composites kept out of the fit, to report on")
    parser.add_argument("--people", type=float, default=0.3, help="share of masks that are real people (the pool's "
                        "training photos of people), as the shipped harmonizers' recipe draws")
    parser.add_argument("--greyscale", type=float, default=0.1, help="share of black-and-white photos, likewise")
    parser.add_argument("--cast", type=float, default=0.0, help="a colour cast of each whole photo before it is "
                        "composited: per-channel gains within exp(+-CAST) (HarmonizationSettings.cast)")
    parser.add_argument("--people-portraits", action="store_true", help="the HMH training portraits with their own "
                        "alpha join the photos of people (the validation and test portraits never do)")
    parser.add_argument("--set-aside", action="store_true", help="the photo pool's set-aside photos of its train split "
                        "(animals, monuments: kept from the person finder's settings, not from colour) join the "
                        "training photos")
    parser.add_argument("--features", action="store_true", help="the correction reads G_h's pooled features "
                        "beside the colour statistics")
    parser.add_argument("--direction", action="append", help="only this harmonizer's correction (repeatable; "
                        "two processes can share the work); default: every harmonizer of the checkpoint")
    args = parser.parse_args()
    pipe = HaMaGANPipeline.from_pretrained(None if args.checkpoint == "DEFAULT" else args.checkpoint)
    config = TrainConfig(stages=[{"name": "harmonization", "steps": 1}], datasets={"background": "unused"},
                         backgrounds="pool", held_out_backgrounds=8)
    photos, _ = training_photos(config)
    if args.set_aside:
        photos += set_aside_photos()
    shapes = [alpha for _, alpha in portrait_cutouts("train")]
    people = training_people() if args.people > 0 else ()
    if args.people > 0 and args.people_portraits:
        people = (*people, *training_portraits())
    settings = HarmonizationSettings(size=256, greyscale=args.greyscale, cast=args.cast)
    if people:
        settings.add_people(args.people)
    for offset, direction in enumerate(pipe.config.directions):
        if args.direction and direction not in args.direction:
            continue
        engine = HarmonizationEngine(photos, shapes, settings, seed=args.seed * 100 + offset, people=people)
        samples = draw_samples(pipe.harmonizers[direction], engine, direction, args.count + args.held_in,
                               features=args.features)
        held, fit = samples.part(slice(None, args.held_in)), samples.part(slice(args.held_in, None))
        corrector = fit_corrector(fit, args.epochs, seed=args.seed)
        print(f"{direction}: fMSE cut on {len(held)} held-in composites (training photos, other draws): "
              f"G_h {fmse_cut(None, held):.1%}, corrected {fmse_cut(corrector, held):.1%}")
        tensors = corrector.state_dict()
        folder = Path(args.out) / f"statistics_{direction}"
        save_network(tensors, corrector.config, folder)
        print(f"{folder}: digest {tensor_digest(tensors)}")


if __name__ == "__main__":
    main()
