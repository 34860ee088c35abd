"""The HMH builder: row invariants, splits, bad inputs, determinism, resume, round trips, publishing."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import datasets
import numpy as np
import pytest
from PIL import Image

from hamagan.cli import main
from hamagan.data.builder import BuildOptions, build_dataset, load_built
from hamagan.data.hub import hub_files, push_dataset
from hamagan.data.sources import open_source
from hamagan.samples import portrait_ids, portrait_paths

SMALL = BuildOptions(size=64, variants=2, shard_size=2)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five bundled portraits shrunk to 160 px in a folder-of-pairs source."""
    root = tmp_path_factory.mktemp("pairs")
    (root / "images").mkdir()
    (root / "alphas").mkdir()
    for pid in portrait_ids()[:5]:
        image_path, alpha_path = portrait_paths(pid)
        for src, folder, suffix in ((image_path, "images", ".jpg"), (alpha_path, "alphas", ".png")):
            img = Image.open(src)
            img.thumbnail((160, 160))
            img.save(root / folder / f"{pid}{suffix}")
    (root / "LICENSE").write_text("MIT")
    return root


def _array(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.float64) / 255


def test_rows_satisfy_the_composite_equation_and_splits_are_by_portrait(pairs: Path, tmp_path: Path) -> None:
    report = build_dataset(open_source(str(pairs)), tmp_path, SMALL, progress=False)
    built = load_built(tmp_path)
    assert sum(report.rows.values()) == 10 and not report.skipped
    sources = {split: set(d["source_id"]) for split, d in built.items()}
    assert sources["test"] and not sources["test"] & (sources["train"] | sources.get("validation", set()))
    for row in built["train"]:
        a = _array(row["alpha"])[..., None]
        image, adjusted = _array(row["image"]), _array(row["background_adjusted"])
        np.testing.assert_allclose(_array(row["composite"]), a * image + (1 - a) * adjusted, atol=0.51 / 255)
        assert not np.array_equal(adjusted, _array(row["background"]))
        assert row["image"].size == row["alpha"].size == row["trimap"].size == (64, 64)
        assert row["alpha"].mode == "L" and set(np.unique(np.asarray(row["trimap"]))) <= {0, 128, 255}
        params = json.loads(row["transform_params"])
        assert row["transform"] in ("reinhard", "illumination", "msrcr") and 0.2 <= params["trimap_radius"] <= 4


def test_foreground_perturbation_recolours_the_portrait(pairs: Path, tmp_path: Path) -> None:
    options = BuildOptions(size=64, perturb="foreground")
    build_dataset(open_source(str(pairs)), tmp_path, options, test_ids={"p_015cd10e"}, progress=False)
    built = load_built(tmp_path)
    assert set(built["test"]["source_id"]) == {"p_015cd10e"}
    row = built["train"][0]
    a = _array(row["alpha"])[..., None]
    image, recoloured = _array(row["image"]), _array(row["foreground_adjusted"])
    np.testing.assert_allclose(_array(row["composite"]), a * recoloured + (1 - a) * image, atol=0.51 / 255)
    np.testing.assert_array_equal(_array(row["background_adjusted"]), _array(row["background"]))


