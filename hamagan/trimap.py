"""Trimaps: reading and checking user trimaps, making them from alpha mattes, and automatic ones.

A trimap has three values: 0 background, 0.5 unknown, 1 foreground (0 / 128 / 255 on disk).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
from scipy import ndimage

from hamagan.images import ImageError, ImageInput, array_to_tensor, describe, to_array
from hamagan.refinement import unknown_region


def load_trimap(source: ImageInput, size: tuple[int, int] | None = None) -> torch.Tensor:
    """Read a trimap (array, PIL image or path; 0/128/255 or 0/0.5/1) as a (1, 1, H, W) tensor of 0, 0.5, 1.

    Args:
        source: the trimap.
        size: the image's (height, width), which the trimap must match.

    Raises:
        ImageError: when it is unreadable, of another size, or has values other than the three levels.
    """
    name = describe(source)
    data = to_array(source, channels=1)
    if size is not None and data.shape != tuple(size):
        raise ImageError(f"trimap {name}: size {data.shape[1]}x{data.shape[0]} differs from the image's "
                         f"{size[1]}x{size[0]}")
    # 8-bit files give k/255; 128/255 is the unknown level.
    levels = np.round(data * 255.0)
    valid = (levels == 0) | (levels == 128) | (levels == 255) | (data == 0.5)
    if not valid.all():
        bad = np.unique(levels[~valid])
        shown = ", ".join(str(int(v)) for v in bad[:5])
        raise ImageError(f"trimap {name}: {int((~valid).sum())} pixels have values other than 0/128/255 "
                         f"(or 0/0.5/1), e.g. {shown} on the 0..255 scale")
    trimap = np.where(levels == 0, 0.0, np.where(levels == 255, 1.0, 0.5)).astype(np.float32)
    return array_to_tensor(trimap)


def trimap_from_alpha(alpha: np.ndarray, radius: float) -> np.ndarray:
    """Trimap from an alpha matte: the soft region 0 < alpha < 1, grown by ``radius`` pixels (Euclidean).

    Pixels with alpha == 1 outside the band are foreground, alpha == 0 background.
    """
    unknown = (alpha > 0) & (alpha < 1)
    if unknown.any() and radius > 0:
        unknown = ndimage.distance_transform_edt(~unknown) <= radius
    trimap = np.where(alpha >= 1, 1.0, 0.0).astype(np.float32)
    trimap[unknown] = 0.5
    return trimap


WORKING_SIDE = 640


@dataclass
class AutoTrimap:
    """An automatic trimap (HxW of 0 / 0.5 / 1), whether a person was found, and a message for the user."""

    trimap: np.ndarray
    found: bool
    message: str


@dataclass(frozen=True)
class BandSettings:
    """The unknown band of an automatic trimap, in fractions of the image's long side.

    The segmenters' probability is first snapped to the photo's edges by a guided filter of radius ``snap``
    (0: not at all) and regularisation ``snap_epsilon`` on the grey level (He, Sun and Tang 2010): their
    masks come from 256-pixel squares and their edges lie off the photo's. Then every edge gets ``narrow``;
    where the photo is busy close to the edge (hair, fur, lace: local grey standard deviation above ``busy``
    within the narrow band) the band grows to ``wide``; and every pixel the segmenters are unsure of
    (``unsure`` < p < 1 - ``unsure``) is unknown. The band chosen on the 12 training portraits, the snap on
    the validation scenes (benchmarks/auto_trimap.py, benchmarks/README.md).

    ``person_side``: where set, ``narrow`` and ``wide`` are fractions of each person's own length instead (the
    longer side of their box over ``person_side``, at most the image's long side): the band chosen on
    portraits that fill the frame would swallow the arms and legs of a person far away.
    """

    narrow: float = 0.005
    wide: float = 0.03
    busy: float = 0.08
    window: float = 0.014
    unsure: float = 0.1
    snap: float = 0.00625
    snap_epsilon: float = 1e-3
    person_side: float | None = 1.0


def _distance_to(pixels: np.ndarray) -> np.ndarray:
    """Distance of each pixel to the nearest nonzero pixel of ``pixels`` (uint8), within about 2%."""
    return cv2.distanceTransform(cv2.compare(pixels, 0, cv2.CMP_EQ), cv2.DIST_L2, cv2.DIST_MASK_5)


def _busy(image: np.ndarray, window: int) -> np.ndarray:
    """Local standard deviation of the image's grey level over ``window`` x ``window`` pixels."""
    grey = cv2.cvtColor(np.ascontiguousarray(image, np.float32), cv2.COLOR_RGB2GRAY)
    mean = cv2.blur(grey, (window, window))
    square = cv2.blur(grey * grey, (window, window))
    return np.sqrt(np.maximum(square - mean * mean, 0.0, out=square), out=square)


