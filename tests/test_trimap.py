"""Trimap reading, checking and making."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hamagan.evaluation import load_matting_case
from hamagan.images import ImageError
from hamagan.samples import TEST_PORTRAITS, background_paths
from hamagan.segmentation import find_people
from hamagan.trimap import (
    BandSettings,
    auto_trimap,
    band_trimap,
    load_trimap,
    snap_to_edges,
    tightened_trimap,
    trimap_from_alpha,
)


def test_reads_both_scales_and_paths(tmp_path: Path) -> None:
    u8 = np.array([[0, 128, 255]], np.uint8)
    Image.fromarray(u8).save(tmp_path / "t.png")
    for source in (u8, u8 / 255 * 0 + np.array([[0, 0.5, 1]], np.float32), tmp_path / "t.png", Image.fromarray(u8)):
        assert load_trimap(source).flatten().tolist() == [0.0, 0.5, 1.0]


def test_rejects_other_values_and_sizes() -> None:
    with pytest.raises(ImageError, match="other than 0/128/255"):
        load_trimap(np.array([[0, 100, 255]], np.uint8))
    with pytest.raises(ImageError, match="differs from the image"):
        load_trimap(np.zeros((4, 5), np.uint8), size=(5, 4))


def test_trimap_without_unknown_region_is_valid() -> None:
    assert load_trimap(np.array([[0, 255]], np.uint8)).flatten().tolist() == [0.0, 1.0]


def test_trimap_from_alpha_grows_the_soft_band_by_the_radius() -> None:
    alpha = np.zeros((21, 21), np.float32)
    alpha[:, 11:] = 1
    alpha[:, 10] = 0.5  # a one-pixel soft column
    trimap = trimap_from_alpha(alpha, radius=3)
    unknown_columns = np.where((trimap == 0.5).all(axis=0))[0]
    assert unknown_columns.tolist() == list(range(7, 14))
    assert (trimap[:, :7] == 0).all() and (trimap[:, 14:] == 1).all()


def test_the_tightened_trimap_keeps_the_band_only_near_the_soft_alpha() -> None:
    trimap = np.full((9, 21), 0.5, np.float32)
    trimap[:, 0], trimap[:, 20] = 1.0, 0.0  # known pixels, against the alpha below
    alpha = np.zeros((9, 21), np.float32)
    alpha[:, 11:] = 1.0
    alpha[:, 10] = 0.5  # the only soft column
    alpha[4, 3] = 0.99  # confident enough to be rounded
    tight = tightened_trimap(trimap, alpha, radius=2.0)
    assert np.flatnonzero((tight == 0.5).all(axis=0)).tolist() == [8, 9, 10, 11, 12]
    assert (tight[:, 1:8] == 0).sum() == 9 * 7 - 1 and tight[4, 3] == 1.0
    assert (tight[:, 13:20] == 1).all()
    assert (tight[:, 0] == 1).all() and (tight[:, 20] == 0).all()
    hard = (alpha >= 0.5).astype(np.float32)  # nothing soft: the whole band is decided
    np.testing.assert_array_equal(tightened_trimap(trimap, hard, radius=2.0)[:, 1:20], hard[:, 1:20])


def test_auto_trimap_covers_the_true_edge_of_held_out_portraits() -> None:
    for portrait_id in TEST_PORTRAITS:
        case = load_matting_case(portrait_id, long_side=512)
        result = auto_trimap(case.image.astype(np.float32))
        assert result.found, result.message
        truth, mask = case.alpha > 0.5, find_people(case.image.astype(np.float32)).probability > 0.5
        assert (truth & mask).sum() / (truth | mask).sum() > 0.85
        # Known foreground is person, known background is not.
        assert (case.alpha[result.trimap == 1] > 0.5).mean() > 0.97
        assert (case.alpha[result.trimap == 0] < 0.5).mean() > 0.97
        # The unknown band: narrow along smooth edges, wide where the photo is busy, plus uncertain pixels.
        soft = (case.alpha > 0.05) & (case.alpha < 0.95)
        assert (result.trimap[soft] == 0.5).mean() > 0.7
        assert set(np.unique(result.trimap).tolist()) == {0.0, 0.5, 1.0}


def test_auto_trimap_on_any_orientation_and_on_person_free_photos() -> None:
    case = load_matting_case(TEST_PORTRAITS[0], long_side=400)
    rotated = np.ascontiguousarray(np.rot90(case.image).astype(np.float32))
    assert auto_trimap(rotated).trimap.shape == rotated.shape[:2]
    wrong = [p.name for p in background_paths() if auto_trimap(p).found]
    assert len(wrong) <= 3, wrong  # measured: 3 of the 40 (benchmarks/auto_trimap_validation.txt)
    empty = auto_trimap(np.zeros((40, 60, 3), np.float32))
    assert not empty.found and empty.trimap.max() == 0 and "no person" in empty.message


def test_band_is_narrow_on_smooth_edges_wide_on_busy_ones_and_background_far_from_people() -> None:
    """A square person touching the frame's left edge, on a flat photo that is busy (noise) right of it only."""
    height, width = 200, 400
    probability = np.zeros((height, width), np.float32)
    probability[50:150, 0:100] = 1.0
    probability[95:105, 100:104] = 0.5  # an unsure patch: unknown whatever its edge
    image = np.full((height, width, 3), 0.5, np.float32)
    image[:, 100:130] = np.random.default_rng(0).random((height, 30, 3), np.float32)
    band = BandSettings(person_side=None)  # lengths of the frame, as the band was chosen on portraits
    trimap = band_trimap(image, probability, band)
    narrow, wide = band.narrow * width, band.wide * width
    assert (trimap[60:140, 0:85] == 1).all() and (trimap[95:105, 100:104] == 0.5).all()
    top_band = np.flatnonzero(trimap[:100, 50] == 0.5)  # the smooth top edge: a few pixels
    assert 1 <= top_band.size <= 2 * narrow + 2 and abs(top_band.mean() - 49.5) <= narrow
    right_band = np.flatnonzero(trimap[120, :] == 0.5)  # the busy right edge: the wide band, on both sides
    assert right_band.min() <= 100 - wide + 2 and right_band.max() >= 100 + wide - 2
    assert (trimap[:, 150:] == 0).all() and (trimap[:30] == 0).all()
    assert not band_trimap(image, np.zeros_like(probability), band).any()


