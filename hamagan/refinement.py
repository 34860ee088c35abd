"""Alpha refinement by the closed-form matting Laplacian (Levin, Lischinski and Weiss 2008), weighted by the
network's confidence.

Inside the trimap's unknown region the refined alpha ``a`` minimises ``a^T L a + mu * sum c (a - a_net)^2``
with the known pixels held at the trimap's values: ``L`` is the matting Laplacian over 3x3 windows, ``a_net``
the network's alpha and ``c = (2 a_net - 1)^2`` its confidence, so a confident network keeps its answer and an
unsure one (alpha near 0.5) gives way to the image's local colour-line model. Only the windows that touch the
unknown region are built, so the cost follows the band, not the image; plain NumPy and SciPy (no compile).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.ndimage import binary_dilation, binary_erosion
from scipy.sparse.linalg import cg

WINDOW = 3  # the Laplacian's window side (Levin et al.'s 3x3)
TOLERANCE, MAX_ITERATIONS = 1e-4, 500  # the solve's defaults (benchmarks/matting_solver.txt)


def _window_offsets(width: int) -> np.ndarray:
    """Flat offsets of a 3x3 window's pixels from its centre in an image ``width`` pixels wide."""
    rows, cols = np.divmod(np.arange(WINDOW * WINDOW), WINDOW)
    return (rows - 1) * width + (cols - 1)


def _inverse_3x3(matrices: np.ndarray) -> np.ndarray:
    """Inverses of a stack of symmetric 3x3 matrices (N, 3, 3) by their adjugates (faster than LAPACK here)."""
    a, b, c = matrices[:, 0, 0], matrices[:, 0, 1], matrices[:, 0, 2]
    d, e, f = matrices[:, 1, 1], matrices[:, 1, 2], matrices[:, 2, 2]
    cofactors = [d * f - e * e, c * e - b * f, b * e - c * d, a * f - c * c, b * c - a * e, a * d - b * b]
    determinant = a * cofactors[0] + b * cofactors[1] + c * cofactors[2]
    inverse = np.empty_like(matrices)
    for (i, j), cofactor in zip(((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)), cofactors, strict=True):
        inverse[:, i, j] = inverse[:, j, i] = cofactor / determinant
    return inverse


