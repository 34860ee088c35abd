"""Training samples from HMH rows: seeded by their position in the sample stream, so any process, worker
count or resumed run draws the same sample at the same position.

Two kinds:
- ``"crop"`` (matting): a random scale (0.6-1.2), a ``size`` crop centred near the soft edge, flips, and
  with probability ``1 - keep_original`` a Deep-Image-Matting composite of the foreground over another
  background photo; the trimap is regrown from the alpha with a random radius from ``trimap_radius``, uniform or,
  with ``trimap_radius_log``, log-uniform (as many narrow bands as wide ones).
- ``"full"`` (harmonization, joint): the whole row resized to a ``size`` square, as G_h runs at inference,
  with the layers the joint step needs: real image I, foreground F, inpainted background B, and the two
  layers of the disharmonious composite (the adjusted one and the real image). With probability
  ``fresh_background`` the portrait is recomposited over a random crop of a background photo and a fresh
  HMH transform (Reinhard towards another photo, illumination, or MSRCR with downscaled blurs) makes the
  disharmonious layer: with a dozen portraits, a harmonizer trained on their rows alone memorises their
  real backgrounds (measured: PSNR 22 dB on training rows, 9 dB on an unseen portrait, below the untouched
  composite's 17 dB). ``background_gamma`` re-exposes the photo first by a log-uniform gamma from that range,
  so that bright walls and skies are seen as real scenes, not only as brightened ones. Over a random photo the
  portrait's light has nothing to do with the scene's, so such a sample can only teach what scenes look like
  on average; with probability ``own_scene`` a fresh sample keeps the row's own scene instead (its foreground
  over its inpainted background), re-exposed as a whole by that gamma and by per-channel gains drawn
  log-uniformly from ``scene_gain``, so that portrait and background still agree and the transform is the
  only disharmony, as in the HMH rows. With probability ``photo_cutout`` the sample is a photo alone, cut in
  two by the row's alpha: the "portrait" layer is the part of the same photo under the silhouette, so the two
  layers share one real light on many more scenes than a dozen portraits own (iHarmony4's regions of real
  images, with portrait-shaped masks). With probability ``untouched`` a fresh composite gets no transform at
  all: the real image is its own composite, so that the harmonizer also sees layers that already agree.
With probability ``engine_share`` a matting crop comes from the matting data engine instead
(:mod:`hamagan.data.matting_engine`: procedural hair, smoke, lace and blurred shapes, and the rows' own cut-outs,
over the background photos), strand styles ``engine_styles``, family shares ``engine_families`` (the engine's own
when unset); with ``crop_sizes``, each batch of matting crops (the
engine's too) is drawn at one of those sizes, chosen by a seed and the batch's place in the stream, so that G_m
learns its working scale and smaller ones (the run's ``size`` stays the validation size); a share ``finder_trimaps``
of the matting crops, the engine's and the rows', get a trimap as the person finder makes it (a band around a
coarse, drifting copy of the mask: :func:`hamagan.data.matting_engine.finder_trimap`) instead of one grown from the
alpha; with probability ``harmonization_engine`` a harmonization sample comes from the harmonization engine
(:mod:`hamagan.data.harmonization_engine`: one background photo on both sides of a portrait's, a person's or an
object's mask, one side recoloured by one of ``harmonization_transforms``, the real photo the target; a share
``harmonization_greyscale`` of the photos turned black-and-white first; a share ``harmonization_people`` of its
masks are real people's, on their own photos: the photo pool's training photos of people, with the person finder's
masks; a share ``harmonization_untouched`` of its composites left as the real photo, layers that already agree).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from multiprocessing.context import BaseContext
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from hamagan.data.harmonization_engine import HarmonizationEngine, HarmonizationSettings
from hamagan.data.hmh import HMHRow, adjusted_layer, layers_by_direction
from hamagan.data.matting_engine import EngineSettings, MattingEngine, finder_trimap, random_square
from hamagan.data.transforms import ALL_TRANSFORMS, apply_transform, random_transform
from hamagan.images import to_array
from hamagan.trimap import trimap_from_alpha
from hamagan.workers import worker_context


@dataclass(kw_only=True)
class SampleRecipe:
    """What a run's samples are made of: set once in the training config (see the module docstring)."""

    scale: tuple[float, float] = (0.6, 1.2)
    trimap_radius: tuple[int, int] = (3, 15)
    trimap_radius_log: bool = False
    keep_original: float = 0.3
    fresh_background: float = 0.0
    background_gamma: tuple[float, float] = (1.0, 1.0)
    own_scene: float = 0.0
    scene_gain: tuple[float, float] = (1.0, 1.0)
    photo_cutout: float = 0.0
    untouched: float = 0.0
    engine_share: float = 0.0
    engine_styles: tuple[str, ...] = ("straight", "curly")
    engine_families: dict[str, float] | None = None
    crop_sizes: tuple[int, ...] = ()
    finder_trimaps: float = 0.0
    harmonization_engine: float = 0.0
    harmonization_transforms: tuple[str, ...] = ALL_TRANSFORMS
    harmonization_greyscale: float = 0.0
    harmonization_people: float = 0.0
    harmonization_untouched: float = HarmonizationSettings.untouched

    def __post_init__(self) -> None:
        self.scale, self.trimap_radius = tuple(self.scale), tuple(self.trimap_radius)
        self.background_gamma, self.scene_gain = tuple(self.background_gamma), tuple(self.scene_gain)
        shares = (self.own_scene, self.photo_cutout)
        if min(shares) < 0 or sum(shares) > 1:
            raise ValueError(f"own_scene and photo_cutout are shares of the fresh composites: each at least 0 and "
                             f"together at most 1, got {self.own_scene} and {self.photo_cutout}")
        if not 0 <= self.untouched <= 1:
            raise ValueError(f"untouched is a share of the fresh composites (0 to 1), got {self.untouched}")
        if not 0 <= self.engine_share <= 1:
            raise ValueError(f"engine_share is a share of the matting crops (0 to 1), got {self.engine_share}")
        if not 0 <= self.finder_trimaps <= 1:
            raise ValueError(f"finder_trimaps is a share of the matting crops (0 to 1), got {self.finder_trimaps}")
        if not 0 <= self.harmonization_engine <= 1:
            raise ValueError(f"harmonization_engine is a share of the harmonization samples (0 to 1), got "
                             f"{self.harmonization_engine}")
        if not 0 <= self.harmonization_people <= 1:
            raise ValueError(f"harmonization_people is a share of the harmonization engine's masks (0 to 1), got "
                             f"{self.harmonization_people}")
        if not 0 <= self.harmonization_untouched <= 1:
            raise ValueError(f"harmonization_untouched is a share of the harmonization engine's composites (0 to 1), "
                             f"got {self.harmonization_untouched}")
        if self.trimap_radius_log and self.trimap_radius[0] < 1:
            raise ValueError(f"log-uniform trimap radii start at 1 or more, got {self.trimap_radius}")
        self.engine_styles = tuple(self.engine_styles)
        if self.engine_families is not None:
            EngineSettings(families=self.engine_families)  # its checks: known families, shares that add up
        self.crop_sizes = tuple(self.crop_sizes)
        if any(size < 32 or size % 32 for size in self.crop_sizes):
            raise ValueError(f"crop_sizes are multiples of 32 (G_m's stride), got {self.crop_sizes}")
        self.harmonization_transforms = tuple(self.harmonization_transforms)

    def recipe(self) -> dict:
        """This recipe's fields, as keyword arguments of :class:`SampleOptions`."""
        return {f.name: getattr(self, f.name) for f in fields(SampleRecipe)}