def snap_to_edges(image: np.ndarray, probability: np.ndarray, radius: int, epsilon: float) -> np.ndarray:
    """``probability`` (HxW) guided-filtered by the grey level of ``image`` (HxWx3): locally an affine function
    of the grey level, so its edges move onto the photo's where the photo has one (He, Sun and Tang 2010)."""
    grey = cv2.cvtColor(np.ascontiguousarray(image, np.float32), cv2.COLOR_RGB2GRAY)
    probability = np.asarray(probability, np.float32)
    window = (2 * radius + 1, 2 * radius + 1)
    mean_grey, mean_probability = cv2.blur(grey, window), cv2.blur(probability, window)
    covariance = cv2.blur(grey * probability, window) - mean_grey * mean_probability
    variance = cv2.blur(grey * grey, window) - mean_grey * mean_grey
    slope = covariance / (variance + epsilon)
    offset = mean_probability - slope * mean_grey
    snapped = cv2.blur(slope, window) * grey + cv2.blur(offset, window)
    return np.clip(snapped, 0.0, 1.0, out=snapped)


def person_lengths(people: np.ndarray, person_side: float, long_side: int, reach: int) -> np.ndarray:
    """Per pixel (HxW float32), the length of the nearest person in ``people`` (uint8, nonzero on them): each
    region grown by ``reach`` pixels is one person (so that a fragment beside someone is theirs), and its length
    is the longer side of that grown region's box over ``person_side``, at most ``long_side``."""
    joined = cv2.dilate(people, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (reach | 1, reach | 1)))
    _, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    lengths = np.minimum(stats[:, cv2.CC_STAT_WIDTH:cv2.CC_STAT_HEIGHT + 1].max(axis=1) / person_side,
                         long_side).astype(np.float32)
    # The label of each pixel's nearest person: the distance transform's labels of the zero pixels' regions,
    # mapped back to the people's own labels through the people's pixels.
    _, nearest = cv2.distanceTransformWithLabels(cv2.compare(people, 0, cv2.CMP_EQ), cv2.DIST_L2, cv2.DIST_MASK_5,
                                                 labelType=cv2.DIST_LABEL_CCOMP)
    on = labels > 0
    lookup = np.full(int(nearest.max()) + 1, float(long_side), np.float32)
    lookup[nearest[on]] = lengths[labels[on]]
    return lookup[nearest]


def band_trimap(image: np.ndarray, probability: np.ndarray, band: BandSettings = BandSettings()) -> np.ndarray:
    """A trimap around the people of ``probability`` (HxW in [0, 1]) whose band follows the edge's kind.

    Only the box around the pixels above ``band.unsure``, grown by the widest band, can differ from
    background, so the work is done there alone (the same trimap as over the whole frame, but for the snap's
    filter at the box's border).
    """
    long_side = max(probability.shape)
    trimap = np.zeros(probability.shape, np.float32)
    points = cv2.findNonZero(cv2.compare(probability, band.unsure, cv2.CMP_GT))
    if points is None:
        return trimap
    x, y, w, h = cv2.boundingRect(points)
    margin = int(np.ceil(band.wide * long_side)) + 2
    top, left = max(y - margin, 0), max(x - margin, 0)
    bottom, right = min(y + h + margin, probability.shape[0]), min(x + w + margin, probability.shape[1])
    near = probability[top:bottom, left:right]
    radius = round(band.snap * long_side)
    if radius >= 1:
        near = snap_to_edges(image[top:bottom, left:right], near, radius, band.snap_epsilon)
    inside = cv2.compare(near, 0.5, cv2.CMP_GT)
    distance = _distance_to(cv2.morphologyEx(inside, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)))
    scale = (float(long_side) if band.person_side is None
             else person_lengths(cv2.compare(near, band.unsure, cv2.CMP_GT), band.person_side, long_side,
                                 margin))
    narrow = np.maximum(1.0, band.narrow * scale)
    unknown = distance <= narrow
    unknown |= (near > band.unsure) & (near < 1.0 - band.unsure)
    window = max(3, int(band.window * long_side) | 1)
    busy = cv2.compare(_busy(image[top:bottom, left:right], window), band.busy, cv2.CMP_GT)
    busy[distance > 2 * narrow + 1] = 0
    if cv2.countNonZero(busy):
        near_busy = _distance_to(busy) <= (band.wide - band.narrow) * scale
        unknown |= near_busy & (distance <= band.wide * scale)
    box = trimap[top:bottom, left:right]
    box[inside > 0] = 1.0
    box[unknown] = 0.5
    return trimap


