"""The person finder and its automatic trimap on scenes with known people, and the photo pool's fetcher."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import cv2
import numpy as np
import pytest

import hamagan.segmentation as segmentation
from hamagan.data.person_scenes import group_scene, load_cutout, make_scene, person_scenes
from hamagan.images import to_array
from hamagan.samples import BACKGROUNDS, BARE_PORTRAIT, TEST_PORTRAITS, portrait_paths
from hamagan.segmentation import (
    FinderSettings,
    PersonCandidate,
    default_finder,
    find_people,
    group_people,
    looked_at,
    paint_people,
)
from hamagan.segmentation.detector import ANCHORS, PersonDetection, detection_views, merge_apart
from hamagan.segmentation.edge import cropped, crosses, mirrored, within
from hamagan.segmentation.face import FaceDetector, face_views
from hamagan.segmentation.multipose import KEYPOINTS, Pose, best_score_on
from hamagan.segmentation.people import _on_mask
from hamagan.segmentation.regions import Region
from hamagan.trimap import auto_trimap, working_copy

STORM = BACKGROUNDS / "mate-Storm.jpg"


def _scene(ids: list[str], shares: list[float], cut: float = 0.0, seed: int = 0):
    return make_scene(to_array(STORM), [load_cutout(i) for i in ids], shares, np.random.default_rng(seed), cut=cut)


def _finding(people: Callable[[], list[PersonCandidate]]) -> Callable[[np.ndarray], tuple[np.ndarray, list]]:
    """A stand-in for :meth:`PersonFinder.looked`: no first look, and the candidates ``people`` makes afresh."""
    return lambda image: (np.zeros(image.shape[:2], np.float32), people())


def _iou(mask: np.ndarray, truth: np.ndarray) -> float:
    return float((mask & truth).sum() / (mask | truth).sum())


def _check_trimap(image: np.ndarray, alpha: np.ndarray) -> None:
    """The automatic trimap's known regions are right and its band covers the true soft edge."""
    result = auto_trimap(image)
    assert result.found and result.trimap.shape == alpha.shape
    assert (alpha[result.trimap == 1] > 0.5).mean() > 0.95
    assert (alpha[result.trimap == 0] < 0.5).mean() > 0.99
    soft = (alpha > 0.1) & (alpha < 0.9)
    assert (result.trimap[soft] == 0.5).mean() > 0.6


def test_a_small_person_is_found_and_cut_out() -> None:
    scene = _scene(["p_819ea202"], [0.05])
    people = find_people(scene.image)
    assert people.message == "found 1 person"
    assert _iou(people.probability > 0.5, scene.alpha > 0.5) > 0.9  # measured 0.96
    _check_trimap(scene.image, scene.alpha)


def test_two_people_are_both_found_and_largest_keeps_one() -> None:
    scene = _scene(["p_819ea202", "p_bac3c1ff"], [0.12, 0.12])
    both = find_people(scene.image)
    assert both.message == "found 2 people"
    assert _iou(both.probability > 0.5, scene.alpha > 0.5) > 0.9  # measured 0.97
    largest = find_people(scene.image, keep="largest")
    assert largest.message == "kept the largest person"
    kept, everyone = (largest.probability > 0.5).sum(), (both.probability > 0.5).sum()
    assert 0.4 * everyone < kept < 0.8 * everyone
    assert auto_trimap(scene.image, people="largest").trimap.mean() < auto_trimap(scene.image).trimap.mean()


