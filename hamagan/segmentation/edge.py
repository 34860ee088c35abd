"""The edge look: a person cut by the frame's left or right edge, seen whole beside the photo's mirror image.

Half a body at the frame's edge (a face cut through, one arm and a shoulder) is what the pose detector, the face
detector and MoveNet were never shown; mirrored across that edge it becomes a whole, if symmetric, person. The
finder looks again at the strip of :data:`MIRROR_SHARE` of the photo's width along each side edge, beside its
mirror image beyond that edge; the people it keeps there whose masks cross the edge, and do not reach the view's own
ends, are the frame's people, cut back to the frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from hamagan.segmentation.people import PersonCandidate

MIRROR_SHARE = 0.5  # the mirrored strip's width / the photo's width
SIDES = ("left", "right")

Person = tuple[list[PersonCandidate], bool]  # a group of candidates and whether it was confirmed


def mirrored(image: np.ndarray, side: str) -> tuple[np.ndarray, int]:
    """The strip of :data:`MIRROR_SHARE` of the HxWx3 image's width along its ``side`` edge, beside its mirror image
    beyond that edge, and the frame's column of the result's first column."""
    width = image.shape[1]
    strip = max(1, int(width * MIRROR_SHARE))
    if side == "left":
        return np.concatenate([image[:, strip - 1::-1], image[:, :strip]], axis=1), -strip
    return np.concatenate([image[:, width - strip:], image[:, :width - strip - 1:-1]], axis=1), width - strip


def cropped(candidate: PersonCandidate, origin: int, width: int) -> PersonCandidate | None:
    """A candidate of a view whose first column is the frame's column ``origin``, moved to the frame and cut to the
    frame's ``width`` columns; None where nothing of it lies in the frame."""
    top, bottom, left, right = candidate.box
    first, last = max(left + origin, 0), min(right + origin, width)
    if first >= last:
        return None
    columns = slice(first - origin - left, last - origin - left)
    head = candidate.head.copy()
    head[[0, 2]] += origin
    return replace(candidate, probability=np.ascontiguousarray(candidate.probability[:, columns]),
                   box=(top, bottom, first, last), head=head,
                   painted=None if candidate.painted is None else np.ascontiguousarray(candidate.painted[:, columns]))


def crosses(group: list[PersonCandidate], column: int) -> bool:
    """Whether one of a person's masks holds a pixel on each side of the seam before ``column``."""
    for c in group:
        _, _, left, right = c.box
        if left < column < right and (c.probability[:, column - left - 1:column - left + 1] > 0.5).all(axis=1).any():
            return True
    return False


def within(group: list[PersonCandidate], width: int) -> bool:
    """Whether none of a person's masks reaches the first or last of a view's ``width`` columns (a person there is
    cut by the view itself: someone further inside the frame, or a region beside the person)."""
    for c in group:
        _, _, left, right = c.box
        ends = [column - left for column in (0, width - 1) if left <= column < right]
        if any((c.probability[:, end] > 0.5).any() for end in ends):
            return False
    return True


def edge_people(image: np.ndarray, look: Callable[[np.ndarray], list[Person]]) -> list[Person]:
    """The people that ``look`` (the finder: kept people as (group, confirmed)) keeps in each side edge's strip
    beside its mirror image (:func:`mirrored`) whose masks cross that edge and lie within the view, cut back to the
    frame."""
    width = image.shape[1]
    people = []
    for side in SIDES:
        view, origin = mirrored(image, side)
        seam = view.shape[1] // 2
        for group, sure in look(view):
            if not crosses(group, seam) or not within(group, view.shape[1]):
                continue
            inside = [c for c in (cropped(c, origin, width) for c in group) if c is not None]
            if inside:
                people.append((inside, sure))
    return people
