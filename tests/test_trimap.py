"""Trimap reading, checking and making."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hamagan.images import ImageError
from hamagan.trimap import load_trimap, trimap_from_alpha


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