def test_selfie_masks_are_painted_mirror_averaged_while_decisions_read_the_plain_look() -> None:
    scene = _scene(["p_819ea202", "p_bac3c1ff"], [0.12, 0.12])
    finder = default_finder()
    mirrored = finder.selfie(scene.image, mirror=True)
    np.testing.assert_allclose(mirrored, finder.selfie(np.ascontiguousarray(scene.image[:, ::-1]))[:, ::-1], atol=1e-3)
    plain_finder = dataclasses.replace(finder, mirror_selfie=False)
    averaged, plain = finder.candidates(scene.image)[1], plain_finder.candidates(scene.image)[1]
    assert [(c.source, c.box) for c in averaged] == [(c.source, c.box) for c in plain]
    for a, p in zip(averaged, plain, strict=True):
        np.testing.assert_array_equal(a.probability, p.probability)  # what every decision reads
        assert p.painted is None and (a.painted is None) == (a.source == "pose")
    assert any(np.abs(c.painted - c.probability).max() > 0.05 for c in averaged if c.painted is not None)
    people = find_people(scene.image)
    assert people.message == find_people(scene.image, finder=plain_finder).message == "found 2 people"
    np.testing.assert_array_equal(people.probability, paint_people(scene.image, group_people(people.people),
                                                                    finder.colour_vote))
    assert any(c.painted is not None for c in people.people)  # the map shows the averaged look


def test_a_person_cut_by_the_frame_edge_is_found_up_to_the_edge() -> None:
    scene = _scene(["p_07141906"], [0.15], cut=0.4)
    people = find_people(scene.image)
    assert people.found
    mask = people.probability > 0.5
    assert _iou(mask, scene.alpha > 0.5) > 0.9  # measured 0.95
    touching = scene.alpha[:, 0].max() > 0.5
    assert mask[:, 0 if touching else -1].any()
    _check_trimap(scene.image, scene.alpha)


def test_the_edge_look_finds_a_person_cut_through_by_the_frame_edge() -> None:
    """A validation proxy scene: a portrait with a third to half of her outside the frame's left edge, which no look
    at the frame finds; in the strip along that edge beside its mirror image she is whole, and found."""
    scene = next(s for s in person_scenes("validation", seed=0) if s.name == "edge p_51c916fc")
    image = working_copy(scene.image)[0]
    truth = cv2.resize(scene.alpha, image.shape[1::-1], interpolation=cv2.INTER_AREA) > 0.5
    assert truth[:, 0].any() and not truth[:, -1].any()
    assert not find_people(image, finder=dataclasses.replace(default_finder(), edge_look=False)).found
    found = find_people(image)
    assert found.message == "found 1 person"
    assert _iou(found.probability > 0.5, truth) > 0.9  # measured 0.98
    assert all(c.box[2] >= 0 and c.box[3] <= image.shape[1] for c in found.people)


@pytest.mark.parametrize("side", ["left", "right"])
def test_the_edge_look_views_and_crops_back_to_the_frame(side: str) -> None:
    """The view holds the edge's strip beside its mirror image; a mask on the view crossing the seam comes back as
    the frame's columns of it, its values where they were in the frame; one reaching the view's end is not kept."""
    image = np.random.default_rng(0).random((40, 100, 3)).astype(np.float32)
    view, origin = mirrored(image, side)
    seam = view.shape[1] // 2
    assert view.shape == (40, 100, 3)
    assert np.array_equal(view[:, seam - 10:seam], view[:, seam:seam + 10][:, ::-1])  # mirrored about the seam
    frame_half = view[:, seam:] if side == "left" else view[:, :seam]
    assert np.array_equal(frame_half, image[:, max(origin, 0):max(origin, 0) + seam])
    values = np.linspace(0.1, 1.0, 30, dtype=np.float32)[None].repeat(20, 0)
    candidate = PersonCandidate("pose", values, (5, 25, seam - 15, seam + 15), 0.9, 0.9, np.array([0.0, 5, 30, 10]),
                                0.0, 0.9, 0.1, 0.1)
    assert crosses([candidate], seam) and within([candidate], view.shape[1])
    reaching = dataclasses.replace(candidate, probability=np.ones_like(values), box=(5, 25, 0, 30))  # cut by the view
    assert not within([reaching], view.shape[1])
    inside = cropped(candidate, origin, image.shape[1])
    top, bottom, left, right = inside.box
    assert (top, bottom, right - left) == (5, 25, 15)
    assert (left == 0) if side == "left" else (right == 100)
    kept = values[:, 15:] if side == "left" else values[:, :15]
    assert np.array_equal(inside.probability, kept)
    assert inside.head[0] == origin