def test_the_band_follows_each_persons_length() -> None:
    """On a busy photo, a person 400 px tall and one 160 px tall: each gets the wide band in their own length
    (``wide`` of 400 and of 160 px), not the frame's, and a fragment beside the small one counts as theirs (its
    band as wide as theirs, not the sliver a fragment's own length would give it)."""
    height, width = 480, 640
    probability = np.zeros((height, width), np.float32)
    probability[40:440, 60:260] = 1.0
    probability[160:320, 400:440] = 1.0
    probability[200:210, 444:448] = 1.0  # a fragment 4 px beside the small person
    image = np.random.default_rng(0).random((height, width, 3), np.float32)
    band = BandSettings(snap=0.0)
    trimap = band_trimap(image, probability, band)
    tall = np.flatnonzero(trimap[240, :330] == 0.5)
    small = np.flatnonzero(trimap[240, 330:] == 0.5) + 330
    tall_right, small_right = tall[tall >= 255], small[small >= 435]  # each band's outer part on the right
    assert abs(tall_right.max() - 260 - band.wide * 400) <= 2
    assert abs(small_right.max() - 440 - band.wide * 160) <= 2
    fragment_band = np.flatnonzero(trimap[205, 441:] == 0.5) + 441  # the small person's width, not its own
    assert fragment_band.min() == 441 and abs(fragment_band.max() - 448 - band.wide * 160) <= 1.5
    framed = band_trimap(image, probability, BandSettings(snap=0.0, person_side=None))
    assert (framed == 0.5).sum() > 1.5 * (trimap == 0.5).sum()


def test_the_snap_makes_the_probability_fall_at_the_photos_edge() -> None:
    """A photo dark left of column 60 and bright right of it; the segmenter's soft edge crosses 0.5 at column
    63, 3 px off (as a 256-pixel mask enlarged is). Snapped, the probability falls most at the photo's edge
    and is unsure there (the trimap's band covers unsure pixels); on a flat photo it only softens."""
    height, width = 40, 120
    image = np.full((height, width, 3), 0.2, np.float32)
    image[:, 60:] = 0.8
    columns = np.arange(width, dtype=np.float32)
    probability = np.tile(np.clip((63.0 - columns) / 6 + 0.5, 0, 1), (height, 1))
    steepest = lambda p: int(np.argmin(np.diff(p[height // 2])))  # noqa: E731  the column before the steepest fall
    snapped = snap_to_edges(image, probability, 4, 1e-3)
    assert steepest(snapped) == 59 and 0.1 < snapped[height // 2, 60] < 0.9
    assert steepest(snap_to_edges(np.full_like(image, 0.5), probability, 4, 1e-3)) != 59
    unsnapped, snapped_band = (band_trimap(image, probability, BandSettings(snap=snap)) for snap in (0.0, 4 / width))
    assert np.count_nonzero(snapped_band == 0.5) > np.count_nonzero(unsnapped == 0.5)
