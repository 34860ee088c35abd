"""One person's mask where their segmenters disagree: the photo's colours decide.

A person found by more than one model (the selfie segmenter's regions, BlazePose's landmark masks) has a mask
from each. They agree on the body and part at its borders, where one of them bleeds into whatever stands
beside the person: a bear behind a shoulder, tulips behind a close-up, the camera in a photographer's hands.
Painting their union keeps every bleed. Here the pixels that two or more masks hold are the person's (the
core); each connected region that only one mask holds is kept unless its colours are the background's,
judged by colour histograms of the core and of a ring of background around the person, as GrabCut's colour
models judge them (Rother, Kolmogorov and Blake 2004), without its graph cut.
"""

from __future__ import annotations

import cv2
import numpy as np

COLOUR_BINS = 12  # per RGB channel
RING = 0.075  # width of the background ring around the person, in their masks' box's longer side
PRIOR = 1.0  # counts given to every histogram bin (10 did no better: benchmarks/README.md)


def colour_histogram(codes: np.ndarray) -> np.ndarray:
    """A normalised histogram of colour codes (:func:`colour_codes`), each bin given :data:`PRIOR` counts."""
    counts = np.bincount(codes, minlength=COLOUR_BINS**3).astype(np.float64) + PRIOR
    return counts / counts.sum()


def colour_codes(pixels: np.ndarray) -> np.ndarray:
    """Each pixel's RGB bin (int, one per pixel) of pixels (...x3) in [0, 1]."""
    bins = np.clip((pixels * COLOUR_BINS).astype(np.int32), 0, COLOUR_BINS - 1)
    return (bins[..., 0] * COLOUR_BINS + bins[..., 1]) * COLOUR_BINS + bins[..., 2]


def colour_vote(image: np.ndarray, maps: list[np.ndarray], keep_above: float) -> np.ndarray:
    """One person's probability (HxW) from the probability maps (each HxW) of their masks over ``image``
    (HxWx3 in [0, 1]; the person with a ring of background around them).

    Where two or more maps exceed 0.5 the highest value is kept; each connected region where only one does is
    kept likewise where its pixels' mean foreground likelihood (the core's histogram over the sum of the core's
    and the ring's, per pixel) exceeds ``keep_above``, and otherwise takes the second-highest value (below 0.5).
    With one map, or no core, the highest value everywhere (the union).
    """
    highest = np.array(maps[0], np.float32)
    if len(maps) < 2:
        return highest
    second = np.zeros_like(highest)
    votes = (highest > 0.5).view(np.uint8).copy()
    for values in maps[1:]:
        np.maximum(second, np.minimum(highest, values), out=second)
        np.maximum(highest, values, out=highest)
        votes += values > 0.5
    disputed = votes == 1
    if votes.max() < 2 or not disputed.any():  # no core, or nothing to settle
        return highest
    # The colours and the background ring are read on every other row and column: the same statistics at a
    # quarter of the cost.
    codes = colour_codes(image[::2, ::2])
    sampled_votes = np.ascontiguousarray(votes[::2, ::2])
    held = sampled_votes >= 1
    rows, cols = np.flatnonzero(held.any(1)), np.flatnonzero(held.any(0))
    reach = RING * max(rows[-1] - rows[0], cols[-1] - cols[0])
    ring = cv2.distanceTransform(cv2.compare(sampled_votes, 0, cv2.CMP_EQ), cv2.DIST_L2, cv2.DIST_MASK_5) <= reach
    ring &= ~held
    person, background = colour_histogram(codes[sampled_votes >= 2]), colour_histogram(codes[ring])
    count, labels = cv2.connectedComponents(disputed.view(np.uint8))
    sampled = sampled_votes == 1
    regions, codes = labels[::2, ::2][sampled], codes[sampled]
    likelihood = person[codes] / (person[codes] + background[codes])
    samples = np.bincount(regions, minlength=count)
    # A region too thin to be sampled is kept.
    mean_likelihood = np.where(samples > 0, np.bincount(regions, likelihood, count) / np.maximum(samples, 1), 1.0)
    dropped = mean_likelihood <= keep_above
    dropped[0] = False  # the pixels no region holds
    if dropped.any():
        lost = dropped[labels]
        highest[lost] = second[lost]
    return highest