def test_a_group_of_small_people_is_found_by_their_faces() -> None:
    """Twelve people whose faces are about 16 px: the pose detector's look at the whole frame finds one; the
    group look, searching for faces square by square, finds at least ten (measured: 10)."""
    image, faces = group_scene(80)
    without = dataclasses.replace(default_finder(), settings=FinderSettings(group_look_below=0.0))
    on_mask = lambda people: sum(bool(people.probability[y, x] > 0.5) for x, y in faces)  # noqa: E731
    assert on_mask(find_people(image, finder=without)) <= 2
    people = find_people(image)
    assert on_mask(people) >= 10
    assert people.message.startswith("found ") and int(people.message.split()[1]) >= 10
    assert "confirms" not in people.message  # every face the group look keeps is a confirmed one
    assert (people.probability > 0.5).mean() < 0.25  # the people, not the sky between them


def test_the_tile_look_finds_a_person_too_small_for_the_looks_at_the_whole_frame() -> None:
    """The astronaut's photo at 48 px in a 640x427 sky (her face about 10 px): no look at the whole frame and no
    face search finds her; the pose detector through small squares does (0.93, presence 1.0)."""
    image, faces = group_scene(48, rows=1, per_row=1)
    without = find_people(image, finder=dataclasses.replace(default_finder(), tile_look=False))
    assert not without.found
    found = find_people(image)
    assert found.message == "found 1 person"
    x, y = faces[0]
    assert found.probability[y, x] > 0.5 and (found.probability > 0.5).mean() < 0.02  # her, not the sky


def test_the_tile_look_keeps_a_weaker_detection_where_movenet_finds_their_pose_alone() -> None:
    """A validation proxy scene: a portrait at a few per cent of a photo, which the looks at the whole frame
    take for something like a person that nothing confirms. The tile look's detections of her are below
    ``strong_detection`` (measured 0.43-0.46); MoveNet, looking at a square around her, finds her pose (about
    0.5), so she is cut out; without that look she is not. On a wine glass still life, with tile detections up to
    0.58, MoveNet finds no pose: no person."""
    scene = next(s for s in person_scenes("validation", seed=0) if s.name == "small p_09ba26b4")
    image = working_copy(scene.image)[0]
    truth = cv2.resize(scene.alpha, image.shape[1::-1], interpolation=cv2.INTER_AREA) > 0.5
    finder = default_finder()
    without = dataclasses.replace(finder, settings=dataclasses.replace(finder.settings, tile_multipose=None))
    assert not find_people(image, finder=without).found
    found = find_people(image, finder=finder)
    assert found.message == "found 1 person"
    assert all(c.detection < finder.settings.strong_detection and finder.settings.posed(c) for c in found.people)
    assert _iou(found.probability > 0.5, truth) > 0.6
    assert not find_people(working_copy(BACKGROUNDS / "lomiri-Wine_by_Jakkub_Mede.jpg")[0]).found