@dataclass(kw_only=True)
class SampleOptions(SampleRecipe):
    """How one stage draws samples from rows: the recipe, the kind ("crop" or "full") and size; ``batch_size``:
    the stream's positions that share one of the ``crop_sizes``."""

    kind: str = "crop"
    size: int = 256
    batch_size: int = 1
    edge_centred: float = 0.8
    flip: bool = True


def _log_uniform(rng: np.random.Generator, bounds: tuple[float, float], size: int | None = None) -> np.ndarray:
    return np.exp(rng.uniform(np.log(bounds[0]), np.log(bounds[1]), size))


def load_backgrounds(paths: Sequence[Path], long_side: int = 640) -> list[np.ndarray]:
    """Background photos for DIM-style composites, as uint8 arrays with at most ``long_side`` pixels."""
    out = []
    for path in paths:
        array = np.round(to_array(path, 3) * 255).astype(np.uint8)
        scale = min(1.0, long_side / max(array.shape[:2]))
        if scale < 1:
            size = (round(array.shape[1] * scale), round(array.shape[0] * scale))
            array = cv2.resize(array, size, interpolation=cv2.INTER_AREA)
        out.append(array)
    return out


def _scale_layers(layers: dict[str, np.ndarray], scale: float, min_side: int) -> dict[str, np.ndarray]:
    h, w = layers["alpha"].shape
    scale = max(scale, min_side / min(h, w))
    size = (max(min_side, round(w * scale)), max(min_side, round(h * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return {k: cv2.resize(v, size, interpolation=interpolation) for k, v in layers.items()}


def loader_context() -> BaseContext:
    """How DataLoader workers start: forked from a server that imported torch and this module once."""
    return worker_context(["torch", "cv2", __name__])


def init_loader_worker(worker_id: int) -> None:
    """A DataLoader worker: OpenCV on one thread (torch already is), so that many workers share the cores
    instead of each starting a thread per core; SIGTERM ignored, so that a signal to the whole process group
    reaches the training process, which saves and then shuts its workers down."""
    cv2.setNumThreads(1)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _to_tensor(array: np.ndarray) -> torch.Tensor:
    array = array.astype(np.float32) / 255.0 if array.dtype == np.uint8 else array.astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(array[None] if array.ndim == 2 else array.transpose(2, 0, 1)))


class HMHSamples(Dataset):
    """Map-style dataset indexed by stream position: position p draws row perm_epoch[p mod n].

    Args:
        rows: a ``datasets.Dataset`` (or any sequence of dicts) of HMH rows.
        options: how samples are drawn.
        backgrounds: photos for DIM-style composites (crop kind); none keeps every original image.
        seed: the stream's seed; epochs are reshuffled with ``seed + epoch``.
        cache: keep decoded rows in memory (small datasets).
        shuffle: reshuffle rows every epoch; without it position p draws row p mod n.
    """

    def __init__(self, rows, options: SampleOptions, backgrounds: Sequence[np.ndarray] = (), seed: int = 0,
                 cache: bool = True, shuffle: bool = True, people: Sequence[tuple[np.ndarray, np.ndarray]] = ()
                 ) -> None:
        if len(rows) == 0:
            raise ValueError("the training split has no rows")
        if options.kind not in ("crop", "full"):
            raise ValueError(f"sample kind must be 'crop' or 'full', got {options.kind!r}")
        self.rows, self.options, self.backgrounds, self.seed = rows, options, list(backgrounds), seed
        self.people = list(people)
        self.shuffle = shuffle
        self._cache: dict[int, HMHRow] | None = {} if cache else None
        self._permutations: dict[int, np.ndarray] = {}
        self._engines: dict[int, MattingEngine] = {}
        self._harmonization_engine: HarmonizationEngine | None = None

    def engine_at(self, size: int) -> MattingEngine:
        """The matting data engine over the background photos and the rows' cut-outs, drawing ``size`` squares
        (made on first use)."""
        if size not in self._engines:
            rows = [self._row(index) for index in range(len(self.rows))]
            cutouts = [(row.floats("foreground"), row.floats("alpha")) for row in rows]
            families = {"families": self.options.engine_families} if self.options.engine_families else {}
            settings = EngineSettings(size=size, styles=self.options.engine_styles,
                                      finder_bands=self.options.finder_trimaps, **families)
            self._engines[size] = MattingEngine(self.backgrounds, cutouts, settings, seed=self.seed)
        return self._engines[size]

    def crop_size(self, position: int) -> int:
        """The size of the matting crop at ``position``: one of ``crop_sizes`` per batch, else the options' size."""
        sizes = self.options.crop_sizes
        if not sizes:
            return self.options.size
        batch = position // self.options.batch_size
        return sizes[int(np.random.default_rng([self.seed, 3, batch]).integers(len(sizes)))]

    @property
    def harmonization_engine(self) -> HarmonizationEngine:
        """The harmonization engine over the background photos and the rows' alphas (made on first use)."""
        if self._harmonization_engine is None:
            shapes = [self._row(index).floats("alpha") for index in range(len(self.rows))]
            settings = HarmonizationSettings(size=self.options.size, transforms=self.options.harmonization_transforms,
                                             greyscale=self.options.harmonization_greyscale,
                                             untouched=self.options.harmonization_untouched)
            share = self.options.harmonization_people if self.people else 0.0
            if share:
                settings.add_people(share)
            self._harmonization_engine = HarmonizationEngine(self.backgrounds, shapes, settings, seed=self.seed,
                                                             people=self.people)
        return self._harmonization_engine

    def __len__(self) -> int:
        return len(self.rows)

    def row_index(self, position: int) -> int:
        epoch, offset = divmod(position, len(self.rows))
        if not self.shuffle:
            return offset
        if epoch not in self._permutations:
            self._permutations = {epoch: np.random.default_rng([self.seed, epoch]).permutation(len(self.rows))}
        return int(self._permutations[epoch][offset])

    def _row(self, index: int) -> HMHRow:
        if self._cache is None:
            return HMHRow.decode(self.rows[index])
        if index not in self._cache:
            self._cache[index] = HMHRow.decode(self.rows[index])
        return self._cache[index]

    def __getitem__(self, position: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, 1, position])
        row = self._row(self.row_index(position))
        uses_engine = self.options.kind == "crop" and self.options.engine_share and self.backgrounds
        if uses_engine and rng.random() < self.options.engine_share:  # drawn only when used: older recipes unchanged
            drawn = self.engine_at(self.crop_size(position))(position)
            return {k: _to_tensor(getattr(drawn, k)) for k in ("image", "alpha", "foreground", "background",
                                                                "trimap")}
        if self.options.kind == "crop":
            sample = self._crop(rng, row, self.crop_size(position))
        elif self.options.harmonization_engine and rng.random() < self.options.harmonization_engine:
            sample = self._engine_composite(position, row.direction)
        elif self.backgrounds and rng.random() < self.options.fresh_background:
            sample = self._recomposite(rng, row)
        else:
            sample = self._full(row)
        if self.options.flip and rng.random() < 0.5:
            sample = {k: v[:, ::-1] for k, v in sample.items()}
        alpha = sample["alpha"].astype(np.float32) / 255.0
        radius = self._trimap_radius(rng)
        out = {k: _to_tensor(v) for k, v in sample.items()}
        finder = self.options.kind == "crop" and self.options.finder_trimaps and (
            rng.random() < self.options.finder_trimaps)  # drawn only when used: older recipes unchanged
        out["trimap"] = _to_tensor(finder_trimap(rng, alpha, radius) if finder else trimap_from_alpha(alpha, radius))
        return out

    def _trimap_radius(self, rng: np.random.Generator) -> int:
        low, high = self.options.trimap_radius
        if self.options.trimap_radius_log:
            return int(np.floor(_log_uniform(rng, (low, high + 1))))
        return int(rng.integers(low, high + 1))

    def _crop(self, rng: np.random.Generator, row: HMHRow, size: int) -> dict[str, np.ndarray]:
        picked = {k: row.layers[k] for k in ("image", "alpha", "foreground", "background")}
        scaled = _scale_layers(picked, float(rng.uniform(*self.options.scale)), size)
        alpha = scaled["alpha"]
        h, w = alpha.shape
        edge = np.argwhere((alpha > 0) & (alpha < 255))
        if len(edge) and rng.random() < self.options.edge_centred:
            cy, cx = edge[int(rng.integers(len(edge)))]
        else:
            cy, cx = int(rng.integers(h)), int(rng.integers(w))
        y = int(np.clip(cy - size // 2, 0, h - size))
        x = int(np.clip(cx - size // 2, 0, w - size))
        crop = {k: v[y:y + size, x:x + size] for k, v in scaled.items()}
        if self.backgrounds and rng.random() >= self.options.keep_original:
            photo = self.backgrounds[int(rng.integers(len(self.backgrounds)))]
            new_background = random_square(rng, photo, size, 2).astype(np.float32)
            a = crop["alpha"][..., None].astype(np.float32) / 255.0
            mixed = a * crop["foreground"].astype(np.float32) + (1 - a) * new_background
            crop["image"] = np.clip(np.round(mixed), 0, 255).astype(np.uint8)
            crop["background"] = new_background.astype(np.uint8)
        return crop

    def _engine_composite(self, position: int, direction: str) -> dict[str, np.ndarray]:
        drawn = self.harmonization_engine(position, direction)
        layers = {"image": drawn.image, "alpha": drawn.alpha, "foreground": drawn.image, "background": drawn.image,
                  "layer_fg": drawn.layer_fg, "layer_bg": drawn.layer_bg}
        return {k: np.round(np.clip(v, 0, 1) * 255).astype(np.uint8) for k, v in layers.items()}

    def _full(self, row: HMHRow) -> dict[str, np.ndarray]:
        size = (self.options.size, self.options.size)
        layers = {**{k: row.layers[k] for k in ("image", "alpha", "foreground", "background")},
                  "layer_fg": row.layer_fg, "layer_bg": row.layer_bg}
        return {k: cv2.resize(v, size, interpolation=cv2.INTER_AREA) for k, v in layers.items()}

    def _recomposite(self, rng: np.random.Generator, hmh_row: HMHRow) -> dict[str, np.ndarray]:
        size = self.options.size
        row = self._full(hmh_row)
        photos = [self.backgrounds[int(i)] for i in rng.integers(len(self.backgrounds), size=2)]
        background, target = (random_square(rng, p, size, 2).astype(np.float32) / 255 for p in photos)
        foreground = row["foreground"].astype(np.float32) / 255
        exposed = self.options.background_gamma != (1.0, 1.0)  # draws only what the options use (older recipes)
        gamma = np.float32(_log_uniform(rng, self.options.background_gamma) if exposed else 1.0)
        own, cutout = self.options.own_scene, self.options.photo_cutout
        share = rng.random() if own or cutout else 1.0  # one draw, as recipes without cutouts drew
        if share < own:  # its own scene: the light agrees
            gain = _log_uniform(rng, self.options.scene_gain, 3).astype(np.float32)
            foreground, background = (np.clip((layer ** gamma) * gain, 0, 1)
                                      for layer in (foreground, row["background"].astype(np.float32) / 255))
        elif share < own + cutout:  # one re-exposed photo on both sides of the silhouette
            foreground = background = background ** gamma
        else:  # a re-exposed photo: bright walls and skies are real scenes too
            background = background ** gamma
        a = row["alpha"][..., None].astype(np.float32) / 255
        image = a * foreground + (1 - a) * background
        params = random_transform(rng, ["photo"])
        keep = bool(self.options.untouched) and rng.random() < self.options.untouched  # last: older recipes unchanged
        layer = adjusted_layer(image, background, hmh_row.direction)
        adjusted = layer if keep else apply_transform(layer, params, target, fast=True)
        layer_fg, layer_bg = layers_by_direction(adjusted, image, hmh_row.direction)
        out = {"image": image, "foreground": foreground, "background": background, "layer_fg": layer_fg,
               "layer_bg": layer_bg}
        row.update({k: np.round(np.clip(v, 0, 1) * 255).astype(np.uint8) for k, v in out.items()})
        return row


class StreamSampler(Sampler[int]):
    """This process's share of an endless stream of positions, from ``start_step`` on.

    Step s of a run with ``world_size`` processes uses positions [s W B, (s + 1) W B); process r takes
    the r-th block of B. A resumed run passes the step it stopped at and draws exactly what it would have.
    """

    def __init__(self, batch_size: int, rank: int = 0, world_size: int = 1, start_step: int = 0) -> None:
        self.batch_size, self.rank, self.world_size, self.start_step = batch_size, rank, world_size, start_step

    def __iter__(self) -> Iterator[int]:
        step = self.start_step
        while True:
            first = (step * self.world_size + self.rank) * self.batch_size
            yield from range(first, first + self.batch_size)
            step += 1
