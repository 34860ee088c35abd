"""Each metric pinned by a small case worked out by hand (in the comments), plus the recipe's harness."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hamagan.metrics import colourfulness, conn, grad, gradient_magnitude, harmonization_metrics, mse, sad

# 2x2 case: trimap unknown (0.5) on three pixels, known on the last.
PRED = np.array([[0.2, 0.5], [1.5, 0.0]])  # 1.5 is clipped to 1
GT = np.array([[0.0, 0.5], [0.5, 0.0]])
TRIMAP = np.array([[0.5, 0.5], [0.5, 0.0]])


def test_sad_by_hand() -> None:
    # |0.2-0| + |0.5-0.5| + |1-0.5| = 0.7 over the unknown pixels; / 1000.
    assert sad(PRED, GT, TRIMAP) == pytest.approx(0.0007)


def test_mse_by_hand() -> None:
    # (0.04 + 0 + 0.25) / 3 unknown pixels.
    assert mse(PRED, GT, TRIMAP) == pytest.approx(0.29 / 3)
    assert mse(PRED, GT, np.zeros((2, 2))) == 0.0  # no unknown region


def test_trimap_on_the_0_255_scale_selects_the_same_region() -> None:
    on_disk = np.array([[128, 128], [128, 0]], np.uint8)
    assert sad(PRED, GT, on_disk) == pytest.approx(sad(PRED, GT, TRIMAP))


def test_grad_on_a_ramp_by_hand() -> None:
    # Filters: half-size ceil(1.4 sqrt(-2 ln(sqrt(2 pi) 1.4 0.01))) = 4, g(u) = exp(-u²/2σ²)/(σ sqrt(2π)),
    # hx[i, j] = g(v_i) g'(u_j) / N with g'(u) = -u g(u)/σ² and N the L2 norm. For f(x) = c x the
    # convolution is c Σ_ij u_j hx[i,j] up to sign = c (Σ g)(Σ u² g) / (σ² N) away from the borders.
    sigma, half = 1.4, 4
    u = np.arange(-half, half + 1.0)
    g = np.exp(-u**2 / (2 * sigma**2)) / (sigma * math.sqrt(2 * math.pi))
    norm = math.sqrt(((np.outer(g, -u * g / sigma**2)) ** 2).sum())
    width = 30
    c = 1 / (width - 1)  # the ramp 0..1 is already min-max normalised
    slope = c * g.sum() * (u**2 * g).sum() / (sigma**2 * norm)
    ramp = np.tile(np.arange(width) * c, (20, 1))
    interior = np.zeros_like(ramp)
    interior[5:15, 5:25] = 0.5
    np.testing.assert_allclose(gradient_magnitude(ramp)[5:15, 5:25], slope, rtol=1e-9)
    # Against a flat truth (gradient 0): each interior pixel adds slope²; 200 pixels; / 1000.
    assert grad(ramp, np.zeros_like(ramp), interior) == pytest.approx(200 * slope**2 / 1000)
    assert grad(ramp, ramp, interior) == 0.0


def test_conn_by_hand() -> None:
    # pred [[1, 0.2], [0, 0]], gt [[1, 0.5], [0, 0]], all unknown. Largest common component at t:
    # t=0.1, 0.2: {(0,0), (0,1)}, so the bottom row leaves at t=0.1 -> l = 0.0;
    # t=0.3 .. 1.0: {(0,0)}, so (0,1) leaves at t=0.3 -> l = 0.2; (0,0) never leaves -> l = 1.
    # d = alpha - l: pred (0,1) 0.0 -> phi 1; gt (0,1) 0.3 >= 0.15 -> phi 0.7; elsewhere phi 1.
    # Sum |phi_p - phi_g| = 0.3; / 1000.
    pred = np.array([[1.0, 0.2], [0.0, 0.0]])
    gt = np.array([[1.0, 0.5], [0.0, 0.0]])
    assert conn(pred, gt, np.full((2, 2), 0.5)) == pytest.approx(0.0003)
    assert conn(gt, gt, np.full((2, 2), 0.5)) == 0.0


def test_harmonization_by_hand() -> None:
    # real has 10/255 in pixel (0,0) on all three channels, pred is black: SSE = 3 * 10² = 300 on the
    # 0..255 scale; MSE = 300 / 12 = 25; fMSE over the mask {(0,0)} = 300 / (1 * 3) = 100;
    # PSNR = 10 log10(255² / 25) = 34.15 dB.
    real = np.zeros((2, 2, 3))
    real[0, 0] = 10 / 255
    pred = np.zeros((2, 2, 3))
    mask = np.array([[1.0, 0.0], [0.0, 0.0]])
    values = harmonization_metrics(pred, real, mask)
    assert values["MSE"] == pytest.approx(25)
    assert values["fMSE"] == pytest.approx(100)
    assert values["PSNR"] == pytest.approx(10 * math.log10(255**2 / 25))
    assert harmonization_metrics(pred, real, 1 - mask)["fMSE"] == 0.0
    assert harmonization_metrics(real, real, mask)["PSNR"] == math.inf


@pytest.mark.slow
def test_harness_reproduces_the_closed_form_reference_on_the_test_portraits() -> None:
    from hamagan.evaluation import closed_form, evaluate_matting, load_matting_case, trimap_only
    from hamagan.samples import portrait_ids

    cases = [load_matting_case(i) for i in portrait_ids("test")]
    assert [c.image.shape[:2] for c in cases] and all(max(c.image.shape[:2]) == 512 for c in cases)
    # hamagan/samples/DATA_README.md: closed-form on the fixed test three: SAD 2.20, MSE 0.041, Grad 4.05,
    # Conn 2.08.
    measured = evaluate_matting(closed_form, cases, progress=False, warmup=False).mean()
    for key, reference in {"SAD": 2.20, "MSE": 0.041, "Grad": 4.05, "Conn": 2.08}.items():
        assert abs(measured[key] - reference) / reference < 0.05, (key, measured[key])
    floor = evaluate_matting(trimap_only, cases, progress=False, warmup=False).mean()
    assert floor["SAD"] > 3 * measured["SAD"]


def test_colourfulness_is_zero_for_grey_and_grows_with_saturation() -> None:
    rng = np.random.default_rng(0)
    grey = np.repeat(rng.random((8, 8, 1)), 3, axis=2)
    assert colourfulness(grey) == pytest.approx(0.0, abs=1e-9)
    colours = rng.random((8, 8, 3))
    luma = colours.mean(axis=2, keepdims=True)
    half = luma + 0.5 * (colours - luma)
    assert colourfulness(half) == pytest.approx(0.5 * colourfulness(colours))  # every term scales with chroma
    red = np.zeros((4, 4, 3))
    red[..., 0] = 1.0  # rg = 255, yb = 127.5, no variance
    assert colourfulness(red) == pytest.approx(0.3 * np.hypot(255, 127.5))
    mask = np.zeros((4, 4))
    assert colourfulness(red, mask) == 0.0