def test_the_tile_look_runs_beside_kept_people_only_where_the_first_look_paints_more(monkeypatch) -> None:
    """With ``tile_look_unexplained`` set, the tile look runs beside the people kept only where the first look paints
    at least that share of the frame that they do not cover, and there only; a tile-look person who is one of them
    is left out. By default it does not run beside them."""
    finder = dataclasses.replace(default_finder(), settings=FinderSettings(tile_look_unexplained=0.005))
    first_look = np.zeros((100, 100), np.float32)
    first_look[10:90, 10:30] = 1.0

    def person(left: int) -> PersonCandidate:
        return PersonCandidate("pose", np.ones((80, 20), np.float32), (10, 90, left, left + 20), 0.95, 0.95,
                               np.array([left, 10.0, left + 20, 30.0]), 0.0, 0.99, 0.0, 0.16)

    kept, beside, again = person(10), person(60), person(12)
    looks: list[np.ndarray] = []
    monkeypatch.setattr(finder, "looked", lambda image: (first_look, [kept]))
    monkeypatch.setattr(finder, "tile_candidates", lambda image, near: looks.append(near) or [beside, again])
    monkeypatch.setattr(segmentation, "kept_people", lambda image, groups, finder: [(g, True) for g in groups])
    image = np.zeros((100, 100, 3), np.float32)
    assert looked_at(image, finder) == ([([kept], True)], True) and not looks  # the first look paints only them
    first_look[10:90, 60:80] = 1.0  # 16% of the frame painted that the person kept does not cover
    people, _ = looked_at(image, finder)
    assert [group for group, _ in people] == [[kept], [beside]] and len(looks) == 1
    assert looks[0][50, 70] and not looks[0][50, 20]  # it looks near what the first look paints and no one covers
    monkeypatch.setattr(default_finder(), "looked", lambda image: (first_look, [kept]))
    monkeypatch.setattr(default_finder(), "tile_candidates", lambda image, near: looks.append(near) or [beside])
    assert looked_at(image, default_finder()) == ([([kept], True)], True) and len(looks) == 1


def test_weaker_detections_are_merged_apart_from_strong_ones() -> None:
    """A strong detection keeps its own box beside an overlapping weaker one, which is dropped; a weaker one
    elsewhere is kept, merged with its own overlapping neighbour."""
    def detection(score: float, box: list[float]) -> PersonDetection:
        return PersonDetection(score, np.array(box, np.float64), np.zeros((4, 2)))

    found = [detection(0.95, [0, 0, 10, 20]), detection(0.5, [2, 0, 12, 20]),
             detection(0.6, [50, 0, 60, 20]), detection(0.45, [52, 0, 62, 20])]
    merged = merge_apart(found, strong=0.9)
    assert [d.score for d in merged] == [0.95, 0.6]
    np.testing.assert_array_equal(merged[0].box, [0, 0, 10, 20])
    assert 50 < merged[1].box[0] < 52


def test_the_group_look_segments_the_person_under_a_face_with_the_landmark_model() -> None:
    """Under each face the group look finds, the pose detector's close look frames that person for the landmark
    model, whose mask holds their face and (but for one neighbour measured) no other; a face box on empty sky has
    no pose under it."""
    image, faces = group_scene(80)
    finder = default_finder()
    looked = [c for c in find_people(image, finder=finder).people if c.source == "face"]
    assert len(looked) >= 7  # measured: 9
    assert all(c.painted is None for c in looked)  # the landmark model's masks, not the selfie segmenter's
    holding = [sum(_on_mask(c, x, y) for x, y in faces) for c in looked]
    assert all(count >= 1 for count in holding) and holding.count(1) >= len(looked) - 2
    assert finder._pose_under_face(image, np.array([10.0, 10.0, 26.0, 26.0])) is None


def test_the_group_look_runs_where_the_first_look_paints_people_no_one_found(monkeypatch) -> None:
    """People covering much of the frame skip the group look, unless the selfie segmenter's first look paints at
    least ``group_look_unexplained`` of the frame that none of them covers (a group around a table)."""
    finder = default_finder()
    first_look = np.zeros((100, 100), np.float32)
    first_look[10:90, 10:90] = 1.0
    posed = PersonCandidate("pose", np.ones((80, 20), np.float32), (10, 90, 10, 30), 0.95, 0.95,
                            np.array([10.0, 10.0, 30.0, 30.0]), 0.0, 0.99, 0.0, 0.16)
    monkeypatch.setattr(finder, "candidates", lambda image: (first_look, [posed]))
    looked: list[int] = []
    monkeypatch.setattr(finder, "face_candidates", lambda image, people: looked.append(len(people)) or [])
    image = np.zeros((100, 100, 3), np.float32)
    assert finder.people(image) == [posed] and looked == [1]  # 48% of the frame painted, unexplained
    first_look[:, 30:] = 0.0  # the first look paints the posed person alone
    looked.clear()
    assert finder.people(image) == [posed] and looked == []  # 16% covered: more than group_look_below


