"""The harmonization engine and its held-out sets: the real photo is the target, one side of the mask is
recoloured, draws are seeded, and the sets are the same on every call."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from hamagan import samples
from hamagan.data.harmonization_engine import (
    MASK_KINDS,
    HarmonizationEngine,
    HarmonizationSettings,
    object_shape,
    placed_shape,
    silhouette,
)
from hamagan.data.photo_pool import photo_split
from hamagan.data.transforms import ALL_TRANSFORMS, random_transform
from hamagan.images import to_array
from hamagan.training.samples import HMHSamples, SampleOptions, load_backgrounds


@pytest.fixture(scope="module")
def engine() -> HarmonizationEngine:
    photos = load_backgrounds(samples.background_paths()[:4], 256)
    shapes = [alpha for _, alpha in samples.portrait_cutouts("train")[:2]]
    return HarmonizationEngine(photos, shapes, HarmonizationSettings(size=64, untouched=0.0), seed=3)


@pytest.mark.parametrize("direction", ["background", "foreground"])
def test_one_side_is_the_real_photo_and_the_other_is_recoloured(engine: HarmonizationEngine, direction: str) -> None:
    for position in range(12):
        drawn = engine(position, direction)
        untouched, adjusted = ((drawn.layer_fg, drawn.layer_bg) if direction == "background"
                               else (drawn.layer_bg, drawn.layer_fg))
        np.testing.assert_array_equal(untouched, drawn.image)
        assert drawn.transform["name"] in ALL_TRANSFORMS and drawn.mask in MASK_KINDS
        assert np.abs(adjusted - drawn.image).mean() > 1e-3, drawn.transform
        assert drawn.image.shape == (64, 64, 3) and drawn.alpha.shape == (64, 64)
        assert 0.0 <= drawn.alpha.min() and drawn.alpha.max() <= 1.0


def test_draws_are_seeded_by_position(engine: HarmonizationEngine) -> None:
    first, again, other = engine(5), engine(5), engine(6)
    np.testing.assert_array_equal(first.composite, again.composite)
    assert first.transform == again.transform
    assert not np.array_equal(first.composite, other.composite)


def test_masks_cover_a_share_of_the_frame_within_the_settings(engine: HarmonizationEngine) -> None:
    rng = np.random.default_rng(0)
    covered = [float(engine.shape(rng, engine.kind(rng)).mean()) for _ in range(40)]
    low, high = engine.settings.coverage
    assert np.mean([low <= c <= high for c in covered]) >= 0.9
    for mask in (silhouette(rng, 96), object_shape(rng, 96)):
        assert mask.shape == (96, 96) and 0 < mask.mean() < 1
    shape = samples.portrait_cutouts("train")[0][1]
    placed = placed_shape(rng, shape, 96)
    assert placed.shape == (96, 96) and placed.max() > 0.5


def test_unknown_transforms_and_mask_kinds_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown transforms"):
        random_transform(np.random.default_rng(0), [], names=("sepia",))
    with pytest.raises(ValueError, match="unknown mask kinds"):
        HarmonizationSettings(masks={"cloud": 1.0})
    with pytest.raises(ValueError, match="two photos"):
        HarmonizationEngine([np.zeros((8, 8, 3), np.uint8)], [])


def test_training_samples_draw_engine_composites_with_the_layers_a_harmonization_step_reads(tiny_hmh: Path) -> None:
    from hamagan.data.hmh import load_rows

    rows = load_rows(str(tiny_hmh), "train")
    photos = load_backgrounds(samples.background_paths()[:3], 128)
    drawn = HMHSamples(rows, SampleOptions(kind="full", size=64, flip=False, harmonization_engine=1.0), photos, seed=1)
    plain = HMHSamples(rows, SampleOptions(kind="full", size=64, flip=False), photos, seed=1)
    changed = 0
    for position in range(4):
        sample, row = drawn[position], plain[position]
        assert set(sample) == set(row)  # batches may mix both kinds
        direction = rows[drawn.row_index(position)]["perturb"]
        untouched, adjusted = ((sample["layer_fg"], sample["layer_bg"]) if direction == "background"
                               else (sample["layer_bg"], sample["layer_fg"]))
        assert torch.equal(untouched, sample["image"])
        changed += int(not torch.equal(adjusted, sample["image"]))
    assert changed >= 3  # 5% are left untouched


def test_training_samples_leave_the_share_of_engine_composites_they_are_asked_to_untouched(tiny_hmh: Path) -> None:
    from hamagan.data.hmh import load_rows

    rows = load_rows(str(tiny_hmh), "train")
    photos = load_backgrounds(samples.background_paths()[:3], 128)
    for share, low, high in ((1.0, 40, 40), (0.5, 10, 30)):
        options = SampleOptions(kind="full", size=64, harmonization_engine=1.0, harmonization_untouched=share)
        engine = HMHSamples(rows, options, photos, seed=1).harmonization_engine
        draws = [engine(position, "foreground") for position in range(40)]
        kept = sum(np.array_equal(d.layer_fg, d.image) and np.array_equal(d.layer_bg, d.image) for d in draws)
        assert low <= kept <= high
    with pytest.raises(ValueError, match="harmonization_untouched"):
        SampleOptions(harmonization_untouched=-0.1)


def _person_photo() -> tuple[np.ndarray, np.ndarray]:
    """A bundled portrait, coloured red where its alpha is high: a photo of a person and its mask."""
    image_path, alpha_path = samples.portrait_paths(samples.portrait_ids()[0])
    photo, mask = to_array(image_path, 3), to_array(alpha_path, 1)
    photo[mask > 0.5] = (1.0, 0.0, 0.0)
    return photo, mask


def test_person_masks_are_the_person_on_their_own_photo() -> None:
    photos = load_backgrounds(samples.background_paths()[:3], 128)
    people = [_person_photo()]
    settings = HarmonizationSettings(size=64, masks={"person": 1.0}, untouched=0.0)
    engine = HarmonizationEngine(photos, [], settings, seed=2, people=people)
    for position in range(6):
        drawn = engine(position, "background")
        assert drawn.mask == "person"
        red = (drawn.image[..., 0] > 0.9) & (drawn.image[..., 1] < 0.1) & (drawn.image[..., 2] < 0.1)
        inside = drawn.alpha > 0.9
        assert inside.any() and red[inside].mean() > 0.9  # the mask lies on the person of the same photo
        assert red[drawn.alpha < 0.1].mean() < 0.05
    with pytest.raises(ValueError, match="person masks need"):
        HarmonizationEngine(photos, [], settings, seed=2)


def test_training_samples_mix_in_person_masks_only_when_asked(tiny_hmh: Path) -> None:
    from hamagan.data.hmh import load_rows

    rows = load_rows(str(tiny_hmh), "train")
    photos = load_backgrounds(samples.background_paths()[:3], 128)
    options = SampleOptions(kind="full", size=64, harmonization_engine=1.0, harmonization_people=0.5)
    mixed = HMHSamples(rows, options, photos, seed=1, people=[_person_photo()])
    kinds = [mixed.harmonization_engine(position).mask for position in range(40)]
    assert 0.25 < kinds.count("person") / len(kinds) < 0.75
    without = HMHSamples(rows, options, photos, seed=1)  # no photos of people: no person masks
    assert "person" not in {without.harmonization_engine(position).mask for position in range(20)}
    with pytest.raises(ValueError, match="harmonization_people"):
        SampleOptions(harmonization_people=1.5)


def _fake_pool(cache: Path, count: int = 60) -> None:
    """Bundled photos copied under made-up names into a pool cache with its manifest."""
    photos, manifest = samples.background_paths(), []
    for index in range(count):
        file = f"fake/photo_{index:03d}.jpg"
        (cache / file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(photos[index % len(photos)], cache / file)
        manifest.append({"file": file, "package": "fake", "version": "1", "licence": "MIT",
                         "role": "people" if index % 7 == 0 else "no-people",
                         "sha256": hashlib.sha256((cache / file).read_bytes()).hexdigest()})
    (cache / "manifest.json").write_text(json.dumps(manifest))


def test_held_out_sets_use_only_their_split_and_are_the_same_on_every_call(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hamagan.harmonization_sets import composite_cases, held_out_photos

    monkeypatch.setenv("HAMAGAN_PHOTO_POOL", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="photo_pool"):
        held_out_photos("test")
    _fake_pool(tmp_path)
    test_photos = held_out_photos("test")
    assert test_photos and all(photo_split(str(p.relative_to(tmp_path))) == "test" for p in test_photos)
    assert len(held_out_photos("validation")) > 8  # the 8 held-out bundled photos and the pool's validation split
    first, again = composite_cases("test", count=4, size=64), composite_cases("test", count=4, size=64)
    assert [c.direction for c in first] == ["background", "foreground"] * 2
    for a, b in zip(first, again, strict=True):
        assert a.case_id == b.case_id and np.array_equal(a.composite, b.composite)
    with pytest.raises(ValueError, match="split"):
        held_out_photos("train")


def test_the_people_sets_hold_the_split_s_own_portraits_with_their_alpha(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hamagan.harmonization_sets as sets
    from hamagan.data.builder import validation_portrait
    from hamagan.data.transforms import TRANSFORMS

    monkeypatch.setenv("HAMAGAN_PHOTO_POOL", str(tmp_path))
    _fake_pool(tmp_path, count=20)
    monkeypatch.setattr(sets, "pool_people", lambda split, long_side: [])  # the portraits alone
    assert [p for p, _, _ in sets.people_photos("validation")] == [validation_portrait()]
    assert [p for p, _, _ in sets.people_photos("test")] == list(samples.TEST_PORTRAITS)
    assert validation_portrait() not in samples.TEST_PORTRAITS
    (_, photo, alpha), = sets.people_photos("validation", long_side=256)
    assert max(alpha.shape) == 256 and photo.shape[:2] == alpha.shape and 0.05 < alpha.mean() < 0.95
    cases = sets.people_cases("validation", draws=3, long_side=256)
    assert len(cases) == 2 * len(TRANSFORMS) * 3
    for case in cases:
        assert np.array_equal(case.real, photo) and np.array_equal(case.alpha, alpha)
        assert not np.array_equal(case.composite, case.real) or case.transform == "reinhard"


def test_a_share_of_photos_turns_black_and_white_only_when_asked() -> None:
    photos = load_backgrounds(samples.background_paths()[:4], 128)
    grey = HarmonizationSettings(size=48, masks={"object": 1.0}, greyscale=1.0)
    drawn = HarmonizationEngine(photos, [], grey)(0)
    np.testing.assert_array_equal(drawn.image[..., 0], drawn.image[..., 2])
    colour = HarmonizationEngine(photos, [], HarmonizationSettings(size=48, masks={"object": 1.0}))(0)
    assert np.abs(colour.image[..., 0] - colour.image[..., 2]).mean() > 0.01


def test_a_colour_cast_scales_each_channel_of_the_whole_photo_and_is_drawn_only_when_asked() -> None:
    photos = load_backgrounds(samples.background_paths()[:4], 128)
    plain = HarmonizationSettings(size=48, masks={"object": 1.0}, untouched=1.0)
    cast = HarmonizationSettings(size=48, masks={"object": 1.0}, untouched=1.0, cast=0.3)
    before, after = (HarmonizationEngine(photos, [], settings, seed=5)(2) for settings in (plain, cast))
    assert np.array_equal(before.alpha, after.alpha)
    unclipped = (before.image > 0.05).all(-1) & (after.image < 0.99).all(-1)
    gains = np.median(after.image[unclipped] / before.image[unclipped], axis=0)
    assert np.ptp(gains) > 0.02 and np.all(np.abs(np.log(gains)) <= 2 * 0.3)
    np.testing.assert_allclose(after.image[unclipped], before.image[unclipped] * gains, rtol=1e-4)
    np.testing.assert_array_equal(after.image, after.layer_fg)  # untouched: both layers are the cast photo


def test_engine_validation_scores_an_unchanged_composite_as_the_composite() -> None:
    from hamagan.models.harmonizer import AttentionUNetHarmonizer
    from hamagan.training.validation import validate_engine_composites

    photos = load_backgrounds(samples.background_paths()[:3], 128)
    shapes = [alpha for _, alpha in samples.portrait_cutouts("train")[:1]]
    identity = AttentionUNetHarmonizer(base_channels=4, num_downs=5, transform_grid=1, masked_pooling=True)
    scores = validate_engine_composites(identity, photos, shapes, "foreground", size=64, count=4)
    assert scores["fMSE"] == pytest.approx(scores["composite_fMSE"], rel=1e-3)
    assert scores["composite_fMSE"] > 0 and 0 < scores["colourfulness_kept"] < 10