def unknown_system(image: np.ndarray, unknown: np.ndarray, alpha: np.ndarray, epsilon: float = 1e-7
                   ) -> tuple[sparse.csr_matrix, np.ndarray]:
    """The matting Laplacian split at the unknown pixels U (boolean H x W): L_UU as an (n, n) sparse matrix in
    the order of ``np.flatnonzero(unknown)``, and L_UK @ alpha_K, the known pixels' pull on them. Exact: every
    window inside the image that holds an unknown pixel is summed, and only those are built."""
    height, width = unknown.shape
    centres_mask = binary_dilation(unknown, np.ones((WINDOW, WINDOW), bool))
    centres_mask[[0, -1], :] = False
    centres_mask[:, [0, -1]] = False
    members = np.flatnonzero(centres_mask)[:, None] + _window_offsets(width)[None, :]  # (N, 9) pixel indices
    colours = image.reshape(-1, 3).astype(np.float64)[members]  # (N, 9, 3)
    centred = colours - colours.mean(axis=1, keepdims=True)
    n = WINDOW * WINDOW
    covariance = np.matmul(centred.transpose(0, 2, 1), centred) / n + (epsilon / n) * np.eye(3)
    affinity = (1.0 + np.matmul(np.matmul(centred, _inverse_3x3(covariance)), centred.transpose(0, 2, 1))) / n
    values = np.eye(n)[None] - affinity  # (N, 9, 9): each window's share of L
    # Sum the windows' shares into L's 25 diagonals (pixel pairs at most 2 apart), row by unknown pixel:
    # no sorting of (row, column) pairs, and the known columns give the pull.
    inside = np.flatnonzero(unknown)
    count = inside.size
    index = np.full(height * width, -1)
    index[inside] = np.arange(count)
    rows_of, cols_of = np.divmod(np.arange(n), WINDOW)
    diagonal = ((rows_of[None, :] - rows_of[:, None] + 2) * 5 + cols_of[None, :] - cols_of[:, None] + 2)  # (9, 9)
    member_index = index[members]  # (N, 9): each member's unknown index, -1 for a known pixel
    row = np.where(member_index >= 0, member_index, count)  # a known pixel's row is a spare one, dropped below
    slot = diagonal[None] * (count + 1) + row[:, :, None]  # (N, 9, 9)
    bands = np.bincount(slot.ravel(), weights=values.ravel(), minlength=25 * (count + 1)).reshape(25, count + 1)
    bands = bands[:, :count]
    steps = ((np.arange(25) // 5 - 2) * width + np.arange(25) % 5 - 2)  # each diagonal's flat pixel offset
    # (25, n): each row's neighbour along each diagonal; clipped where it falls outside the image, whose
    # diagonal value is 0 there (no window holds both)
    neighbours = np.clip(inside[None, :] + steps[:, None], 0, height * width - 1)
    columns = index[neighbours]
    pull = np.where(columns < 0, bands * alpha.reshape(-1).astype(np.float64)[neighbours], 0.0).sum(axis=0)
    entries = (columns >= 0) & (bands != 0)
    laplacian = sparse.csr_matrix((bands.T[entries.T], columns.T[entries.T],
                                   np.concatenate([[0], np.cumsum(entries.sum(axis=0))])), shape=(count, count))
    return laplacian, pull


def unknown_region(trimap: np.ndarray) -> np.ndarray:
    """The trimap's unknown pixels as the pipeline reads them (``paste_known``, ``unknown_mask``)."""
    return np.abs(trimap - 0.5) < 0.25


def band_width(trimap: np.ndarray) -> float:
    """The unknown band's mean width in pixels: twice its area over its edge pixels (unknown pixels beside a
    known one), as a band w pixels wide along a contour of length l has w * l pixels and 2 * l edge pixels
    (a curved edge steps diagonally, with fewer pixels: up to a tenth wider). 0 when the band has no edge: no
    unknown region, or nothing known at all (a whole-image band is not a band to refine)."""
    unknown = unknown_region(trimap)
    edge = unknown & ~binary_erosion(unknown, border_value=1)
    count = int(np.count_nonzero(edge))
    return 2.0 * np.count_nonzero(unknown) / count if count else 0.0


def network_confidence(alpha: np.ndarray, trimap: np.ndarray) -> float:
    """The network's mean confidence ``(2 alpha - 1)^2`` over the trimap's unknown region (1 without one)."""
    unknown = unknown_region(trimap)
    return float(np.mean((2.0 * alpha[unknown].astype(np.float64) - 1.0) ** 2)) if unknown.any() else 1.0


def confidence_weight(confidence: float, weights: tuple[float, float], span: tuple[float, float]) -> float:
    """mu for a network of this mean ``confidence``: ``weights`` = (unsure, sure) mu below and above ``span``
    = (low, high), log-linear in between."""
    (unsure, sure), (low, high) = weights, span
    share = float(np.clip((confidence - low) / (high - low), 0.0, 1.0)) if high > low else float(confidence >= low)
    return float(np.exp((1.0 - share) * np.log(unsure) + share * np.log(sure)))


def refine_alpha(image: np.ndarray, trimap: np.ndarray, alpha: np.ndarray, weight: float = 0.1,
                 epsilon: float = 1e-7, tolerance: float = TOLERANCE, max_iterations: int = MAX_ITERATIONS
                 ) -> np.ndarray:
    """The network's ``alpha`` (H x W, [0, 1]) refined inside the unknown region of ``trimap`` (0 / 0.5 / 1)
    for the RGB ``image`` (H x W x 3, [0, 1]); ``weight`` is mu, the pull towards confident network values.
    Known pixels (as ``paste_known`` reads the trimap) keep ``alpha``'s values. Solved by conjugate gradients
    (Jacobi preconditioner, started from ``alpha``) to a relative residual of ``tolerance`` or ``max_iterations``
    steps. A wide band of hair needs 1,000-3,000 steps at 320x320 to converge, and a solve stopped short keeps
    part of ``alpha``: closer to the truth on smoke, farther on strands (``benchmarks/matting_solver.txt``)."""
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[:2] != alpha.shape or trimap.shape != alpha.shape:
        raise ValueError(f"image (H, W, 3), trimap and alpha (H, W) must agree, got {image.shape}, "
                         f"{trimap.shape} and {alpha.shape}")
    if weight <= 0:
        raise ValueError(f"weight must be positive (it keeps the system well posed), got {weight}")
    unknown = unknown_region(trimap)
    if not unknown.any() or min(unknown.shape) < WINDOW:
        return alpha
    laplacian, pull = unknown_system(image, unknown, alpha, epsilon)
    inside = np.flatnonzero(unknown)
    refined = alpha.astype(np.float64).ravel()
    network = refined[inside]
    confidence = (2.0 * network - 1.0) ** 2
    system = laplacian + sparse.diags(weight * confidence)
    jacobi = sparse.diags(1.0 / system.diagonal())
    solution, _ = cg(system, weight * confidence * network - pull, x0=network, rtol=tolerance,
                     maxiter=max_iterations, M=jacobi)
    refined[inside] = solution
    return np.clip(refined, 0.0, 1.0).reshape(alpha.shape).astype(alpha.dtype)
