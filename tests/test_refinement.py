"""The confidence-weighted matting-Laplacian refinement: the Laplacian against a direct window-by-window build,
what it recovers, and the pipeline's option."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage, sparse
from scipy.sparse.linalg import cg

from hamagan import HaMaGANPipeline
from hamagan.images import array_to_tensor, tensor_to_array
from hamagan.pipeline import HaMaGANConfig
from hamagan.refinement import (
    band_width,
    confidence_weight,
    conjugate_gradients,
    edge_width_ratio,
    network_confidence,
    refine_alpha,
    unknown_system,
)
from hamagan.trimap import trimap_from_alpha


def _dense_laplacian(image: np.ndarray, epsilon: float) -> np.ndarray:
    """Levin et al.'s L, summed window by window over every 3x3 window inside the image."""
    height, width = image.shape[:2]
    laplacian = np.zeros((height * width, height * width))
    for y in range(1, height - 1):
        for x in range(1, width - 1):
            index = np.array([(y + dy) * width + x + dx for dy in (-1, 0, 1) for dx in (-1, 0, 1)])
            colours = image.reshape(-1, 3)[index]
            mean = colours.mean(axis=0)
            covariance = (colours - mean).T @ (colours - mean) / 9 + epsilon / 9 * np.eye(3)
            affinity = (1 + (colours - mean) @ np.linalg.inv(covariance) @ (colours - mean).T) / 9
            laplacian[np.ix_(index, index)] += np.eye(9) - affinity
    return laplacian


def test_the_unknown_system_is_the_laplacian_split_at_the_unknown_pixels() -> None:
    rng = np.random.default_rng(0)
    image, alpha = rng.random((9, 11, 3)), rng.random((9, 11))
    unknown = np.zeros((9, 11), bool)
    unknown[2:7, 2:9] = True
    unknown[4, 5] = False
    unknown[0, :3] = unknown[:, -1] = True  # border pixels too: they sit in fewer windows
    laplacian, pull = unknown_system(image, unknown, alpha, epsilon=1e-4)
    dense = _dense_laplacian(image, 1e-4)
    inside, known = np.flatnonzero(unknown), np.flatnonzero(~unknown)
    np.testing.assert_allclose(laplacian.toarray(), dense[np.ix_(inside, inside)], atol=1e-9)
    np.testing.assert_allclose(pull, dense[np.ix_(inside, known)] @ alpha.ravel()[known], atol=1e-9)