def test_bad_inputs_are_skipped_and_reported_and_odd_modes_kept(pairs: Path, tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(pairs, source)
    (source / "images" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 50)
    (source / "images" / "text.jpg").write_text("not an image")
    for name in ("corrupt", "text"):
        Image.new("L", (50, 40)).save(source / "alphas" / f"{name}.png")
    Image.new("RGB", (50, 40)).save(source / "images" / "wrong_size.jpg")
    Image.new("L", (30, 30)).save(source / "alphas" / "wrong_size.png")
    Image.new("RGB", (50, 40)).save(source / "images" / "no_alpha.jpg")
    image, alpha = Image.open(source / "images" / "p_015cd10e.jpg"), Image.open(source / "alphas" / "p_015cd10e.png")
    image.convert("CMYK").save(source / "images" / "cmyk.jpg")
    alpha.save(source / "alphas" / "cmyk.png")
    image.save(source / "images" / "deep.png")
    Image.fromarray(np.asarray(alpha.convert("L")).astype(np.uint16) * 257).save(source / "alphas" / "deep.png")
    out = tmp_path / "out"
    assert main(["dataset", "build", str(source), str(out), "--size", "64", "--format", "parquet"]) == 1
    report = json.loads((out / "build_report.json").read_text())
    reasons = {Path(s["file"]).name: s["reason"] for s in report["skipped"]}
    assert set(reasons) == {"corrupt.jpg", "text.jpg", "wrong_size.jpg", "no_alpha.jpg"}
    assert "not a readable image" in reasons["text.jpg"] and "differs" in reasons["wrong_size.jpg"]
    assert "no alpha" in reasons["no_alpha.jpg"]
    built = load_built(out)
    kept = {s for d in built.values() for s in d["source_id"]}
    assert {"cmyk", "deep"} <= kept and sum(len(d) for d in built.values()) == 7
    assert (out / "licenses" / f"{source.name}-LICENSE").exists()


def test_an_unreadable_portrait_drawn_as_a_colour_target_costs_no_other_portrait(pairs: Path,
                                                                                 tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(pairs, source)
    (source / "images" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 50)
    Image.new("L", (50, 40)).save(source / "alphas" / "corrupt.png")
    options = BuildOptions(size=48, variants=8, shard_size=8, validation_fraction=0.0)
    report = build_dataset(open_source(str(source)), tmp_path / "out", options, test_ids=set(), progress=False)
    assert [Path(s["file"]).name for s in report.skipped] == ["corrupt.jpg"]
    built = load_built(tmp_path / "out")
    rows = [(source_id, json.loads(params)) for d in built.values()
            for source_id, params in zip(d["source_id"], d["transform_params"], strict=True)]
    assert sorted({source_id for source_id, _ in rows}) == sorted(portrait_ids()[:5])
    assert len(rows) == 5 * 8 and all(p.get("target_id") != "corrupt" for _, p in rows)


def test_empty_source_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "alphas").mkdir()
    with pytest.raises(ValueError, match="no portraits"):
        open_source(str(tmp_path))
    assert main(["dataset", "build", str(tmp_path), str(tmp_path / "out")]) == 2


def test_rerun_gives_the_same_bytes_and_an_interrupted_build_resumes(pairs: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    build_dataset(open_source(str(pairs)), first, SMALL, progress=False)
    build_dataset(open_source(str(pairs)), second, SMALL, progress=False)
    files = sorted(p.name for p in (first / "data").glob("*.parquet"))
    assert len(files) >= 3
    assert all((first / "data" / f).read_bytes() == (second / "data" / f).read_bytes() for f in files)
    # Interrupt: one shard never finished. The resumed build redoes only that shard, byte for byte.
    victim = files[0]
    (second / "data" / victim).unlink()
    (second / ".build" / victim.replace(".parquet", ".json")).unlink()
    report = build_dataset(open_source(str(pairs)), second, SMALL, progress=False)
    assert report.shards_reused == len(files) - 1
    assert (second / "data" / victim).read_bytes() == (first / "data" / victim).read_bytes()
    # Other options into the same folder (here one portrait per shard) would mix two builds: refused.
    with pytest.raises(ValueError, match="other options"):
        build_dataset(open_source(str(pairs)), second, dataclasses.replace(SMALL, shard_size=1), progress=False)
    assert sorted(p.name for p in (second / "data").glob("*.parquet")) == files


def test_round_trips_keep_equal_rows(pairs: Path, tmp_path: Path) -> None:
    build_dataset(open_source(str(pairs)), tmp_path, BuildOptions(size=48), progress=False)
    built = load_built(tmp_path)
    built.save_to_disk(str(tmp_path / "arrow"))
    from_disk = datasets.load_from_disk(str(tmp_path / "arrow"))
    files = {s: sorted(str(p) for p in (tmp_path / "data").glob(f"{s}-*.parquet")) for s in built}
    from_parquet = datasets.load_dataset("parquet", data_files=files)
    for split in built:
        for other in (from_disk[split], from_parquet[split]):
            assert other["id"] == built[split]["id"]
            a, b = built[split][0], other[0]
            assert np.array_equal(np.asarray(a["composite"]), np.asarray(b["composite"]))
            assert a["transform_params"] == b["transform_params"]


def test_hf_dataset_and_aisegment_sources(pairs: Path, tmp_path: Path) -> None:
    images = sorted((pairs / "images").glob("*.jpg"))[:2]
    table = datasets.Dataset.from_dict({
        "id": [p.stem for p in images],
        "image": [str(p) for p in images],
        "alpha": [str(pairs / "alphas" / f"{p.stem}.png") for p in images],
    }).cast_column("image", datasets.Image()).cast_column("alpha", datasets.Image())
    table.save_to_disk(str(tmp_path / "hf"))
    items = open_source(str(tmp_path / "hf"))
    assert [i.source_id for i in items] == [p.stem for p in images]
    image, alpha = items[0].load()
    assert image.shape[:2] == alpha.shape
    # AISegment: clip_img/A/clip_B/X.jpg + matting/A/matting_B/X.png with alpha in channel 4.
    root = tmp_path / "ais"
    (root / "clip_img" / "1803" / "clip_00").mkdir(parents=True)
    (root / "matting" / "1803" / "matting_00").mkdir(parents=True)
    shutil.copy(images[0], root / "clip_img" / "1803" / "clip_00" / "x.jpg")
    rgba = Image.open(images[0]).convert("RGBA")
    rgba.putalpha(Image.open(pairs / "alphas" / f"{images[0].stem}.png").convert("L"))
    rgba.save(root / "matting" / "1803" / "matting_00" / "x.png")
    (item,) = open_source(str(root))
    image, alpha = item.load()
    expected = np.asarray(Image.open(pairs / "alphas" / f"{images[0].stem}.png").convert("L")) / 255
    np.testing.assert_allclose(alpha, expected, atol=1e-6)


def test_push_sends_exactly_the_hub_folder(pairs: Path, tmp_path: Path, fake_hub: dict) -> None:
    out = tmp_path / "out"
    assert main(["dataset", "build", str(pairs), str(out), "--size", "48"]) == 0
    sent = fake_hub
    assert push_dataset(out, "someone/hmh") == "commit-url"
    parquet = sorted(f"data/{p.name}" for p in (out / "data").glob("*.parquet"))
    assert sent["files"] == parquet + ["README.md", f"licenses/{pairs.name}-LICENSE"] == hub_files(out)
    assert sent["repo"] == "someone/hmh" and sent["type"] == "dataset" and sent["folder"] == str(out)
    card = (out / "README.md").read_text()
    assert "configs:" in card and "data/train-*" in card and "Reinhard" in card


def test_worker_processes_write_the_same_bytes(pairs: Path, tmp_path: Path) -> None:
    import torch

    torch.nn.functional.conv2d(torch.rand(1, 3, 64, 64), torch.rand(4, 3, 3, 3))  # threads started before workers
    build_dataset(open_source(str(pairs)), tmp_path / "one", SMALL, progress=False)
    report = build_dataset(open_source(str(pairs)), tmp_path / "two", SMALL, num_proc=2, progress=False)
    assert sum(report.rows.values()) == 10
    files = sorted(p.name for p in (tmp_path / "one" / "data").glob("*.parquet"))
    assert all((tmp_path / "one" / "data" / f).read_bytes() == (tmp_path / "two" / "data" / f).read_bytes()
               for f in files)
