"""The one image loader: every common file mode works, EXIF is honoured, bad files are clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from hamagan.images import ImageError, load_image, to_array


def _gradient(w: int = 40, h: int = 30) -> Image.Image:
    x = np.linspace(0, 255, w, dtype=np.uint8)
    rgb = np.stack([np.tile(x, (h, 1)), np.tile(x[::-1], (h, 1)), np.full((h, w), 90, np.uint8)], axis=2)
    return Image.fromarray(rgb)


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK", "LA", "1"])
def test_modes_convert_to_rgb(tmp_path: Path, mode: str) -> None:
    path = tmp_path / ("x.jpg" if mode == "CMYK" else "x.png")
    if mode == "CMYK":
        _gradient().convert("CMYK").save(path)
    else:
        _gradient().convert(mode).save(path)
    tensor = load_image(path)
    assert tensor.shape == (1, 3, 30, 40) and tensor.dtype == torch.float32
    assert 0 <= tensor.min() and tensor.max() <= 1


def test_sixteen_bit_png_keeps_full_range(tmp_path: Path) -> None:
    data = np.linspace(0, 65535, 30 * 40).reshape(30, 40).astype(np.uint16)
    Image.fromarray(data).save(tmp_path / "deep.png")
    loaded = to_array(tmp_path / "deep.png")
    assert loaded.shape == (30, 40, 3)
    np.testing.assert_allclose(loaded[..., 0], data / 65535, atol=1e-6)


def test_exif_rotation_is_applied(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    _gradient(40, 30).save(tmp_path / "r.jpg", exif=exif)
    assert load_image(tmp_path / "r.jpg").shape == (1, 3, 40, 30)


def test_arrays_and_tensors(tmp_path: Path) -> None:
    u8 = np.asarray(_gradient())
    np.testing.assert_allclose(to_array(u8), u8 / 255, atol=1e-6)
    assert to_array(u8[..., 0]).shape == (30, 40, 3)
    assert load_image(torch.rand(3, 5, 7)).shape == (1, 3, 5, 7)
    rgba = np.concatenate([u8, np.full((30, 40, 1), 255, np.uint8)], axis=2)
    assert to_array(rgba).shape == (30, 40, 3)


@pytest.mark.parametrize(("content", "message"), [
    (b"this is not an image", "not a readable image"),
    (b"", "not a readable image"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 20, "not a readable image"),  # truncated JPEG
])
def test_unreadable_files_name_the_file(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "broken.jpg"
    path.write_bytes(content)
    with pytest.raises(ImageError, match=message) as info:
        load_image(path)
    assert "broken.jpg" in str(info.value)


def test_missing_file_and_empty_array(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ImageError, match="empty"):
        load_image(np.zeros((0, 10, 3), np.uint8))
    with pytest.raises(ImageError, match="NaN"):
        load_image(np.full((4, 4, 3), np.nan, np.float32))