def _two_colour_blend(size: int = 48) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An image that is exactly alpha * red + (1 - alpha) * blue with a soft vertical edge, and its trimap."""
    ramp = np.clip((np.arange(size) - size / 2) / 12 + 0.5, 0, 1)
    alpha = np.tile(ramp, (size, 1))
    image = alpha[..., None] * np.array([0.9, 0.2, 0.1]) + (1 - alpha[..., None]) * np.array([0.1, 0.3, 0.8])
    trimap = np.where(alpha == 1, 1.0, np.where(alpha == 0, 0.0, 0.5))
    trimap[:, size // 2 - 10:size // 2 + 10] = 0.5
    return image, alpha, trimap


def test_an_unsure_network_gives_way_to_the_colour_line_model() -> None:
    image, truth, trimap = _two_colour_blend()
    unsure = np.where(trimap == 0.5, 0.5, trimap)
    refined = refine_alpha(image, trimap, unsure, weight=0.01)
    inner = trimap == 0.5
    assert np.abs(unsure - truth)[inner].mean() > 0.15
    assert np.abs(refined - truth)[inner].mean() < 0.01
    np.testing.assert_array_equal(refined[trimap != 0.5], unsure[trimap != 0.5])


def test_a_confident_network_keeps_its_answer_under_a_strong_weight() -> None:
    image, truth, trimap = _two_colour_blend()
    confident = np.where(trimap == 0.5, (truth > 0.5).astype(float), trimap)  # a hard edge, confidence 1
    kept = refine_alpha(image, trimap, confident, weight=1e4)
    loose = refine_alpha(image, trimap, confident, weight=1e-3)
    assert np.abs(kept - confident).max() < 0.02
    assert np.abs(loose - truth).mean() < np.abs(kept - truth).mean()


def test_the_solve_runs_to_its_tolerance_and_a_capped_one_keeps_part_of_the_network_s_alpha() -> None:
    image, truth, trimap = _two_colour_blend(96)
    trimap[:, 8:88] = 0.5  # an 80-pixel band: many steps from the known columns to the middle
    unsure = np.where(trimap == 0.5, 0.5, trimap)
    solved = refine_alpha(image, trimap, unsure, weight=1e-5, tolerance=1e-6)
    capped = refine_alpha(image, trimap, unsure, weight=1e-5, tolerance=1e-6, max_iterations=10)
    inner = trimap == 0.5
    laplacian, pull = unknown_system(image, inner, unsure)
    network = unsure[inner]
    system = laplacian + sparse.diags(1e-5 * (2 * network - 1) ** 2)
    rhs = 1e-5 * (2 * network - 1) ** 2 * network - pull
    residual = np.linalg.norm(system @ solved[inner] - rhs) / np.linalg.norm(rhs)
    assert residual < 1e-5
    assert np.abs(solved - truth)[inner].mean() < 0.5 * np.abs(capped - truth)[inner].mean()
    with pytest.raises(ValueError, match="tolerance and iterations"):
        HaMaGANConfig(refinement_iterations=0)


@pytest.mark.parametrize("steps", [1, 7, 40])
def test_conjugate_gradients_takes_scipy_s_steps(steps: int) -> None:
    """The same iterates as SciPy's Jacobi-preconditioned ``cg`` (up to the rows' summation order)."""
    image, _, trimap = _two_colour_blend(48)
    trimap[:, 4:44] = 0.5
    inner = trimap == 0.5
    network = np.random.default_rng(1).uniform(0, 1, inner.sum())
    laplacian, pull = unknown_system(image, inner, np.where(inner, 0.5, trimap))
    system = (laplacian + sparse.diags(1e-3 * (2 * network - 1) ** 2)).tocsr()
    rhs = 1e-3 * (2 * network - 1) ** 2 * network - pull
    ours = conjugate_gradients(system, rhs, network, 1e-12, steps)
    scipy_s, _ = cg(system, rhs, x0=network, rtol=1e-12, maxiter=steps, M=sparse.diags(1 / system.diagonal()))
    np.testing.assert_allclose(ours, scipy_s, atol=1e-9, rtol=0)
    assert np.abs(ours - network).max() > 1e-3  # it moved
    np.testing.assert_array_equal(conjugate_gradients(system, np.zeros_like(rhs), network, 1e-4, steps), 0)


def test_refinement_refuses_mismatched_inputs_and_a_weight_that_is_not_positive() -> None:
    image, alpha, trimap = _two_colour_blend(16)
    with pytest.raises(ValueError, match="must agree"):
        refine_alpha(image[:8], trimap, alpha)
    with pytest.raises(ValueError, match="positive"):
        refine_alpha(image, trimap, alpha, weight=0)
    np.testing.assert_array_equal(refine_alpha(image, np.ones_like(trimap), alpha), alpha)


def test_the_pipeline_refines_only_inside_the_unknown_region_when_asked(small_pipe: HaMaGANPipeline) -> None:
    image, _, trimap = _two_colour_blend(64)
    image_t, trimap_t = array_to_tensor(image.astype(np.float32)), array_to_tensor(trimap.astype(np.float32))
    plain = tensor_to_array(small_pipe.matte(image_t, trimap_t))
    refined = tensor_to_array(small_pipe.matte(image_t, trimap_t, refine=True))
    assert not np.allclose(plain, refined)
    np.testing.assert_array_equal(plain[trimap != 0.5], refined[trimap != 0.5])
    small_pipe.config.refine_matting = True
    try:
        by_default = small_pipe(image.astype(np.float32), trimap.astype(np.float32))
        np.testing.assert_allclose(by_default.alpha, refined, atol=1e-6)
        off = small_pipe(image.astype(np.float32), trimap.astype(np.float32), refine=False)
        np.testing.assert_allclose(off.alpha, plain, atol=1e-6)
    finally:
        small_pipe.config.refine_matting = False


def test_mu_follows_the_network_s_mean_confidence_over_the_band() -> None:
    _, truth, trimap = _two_colour_blend()
    hard = np.where(trimap == 0.5, (truth > 0.5).astype(float), trimap)
    assert network_confidence(hard, trimap) == 1.0
    assert network_confidence(np.full_like(truth, 0.5), trimap) == 0.0
    assert network_confidence(truth, np.ones_like(trimap)) == 1.0  # no band: nothing to be unsure of
    weights, span = (1e-5, 1e-3), (0.6, 0.8)
    assert confidence_weight(0.2, weights, span) == pytest.approx(1e-5)
    assert confidence_weight(0.9, weights, span) == pytest.approx(1e-3)
    assert confidence_weight(0.7, weights, span) == pytest.approx(1e-4)  # log-linear: halfway is the geometric mean
    assert confidence_weight(0.7, weights, (0.7, 0.7)) == pytest.approx(1e-3)


def test_the_pipeline_s_mu_is_the_config_s_weight_or_its_confidence_ramp(small_pipe: HaMaGANPipeline) -> None:
    _, truth, trimap = _two_colour_blend()
    unsure, hard = np.where(trimap == 0.5, 0.5, trimap), np.where(trimap == 0.5, (truth > 0.5) * 1.0, trimap)
    unsure, hard = network_confidence(unsure, trimap), network_confidence(hard, trimap)
    config = small_pipe.config
    assert config.refinement_weight_unsure is None
    assert small_pipe.refinement_weight_for(unsure) == small_pipe.refinement_weight_for(hard) \
        == config.refinement_weight
    try:
        config.refinement_weight_unsure = config.refinement_weight / 100
        assert small_pipe.refinement_weight_for(unsure) == pytest.approx(config.refinement_weight_unsure)
        assert small_pipe.refinement_weight_for(hard) == pytest.approx(config.refinement_weight)
    finally:
        config.refinement_weight_unsure = None
    with pytest.raises(ValueError, match="refinement_confidence"):
        HaMaGANConfig(refinement_confidence=(0.9, 0.8))
    with pytest.raises(ValueError, match="positive"):
        HaMaGANConfig(refinement_weight_unsure=0.0)


def test_band_width_is_the_unknown_band_s_mean_width() -> None:
    straight = np.zeros((64, 64))
    straight[:, 40:] = 1.0
    straight[:, 20:40] = 0.5
    assert band_width(straight) == 20.0
    rows, cols = np.mgrid[:256, :256]
    disc = np.clip(90 - np.hypot(rows - 128, cols - 128), 0, 1)  # a soft edge one pixel wide
    widths = [band_width(trimap_from_alpha(disc, radius)) for radius in (5, 10, 20)]
    # 2 r + 2 wide; a curved band's edge steps diagonally, so fewer edge pixels: up to a tenth more
    assert all(1.0 <= w / (2 * r + 2) < 1.1 for w, r in zip(widths, (5, 10, 20), strict=True)), widths
    assert band_width(np.ones((8, 8))) == 0.0 and band_width(np.full((8, 8), 0.5)) == 0.0


def test_a_given_trimap_with_a_wide_band_is_refined_by_default_and_an_automatic_one_is_not(
        small_pipe: HaMaGANPipeline, portrait: tuple[np.ndarray, np.ndarray]) -> None:
    image, _, trimap = _two_colour_blend(64)
    image_t, trimap_t = array_to_tensor(image.astype(np.float32)), array_to_tensor(trimap.astype(np.float32))
    plain = tensor_to_array(small_pipe.matte(image_t, trimap_t, refine=False))
    refined = tensor_to_array(small_pipe.matte(image_t, trimap_t, refine=True))
    width = band_width(trimap)
    photo = portrait[0]
    try:
        small_pipe.config.refine_from_band = width
        np.testing.assert_array_equal(tensor_to_array(small_pipe.matte(image_t, trimap_t)), refined)
        said = small_pipe(image.astype(np.float32), trimap.astype(np.float32)).message
        assert "band is wide" in said and "unsure" in said
        assert small_pipe(image.astype(np.float32), trimap.astype(np.float32), refine=True).message == ""
        np.testing.assert_array_equal(tensor_to_array(small_pipe.matte(image_t, trimap_t, refine=False)), plain)
        automatic = small_pipe(photo, refine=False).alpha
        small_pipe.config.refine_from_band = 0.0  # every band is wide enough, yet an automatic trimap's is not refined
        np.testing.assert_array_equal(small_pipe(photo).alpha, automatic)
        assert not np.array_equal(small_pipe(photo, refine=True).alpha, automatic)
        small_pipe.config.refine_from_band = width + 1
        np.testing.assert_array_equal(tensor_to_array(small_pipe.matte(image_t, trimap_t)), plain)
    finally:
        small_pipe.config.refine_from_band = None


def _soft(alpha: np.ndarray) -> np.ndarray:
    return (alpha > 0.02) & (alpha < 0.98)


def test_refine_edge_refines_only_near_the_edge_g_m_draws(
        small_pipe: HaMaGANPipeline, portrait: tuple[np.ndarray, np.ndarray]) -> None:
    photo, alpha = portrait
    trimap = trimap_from_alpha(alpha, radius=12)
    radius = 0.01 * max(photo.shape[:2])  # the photo is within G_m's working size: pixels are the same
    plain = small_pipe(photo, refine=False)  # the automatic trimap
    plain_given = small_pipe(photo, trimap, refine=False)
    whole_band = small_pipe(photo, refine=True)
    assert small_pipe.config.refine_from_band is None and small_pipe.config.refine_below_confidence is None
    try:
        small_pipe.config.refine_edge = 0.01
        edged, edged_given = small_pipe(photo), small_pipe(photo, trimap)
        np.testing.assert_array_equal(small_pipe(photo, refine=False).alpha, plain.alpha)
        np.testing.assert_array_equal(small_pipe(photo, refine=True).alpha, whole_band.alpha)
    finally:
        small_pipe.config.refine_edge = None
    for before, after in ((plain, edged), (plain_given, edged_given)):
        from_edge = ndimage.distance_transform_edt(~_soft(before.alpha))
        assert not np.array_equal(after.alpha, before.alpha) and after.message == before.message
        assert from_edge[_soft(after.alpha)].max() <= 1.05 * radius + 1
    from_edge = ndimage.distance_transform_edt(~_soft(plain.alpha))
    assert from_edge[_soft(whole_band.alpha)].max() > 2 * radius  # refining the whole band spreads further


def test_a_given_trimap_whose_band_g_m_is_unsure_of_is_refined_by_default(small_pipe: HaMaGANPipeline) -> None:
    image, _, trimap = _two_colour_blend(64)
    image_t, trimap_t = array_to_tensor(image.astype(np.float32)), array_to_tensor(trimap.astype(np.float32))
    plain = tensor_to_array(small_pipe.matte(image_t, trimap_t, refine=False))
    refined = tensor_to_array(small_pipe.matte(image_t, trimap_t, refine=True))
    confidence = network_confidence(plain, trimap)
    assert small_pipe.config.refine_from_band is None
    try:
        small_pipe.config.refine_below_confidence = confidence + 0.01
        np.testing.assert_array_equal(tensor_to_array(small_pipe.matte(image_t, trimap_t)), refined)
        assert "unsure" in small_pipe(image.astype(np.float32), trimap.astype(np.float32)).message
        small_pipe.config.refine_below_confidence = confidence - 0.01
        np.testing.assert_array_equal(tensor_to_array(small_pipe.matte(image_t, trimap_t)), plain)
    finally:
        small_pipe.config.refine_below_confidence = None


def _disc(blur: float, size: int = 96) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A red disc on blue, defocused by ``blur`` pixels (Gaussian), its hard alpha and a 24-px trimap."""
    rows, cols = np.mgrid[:size, :size]
    from_centre = np.hypot(rows - size / 2, cols - size / 2)
    hard = (from_centre < size / 4).astype(np.float64)
    alpha = ndimage.gaussian_filter(hard, blur) if blur else hard
    image = alpha[..., None] * np.array([0.9, 0.2, 0.1]) + (1 - alpha[..., None]) * np.array([0.1, 0.3, 0.8])
    return image, hard, np.where(np.abs(from_centre - size / 4) < 12, 0.5, hard)