def test_face_search_covers_the_photo_and_finds_one_face_once() -> None:
    for height, width in ((427, 640), (640, 360), (150, 120)):
        views = face_views(height, width, 200)
        covered = np.zeros((height, width), bool)
        for view in views:
            top, bottom, left, right = view.bounds(height, width)
            covered[top:bottom, left:right] = True
        assert covered.all()
    assert len(face_views(150, 120, 200)) == 1 and len(face_views(427, 640, 200)) == 12
    astronaut = to_array(BARE_PORTRAIT)
    views = face_views(*astronaut.shape[:2], 200 * max(astronaut.shape[:2]) / 512)
    found = FaceDetector().find(astronaut, views, 0.7)
    assert len(found) == 1
    (x0, y0, x1, y1) = found[0][1] * 512 / max(astronaut.shape[:2])
    assert abs((x0 + x1) / 2 - 226) < 12 and abs((y0 + y1) / 2 - 121) < 12  # her face, looked at by eye


def test_a_face_counts_only_when_the_face_mesh_confirms_the_detector() -> None:
    """The face detector alone scores the heart of a flower as a face (0.54, over min_face); the face mesh
    framed on it says no, and says yes to a real face (the astronaut: 0.90 either way)."""
    detector_only = FaceDetector(verify_from=1.1)
    flower = to_array(BACKGROUNDS / "sklearn-flower.jpg")
    flower_head = np.array([254.5, 202.8, 339.9, 288.1]) * max(flower.shape[:2]) / 640
    assert detector_only(flower, flower_head) > 0.5 > FaceDetector()(flower, flower_head)
    astronaut = to_array(BARE_PORTRAIT)
    face = np.array([161.5, 134.9, 263.9, 237.2]) * max(astronaut.shape[:2]) / 512
    assert FaceDetector()(astronaut, face) > 0.8


def test_no_person_gives_an_empty_trimap_and_says_so() -> None:
    image = to_array(STORM)
    result = auto_trimap(image)
    assert not result.found and result.trimap.shape == image.shape[:2] and result.trimap.max() == 0
    assert "no person" in result.message
    with pytest.raises(ValueError, match="keep"):
        find_people(image, keep="tallest")


def test_views_anchors_and_regions() -> None:
    assert len(ANCHORS) == 2254
    assert len(detection_views(1080, 1920)) == 2 and len(detection_views(1000, 1000)) == 1
    tall = detection_views(1920, 1080)
    assert [v.center[0] for v in tall] == [540, 540] and tall[0].side == 1080
    image = np.random.default_rng(0).random((90, 120, 3)).astype(np.float32)
    region = Region((60.0, 45.0), 40.0, angle=0.3)
    crop = region.crop(image, 64)
    values, (top, bottom, left, right) = region.paste(crop[..., 0].copy(), 90, 120)
    inner = np.zeros((90, 120), bool)
    inner[45 - 10:45 + 10, 60 - 10:60 + 10] = True  # well inside the turned square
    pasted = np.zeros((90, 120), np.float32)
    pasted[top:bottom, left:right] = values
    assert np.abs(pasted[inner] - image[..., 0][inner]).mean() < 0.2  # resampled twice, random pixels


def test_person_scenes_are_deterministic() -> None:
    first, again = person_scenes("validation", per_portrait=1)[:3], person_scenes("validation", per_portrait=1)[:3]
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.image, b.image)
        assert a.name == b.name


