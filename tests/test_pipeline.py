"""HaMaGANPipeline: full-resolution outputs for any input, clear errors, and strict Hub-format weights."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from hamagan import HaMaGANConfig, HaMaGANPipeline, ImageError, ModelNotFoundError
from hamagan.samples import BARE_PORTRAIT, background_paths, portrait_paths


def band_trimap(h: int, w: int, band: int = 1) -> np.ndarray:
    trimap = np.zeros((h, w), np.uint8)
    trimap[:, w // 2:] = 255
    trimap[:, w // 2 - band // 2: w // 2 - band // 2 + band] = 128
    return trimap


def test_any_size_with_a_one_pixel_band(small_pipe: HaMaGANPipeline) -> None:
    image = np.random.default_rng(0).random((333, 517, 3), dtype=np.float32)
    trimap = band_trimap(333, 517, band=1)
    out = small_pipe(image, trimap, background=np.random.default_rng(1).random((90, 400, 3), dtype=np.float32))
    assert out.alpha.shape == (333, 517) and out.trimap.shape == (333, 517)
    for name in ("foreground", "composite", "harmonized"):
        assert getattr(out, name).shape == (333, 517, 3)
    known = trimap != 128
    np.testing.assert_array_equal(out.alpha[known], trimap[known] / 255.0)
    assert ((out.alpha >= 0) & (out.alpha <= 1)).all()


def test_file_inputs_of_every_mode(tmp_path: Path, small_pipe: HaMaGANPipeline) -> None:
    rgb = (np.random.default_rng(0).random((40, 60, 3)) * 255).astype(np.uint8)
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "cmyk.jpg")
    Image.fromarray(rgb).convert("RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(rgb[..., 0]).save(tmp_path / "gray.png")
    Image.fromarray(rgb[..., 0].astype(np.uint16) * 257).save(tmp_path / "deep.png")
    Image.fromarray(band_trimap(40, 60, 6)).save(tmp_path / "trimap.png")
    for name in ("cmyk.jpg", "rgba.png", "gray.png", "deep.png"):
        out = small_pipe(tmp_path / name, tmp_path / "trimap.png")
        assert out.alpha.shape == (40, 60) and out.composite is None and out.harmonized is None


def test_no_unknown_region_returns_the_trimap(small_pipe: HaMaGANPipeline, monkeypatch) -> None:
    trimap = band_trimap(32, 32, band=0)
    out = small_pipe(np.random.default_rng(0).random((32, 32, 3)), trimap)
    np.testing.assert_array_equal(out.alpha, trimap / 255.0)
    # Nothing to solve, so G_m is not run (a photo with no person found answers without it).
    monkeypatch.setattr(small_pipe, "_network_alpha", lambda *args: pytest.fail("G_m ran on a known trimap"))
    np.testing.assert_array_equal(small_pipe(np.zeros((32, 32, 3)), trimap).alpha, trimap / 255.0)


def test_real_portrait_outputs_keep_the_untouched_layer(small_pipe: HaMaGANPipeline, portrait) -> None:
    from hamagan.trimap import trimap_from_alpha

    image, alpha = portrait
    trimap = trimap_from_alpha(alpha, radius=10)
    background = background_paths()[0]
    out = small_pipe(image, trimap, background=background)
    fg_only = out.alpha == 1
    bg_only = out.alpha == 0
    # Background direction: the portrait's pixels stay exactly the foreground estimate.
    np.testing.assert_allclose(out.harmonized[fg_only], out.foreground[fg_only], atol=1e-6)
    flipped = small_pipe(image, trimap, background=background, direction="foreground")
    np.testing.assert_allclose(flipped.harmonized[bg_only], flipped.composite[bg_only], atol=1e-6)
    pil = small_pipe(image, trimap, background=background, output_type="pil")
    assert pil.harmonized.mode == "RGB" and pil.alpha.mode == "L" and pil.alpha.size == image.shape[1::-1]


def test_colour_map_harmonizer_changes_only_the_adjusted_layer(small_config: HaMaGANConfig, portrait) -> None:
    from hamagan.pipeline import HarmonizerConfig
    from hamagan.trimap import trimap_from_alpha

    config = HaMaGANConfig(**{**small_config.__dict__, "harmonizer": HarmonizerConfig(base_channels=4,
                                                                                      transform_grid=2)})
    pipe = HaMaGANPipeline(config)
    image, alpha = portrait
    trimap = trimap_from_alpha(alpha, radius=10)
    background = background_paths()[0]
    untrained = pipe(image, trimap, background=background)
    np.testing.assert_allclose(untrained.harmonized, untrained.composite, atol=1e-5)  # identity at start
    torch.manual_seed(0)
    torch.nn.init.normal_(pipe.harmonizers["background"].net.up[-2].weight, std=0.5)
    out = pipe(image, trimap, background=background)
    fg_only, bg_only = out.alpha == 1, out.alpha == 0
    np.testing.assert_allclose(out.harmonized[fg_only], out.foreground[fg_only], atol=1e-6)
    assert np.abs(out.harmonized[bg_only] - out.composite[bg_only]).mean() > 0.01
    # Strength scales the change: none of it at 0, half of it at 0.5.
    off = pipe(image, trimap, background=background, strength=0.0)
    np.testing.assert_array_equal(off.harmonized, off.composite)
    half = pipe(image, trimap, background=background, strength=0.5)
    np.testing.assert_allclose(half.harmonized, (out.harmonized + out.composite) / 2, atol=1e-6)


def test_the_harmonization_gate_leaves_a_small_change_out(small_config: HaMaGANConfig, portrait) -> None:
    from hamagan.compose import fit_background
    from hamagan.harmonization_gate import change_size
    from hamagan.images import array_to_tensor, load_image
    from hamagan.pipeline import HarmonizerConfig
    from hamagan.trimap import trimap_from_alpha

    pipe = HaMaGANPipeline(HaMaGANConfig(**{**small_config.__dict__,
                                            "harmonizer": HarmonizerConfig(base_channels=4, transform_grid=2)}))
    torch.manual_seed(0)
    torch.nn.init.normal_(pipe.harmonizers["background"].net.up[-2].weight, std=0.5)
    image, alpha = portrait
    foreground, alpha_t = array_to_tensor(image), array_to_tensor(alpha)
    background = fit_background(load_image(background_paths()[0]), image.shape[:2])
    plain = foreground * alpha_t + background * (1 - alpha_t)
    size = change_size(background, pipe.harmonize(plain, alpha_t, "background", background), 1 - alpha_t).item()
    assert size > 1
    whole = pipe.harmonize_layers(foreground, background, alpha_t)
    for gate, share in (((size + 1, size + 2), 0.0), ((size - 1, size + 1), 0.5), ((0, size - 1), 1.0)):
        pipe.config.harmonize_gate = gate
        gated = pipe.harmonize_layers(foreground, background, alpha_t)
        torch.testing.assert_close(gated, torch.lerp(plain, whole, share), atol=1e-5, rtol=0)
    # The whole pipeline says so when the gate holds the change back, and leaves the composite as it is.
    trimap = trimap_from_alpha(alpha, radius=10)
    pipe.config.harmonize_gate = (1000.0, 1000.0)
    out = pipe(image, trimap, background=background_paths()[0])
    np.testing.assert_array_equal(out.harmonized, out.composite)
    assert "the composite is left as it is" in out.message
    pipe.config.harmonize_gate = None
    assert "harmonizer" not in pipe(image, trimap, background=background_paths()[0]).message


def test_bf16_matting_follows_the_hardware_unless_forced(small_pipe: HaMaGANPipeline, portrait, monkeypatch) -> None:
    from hamagan.trimap import trimap_from_alpha

    image, alpha = portrait
    trimap = trimap_from_alpha(alpha, radius=10)
    assert small_pipe.matting_bf16 is None  # automatic unless forced
    forced = {}
    try:
        for choice in (False, True):
            small_pipe.matting_bf16 = choice
            forced[choice] = small_pipe(image, trimap).alpha
    finally:
        small_pipe.matting_bf16 = None
    assert forced[True].dtype == np.float32 and not np.array_equal(forced[True], forced[False])
    assert np.abs(forced[True] - forced[False]).max() < 0.05
    for fast in (False, True):
        monkeypatch.setattr("hamagan.pipeline.bf16_is_fast", lambda device, fast=fast: fast)
        np.testing.assert_array_equal(small_pipe(image, trimap).alpha, forced[fast])


def test_the_bf16_snap_sets_g_m_s_near_certain_alpha_to_0_or_1_in_bf16_only(small_config: HaMaGANConfig,
                                                                           portrait) -> None:
    from hamagan.images import array_to_tensor, tensor_to_array
    from hamagan.trimap import trimap_from_alpha

    image, alpha = portrait
    trimap = trimap_from_alpha(alpha, radius=10)
    unknown = trimap == 0.5
    torch.manual_seed(0)
    pipe = HaMaGANPipeline(dataclasses.replace(small_config))  # its own config: the fixture's is shared
    alphas = {}
    for bf16 in (False, True):
        pipe.matting_bf16 = bf16
        for snap in (0.0, 0.3):  # wide, so that an untrained G_m's alpha has values on both sides of it
            pipe.config.matting_bf16_snap = snap
            alphas[bf16, snap] = tensor_to_array(pipe.matte(array_to_tensor(image), array_to_tensor(trimap), False))
    np.testing.assert_array_equal(alphas[False, 0.3], alphas[False, 0.0])  # float32: G_m's alpha as it is
    plain, snapped = alphas[True, 0.0], alphas[True, 0.3]
    high, low = unknown & (plain >= 0.7), unknown & (plain <= 0.3)
    middle = unknown & ~high & ~low
    assert high.any() and low.any() and middle.any()
    assert (snapped[high] == 1).all() and (snapped[low] == 0).all()
    np.testing.assert_array_equal(snapped[middle], plain[middle])
    np.testing.assert_array_equal(snapped[~unknown], trimap[~unknown])  # the known regions stay as given
    with pytest.raises(ValueError, match="matting_bf16_snap"):
        dataclasses.replace(small_config, matting_bf16_snap=0.5)


def test_matting_flip_makes_the_alpha_mirror_symmetric(small_config: HaMaGANConfig, portrait) -> None:
    from hamagan.trimap import trimap_from_alpha

    image, alpha = portrait
    image, trimap = image[:, :192], trimap_from_alpha(alpha, radius=10)[:, :192]  # a width G_m needs no pad for
    mirrored = np.ascontiguousarray(image[:, ::-1]), np.ascontiguousarray(trimap[:, ::-1])
    torch.manual_seed(0)
    pipe = HaMaGANPipeline(dataclasses.replace(small_config))  # its own config: the fixture's is shared
    pipe.matting_bf16 = False
    plain = pipe(image, trimap).alpha, pipe(*mirrored).alpha
    assert np.abs(plain[0] - plain[1][:, ::-1]).max() > 1e-3  # an untrained G_m is not symmetric by itself
    pipe.config.matting_flip = True
    flipped = pipe(image, trimap).alpha, pipe(*mirrored).alpha
    np.testing.assert_allclose(flipped[0], flipped[1][:, ::-1], atol=1e-5)
    unknown = trimap == 0.5
    np.testing.assert_array_equal(flipped[0][~unknown], trimap[~unknown])  # the known regions stay as given


def test_matting_band_width_runs_g_m_where_the_band_is_that_wide(small_config: HaMaGANConfig, portrait,
                                                                  monkeypatch) -> None:
    from hamagan.refinement import band_width
    from hamagan.trimap import trimap_from_alpha

    image, alpha = portrait
    narrow, wide = trimap_from_alpha(alpha, radius=3), trimap_from_alpha(alpha, radius=12)
    widest = (band_width(narrow) + band_width(wide)) / 2
    pipe = HaMaGANPipeline(dataclasses.replace(small_config, matting_band_width=widest))
    pipe.matting_bf16 = False
    sizes = []
    network_pass = HaMaGANPipeline._network_pass
    monkeypatch.setattr(HaMaGANPipeline, "_network_pass",
                        lambda self, x, t: sizes.append(tuple(x.shape[2:])) or network_pass(self, x, t))
    assert pipe(image, narrow).alpha.shape == alpha.shape and sizes.pop() == alpha.shape  # narrow: as it is
    out = pipe(image, wide)
    shrunk = sizes.pop()
    assert abs(shrunk[0] - alpha.shape[0] * widest / band_width(wide)) <= 1 and out.alpha.shape == alpha.shape
    unknown = wide == 0.5
    np.testing.assert_array_equal(out.alpha[~unknown], wide[~unknown])  # the known regions stay as given
    assert 0.01 < out.alpha[unknown].mean() < 0.99
    with pytest.raises(ValueError, match="matting_band_width"):
        dataclasses.replace(small_config, matting_band_width=0)


def test_bf16_is_fast_only_where_the_hardware_has_it(monkeypatch) -> None:
    from hamagan import hardware

    for flags, expected in (("fpu sse avx512f avx512_bf16", True), ("fpu amx_bf16 amx_tile", True),
                            ("fpu sse avx2 avx512f", False)):
        hardware._cpu_has_bf16.cache_clear()
        monkeypatch.setattr(hardware.Path, "read_text", lambda self, flags=flags: f"flags\t: {flags}\n")
        assert hardware.bf16_is_fast(torch.device("cpu")) is expected
        assert hardware.bf16_is_fast(torch.device("meta")) is False
    hardware._cpu_has_bf16.cache_clear()


def test_large_images_run_at_the_working_size_and_come_back_full(small_config: HaMaGANConfig) -> None:
    config = HaMaGANConfig(**{**small_config.__dict__, "matting_max_side": 64})
    pipe = HaMaGANPipeline(config)
    image_path, alpha_path = portrait_paths("p_818e689d")
    alpha = np.asarray(Image.open(alpha_path).convert("L"))
    trimap = np.where(alpha == 255, 255, np.where(alpha == 0, 0, 128)).astype(np.uint8)
    out = pipe(image_path, trimap)
    assert out.alpha.shape == alpha.shape  # never a silent downscale
    np.testing.assert_array_equal(out.alpha[trimap != 128], trimap[trimap != 128] / 255.0)


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"trimap": np.zeros((10, 10), np.uint8)}, ImageError, "differs from the image"),
    ({"trimap": np.full((32, 48), 77, np.uint8)}, ImageError, "other than 0/128/255"),
    ({"trimap": np.zeros((32, 48), np.uint8), "direction": "sideways"}, ValueError, "direction"),
    ({"trimap": np.zeros((32, 48), np.uint8), "strength": 1.5}, ValueError, "strength"),
    ({"trimap": np.zeros((32, 48), np.uint8), "strength": float("nan")}, ValueError, "strength"),
])
def test_bad_arguments_are_clear_errors(small_pipe: HaMaGANPipeline, kwargs: dict, error: type,
                                        message: str) -> None:
    with pytest.raises(error, match=message):
        small_pipe(np.zeros((32, 48, 3), np.float32), **kwargs)


def test_no_trimap_uses_the_segmenter_and_says_when_there_is_no_person(small_pipe: HaMaGANPipeline) -> None:
    out = small_pipe(np.zeros((32, 48, 3), np.float32), background=np.ones((20, 20, 3), np.float32))
    assert "no person" in out.message
    assert out.alpha.max() == 0 and out.trimap.max() == 0
    np.testing.assert_allclose(out.composite, 1.0)  # nothing invented: the new background alone
    backdrop = np.random.default_rng(0).random((20, 20, 3)).astype(np.float32)
    untouched = small_pipe(np.zeros((32, 48, 3), np.float32), background=backdrop)
    np.testing.assert_array_equal(untouched.harmonized, untouched.composite)  # and not harmonized
    assert untouched.seconds.keys() == {"load", "trimap", "matting", "foreground", "background", "harmonization",
                                        "output"}
    found = small_pipe(BARE_PORTRAIT)
    assert found.message == "found 1 person" and 0.05 < found.alpha.mean() < 0.9
    with pytest.raises(ValueError, match="people"):
        small_pipe(BARE_PORTRAIT, people="nobody")


def test_unreadable_image_and_empty_image(tmp_path: Path, small_pipe: HaMaGANPipeline) -> None:
    (tmp_path / "fake.jpg").write_text("hello")
    with pytest.raises(ImageError, match="fake.jpg"):
        small_pipe(tmp_path / "fake.jpg", np.zeros((4, 4), np.uint8))
    with pytest.raises(ImageError, match="empty"):
        small_pipe(np.zeros((0, 4, 3), np.float32), np.zeros((0, 4), np.uint8))


def test_missing_direction_in_a_checkpoint(small_config: HaMaGANConfig) -> None:
    pipe = HaMaGANPipeline(HaMaGANConfig(**{**small_config.__dict__, "directions": ["background"]}))
    with pytest.raises(ValueError, match="not in this checkpoint"):
        pipe(np.zeros((32, 32, 3)), band_trimap(32, 32, 4), background=np.zeros((8, 8, 3)), direction="foreground")


def test_save_then_load_is_bit_identical_and_safetensors_only(tmp_path: Path, small_pipe: HaMaGANPipeline) -> None:
    small_pipe.save_pretrained(tmp_path / "ckpt")
    # One folder per network, each with its own config, so that retraining one network changes one file.
    assert sorted(os.listdir(tmp_path / "ckpt")) == ["README.md", "config.json", "harmonizer_background",
                                                     "harmonizer_foreground", "matting"]
    for network in ("matting", "harmonizer_background", "harmonizer_foreground"):
        assert sorted(os.listdir(tmp_path / "ckpt" / network)) == ["config.json", "model.safetensors"]
    config = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    assert config["matting"]["width_mult"] == 0.25
    assert json.loads((tmp_path / "ckpt/matting/config.json").read_text()) == config["matting"]
    assert load_file(tmp_path / "ckpt/harmonizer_foreground/model.safetensors").keys() == {
        k.removeprefix("harmonizers.foreground.") for k in small_pipe.state_dict() if ".foreground." in k}
    loaded = HaMaGANPipeline.from_pretrained(tmp_path / "ckpt")
    original, reloaded = small_pipe.state_dict(), loaded.state_dict()
    assert original.keys() == reloaded.keys()
    assert all(torch.equal(original[k], reloaded[k]) for k in original)
    assert not loaded.training
    assert not any("critic" in k or "discriminator" in k for k in original)


def test_a_pipeline_made_without_a_config_saves_and_loads_back(tmp_path: Path) -> None:
    torch.manual_seed(0)
    default = HaMaGANPipeline()  # the paper's configuration, no config given
    default.save_pretrained(tmp_path / "default")
    assert json.loads((tmp_path / "default" / "config.json").read_text())["matting"]["width_mult"] == 1.0
    loaded = HaMaGANPipeline.from_pretrained(tmp_path / "default")
    assert loaded.config == default.config
    assert torch.equal(loaded.matting.stem[0].weight, default.matting.stem[0].weight)
    # A partial dict is saved as the whole configuration it resolves to.
    partial = HaMaGANPipeline({"matting": {"width_mult": 0.25}, "harmonizer": {"base_channels": 4}})
    partial.save_pretrained(tmp_path / "partial")
    saved = json.loads((tmp_path / "partial" / "config.json").read_text())
    assert saved["matting_max_side"] == 1024 and saved["harmonizer"]["base_channels"] == 4
    assert HaMaGANPipeline.from_pretrained(tmp_path / "partial").config == partial.config


def test_loading_is_strict(tmp_path: Path, small_pipe: HaMaGANPipeline) -> None:
    folder = tmp_path / "ckpt"
    small_pipe.save_pretrained(folder)
    weights = load_file(folder / "matting/model.safetensors")
    weights.pop("stem.0.weight")
    save_file(weights, folder / "matting/model.safetensors")
    with pytest.raises(RuntimeError, match="Missing key"):
        HaMaGANPipeline.from_pretrained(folder)


def test_a_single_file_checkpoint_of_the_older_layout_still_loads(tmp_path: Path, small_pipe: HaMaGANPipeline
                                                                 ) -> None:
    folder = tmp_path / "old"
    small_pipe.save_pretrained(folder)
    save_file(small_pipe.state_dict(), folder / "model.safetensors")
    for network in ("matting", "harmonizer_background", "harmonizer_foreground"):
        shutil.rmtree(folder / network)
    loaded = HaMaGANPipeline.from_pretrained(folder).state_dict()
    assert all(torch.equal(v, loaded[k]) for k, v in small_pipe.state_dict().items())
    # Saved again, it takes the per-network layout and drops the single file.
    HaMaGANPipeline.from_pretrained(folder).save_pretrained(folder)
    assert not (folder / "model.safetensors").exists() and (folder / "matting/model.safetensors").is_file()


def test_pickled_weights_are_never_read(tmp_path: Path, small_pipe: HaMaGANPipeline) -> None:
    folder = tmp_path / "ckpt"
    small_pipe.save_pretrained(folder)
    shutil.rmtree(folder / "matting")
    torch.save(small_pipe.state_dict(), folder / "pytorch_model.bin")
    with pytest.raises(ModelNotFoundError, match="model.safetensors"):
        HaMaGANPipeline.from_pretrained(folder)
    with pytest.raises(ModelNotFoundError, match="no such checkpoint"):
        HaMaGANPipeline.from_pretrained(tmp_path / "not-there")


def _run_offline(code: str, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache), "HF_HOME": str(cache.parent)}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                          timeout=120)


def test_repo_id_loads_from_the_hub_cache_offline(tmp_path: Path, small_pipe: HaMaGANPipeline) -> None:
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--hamagan--tiny"
    snapshot = repo / "snapshots" / commit
    small_pipe.save_pretrained(snapshot)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    torch.save(small_pipe.state_dict(), tmp_path / "expected.pt")
    result = _run_offline(f"""
        import torch
        from hamagan import HaMaGANPipeline
        pipe = HaMaGANPipeline.from_pretrained("hamagan/tiny")
        expected = torch.load({str(tmp_path / "expected.pt")!r})
        assert all(torch.equal(v, pipe.state_dict()[k]) for k, v in expected.items())
        print("loaded", pipe.config.matting.width_mult)
    """, tmp_path / "hub")
    assert result.returncode == 0, result.stderr
    assert "loaded 0.25" in result.stdout


def test_missing_repo_offline_fails_fast_and_clearly(tmp_path: Path) -> None:
    start = time.monotonic()
    result = _run_offline("""
        from hamagan import HaMaGANPipeline, ModelNotFoundError
        try:
            HaMaGANPipeline.from_pretrained("nobody/no-such-model")
        except ModelNotFoundError as exc:
            print("clear:", exc)
    """, tmp_path / "hub")
    assert result.returncode == 0, result.stderr
    assert "clear: nobody/no-such-model" in result.stdout and "cache" in result.stdout
    assert time.monotonic() - start < 20