def test_the_edge_width_ratio_tells_a_soft_edge_cut_hard_from_a_matte_that_follows_the_image() -> None:
    sharp_image, hard, trimap = _disc(0)
    soft_image = _disc(4)[0]
    assert 0.8 < edge_width_ratio(sharp_image, hard, trimap) < 1.25
    assert edge_width_ratio(soft_image, hard, trimap) > 2.5  # a 4-px defocus cut hard
    soft_alpha = ndimage.gaussian_filter(hard, 4)
    assert 0.8 < edge_width_ratio(soft_image, soft_alpha, trimap) < 1.25  # the ramp drawn as the image shows it
    flat = np.full_like(soft_image, 0.5)
    assert edge_width_ratio(flat, hard, trimap) == 0.0  # no contrast: nothing to compare
    assert edge_width_ratio(soft_image, hard, np.round(trimap)) == 0.0  # no unknown region


def test_a_given_trimap_over_a_soft_edge_g_m_cut_hard_is_refined_whole_at_the_unsure_weight(
        small_pipe: HaMaGANPipeline) -> None:
    image, _, trimap = _disc(4)
    image_t, trimap_t = array_to_tensor(image.astype(np.float32)), array_to_tensor(trimap.astype(np.float32))
    plain = tensor_to_array(small_pipe.matte(image_t, trimap_t, refine=False))
    ratio = edge_width_ratio(image, plain, trimap)
    config = small_pipe.config
    assert config.refine_below_confidence is None and config.refine_from_band is None and ratio > 0
    weight, unsure = config.refinement_weight, config.refinement_weight_unsure
    try:
        config.refinement_weight, config.refinement_weight_unsure = 0.5, 0.001
        config.refine_soft_edge = ratio * 0.99
        refined = tensor_to_array(small_pipe.matte(image_t, trimap_t))
        expected = refine_alpha(tensor_to_array(image_t), trimap, plain, 0.001)
        np.testing.assert_allclose(refined, expected, atol=1e-5)
        assert "softer" in small_pipe(image.astype(np.float32), trimap.astype(np.float32)).message
        automatic, refined_whole = small_pipe._matte(image_t, trimap_t, None, automatic=True)
        assert not refined_whole  # the person finder's trimaps are not refined whole by this rule
        assert not np.array_equal(tensor_to_array(automatic), refined)
        config.refine_soft_edge = ratio * 1.01
        np.testing.assert_array_equal(tensor_to_array(small_pipe.matte(image_t, trimap_t)), plain)
        with pytest.raises(ValueError, match="refine_soft_edge"):
            HaMaGANConfig(refine_soft_edge=0.0)
    finally:
        config.refinement_weight, config.refinement_weight_unsure = weight, unsure
        config.refine_soft_edge = None