def _selfie_region(area: float) -> PersonCandidate:
    probability = np.full((20, 10), 0.97, np.float32)
    return PersonCandidate("selfie", probability, (0, 20, 0, 10), 0.0, 0.0, np.array([0, 0, 10, 20.0]),
                           agreement=0.9, confidence=0.97, uncertain=0.05, area=area)


def test_a_clean_selfie_region_without_a_face_is_a_person_only_when_it_leaves_most_of_the_frame() -> None:
    settings = FinderSettings()
    asked = []

    def no_face(candidate: PersonCandidate) -> float:
        asked.append(candidate)
        return 0.0

    standing = _selfie_region(settings.unsupported_area / 2)  # a person in a scene, face unseen
    filling = _selfie_region(0.6)  # an apple or a baboon's face filling the frame
    assert settings.select([standing, filling], no_face) == [standing]
    assert asked == [filling]  # the face detector is asked only where the area does not decide
    strict = FinderSettings(unsupported_area=0.0)
    assert strict.select([_selfie_region(0.1)], no_face) == []


def _pose(box: tuple[int, int, int, int], head: list[float], detection: float, presence: float,
          frame: int = 40 * 40) -> PersonCandidate:
    top, bottom, left, right = box
    probability = np.full((bottom - top, right - left), 0.97, np.float32)
    return PersonCandidate("pose", probability, box, detection, presence, np.array(head), 0.0, 0.97, 0.05,
                           probability.size / frame)


def _no_face(candidate: PersonCandidate) -> float:
    return 0.0


def test_a_sure_pose_needs_no_second_opinion_and_a_less_sure_one_does() -> None:
    """A small person: the face is too small to find and the selfie segmenter misses them."""
    settings = FinderSettings()
    sure = _pose((0, 20, 0, 10), [2, 0, 8, 5], settings.strong_detection, settings.strong_presence)
    assert settings.select([sure], _no_face) == [sure]
    for detection, presence in ((settings.strong_detection - 0.02, 0.99), (0.99, settings.strong_presence - 0.02)):
        assert settings.select([_pose((0, 20, 0, 10), [2, 0, 8, 5], detection, presence)], _no_face) == []
    blurred = _pose((0, 20, 0, 10), [2, 0, 8, 5], 0.99, 0.99)
    blurred.uncertain = settings.confirm_uncertain + 0.1  # a mask with no clear edge
    assert settings.select([blurred], _no_face) == []


def test_a_selfie_region_that_paints_the_scene_around_a_posed_person_is_left_out() -> None:
    settings = FinderSettings()  # a 40x40 frame
    person = _pose((10, 40, 5, 15), [7, 10, 13, 16], 0.95, 0.99)  # 300 pixels, its head at (10, 13)
    scene = PersonCandidate("selfie", np.full((40, 40), 0.97, np.float32), (0, 40, 0, 40), 0.0, 0.0,
                            np.array([0, 0, 40, 40.0]), agreement=0.9, confidence=0.97, uncertain=0.05, area=0.8)
    # Above unsupported_area, below max_area; the person covers 300 of its 1600 pixels.
    people = settings.select([person, scene], _no_face)
    assert people == [person]
    # Two people, one of them without a pose: the region holds both and the posed one covers half of it.
    pair = PersonCandidate("selfie", np.full((30, 20), 0.97, np.float32), (10, 40, 5, 25), 0.0, 0.0,
                           np.array([5, 10, 25, 40.0]), agreement=0.9, confidence=0.97, uncertain=0.05, area=0.375)
    assert settings.select([person, pair], _no_face) == [person, pair]


