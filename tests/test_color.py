"""The HMH transforms and the camera-style changes, tested against their definitions."""

from __future__ import annotations

import numpy as np
import pytest

from hamagan.color import (
    change_illumination,
    exposure_contrast,
    from_color_space,
    gradient_gain,
    match_statistics,
    msrcr,
    reinhard_transfer,
    to_color_space,
    tone_curve,
    white_balance,
)


def _images() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    source = (rng.random((32, 48, 3)) * np.array([0.9, 0.5, 0.3])).astype(np.float32)  # warm
    target = (rng.random((40, 40, 3)) * np.array([0.2, 0.6, 0.9]) + 0.05).astype(np.float32)  # cool
    return source, target


@pytest.mark.parametrize("space", ["lalphabeta", "cielab"])
def test_transfer_matches_the_target_statistics_before_clipping(space: str) -> None:
    source, target = _images()
    src, tgt = to_color_space(source, space), to_color_space(target, space)
    moved = match_statistics(src, tgt)
    for c in range(3):  # each channel with its own std ratio (the public generator swapped a and b)
        assert moved[..., c].mean() == pytest.approx(tgt[..., c].mean(), abs=1e-9)
        assert moved[..., c].std() == pytest.approx(tgt[..., c].std(), rel=1e-9)
    assert (tgt[..., 1:] < 0).any() and (moved[..., 1:] < 0).any()  # signed chroma is kept, not clamped


@pytest.mark.parametrize("space", ["lalphabeta", "cielab"])
def test_colour_space_round_trip_and_transfer_moves_towards_target(space: str) -> None:
    source, target = _images()
    lit = np.clip(source + 0.05, 0, 1)  # above lαβ's log floor of 1/255
    np.testing.assert_allclose(from_color_space(to_color_space(lit, space), space), lit, atol=5e-3)
    out = reinhard_transfer(source, target, space)
    assert out.shape == source.shape and out.min() >= 0 and out.max() <= 1
    assert np.abs(out.mean(axis=(0, 1)) - target.mean(axis=(0, 1))).sum() < \
        np.abs(source.mean(axis=(0, 1)) - target.mean(axis=(0, 1))).sum()

    values = to_color_space(lit, space)
    stretched = (values - values.mean(axis=(0, 1))) * 1e4  # a transfer from a nearly flat layer scales by thousands
    assert np.isfinite(from_color_space(stretched, space)).all()


def test_illumination_and_msrcr() -> None:
    source, _ = _images()
    np.testing.assert_allclose(change_illumination(source, 51), np.clip(source + 0.2, 0, 1), atol=1e-6)
    enhanced = msrcr(source)
    assert enhanced.shape == source.shape and enhanced.min() >= 0 and enhanced.max() <= 1
    assert not np.allclose(enhanced, source, atol=0.05)


def test_fast_msrcr_stays_close_to_the_exact_one_on_a_photo() -> None:
    import cv2

    from hamagan.images import to_array
    from hamagan.samples import background_paths

    photo = to_array(background_paths()[1], 3)
    photo = cv2.resize(photo, (256, round(256 * photo.shape[0] / photo.shape[1])), interpolation=cv2.INTER_AREA)
    exact, fast = msrcr(photo), msrcr(photo, fast=True)
    levels = np.abs(np.round(exact * 255) - np.round(fast * 255))
    assert levels.mean() < 1.5 and np.percentile(levels, 99) <= 10, (levels.mean(), levels.max())
    assert not np.array_equal(exact, fast)  # the fast path really runs downscaled blurs


def test_camera_changes_are_the_identity_at_their_neutral_settings_and_change_colours_otherwise() -> None:
    image = np.random.default_rng(0).uniform(0.05, 0.95, (16, 20, 3)).astype(np.float32)
    ones = np.ones(3, np.float32)
    neutral = [white_balance(image, ones), exposure_contrast(image, 0.0, 1.0, 1.0), tone_curve(image, 1.0, 0.0),
               gradient_gain(image, ones, ones, 0.7)]
    for out in neutral:
        np.testing.assert_allclose(out, image, atol=1e-5)
    changed = [white_balance(image, np.array([1.3, 1.0, 0.7])), exposure_contrast(image, 1.0, 1.0, 1.0),
               exposure_contrast(image, 0.0, 1.0, 0.0), tone_curve(image, 2.0, 0.0),
               gradient_gain(image, ones, np.array([0.5, 0.5, 0.5]), 0.0)]
    for out in changed:
        assert out.dtype == np.float32 and out.min() >= 0 and out.max() <= 1
        assert np.abs(out - image).mean() > 0.02
    grey = exposure_contrast(image, 0.0, 1.0, 0.0)  # no saturation: every channel the luma
    np.testing.assert_allclose(grey[..., 0], grey[..., 2], atol=1e-6)
    ramp = gradient_gain(np.full((4, 9, 3), 0.5, np.float32), ones, ones * 0.5, 0.0)  # left to right
    np.testing.assert_allclose(ramp[0, [0, -1], 0], [0.5, 0.25], atol=1e-6)
