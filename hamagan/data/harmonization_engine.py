"""Unlimited harmonization composites from real photos: one photo on both sides of a mask, one side recoloured.

The real photo is the target, as in iHarmony4: a crop of a photo, a mask (a portrait's alpha placed at a random
size and position, often cut by the frame's edge; a procedural silhouette of a person; an object's shape; or, with
``person`` masks, a photo of real people and their own mask), and one transform (the HMH transforms and camera-
style changes, :mod:`hamagan.data.transforms`) applied to the layer the direction names: the rest of the photo
(``background``) or what is under the mask (``foreground``). With a handful of portraits the harmonizer learns
their scenes; over every photo the project can use it sees many more lights. Everything is drawn from
``numpy.random.default_rng([seed, 2, position])``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from hamagan.data.hmh import check_direction, composite, layers_by_direction
from hamagan.data.matting_engine import photo_square
from hamagan.data.transforms import ALL_TRANSFORMS, apply_transform, random_transform

MASK_KINDS = ("portrait", "silhouette", "object", "person")


@dataclass
class HarmonizationSettings:
    """What the engine draws: the square ``size``, the share of each mask kind (``person``: one of the
    engine's photos of people with their own mask, the person or the rest recoloured), the transforms, the mask's
    coverage of the frame, a log-uniform re-exposure ``gamma`` of the photo, the share left ``untouched``
    (the real photo as its own composite: layers that already agree), the share of photos turned
    ``greyscale`` first (black-and-white photos exist: a grey scene must stay grey), and a colour ``cast`` of the
    whole photo before it is composited: per-channel gains drawn log-uniform within ``exp(±cast)``, then divided by
    their mean (the real photo then says how its layers relate, not which colours one photo has; 0 draws none)."""

    size: int = 256
    masks: dict[str, float] = field(default_factory=lambda: {"portrait": 0.5, "silhouette": 0.3, "object": 0.2})
    transforms: tuple[str, ...] = ALL_TRANSFORMS
    coverage: tuple[float, float] = (0.03, 0.7)
    gamma: tuple[float, float] = (0.7, 1.4)
    untouched: float = 0.05
    greyscale: float = 0.0
    cast: float = 0.0

    def __post_init__(self) -> None:
        unknown = set(self.masks) - set(MASK_KINDS) or set(self.transforms) - set(ALL_TRANSFORMS)
        if unknown:
            raise ValueError(f"unknown mask kinds or transforms: {sorted(unknown)}")
        if not self.transforms or sum(self.masks.values()) <= 0:
            raise ValueError("the engine needs at least one transform and one mask kind with a positive share")
        self.transforms = tuple(self.transforms)

    def add_people(self, share: float) -> None:
        """Make ``share`` of the masks real people, the other kinds' shares scaled down to make room."""
        self.masks = {**{k: v * (1 - share) for k, v in self.masks.items()}, "person": share}


@dataclass
class HarmonizationDraw:
    """One composite: the real photo ``image``, the mask ``alpha`` (HxW), the two layers (HxWx3, float32 in
    [0, 1]) of the disharmonious composite, and what made it."""

    image: np.ndarray
    alpha: np.ndarray
    layer_fg: np.ndarray
    layer_bg: np.ndarray
    transform: dict
    mask: str

    @property
    def composite(self) -> np.ndarray:
        return composite(self.layer_fg, self.layer_bg, self.alpha[..., None])


def _feathered(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return cv2.GaussianBlur(mask.astype(np.float32), (0, 0), float(rng.uniform(0.5, 2.5)))


def placed_shape(rng: np.random.Generator, shape: np.ndarray, size: int) -> np.ndarray:
    """A portrait's alpha, cropped to its bounding box, scaled to 30-110% of the frame's height, flipped half
    the time, and placed with its bottom near (or below) the frame's bottom edge, as people stand in photos."""
    ys, xs = np.nonzero(shape > 0.02)
    cut = shape[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    height = max(8, round(size * rng.uniform(0.3, 1.1)))
    width = max(4, round(cut.shape[1] * height / cut.shape[0]))
    scaled = cv2.resize(cut, (width, height), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.5:
        scaled = scaled[:, ::-1]
    bottom = round(size * rng.uniform(0.75, 1.3))
    left = round(rng.uniform(-0.3 * width, size - 0.7 * width))
    out = np.zeros((size, size), np.float32)
    y0, x0 = bottom - height, left
    oy, ox = max(0, -y0), max(0, -x0)
    y1, x1 = min(size, y0 + height), min(size, x0 + width)
    if y1 > max(0, y0) and x1 > max(0, x0):
        out[max(0, y0):y1, max(0, x0):x1] = scaled[oy:oy + y1 - max(0, y0), ox:ox + x1 - max(0, x0)]
    return out


def silhouette(rng: np.random.Generator, size: int) -> np.ndarray:
    """A procedural person: a head, a torso (rounded at the shoulders) and sometimes arms, at a random size
    and position, feathered."""
    mask = np.zeros((size, size), np.uint8)
    scale = size * rng.uniform(0.15, 0.45)
    cx, top = rng.uniform(0.1, 0.9) * size, rng.uniform(0.05, 0.6) * size
    head = (round(cx + rng.normal(0, 0.05) * scale), round(top + 0.35 * scale))
    cv2.ellipse(mask, head, (round(0.28 * scale), round(0.36 * scale)), float(rng.normal(0, 10)), 0, 360, 1, -1)
    shoulder, waist = 0.7 * scale * rng.uniform(0.8, 1.3), 0.5 * scale * rng.uniform(0.8, 1.3)
    neck, hips = top + 0.8 * scale, top + scale * rng.uniform(2.0, 4.0)
    torso = np.array([[cx - shoulder, neck + 0.2 * scale], [cx - 0.2 * scale, neck], [cx + 0.2 * scale, neck],
                      [cx + shoulder, neck + 0.2 * scale], [cx + waist, hips], [cx - waist, hips]])
    cv2.fillPoly(mask, [np.round(torso).astype(np.int32)], 1)
    cv2.ellipse(mask, (round(cx), round(neck + 0.25 * scale)), (round(shoulder), round(0.3 * scale)), 0, 180, 360,
                1, -1)
    for side in (-1, 1):
        if rng.random() < 0.6:
            start = (round(cx + side * shoulder * 0.9), round(neck + 0.3 * scale))
            angle = np.pi / 2 + side * rng.uniform(-0.3, 1.2)
            end = (round(start[0] + np.cos(angle) * 1.6 * scale * side), round(start[1] + np.sin(angle) * 1.6 * scale))
            cv2.line(mask, start, end, 1, max(2, round(0.22 * scale)))
    return _feathered(mask, rng)


def object_shape(rng: np.random.Generator, size: int) -> np.ndarray:
    """An object: a random convex polygon or ellipse, 15-70% of the frame across, feathered."""
    mask = np.zeros((size, size), np.uint8)
    extent = size * rng.uniform(0.15, 0.7)
    centre = rng.uniform(0.15, 0.85, 2) * size
    if rng.random() < 0.5:
        points = centre + rng.uniform(-0.5, 0.5, (int(rng.integers(3, 9)), 2)) * extent
        cv2.fillConvexPoly(mask, cv2.convexHull(np.round(points).astype(np.int32)), 1)
    else:
        axes = (round(extent * rng.uniform(0.2, 0.5)), round(extent * rng.uniform(0.2, 0.5)))
        cv2.ellipse(mask, tuple(np.round(centre).astype(int).tolist()), axes, float(rng.uniform(0, 180)), 0, 360, 1,
                    -1)
    return _feathered(mask, rng)


class HarmonizationEngine:
    """Draws composites from ``photos`` (uint8 or float arrays) and portrait ``shapes`` (alphas, HxW in [0, 1])."""

    def __init__(self, photos: Sequence[np.ndarray], shapes: Sequence[np.ndarray],
                 settings: HarmonizationSettings | None = None, seed: int = 0,
                 people: Sequence[tuple[np.ndarray, np.ndarray]] = ()) -> None:
        if len(photos) < 2:
            raise ValueError(f"the harmonization engine needs at least two photos, got {len(photos)}")
        self.photos, self.shapes, self.people = list(photos), list(shapes), list(people)
        self.settings, self.seed = settings or HarmonizationSettings(), seed
        if self.settings.masks.get("person", 0) > 0 and not self.people:
            raise ValueError("person masks need photos of people with their masks (people=[(photo, mask), ...])")
        kinds = [k for k, share in self.settings.masks.items() if share > 0 and (k != "portrait" or self.shapes)]
        if not kinds:
            raise ValueError("portrait masks need at least one shape")
        shares = np.array([self.settings.masks[k] for k in kinds])
        self._kinds, self._shares = kinds, shares / shares.sum()

    def kind(self, rng: np.random.Generator) -> str:
        """A mask kind, drawn by the settings' shares."""
        return str(rng.choice(self._kinds, p=self._shares))

    def shape(self, rng: np.random.Generator, kind: str) -> np.ndarray:
        """A drawn shape of ``kind`` (any but ``person``, whose mask comes with its photo: :meth:`person`)
        covering a share of the frame within the settings' ``coverage`` (redrawn until it does)."""
        size, (low, high) = self.settings.size, self.settings.coverage
        for _ in range(20):
            if kind == "portrait":
                alpha = placed_shape(rng, self.shapes[int(rng.integers(len(self.shapes)))], size)
            else:
                alpha = silhouette(rng, size) if kind == "silhouette" else object_shape(rng, size)
            if low <= float(alpha.mean()) <= high:
                break
        return np.clip(alpha, 0, 1).astype(np.float32)

    def person(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """One of the photos of people (float32 in [0, 1]) and its mask, cropped alike to a square of 60-100% of
        the photo's short side that holds the centre of the person's mask, at the settings' ``size``, flipped half
        the time."""
        photo, mask = self.people[int(rng.integers(len(self.people)))]
        height, width = mask.shape
        side = max(1, round(min(height, width) * rng.uniform(0.6, 1.0)))
        ys, xs = np.nonzero(mask > 0.5)
        cy, cx = (ys.mean(), xs.mean()) if len(ys) else (height / 2, width / 2)
        top = int(np.clip(round(cy - side * rng.uniform(0.2, 0.8)), 0, height - side))
        left = int(np.clip(round(cx - side * rng.uniform(0.2, 0.8)), 0, width - side))
        size = (self.settings.size, self.settings.size)
        square = cv2.resize(photo[top:top + side, left:left + side], size, interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(mask[top:top + side, left:left + side].astype(np.float32), size,
                           interpolation=cv2.INTER_AREA)
        if rng.random() < 0.5:
            square, alpha = square[:, ::-1], alpha[:, ::-1]
        scale = 255.0 if square.dtype == np.uint8 else 1.0
        return (np.ascontiguousarray(square, dtype=np.float32) / np.float32(scale),
                np.ascontiguousarray(np.clip(alpha, 0, 1), dtype=np.float32))

    def __call__(self, position: int, direction: str = "background") -> HarmonizationDraw:
        direction = check_direction(direction)
        rng = np.random.default_rng([self.seed, 2, position])
        first, second = rng.choice(len(self.photos), size=2, replace=False)
        image = photo_square(rng, self.photos[int(first)], self.settings.size)
        low, high = np.log(self.settings.gamma[0]), np.log(self.settings.gamma[1])
        exponent = np.float32(np.exp(rng.uniform(low, high)))
        grey = bool(self.settings.greyscale) and rng.random() < self.settings.greyscale  # drawn only when used
        kind = self.kind(rng)
        if kind == "person":  # drawn after the others: recipes without person masks draw as before
            image, alpha = self.person(rng)
        else:
            alpha = self.shape(rng, kind)
        image = (image ** exponent).astype(np.float32)
        if self.settings.cast > 0:  # drawn only when used: recipes without it draw as before
            gains = np.exp(rng.uniform(-self.settings.cast, self.settings.cast, 3))
            image = np.clip(image * (gains / gains.mean()).astype(np.float32), 0.0, 1.0)
        if grey:
            image = np.repeat(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
        params = random_transform(rng, ["photo"], names=self.settings.transforms)
        target = photo_square(rng, self.photos[int(second)], self.settings.size)
        if rng.random() < self.settings.untouched:
            adjusted, params = image, {"name": "untouched"}
        else:
            adjusted = apply_transform(image, params, target, fast=True)
        layer_fg, layer_bg = layers_by_direction(adjusted, image, direction)
        return HarmonizationDraw(image, alpha, layer_fg, layer_bg, params, kind)