def test_a_person_that_no_face_or_clear_pose_confirms_needs_the_close_pose_look(monkeypatch: pytest.MonkeyPatch
                                                                               ) -> None:
    from hamagan.segmentation import default_finder

    finder = default_finder()
    image = np.zeros((20, 10, 3), np.float32)
    pose = PersonCandidate("pose", np.full((20, 10), 0.97, np.float32), (0, 20, 0, 10), finder.settings.min_detection,
                           0.99, np.array([0, 0, 10, 20.0]), 0.0, 0.97, 0.05, 0.1)
    selfie = _selfie_region(0.1)
    monkeypatch.setattr(finder, "face_score", lambda image, candidate: 0.0)  # no face anywhere
    monkeypatch.setattr(finder, "multipose", lambda image: [_pose_over(image, 0.5)])  # MoveNet sees a person
    assert finder.confirmed(image, [pose]) and not finder.confirmed(image, [selfie]) and selfie.face == 0.0
    monkeypatch.setattr(finder, "looked", _finding(lambda: [_selfie_region(0.1)]))
    threshold = finder.settings.min_close_pose
    # A bird: the pose detector, looking again closely, finds no person on it.
    monkeypatch.setattr(finder, "close_pose", lambda image, group: threshold - 0.01)
    bird = find_people(image, finder=finder)
    assert not bird.found and not bird.probability.any()
    assert bird.message.startswith("no person found in the photo (something like a person") and "trimap" in bird.message
    # Someone seen from behind: the close look finds them; kept, with a warning.
    monkeypatch.setattr(finder, "close_pose", lambda image, group: threshold)
    message = find_people(image, finder=finder).message
    assert message.startswith("found 1 person, but no face or clear body pose confirms it") and "trimap" in message
    monkeypatch.setattr(finder, "face_score", lambda image, candidate: 0.9)  # a face the mesh confirms
    monkeypatch.setattr(finder, "close_pose", lambda image, group: 0.0)  # not asked: the face decides
    assert find_people(image, finder=finder).message == "found 1 person"


def test_the_close_pose_look_finds_people_and_not_a_flower() -> None:
    """The bundled astronaut: the close look of the pose detector finds her, her head on her mask (measured
    0.92), and nobody on a flat grey photo. A bundled flower that the selfie segmenter paints as a person, with
    no face and no pose to confirm it (about 0.2): no person."""
    finder = default_finder()
    image = to_array(BARE_PORTRAIT)
    people = finder.people(image)
    assert finder.close_pose(image, people) >= finder.settings.min_close_pose
    assert finder.close_pose(np.full_like(image, 0.5), people) == 0.0
    flower = find_people(to_array(BACKGROUNDS / "sklearn-flower.jpg"))
    assert not flower.found and "something like a person" in flower.message


def _pose_over(image: np.ndarray, score: float) -> Pose:
    """A MoveNet pose whose keypoints, all sure, lie down the middle of ``image``."""
    height, width = image.shape[:2]
    return Pose(score, np.linspace(0, height - 1, KEYPOINTS), np.full(KEYPOINTS, width / 2), np.full(KEYPOINTS, 0.9))


def test_a_pose_lies_on_a_mask_by_its_sure_keypoints() -> None:
    mask = np.zeros((20, 10), bool)
    mask[:, 3:7] = True
    pose = _pose_over(mask[..., None], 0.4)
    assert pose.lies_on(mask) and not pose.lies_on(~mask)
    assert best_score_on([pose, _pose_over(mask[..., None], 0.1)], mask) == 0.4
    unsure = dataclasses.replace(pose, keypoint_scores=np.where(np.arange(KEYPOINTS) < 2, 0.9, 0.1))
    assert not unsure.lies_on(mask) and best_score_on([unsure], mask) == 0.0  # two sure keypoints place no one
    half = dataclasses.replace(pose, columns=np.where(np.arange(KEYPOINTS) < 9, 5.0, 0.0))
    assert half.lies_on(mask) and not dataclasses.replace(pose, columns=np.zeros(KEYPOINTS)).lies_on(mask)


