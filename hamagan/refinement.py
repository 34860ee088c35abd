"""Alpha refinement by the closed-form matting Laplacian (Levin, Lischinski and Weiss 2008), weighted by the
network's confidence.

Inside the trimap's unknown region the refined alpha ``a`` minimises ``a^T L a + mu * sum c (a - a_net)^2``
with the known pixels held at the trimap's values: ``L`` is the matting Laplacian over 3x3 windows, ``a_net``
the network's alpha and ``c = (2 a_net - 1)^2`` its confidence, so a confident network keeps its answer and an
unsure one (alpha near 0.5) gives way to the image's local colour-line model. Only the windows that touch the
unknown region are built, so the cost follows the band, not the image; NumPy, SciPy, OpenCV and torch's sparse
product (no compile).
"""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import torch
from scipy import sparse
from scipy.ndimage import binary_dilation, binary_erosion, map_coordinates

# torch warns once that its CSR tensors are beta; silenced here by message, not around each solve: while held,
# ``warnings.catch_warnings`` changes the filters of every thread (the Space's other work, callers' threads).
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state", category=UserWarning)

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


def edge_width_ratio(image: np.ndarray, alpha: np.ndarray, trimap: np.ndarray, smoothing: float = 1.0,
                     min_contrast: float = 0.1) -> float:
    """How many times wider the image's edge is than ``alpha``'s where ``alpha`` crosses 0.5 in the trimap's
    unknown region: the median over those pixels, 0 where there are none.

    Over a smooth foreground and background the image is ``alpha F + (1 - alpha) B``, so it changes across an
    edge as alpha does. An edge's width is its contrast over its steepest slope, read along alpha's normal (both
    smoothed alike by ``smoothing`` pixels): contrast between the points at half the band's width on either side
    (colour distance, alpha difference), slope the image's steepest within 2 px of the crossing (G_m may place
    its edge a pixel off). Pixels whose image contrast is under ``min_contrast`` (foreground and background
    alike) or whose alpha changes by under 0.5 are left out. Hair keeps the image's edges sharp (ratio about 0.5
    to 1.1 on the training portraits at 320 and 512 px); a hard cut of a motion-blurred or defocused edge gives 1
    to 3 (``benchmarks/matting_soft_edges.txt``)."""
    image = cv2.GaussianBlur(image.astype(np.float32), (0, 0), smoothing)
    alpha = cv2.GaussianBlur(alpha.astype(np.float32), (0, 0), smoothing)
    slopes_x = [cv2.Sobel(field, -1, 1, 0, ksize=3, scale=1 / 8) for field in (alpha, image)]
    slopes_y = [cv2.Sobel(field, -1, 0, 1, ksize=3, scale=1 / 8) for field in (alpha, image)]
    alpha_slope = np.hypot(slopes_x[0], slopes_y[0])
    rows, cols = np.nonzero(unknown_region(trimap) & (np.abs(alpha - 0.5) < 0.15) & (alpha_slope > 0.02))
    if rows.size == 0:
        return 0.0
    slope = alpha_slope[rows, cols]
    normal_y, normal_x = slopes_y[0][rows, cols] / slope, slopes_x[0][rows, cols] / slope
    reach = float(np.clip(band_width(trimap) / 2 + 2, 3, 32))

    def along(field: np.ndarray, step: float) -> np.ndarray:
        """``field`` (H x W or H x W x C) at each crossing moved ``step`` pixels along the normal, (n, C)."""
        planes = field.reshape(*field.shape[:2], -1)
        at = [rows + step * normal_y, cols + step * normal_x]
        return np.stack([map_coordinates(planes[..., c], at, order=1, mode="nearest")
                         for c in range(planes.shape[2])], axis=1)

    image_contrast = np.linalg.norm(along(image, reach) - along(image, -reach), axis=1)
    alpha_contrast = np.abs(along(alpha, reach) - along(alpha, -reach))[:, 0]
    image_slope = np.max([np.linalg.norm(along(slopes_x[1], step) * normal_x[:, None]
                                         + along(slopes_y[1], step) * normal_y[:, None], axis=1)
                          for step in (-2, -1, 0, 1, 2)], axis=0)
    keep = (image_contrast > min_contrast) & (alpha_contrast > 0.5)
    if not keep.any():
        return 0.0
    image_width = image_contrast[keep] / np.maximum(image_slope[keep], 1e-6)
    return float(np.median(image_width / (alpha_contrast[keep] / slope[keep])))


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
    system = (laplacian + sparse.diags(weight * confidence)).tocsr()
    refined[inside] = conjugate_gradients(system, weight * confidence * network - pull, network, tolerance,
                                          max_iterations)
    return np.clip(refined, 0.0, 1.0).reshape(alpha.shape).astype(alpha.dtype)


def conjugate_gradients(system: sparse.csr_matrix, rhs: np.ndarray, start: np.ndarray, tolerance: float,
                        max_iterations: int) -> np.ndarray:
    """Solve ``system @ x = rhs`` (symmetric positive definite) by conjugate gradients with the Jacobi
    preconditioner, from ``start``, until the residual is below ``tolerance`` times ``rhs``'s norm or for
    ``max_iterations`` steps: SciPy's ``cg`` step for step, in float64, but with torch's sparse product, which runs
    on torch's threads (SciPy's on one): 1.4-2x faster on the refinement's systems. The product sums each row in
    another order, so a solve stopped at its cap can differ from SciPy's by about 1e-4."""
    index = np.int32 if system.nnz < 2**31 else np.int64
    matrix = torch.sparse_csr_tensor(torch.from_numpy(system.indptr.astype(index, copy=False)),
                                     torch.from_numpy(system.indices.astype(index, copy=False)),
                                     torch.from_numpy(system.data.astype(np.float64, copy=False)), size=system.shape,
                                     check_invariants=False)  # SciPy built it: valid
    b = torch.from_numpy(np.asarray(rhs, np.float64))
    goal = tolerance * float(torch.linalg.vector_norm(b))
    if goal == 0:
        return np.zeros(len(rhs))
    inverse_diagonal = 1.0 / torch.from_numpy(system.diagonal().astype(np.float64, copy=False))
    x = torch.tensor(start, dtype=torch.float64)  # a copy
    residual = b - torch.mv(matrix, x)
    direction, previous = None, 0.0
    for _ in range(max_iterations):
        if float(torch.linalg.vector_norm(residual)) < goal:
            break
        preconditioned = inverse_diagonal * residual
        current = float(torch.dot(residual, preconditioned))
        if direction is None:
            direction = preconditioned
        else:
            direction.mul_(current / previous).add_(preconditioned)
        product = torch.mv(matrix, direction)
        step = current / float(torch.dot(direction, product))
        x.add_(direction, alpha=step)
        residual.sub_(product, alpha=step)
        previous = current
    return x.numpy()