def tightened_trimap(trimap: np.ndarray, alpha: np.ndarray, radius: float, soft: float = 0.02) -> np.ndarray:
    """``trimap`` (HxW, 0 / 0.5 / 1) narrowed around an ``alpha`` matted with it, for a second look at the edge.

    Inside the unknown band, only pixels within ``radius`` pixels of where ``alpha`` is soft (``soft`` < alpha <
    1 - ``soft``) stay unknown; the rest become foreground where ``alpha`` is at least 0.5 and background
    elsewhere. Known pixels are kept. As in MG Matting's progressive refinement (Yu et al. 2021), the second
    look goes only where the first was unsure.
    """
    unknown = unknown_region(trimap)
    unsure = ((alpha > soft) & (alpha < 1.0 - soft)).view(np.uint8)
    decided = unknown & (_distance_to(unsure) > radius)
    out = trimap.astype(np.float32, copy=True)
    out[decided] = alpha[decided] >= 0.5
    return out


def auto_trimap(image: ImageInput, people: str = "all", finder=None, band: BandSettings = BandSettings()) -> AutoTrimap:
    """A trimap for a photo of people from the person finder (:mod:`hamagan.segmentation`).

    Foreground is where the people's probability exceeds 0.5, background the rest, and unknown a band
    that is narrow along smooth edges and wide where the photo is busy near the edge (:func:`band_trimap`).
    Larger photos are worked on at a long side of ``WORKING_SIDE`` (every model sees 256 pixels or fewer
    anyway) and the trimap is enlarged; its band is wider than the enlargement's steps.
    ``people`` is "all" or "largest". A photo with no person gets an all-background trimap and
    ``found=False``.
    """
    from hamagan.segmentation import find_people

    pixels, (height, width) = working_copy(image)
    found = find_people(pixels, keep=people, finder=finder)
    if not found.found:
        return AutoTrimap(np.zeros((height, width), np.float32), False, found.message)
    trimap = band_trimap(pixels, found.probability, band)
    if trimap.shape != (height, width):
        trimap = cv2.resize(trimap, (width, height), interpolation=cv2.INTER_NEAREST)
    return AutoTrimap(trimap, True, found.message)


def working_copy(image: ImageInput) -> tuple[np.ndarray, tuple[int, int]]:
    """The image at a long side of at most ``WORKING_SIDE`` (HxWx3 float32 in [0, 1]) and its full
    (height, width). A (1, 3, H, W) tensor is shrunk plane by plane, never copied whole."""
    if isinstance(image, torch.Tensor) and image.dim() == 4 and image.shape[:2] == (1, 3):
        planes = image[0].detach().cpu().float().numpy()
        height, width = planes.shape[1:]
        size = _working_size(height, width)
        small = [cv2.resize(plane, size, interpolation=cv2.INTER_AREA) for plane in planes] if size else list(planes)
        pixels = cv2.merge([np.ascontiguousarray(plane) for plane in small])
        return np.clip(pixels, 0.0, 1.0, out=pixels), (height, width)
    pixels = to_array(image, channels=3)
    height, width = pixels.shape[:2]
    size = _working_size(height, width)
    if size:
        pixels = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
    return np.clip(pixels, 0.0, 1.0), (height, width)


def _working_size(height: int, width: int) -> tuple[int, int] | None:
    """(width, height) at a long side of ``WORKING_SIDE``, or None when the image is no larger."""
    scale = WORKING_SIDE / max(height, width)
    return (round(width * scale), round(height * scale)) if scale < 1.0 else None
