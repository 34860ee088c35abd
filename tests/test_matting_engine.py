"""The matting data engine: exact layers, seeded samples, trimaps as people draw them, held-out styles."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from hamagan import samples
from hamagan.data.matting_engine import (
    FAMILIES,
    HELD_OUT_STYLES,
    STRAND_STYLES,
    EngineSettings,
    MattingEngine,
    band_trimap,
    finder_trimap,
)
from hamagan.images import to_array
from hamagan.training.samples import HMHSamples, SampleOptions, load_backgrounds


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    return load_backgrounds(samples.background_paths()[:6], 256)


@pytest.fixture(scope="module")
def cutouts() -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for portrait in samples.portrait_ids("train")[:2]:
        image, alpha = samples.portrait_paths(portrait)
        matte = to_array(alpha, 1)
        out.append((to_array(image, 3).astype(np.float32), (matte[..., 0] if matte.ndim == 3 else matte)))
    return out


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_recomposites_exactly_and_repeats_by_seed_and_position(family: str, photos, cutouts) -> None:
    settings = EngineSettings(size=96, families={family: 1.0}, styles=tuple(STRAND_STYLES))
    engine = MattingEngine(photos, cutouts, settings, seed=3)
    first, again, other = engine(7), MattingEngine(photos, cutouts, settings, seed=3)(7), engine(8)
    assert first.family == family
    for layer in ("image", "alpha", "foreground", "background", "trimap"):
        array = getattr(first, layer)
        assert array.dtype == np.float32 and array.shape[:2] == (96, 96)
        assert 0 <= array.min() and array.max() <= 1
        assert np.array_equal(array, getattr(again, layer)), layer
    a = first.alpha[..., None]
    assert np.array_equal(first.image, a * first.foreground + (1 - a) * first.background)
    assert not np.array_equal(first.image, other.image)
    assert set(np.unique(first.trimap)) <= {0.0, 0.5, 1.0}
    soft = (first.alpha > 1e-3) & (first.alpha < 1 - 1e-3)
    assert soft.any() and (first.trimap[soft] == 0.5).all()  # every soft pixel is unknown
    assert (first.alpha[first.trimap == 1.0] >= 1 - 1e-3).all() and (first.alpha[first.trimap == 0.0] <= 1e-3).all()


def test_strands_are_thin_and_partly_transparent(photos) -> None:
    engine = MattingEngine(photos, settings=EngineSettings(size=128, families={"strands": 1.0}), seed=0)
    alphas = np.stack([engine(p).alpha for p in range(6)])
    fractional = (alphas > 0.05) & (alphas < 0.95)
    assert fractional.mean() > 0.02  # anti-aliased strands, not hard masks
    assert not set(HELD_OUT_STYLES) & set(EngineSettings().styles)  # validation styles never reach training


def test_trimap_bands_follow_the_width_asked_for() -> None:
    alpha = np.zeros((128, 128), np.float32)
    alpha[:, 64:] = 1.0
    alpha[:, 63] = 0.5
    rng = np.random.default_rng(0)
    narrow, wide = (band_trimap(rng, alpha, width, brushed=False) for width in (3, 20))
    assert (narrow == 0.5).mean() < (wide == 0.5).mean()
    assert 3 <= (narrow == 0.5).sum(1).mean() <= 12 and 20 <= (wide == 0.5).sum(1).mean() <= 80


def _edge_position(trimap: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Where the true edge (alpha's 0.5 contour) lies across the band: 0 on its middle, 1 on its border or beyond."""
    edge = cv2.morphologyEx((alpha > 0.5).astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    to_inside, to_outside = (cv2.distanceTransform((trimap != known).astype(np.uint8), cv2.DIST_L2, 5)[edge]
                             for known in (1.0, 0.0))
    return np.minimum(np.abs(to_outside - to_inside) / np.maximum(to_inside + to_outside, 1e-6), 1.0)


def test_finder_trimaps_wander_off_the_true_edge(cutouts) -> None:
    grown, finder = [], []
    for seed, (_, alpha) in enumerate(cutouts * 2):
        alpha = cv2.resize(alpha[: min(alpha.shape)], (256, 256), interpolation=cv2.INTER_AREA)
        grown.append(_edge_position(band_trimap(np.random.default_rng(seed), alpha, 12, brushed=False), alpha))
        trimap = finder_trimap(np.random.default_rng(seed), alpha, 12)
        assert set(np.unique(trimap)) <= {0.0, 0.5, 1.0}
        assert (alpha[trimap == 1] > 0.5).mean() > 0.9 and (alpha[trimap == 0] < 0.5).mean() > 0.9
        finder.append(_edge_position(trimap, alpha))
    grown, finder = np.concatenate(grown), np.concatenate(finder)
    assert (grown == 1).mean() < 0.005  # a band grown from the alpha holds the true edge
    assert (finder == 1).mean() > 0.02  # a finder's band misses some of it (the automatic trimaps': 6%)
    assert np.quantile(finder, 0.9) > np.quantile(grown, 0.9) + 0.1  # and runs off its middle


def test_matting_crops_draw_finder_trimaps_when_asked(tiny_hmh, photos) -> None:
    from hamagan.data.hmh import load_rows

    rows = load_rows(str(tiny_hmh), "train")
    grown = HMHSamples(rows, SampleOptions(kind="crop", size=64), photos, seed=1)
    finder = HMHSamples(rows, SampleOptions(kind="crop", size=64, finder_trimaps=1.0), photos, seed=1)
    pairs = [(grown[p], finder[p]) for p in range(6)]
    assert all(torch.equal(a["image"], b["image"]) and torch.equal(a["alpha"], b["alpha"]) for a, b in pairs)
    assert sum(not torch.equal(a["trimap"], b["trimap"]) for a, b in pairs) >= 5
    with pytest.raises(ValueError, match="finder_trimaps"):
        SampleOptions(finder_trimaps=-0.1)
    with pytest.raises(ValueError, match="finder_bands"):
        EngineSettings(finder_bands=2.0)


def test_matting_crops_draw_their_engine_share(tiny_hmh, photos) -> None:
    from hamagan.data.hmh import load_rows

    rows = load_rows(str(tiny_hmh), "train")
    mixed = HMHSamples(rows, SampleOptions(kind="crop", size=64, engine_share=0.5), photos, seed=1)
    drawn = [mixed[p] for p in range(16)]
    assert all(d["image"].shape == (3, 64, 64) and d["trimap"].shape == (1, 64, 64) for d in drawn)
    from_engine = [bool((mixed.engine_at(64)(p).image == d["image"].permute(1, 2, 0).numpy()).all())
                   for p, d in enumerate(drawn)]
    assert 3 <= from_engine.count(True) <= 13  # about half come from the engine
    with pytest.raises(ValueError, match="engine_share"):
        SampleOptions(engine_share=1.5)


def test_matting_crops_draw_the_engine_families_they_name(tiny_hmh, photos) -> None:
    from hamagan.data.hmh import load_rows

    rows = load_rows(str(tiny_hmh), "train")
    options = SampleOptions(kind="crop", size=64, engine_share=1.0, engine_families={"blur": 1.0, "smoke": 1.0})
    samples = HMHSamples(rows, options, photos, seed=1)
    drawn = [samples.engine_at(64)(p) for p in range(12)]
    assert {d.family for d in drawn} == {"blur", "smoke"}
    assert all(torch.equal(samples[p]["alpha"][0], torch.from_numpy(d.alpha)) for p, d in enumerate(drawn[:3]))
    default = HMHSamples(rows, SampleOptions(kind="crop", size=64, engine_share=1.0), photos, seed=1)
    assert len({default.engine_at(64)(p).family for p in range(12)}) > 2  # unset: the engine's own mix
    with pytest.raises(ValueError, match="unknown families"):
        SampleOptions(engine_families={"fog": 1.0})


def test_matting_crops_take_one_of_their_sizes_per_batch(tiny_hmh, photos) -> None:
    from hamagan.data.hmh import load_rows

    rows = load_rows(str(tiny_hmh), "train")
    options = SampleOptions(kind="crop", size=96, crop_sizes=(64, 96), engine_share=0.5, batch_size=4)
    samples = HMHSamples(rows, options, photos, seed=2)
    sides = [samples[p]["image"].shape[-1] for p in range(32)]
    batches = [set(sides[first:first + 4]) for first in range(0, 32, 4)]
    assert all(len(sizes) == 1 for sizes in batches)  # a batch stacks: one size in it
    assert {side for sizes in batches for side in sizes} == {64, 96}
    assert all(samples[p]["trimap"].shape[-1] == side for p, side in enumerate(sides[:8]))
    with pytest.raises(ValueError, match="crop_sizes"):
        SampleOptions(crop_sizes=(100,))
