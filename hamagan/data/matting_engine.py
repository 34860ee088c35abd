"""Unlimited matting samples with exact alpha: procedural mattes and real cut-outs over real photos.

Each sample is a foreground F with its alpha A over a background B (a crop of a real photo), and the image
I = A·F + (1 − A)·B computed exactly from them, with a trimap as people and datasets make them. Families:

- ``portrait``: a training portrait's cut-out; ``portrait_texture``: its alpha with the colours of a real
  photo (MG Matting's unpaired augmentation); ``merged``: two cut-outs, A = 1 − (1 − A1)(1 − A2);
- ``hair`` and ``fur`` styles of strands (hundreds to thousands of anti-aliased curved strands grown from an
  edge, in clumps, 0.3-3 px wide, of varying opacity and colour);
- ``smoke``: tinted semi-transparent noise fields; ``lace``: lattices with holes; ``blur``: hard shapes under
  motion or defocus blur.

Strand styles and photos are split: ``HELD_OUT_STYLES`` never reach training (validation sets draw them), and
the caller passes training and held-out photos apart. Degradations (noise, blur, JPEG) are applied to F and
B alike before compositing, so that no layer gives itself away and I still recomposites exactly. Everything
is drawn from ``numpy.random.default_rng([seed, position])``: a seed and a position give the same sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

STRAND_STYLES: dict[str, dict[str, tuple[float, float]]] = {
    # strands per clump, clumps, length (share of the side), width (px), curl (radians per step), opacity
    "straight": {"strands": (15, 40), "clumps": (15, 40), "length": (0.25, 0.7), "width": (0.5, 2.0),
                 "curl": (0.0, 0.02), "opacity": (0.5, 1.0)},
    "curly": {"strands": (10, 30), "clumps": (20, 50), "length": (0.15, 0.5), "width": (0.6, 2.5),
              "curl": (0.08, 0.25), "opacity": (0.5, 1.0)},
    "wavy_fine": {"strands": (30, 70), "clumps": (15, 35), "length": (0.3, 0.8), "width": (0.3, 1.0),
                  "curl": (0.03, 0.08), "opacity": (0.3, 0.9)},
    "fur": {"strands": (40, 90), "clumps": (30, 70), "length": (0.04, 0.15), "width": (0.8, 3.0),
            "curl": (0.0, 0.05), "opacity": (0.6, 1.0)},
}
HELD_OUT_STYLES = ("wavy_fine", "fur")
FAMILIES = ("portrait", "portrait_texture", "merged", "strands", "smoke", "lace", "blur")


@dataclass
class EngineSettings:
    """What the engine draws: the share of each family, the strand styles, the crop size, trimap bands of
    ``band`` pixels at long side 512 (scaled to ``size``; a share ``finder_bands`` of them around a person
    finder's mask instead of the true edge, :func:`finder_trimap`), and how often each degradation happens."""

    size: int = 256
    families: dict[str, float] = field(default_factory=lambda: {
        "portrait": 0.2, "portrait_texture": 0.1, "merged": 0.1, "strands": 0.35, "smoke": 0.08, "lace": 0.07,
        "blur": 0.1})
    styles: tuple[str, ...] = ("straight", "curly")
    band: tuple[float, float] = (5, 60)
    brushed: float = 0.3
    finder_bands: float = 0.0
    noise: float = 0.3
    blur: float = 0.2
    jpeg: float = 0.3

    def __post_init__(self) -> None:
        unknown = set(self.families) - set(FAMILIES) or set(self.styles) - set(STRAND_STYLES)
        if unknown:
            raise ValueError(f"unknown families or strand styles: {sorted(unknown)}")
        if not self.families or min(self.families.values()) < 0 or sum(self.families.values()) <= 0:
            raise ValueError("families need non-negative shares that sum to more than 0")
        if not 0 <= self.finder_bands <= 1:
            raise ValueError(f"finder_bands is a share of the trimaps (0 to 1), got {self.finder_bands}")


@dataclass
class MattingSample:
    """float32 layers in [0, 1]: image, foreground and background HxWx3, alpha and trimap (0, 0.5, 1) HxW."""

    image: np.ndarray
    alpha: np.ndarray
    foreground: np.ndarray
    background: np.ndarray
    trimap: np.ndarray
    family: str


def random_square(rng: np.random.Generator, photo: np.ndarray, size: int, divisor: int, at_least: int = 1
                  ) -> np.ndarray:
    """A random square of a photo, its side from ``max(at_least, short side // divisor)`` to the short side,
    resized to ``size`` (area averaging), in the photo's dtype."""
    h, w = photo.shape[:2]
    side = int(rng.integers(max(at_least, min(h, w) // divisor), min(h, w) + 1))
    y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    return cv2.resize(photo[y:y + side, x:x + side], (size, size), interpolation=cv2.INTER_AREA)


def photo_square(rng: np.random.Generator, photo: np.ndarray, size: int) -> np.ndarray:
    """A random square of a photo at a random scale, resized to ``size``, flipped half the time, as float32
    in [0, 1]."""
    square = random_square(rng, photo, size, 3, at_least=8)
    if rng.random() < 0.5:
        square = square[:, ::-1]
    return np.ascontiguousarray(square, dtype=np.float32) / (255.0 if photo.dtype == np.uint8 else 1.0)


def _palette(rng: np.random.Generator, photo: np.ndarray) -> np.ndarray:
    """A colour of a real photo (one pixel of a blurred random crop)."""
    small = photo_square(rng, photo, 16)
    return small[int(rng.integers(16)), int(rng.integers(16))]


def _noise_field(rng: np.random.Generator, size: int, scale: float) -> np.ndarray:
    """Smooth noise in [0, 1]: white noise blurred at ``scale`` pixels, stretched to its range."""
    field_ = cv2.GaussianBlur(rng.standard_normal((size, size)).astype(np.float32), (0, 0), scale)
    return (field_ - field_.min()) / max(float(np.ptp(field_)), 1e-6)


def _edge(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A solid region (a large ellipse, partly in the frame) as a mask, and points on its boundary with their
    outward normals."""
    mask = np.zeros((size, size), np.uint8)
    centre = (int(rng.uniform(0.0, 1.0) * size), int(rng.uniform(0.7, 1.2) * size))  # always partly in frame
    axes = (int(rng.uniform(0.3, 0.9) * size), int(rng.uniform(0.4, 0.8) * size))
    angle = float(rng.uniform(-40, 40))
    cv2.ellipse(mask, centre, axes, angle, 0, 360, 1, -1)
    contour = cv2.ellipse2Poly(centre, axes, int(angle), 0, 360, 2).astype(np.float32)
    inside = (contour[:, 0] >= 0) & (contour[:, 0] < size) & (contour[:, 1] >= 0) & (contour[:, 1] < size)
    points = contour[inside] if inside.sum() >= 8 else contour
    normals = points - np.array(centre, np.float32)
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-6)
    return mask, np.concatenate([points, normals], axis=1)


def strands(rng: np.random.Generator, size: int, style: str, photo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hair or fur: clumps of curved strands grown outward from the edge of a solid region, drawn 4x
    supersampled and area-averaged, so that thin strands get their exact fractional coverage."""
    params, up = STRAND_STYLES[style], 4
    big = size * up
    solid, boundary = _edge(rng, size)
    density = np.zeros((big, big), np.float32)
    colour = np.zeros((big, big, 3), np.float32)
    base = _palette(rng, photo)
    for _ in range(int(rng.integers(*params["clumps"]))):
        root, normal = boundary[int(rng.integers(len(boundary)))].reshape(2, 2)
        length = rng.uniform(*params["length"]) * size
        curl, heading = rng.uniform(*params["curl"]) * rng.choice([-1, 1]), np.arctan2(normal[1], normal[0])
        heading += rng.normal(0, 0.4)
        steps = max(4, int(length / 3))
        angles = heading + np.cumsum(curl + rng.normal(0, 0.05, steps))
        path = root + np.cumsum(np.stack([np.cos(angles), np.sin(angles)], 1) * length / steps, axis=0)
        clump_colour = np.clip(base * rng.uniform(0.6, 1.4) + rng.normal(0, 0.05, 3), 0, 1)
        taper = np.linspace(1, 0.2, steps)[:, None]  # strands of a clump meet towards its tip
        lines, values, widths = [], [], []
        for _ in range(int(rng.integers(*params["strands"]))):
            offset = rng.normal(0, 6, 2) * taper + rng.normal(0, 0.8, (steps, 2))
            cut = max(2, int(steps * rng.uniform(0.5, 1.0)))
            lines.append(np.round((path[:cut] + offset[:cut]) * up).astype(np.int32))
            width = rng.uniform(*params["width"]) * up
            widths.append(max(1, int(round(width))))
            values.append(float(-np.log1p(-min(rng.uniform(*params["opacity"]) * min(1.0, width / widths[-1]), 0.999))))
        # Drawn in the clump's own box: the canvas is 16 times the crop's area.
        points = np.concatenate(lines)
        margin = max(widths) + 2
        x0, y0 = np.clip(points.min(0) - margin, 0, big)
        x1, y1 = np.clip(points.max(0) + margin, 0, big)
        if x1 <= x0 or y1 <= y0:
            continue
        layer = np.zeros((y1 - y0, x1 - x0), np.float32)
        for line, value, thickness in zip(lines, values, widths, strict=True):
            cv2.polylines(layer, [line - [x0, y0]], False, value, thickness, cv2.LINE_AA)
        density[y0:y1, x0:x1] += layer
        colour[y0:y1, x0:x1] += layer[..., None] * clump_colour
    strand_alpha = 1 - np.exp(-cv2.resize(density, (size, size), interpolation=cv2.INTER_AREA))
    tint = cv2.resize(colour, (size, size), interpolation=cv2.INTER_AREA)
    weight = cv2.resize(density, (size, size), interpolation=cv2.INTER_AREA)[..., None]
    strand_colour = np.where(weight > 1e-6, tint / np.maximum(weight, 1e-6), base)
    texture = cv2.cvtColor(photo_square(rng, photo, size), cv2.COLOR_RGB2GRAY)[..., None]
    scalp = base * (0.7 + 0.6 * texture)  # the hair mass: the strands' colour, with a real texture's shading
    alpha = np.maximum(solid.astype(np.float32), strand_alpha)
    foreground = np.where(solid[..., None] > 0, scalp, strand_colour)
    return alpha, np.clip(foreground, 0, 1).astype(np.float32)


def smoke(rng: np.random.Generator, size: int, photo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A tinted semi-transparent cloud: smooth noise of several scales, at most ``peak`` opaque."""
    field_ = sum(_noise_field(rng, size, size * s) * w for s, w in ((0.02, 0.2), (0.06, 0.4), (0.15, 0.4)))
    cloud = np.clip((field_ - rng.uniform(0.3, 0.6)) * rng.uniform(2, 5), 0, 1) * rng.uniform(0.3, 0.9)
    tint = np.clip(_palette(rng, photo) * 0.5 + rng.uniform(0.3, 0.7), 0, 1)
    return cloud.astype(np.float32), np.broadcast_to(tint, (size, size, 3)).astype(np.float32).copy()


def lace(rng: np.random.Generator, size: int, photo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A lattice of lines and rings with holes, rotated, over part of the frame, drawn supersampled."""
    up, big = 4, size * 4
    canvas = np.zeros((big, big), np.float32)
    period = rng.uniform(0.04, 0.15) * big
    thickness = max(1, int(rng.uniform(0.5, 2.5) * up))
    for k in range(-2, int(big / period) + 3):
        position = int(k * period)
        cv2.line(canvas, (position, 0), (position, big), 1.0, thickness, cv2.LINE_AA)
        cv2.line(canvas, (0, position), (big, position), 1.0, thickness, cv2.LINE_AA)
        if rng.random() < 0.5:
            cv2.circle(canvas, (position, int(rng.uniform(0, big))), int(period / 3), 1.0, thickness, cv2.LINE_AA)
    rotation = cv2.getRotationMatrix2D((big / 2, big / 2), float(rng.uniform(0, 90)), 1.0)
    canvas = cv2.warpAffine(canvas, rotation, (big, big))
    region = np.zeros((big, big), np.float32)
    cv2.ellipse(region, (int(rng.uniform(0.3, 0.7) * big), int(rng.uniform(0.3, 0.7) * big)),
                (int(rng.uniform(0.25, 0.6) * big), int(rng.uniform(0.25, 0.6) * big)), float(rng.uniform(0, 180)),
                0, 360, 1.0, -1, cv2.LINE_AA)
    alpha = cv2.resize(np.clip(canvas, 0, 1) * region, (size, size), interpolation=cv2.INTER_AREA)
    alpha *= rng.uniform(0.7, 1.0)
    return alpha.astype(np.float32), photo_square(rng, photo, size)


def blurred_shape(rng: np.random.Generator, size: int, photo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A hard polygon under motion blur (a line kernel) or defocus (a disc kernel), its colours blurred alike."""
    points = rng.uniform(0.15, 0.85, (int(rng.integers(3, 9)), 2)) * size
    hull = cv2.convexHull(points.astype(np.float32)).astype(np.int32)
    alpha = np.zeros((size, size), np.float32)
    cv2.fillPoly(alpha, [hull], 1.0, cv2.LINE_AA)
    radius = int(rng.integers(2, max(3, size // 16)))
    kernel = np.zeros((2 * radius + 1, 2 * radius + 1), np.float32)
    if rng.random() < 0.5:
        cv2.line(kernel, (0, radius), (2 * radius, radius), 1.0, 1)
        kernel = cv2.warpAffine(kernel, cv2.getRotationMatrix2D((radius, radius), float(rng.uniform(0, 180)), 1),
                                kernel.shape[::-1])
    else:
        cv2.circle(kernel, (radius, radius), radius, 1.0, -1)
    kernel /= kernel.sum()
    foreground = photo_square(rng, photo, size)
    premultiplied = cv2.filter2D(foreground * alpha[..., None], -1, kernel)
    alpha = np.clip(cv2.filter2D(alpha, -1, kernel), 0, 1)
    colour = np.where(alpha[..., None] > 1e-4, premultiplied / np.maximum(alpha[..., None], 1e-4), foreground)
    return alpha, np.clip(colour, 0, 1).astype(np.float32)


def _cutout(rng: np.random.Generator, cutouts: Sequence[tuple[np.ndarray, np.ndarray]], size: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """A random ``size`` crop of a (foreground, alpha) cut-out near its soft edge, at a random scale."""
    foreground, alpha = cutouts[int(rng.integers(len(cutouts)))]
    scale = rng.uniform(0.5, 1.2) * size / min(alpha.shape)
    scale = max(scale, (size + 1) / min(alpha.shape))
    shape = (max(size, round(alpha.shape[1] * scale)), max(size, round(alpha.shape[0] * scale)))
    alpha = cv2.resize(alpha, shape, interpolation=cv2.INTER_AREA)
    foreground = cv2.resize(foreground, shape, interpolation=cv2.INTER_AREA)
    edge = np.argwhere((alpha > 0.02) & (alpha < 0.98))
    cy, cx = edge[int(rng.integers(len(edge)))] if len(edge) else (alpha.shape[0] // 2, alpha.shape[1] // 2)
    y = int(np.clip(cy - size // 2, 0, alpha.shape[0] - size))
    x = int(np.clip(cx - size // 2, 0, alpha.shape[1] - size))
    return alpha[y:y + size, x:x + size].astype(np.float32), foreground[y:y + size, x:x + size].astype(np.float32)


def _uneven_band(rng: np.random.Generator, around: np.ndarray, width: float) -> np.ndarray:
    """The pixels within ``width`` px of ``around`` (HxW bool) on average, the width varying smoothly along the
    edge by up to half."""
    size = around.shape[0]
    distance = cv2.distanceTransform((~around).astype(np.uint8), cv2.DIST_L2, 5)
    return distance <= width * (0.5 + _noise_field(rng, size, max(2.0, size / 16)))


def band_trimap(rng: np.random.Generator, alpha: np.ndarray, width: float, brushed: bool) -> np.ndarray:
    """A trimap as people make them: the soft region grown by an uneven band (``width`` px on average, varying
    smoothly along the edge by up to half), and with ``brushed`` a few unknown strokes across the edge."""
    size = alpha.shape[0]
    soft = (alpha > 1e-3) & (alpha < 1 - 1e-3)
    if not soft.any():
        soft = cv2.morphologyEx((alpha > 0.5).astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3))) > 0
    unknown = _uneven_band(rng, soft, width)
    if brushed:
        strokes = np.zeros((size, size), np.uint8)
        edge = np.argwhere(soft)
        for _ in range(int(rng.integers(1, 5))):
            y, x = edge[int(rng.integers(len(edge)))] if len(edge) else rng.integers(size, size=2)
            end = (int(x + rng.normal(0, width * 2)), int(y + rng.normal(0, width * 2)))
            cv2.line(strokes, (int(x), int(y)), end, 1, max(1, int(width * rng.uniform(0.5, 1.5))))
        unknown |= strokes > 0
    trimap = np.where(alpha >= 1 - 1e-3, 1.0, 0.0).astype(np.float32)
    trimap[unknown] = 0.5
    return trimap


def finder_trimap(rng: np.random.Generator, alpha: np.ndarray, width: float) -> np.ndarray:
    """A trimap as a person finder makes it: a band of ``width`` px on average (uneven along the edge, as in
    :func:`band_trimap`) around a mask that is not the true one. The segmenter sees a coarse copy of the
    photo, so its mask is the hard alpha blurred (thin strands and sharp corners lost) and cut at a level that
    wanders along the edge (its boundary drifts up to about ``width`` inwards or outwards): the true edge lies
    anywhere in the band, or a little outside it, not along its middle as in a trimap grown from the alpha.
    """
    size = alpha.shape[0]
    hard = (alpha > 0.5).astype(np.float32)
    coarse = cv2.GaussianBlur(hard, (0, 0), max(0.5, rng.uniform(0.3, 1.0) * width))
    level = 0.5 + rng.uniform(0.0, 0.3) * (2 * _noise_field(rng, size, max(2.0, size / 12)) - 1)
    mask = (coarse > level).astype(np.uint8)
    edge = cv2.morphologyEx(mask, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    if not edge.any():
        return band_trimap(rng, alpha, width, brushed=False)
    trimap = mask.astype(np.float32)
    trimap[_uneven_band(rng, edge, width)] = 0.5
    return trimap


def _degrade(rng: np.random.Generator, layers: list[np.ndarray], settings: EngineSettings) -> list[np.ndarray]:
    """The same camera on every layer: one draw of noise level, blur and JPEG quality for all of them."""
    sigma = rng.uniform(0.005, 0.03) if rng.random() < settings.noise else 0.0
    blur = rng.uniform(0.3, 1.0) if rng.random() < settings.blur else 0.0
    quality = int(rng.integers(40, 95)) if rng.random() < settings.jpeg else 0
    out = []
    for layer in layers:
        if blur:
            layer = cv2.GaussianBlur(layer, (0, 0), blur)
        if quality:
            encoded = cv2.imencode(".jpg", np.round(np.clip(layer, 0, 1) * 255).astype(np.uint8),
                                   [cv2.IMWRITE_JPEG_QUALITY, quality])[1]
            layer = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED).astype(np.float32) / 255
        if sigma:
            layer = layer + rng.normal(0, sigma, layer.shape).astype(np.float32)
        out.append(np.clip(layer, 0, 1).astype(np.float32))
    return out


class MattingEngine:
    """Draws :class:`MattingSample` s: ``photos`` (uint8 or float RGB) give backgrounds and colours,
    ``cutouts`` (foreground HxWx3, alpha HxW, float32) the portrait families (left out without them)."""

    def __init__(self, photos: Sequence[np.ndarray], cutouts: Sequence[tuple[np.ndarray, np.ndarray]] = (),
                 settings: EngineSettings | None = None, seed: int = 0) -> None:
        if not photos:
            raise ValueError("the matting engine needs at least one photo")
        self.photos, self.cutouts, self.seed = list(photos), list(cutouts), seed
        self.settings = settings or EngineSettings()
        needs_cutouts = ("portrait", "portrait_texture", "merged")
        shares = {k: v for k, v in self.settings.families.items() if v > 0 and (self.cutouts or k not in needs_cutouts)}
        if not shares:
            raise ValueError("no family can be drawn (the portrait families need cut-outs)")
        self.families, weights = list(shares), np.array(list(shares.values()), np.float64)
        self.weights = weights / weights.sum()

    def __call__(self, position: int) -> MattingSample:
        rng = np.random.default_rng([self.seed, position])
        size, settings = self.settings.size, self.settings
        family = self.families[int(rng.choice(len(self.families), p=self.weights))]
        photo = self.photos[int(rng.integers(len(self.photos)))]
        if family == "strands":
            alpha, foreground = strands(rng, size, settings.styles[int(rng.integers(len(settings.styles)))], photo)
        elif family == "smoke":
            alpha, foreground = smoke(rng, size, photo)
        elif family == "lace":
            alpha, foreground = lace(rng, size, photo)
        elif family == "blur":
            alpha, foreground = blurred_shape(rng, size, photo)
        else:
            alpha, foreground = _cutout(rng, self.cutouts, size)
            if family == "portrait_texture":
                foreground = photo_square(rng, photo, size)
            elif family == "merged":
                alpha2, foreground2 = _cutout(rng, self.cutouts, size)
                merged = 1 - (1 - alpha) * (1 - alpha2)
                premultiplied = alpha[..., None] * foreground + ((1 - alpha) * alpha2)[..., None] * foreground2
                foreground = np.where(merged[..., None] > 1e-6, premultiplied / np.maximum(merged, 1e-6)[..., None],
                                      foreground)
                alpha = merged
        if rng.random() < 0.5:
            alpha, foreground = alpha[:, ::-1], foreground[:, ::-1]
        background = photo_square(rng, self.photos[int(rng.integers(len(self.photos)))], size)
        foreground, background = _degrade(rng, [np.ascontiguousarray(foreground), background], settings)
        alpha = np.ascontiguousarray(np.clip(alpha, 0, 1), dtype=np.float32)
        image = alpha[..., None] * foreground + (1 - alpha[..., None]) * background
        width, brushed = rng.uniform(*settings.band) * size / 512, rng.random() < settings.brushed
        finder = bool(settings.finder_bands) and rng.random() < settings.finder_bands  # drawn only when used

        def trimap_of(width: float) -> np.ndarray:
            return finder_trimap(rng, alpha, width) if finder else band_trimap(rng, alpha, width, brushed)

        trimap = trimap_of(width)
        for _ in range(3):  # a band that swallows all the known foreground or background is drawn narrower
            if (trimap == 0).any() and (trimap == 1).any():
                break
            width /= 2
            trimap = trimap_of(width)
        return MattingSample(image.astype(np.float32), alpha, foreground, background, trimap, family)