def test_movenet_finds_the_astronaut_on_her_mask_and_no_one_on_a_flat_photo() -> None:
    finder = default_finder()
    image = to_array(BARE_PORTRAIT)
    mask = find_people(image).probability > 0.5
    poses = finder.multipose(image)
    assert len(poses) == 6 and poses[0].rows.shape == (KEYPOINTS,)
    assert best_score_on(poses, mask) >= 2 * finder.settings.min_multipose  # measured 0.51
    assert best_score_on(poses, ~mask) == 0.0
    assert max(p.score for p in finder.multipose(np.full_like(image, 0.5))) < 0.05
    assert finder.multipose(np.zeros((3000, 2, 3), np.float32))  # a sliver of a photo still fits its square


def test_a_person_no_face_or_strong_pose_confirms_needs_a_movenet_pose(monkeypatch: pytest.MonkeyPatch) -> None:
    finder = default_finder()
    image = np.zeros((20, 10, 3), np.float32)
    settings = finder.settings
    pose = PersonCandidate("pose", np.full((20, 10), 0.97, np.float32), (0, 20, 0, 10), settings.min_detection,
                           0.99, np.array([0, 0, 10, 20.0]), 0.0, 0.97, 0.05, 0.1)
    monkeypatch.setattr(finder, "looked", _finding(lambda: [dataclasses.replace(pose, face=None)]))
    monkeypatch.setattr(finder, "face_score", lambda image, candidate: 0.0)
    # Seeds on a stalk: the pose detector's 0.6 confirms them, but MoveNet finds no pose on them.
    monkeypatch.setattr(finder, "multipose", lambda image: [_pose_over(image, settings.min_multipose - 0.01)])
    figure = find_people(image, finder=finder)
    assert not figure.found and "something like a person" in figure.message
    monkeypatch.setattr(finder, "multipose", lambda image: [_pose_over(image, settings.min_multipose)])
    assert find_people(image, finder=finder).message == "found 1 person"
    # A person whose blurred face MoveNet's low score does not stop: the face mesh confirms the face.
    monkeypatch.setattr(finder, "multipose", lambda image: [_pose_over(image, 0.0)])
    monkeypatch.setattr(finder, "face_score", lambda image, candidate: 0.9)
    assert find_people(image, finder=finder).message == "found 1 person"
    monkeypatch.setattr(finder, "multipose", lambda image: pytest.fail("MoveNet asked about a confirmed person"))
    monkeypatch.setattr(finder, "face_score", lambda image, candidate: pytest.fail("a face asked twice"))
    known_face = dataclasses.replace(pose, detection=settings.min_detection / 2, face=0.9)
    monkeypatch.setattr(finder, "looked", _finding(lambda: [known_face]))  # a face already confirmed: not asked
    assert find_people(image, finder=finder).message == "found 1 person"
    strong = dataclasses.replace(pose, detection=settings.strong_detection, face=None)
    monkeypatch.setattr(finder, "looked", _finding(lambda: [strong]))  # a strong pose detection: nor here
    assert find_people(image, finder=finder).message == "found 1 person"
    monkeypatch.setattr(finder, "settings", dataclasses.replace(settings, min_multipose=None))
    monkeypatch.setattr(finder, "looked", _finding(lambda: [dataclasses.replace(pose, face=None)]))
    assert find_people(image, finder=finder).found  # the check switched off


def test_bundled_dandelion_seeds_are_no_person_and_the_spaces_examples_are_people() -> None:
    """The one bundled photo that the MediaPipe models took for a person (two dandelion seeds on a stalk: pose
    detector 0.61, MoveNet 0.0 on it) is none; each of the Space's example portraits keeps its cut-out."""
    seeds = find_people(to_array(BACKGROUNDS / "mate-TwoWings.jpg"))
    assert not seeds.found and "something like a person" in seeds.message
    for path in [portrait_paths(i)[0] for i in TEST_PORTRAITS] + [BARE_PORTRAIT]:
        assert find_people(to_array(path)).found, path.name
