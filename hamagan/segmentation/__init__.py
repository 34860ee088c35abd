"""Finding people for automatic trimaps, with six models run on the light ``ai-edge-litert`` runtime. Five are
MediaPipe's (Apache-2.0, ``LICENSE-mediapipe``), copied from the ``mediapipe==0.10.21`` wheel:

- ``selfie_segmentation.tflite`` (``mediapipe/modules/selfie_segmentation``): person probability, 256x256;
- ``pose_detection.tflite`` (``mediapipe/modules/pose_detection``): BlazePose's person detector, 224x224;
- ``pose_landmark_full.tflite`` (``mediapipe/modules/pose_landmark``): BlazePose's landmark model, whose
  outputs include a person mask over the body's region, 256x256;
- ``face_detection_full_range_sparse.tflite`` (``mediapipe/modules/face_detection``): a face check,
  confirmed by ``face_landmark.tflite`` (``mediapipe/modules/face_landmark``), the face mesh's presence score.

The sixth, ``movenet_multipose_lightning.tflite``, is Google's MoveNet MultiPose Lightning (TF Hub, Apache-2.0,
``LICENSE-movenet``): whole-body poses that tell people from animals (:mod:`hamagan.segmentation.multipose`).

:func:`find_people` returns everyone found (or the largest person) as one soft probability map.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

import numpy as np

from hamagan.segmentation.agreement import RING, colour_vote
from hamagan.segmentation.edge import edge_people
from hamagan.segmentation.multipose import best_score_on
from hamagan.segmentation.people import (
    FinderSettings,
    PersonCandidate,
    PersonFinder,
    detected,
    group_box,
    same_person,
    unexplained_mask,
)

__all__ = ["FinderSettings", "PeopleMask", "PersonCandidate", "PersonFinder", "default_finder", "find_people",
           "group_people", "kept_people", "looked_at", "paint_people", "people_probability", "posed_people"]

KEEP_CHOICES = ("all", "largest")


@dataclass
class PeopleMask:
    """The people's probability (HxW in [0, 1], the image's size; 0 away from them), who they are, and
    a message for the user."""

    probability: np.ndarray
    people: list[PersonCandidate]
    message: str

    @property
    def found(self) -> bool:
        return bool(self.people)


_DEFAULT: PersonFinder | None = None
_DEFAULT_LOCK = threading.Lock()


def default_finder() -> PersonFinder:
    """The shared finder, its models loaded on first use."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = PersonFinder()
        return _DEFAULT


def find_people(image: np.ndarray, keep: str = "all", finder: PersonFinder | None = None) -> PeopleMask:
    """Every person in an HxWx3 float image in [0, 1] (``keep="all"``) or the largest (``"largest"``).

    The message counts a person per group of overlapping candidates, or per face the group look found on
    it. A person with no face the face mesh confirms and no pose detection of at least ``min_detection``
    (most false persons are of that kind: benchmarks/README.md, "Automatic trimaps") is kept only where the
    pose detector's close look (:meth:`PersonFinder.close_pose`) reaches ``min_close_pose``, and with a
    warning; one whom no face and no pose detection of ``strong_detection`` confirms, only where MoveNet finds
    their pose (:func:`posed_people`). Where no one is kept (or, as an option, beside the people kept where the first
    look paints people they do not explain: :func:`looked_at`), the tile look's people
    (:meth:`PersonFinder.tile_candidates`), checked the same way; where still no one is, the edge look's: the
    people cut by a side edge, found beside the photo's mirror image (:mod:`hamagan.segmentation.edge`)."""
    if keep not in KEEP_CHOICES:
        raise ValueError(f"keep must be one of {KEEP_CHOICES}, got {keep!r}")
    image = np.asarray(image, np.float32)
    finder = finder or default_finder()
    kept, anyone_seen = looked_at(image, finder)
    if not kept and finder.edge_look:
        without_tiles = replace(finder, tile_look=False)  # the tile look is for small people, not cut ones
        kept = edge_people(image, lambda view: looked_at(view, without_tiles)[0])
    if not kept:
        doubted = " (something like a person, but no face or body pose confirms it)" if anyone_seen else ""
        return PeopleMask(np.zeros(image.shape[:2], np.float32), [],
                          f"no person found in the photo{doubted}; draw or upload a trimap instead")
    groups, confirmed = [g for g, _ in kept], [sure for _, sure in kept]
    if keep == "largest":
        largest = max(range(len(groups)), key=lambda i: sum(c.mask_pixels() for c in groups[i]))
        groups, confirmed = [groups[largest]], [confirmed[largest]]
    people = [c for group in groups for c in group]
    count = sum(max(1, sum(c.faces for c in group)) for group in groups)
    message = f"found {count} {'person' if count == 1 else 'people'}" if keep == "all" else "kept the largest person"
    unsure = confirmed.count(False)
    if unsure:
        which = "it" if count == 1 else f"{unsure} of them"
        message += (f", but no face or clear body pose confirms {which}: if the cut-out is not a person, draw or "
                    "upload a trimap")
    return PeopleMask(paint_people(image, groups, finder.colour_vote), people, message)


