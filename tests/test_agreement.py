"""Where a person's masks disagree, the photo's colours decide (hamagan.segmentation.agreement)."""

from __future__ import annotations

import numpy as np

from hamagan.segmentation import PersonCandidate, paint_people, people_probability
from hamagan.segmentation.agreement import colour_vote

GREY, BLUE = (0.5, 0.5, 0.5), (0.1, 0.2, 0.9)


def _scene() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A blue person (torso and an arm to the left) on grey, and two masks of them: one misses the arm, the
    other holds the arm and bleeds into the grey to the right."""
    image = np.empty((80, 80, 3), np.float32)
    image[:] = GREY
    image[20:70, 30:50] = BLUE  # torso
    image[30:36, 18:30] = BLUE  # arm
    torso = np.zeros((80, 80), np.float32)
    torso[20:70, 30:50] = 0.95
    bleeding = torso.copy()
    bleeding[30:36, 18:30] = 0.9  # the arm
    bleeding[25:60, 50:62] = 0.9  # grey beside the torso
    return image, torso, bleeding, np.pad(np.ones((50, 20), bool), ((20, 10), (30, 30)))


def test_a_region_one_mask_holds_is_kept_in_the_persons_colours_and_dropped_in_the_backgrounds() -> None:
    image, torso, bleeding, _ = _scene()
    voted = colour_vote(image, [torso, bleeding], keep_above=0.3)
    assert (voted[20:70, 30:50] > 0.5).all()  # the core
    assert (voted[30:36, 18:30] > 0.5).all()  # the arm, blue like the core
    assert (voted[25:60, 50:62] < 0.5).all()  # the bleed, grey like the ring around the person
    np.testing.assert_array_equal(voted[25:60, 50:62], torso[25:60, 50:62])  # the second-highest value there
    # Everything kept where the threshold asks for no evidence; the union of one mask is that mask.
    np.testing.assert_array_equal(colour_vote(image, [torso, bleeding], keep_above=0.0),
                                  np.maximum(torso, bleeding))
    np.testing.assert_array_equal(colour_vote(image, [bleeding], keep_above=0.3), bleeding)


def test_masks_that_share_no_pixel_are_painted_as_their_union() -> None:
    image, torso, _, _ = _scene()
    beside = np.zeros_like(torso)
    beside[0:10, 0:10] = 0.9
    np.testing.assert_array_equal(colour_vote(image, [torso, beside], keep_above=0.3), np.maximum(torso, beside))


def _candidate(source: str, values: np.ndarray) -> PersonCandidate:
    rows, cols = np.flatnonzero(values.any(1)), np.flatnonzero(values.any(0))
    box = (int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1)
    crop = values[box[0]:box[1], box[2]:box[3]].copy()
    return PersonCandidate(source, crop, box, 0.9 if source == "pose" else 0.0, 0.9, np.zeros(4), 0.0, 0.95, 0.05,
                           float((crop > 0.5).mean()))


def test_people_are_painted_by_the_vote_in_their_box_and_faces_on_top() -> None:
    image, torso, bleeding, person = _scene()
    pose, selfie = _candidate("pose", torso), _candidate("selfie", bleeding)
    painted = paint_people(image, [[pose, selfie]], keep_above=0.3)
    np.testing.assert_array_equal(painted > 0.5, person | np.pad(np.ones((6, 12), bool), ((30, 44), (18, 50))))
    union = paint_people(image, [[pose, selfie]], keep_above=None)
    np.testing.assert_array_equal(union, people_probability([pose, selfie], (80, 80)))
    face_values = np.zeros((80, 80), np.float32)
    face_values[2:12, 60:70] = 0.99  # another person, found by the group look
    face = _candidate("face", face_values)
    with_face = paint_people(image, [[pose, selfie, face]], keep_above=0.3)
    np.testing.assert_array_equal(with_face, np.maximum(painted, face_values))