def looked_at(image: np.ndarray, finder: PersonFinder) -> tuple[list[tuple[list[PersonCandidate], bool]], bool]:
    """The people that the looks at the whole frame keep (:func:`kept_people`), each with whether it was confirmed,
    and whether those looks had any candidate person. The tile look's people join them where the looks kept no one,
    or (with ``tile_look_unexplained`` set; off by default) where the first look paints that share of the frame
    that the people kept do not cover (a small person beside a large one), through the tile look's squares that hold
    some of it; a tile-look person who is one of those kept is left out."""
    first_look, candidates = finder.looked(image)
    groups = group_people(candidates)
    kept = kept_people(image, groups, finder)
    if not finder.tile_look:
        return kept, bool(groups)
    found = [c for group, _ in kept for c in group]
    near = None
    if kept:
        share = finder.settings.tile_look_unexplained
        if share is None:
            return kept, bool(groups)
        near = unexplained_mask(first_look, found)
        if near.mean() < share:
            return kept, bool(groups)
    tiled = kept_people(image, group_people(finder.tile_candidates(image, near)), finder)
    kept += [(group, sure) for group, sure in tiled if not any(same_person(c, other) for c in group for other in found)]
    return kept, bool(groups)


def kept_people(image: np.ndarray, groups: list[list[PersonCandidate]], finder: PersonFinder
                ) -> list[tuple[list[PersonCandidate], bool]]:
    """The people (groups of candidates) that pass MoveNet's check (:func:`posed_people`) and are confirmed
    (:meth:`PersonFinder.confirmed`) or found by the pose detector's close look, each with whether it was
    confirmed."""
    confirmed = [finder.confirmed(image, group) for group in groups]
    return [(group, sure) for group, sure, posed in zip(groups, confirmed, posed_people(image, groups, finder),
                                                         strict=True)
            if posed and (sure or finder.close_pose(image, group) >= finder.settings.min_close_pose)]


def posed_people(image: np.ndarray, groups: list[list[PersonCandidate]], finder: PersonFinder) -> list[bool]:
    """Whether each person (a group of candidates) passes MoveNet's check: a pose detection of ``strong_detection``,
    a MoveNet pose of at least ``min_multipose`` on their mask (or the tile look's pose of them alone) or a face the
    face mesh confirms. Faces already asked are read first; MoveNet runs once, where someone needs it, and faces
    are asked only where it fails."""
    settings = finder.settings
    poses = None
    passed = []
    for group in groups:
        if (settings.min_multipose is None or detected(group, settings.strong_detection)
                or any(settings.face_known(c) or settings.posed(c) for c in group)):
            passed.append(True)
            continue
        poses = finder.multipose(image) if poses is None else poses
        mask = people_probability(group, image.shape[:2]) > 0.5
        passed.append(best_score_on(poses, mask) >= settings.min_multipose or finder.has_face(image, group))
    return passed


def people_probability(candidates: list[PersonCandidate], shape: tuple[int, int], origin: tuple[int, int] = (0, 0)
                       ) -> np.ndarray:
    """The candidates' probabilities (:attr:`PersonCandidate.shown`) painted into one map of ``shape`` whose
    top-left pixel is the frame's ``origin`` (row, column), holding their boxes (the highest where they
    overlap; 0 elsewhere)."""
    probability = np.zeros(shape, np.float32)
    for c in candidates:
        top, bottom, left, right = c.box
        top, bottom, left, right = top - origin[0], bottom - origin[0], left - origin[1], right - origin[1]
        np.maximum(probability[top:bottom, left:right], c.shown, out=probability[top:bottom, left:right])
    return probability


def paint_people(image: np.ndarray, groups: list[list[PersonCandidate]], keep_above: float | None) -> np.ndarray:
    """The people's map (HxW): each person (a group of candidates) painted by :func:`colour_vote` over their
    masks (the group look's face candidates on top, as they are), the highest where people overlap; with
    ``keep_above`` None, or a person with one mask, their union (:func:`people_probability`)."""
    height, width = image.shape[:2]
    probability = np.zeros((height, width), np.float32)
    for group in groups:
        masks = [c for c in group if c.source != "face"]
        if keep_above is None or len(masks) < 2:
            np.maximum(probability, people_probability(group, (height, width)), out=probability)
            continue
        top, bottom, left, right = group_box(masks)
        margin = int(RING * max(bottom - top, right - left)) + 1
        top, left = max(top - margin, 0), max(left - margin, 0)
        bottom, right = min(bottom + margin, height), min(right + margin, width)
        maps = [people_probability([c], (bottom - top, right - left), (top, left)) for c in masks]
        voted = colour_vote(image[top:bottom, left:right], maps, keep_above)
        np.maximum(probability[top:bottom, left:right], voted, out=probability[top:bottom, left:right])
        faces = [c for c in group if c.source == "face"]
        if faces:
            np.maximum(probability, people_probability(faces, (height, width)), out=probability)
    return probability


def group_people(candidates: list[PersonCandidate]) -> list[list[PersonCandidate]]:
    """Candidates grouped into people: those whose masks overlap (a third of the smaller) are one person."""
    groups: list[list[PersonCandidate]] = []
    for candidate in sorted(candidates, key=lambda c: -c.mask_pixels()):
        joined = [g for g in groups if any(same_person(candidate, other) for other in g)]
        merged = [candidate] + [c for g in joined for c in g]
        groups = [g for g in groups if not any(g is j for j in joined)] + [merged]
    return groups
