"""The colour-statistics correction of G_h's colour map: its statistics, its start at zero, its storage as
network folders of a checkpoint and a release, and that fitting it learns a colour change G_h leaves."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from hamagan import HaMaGANPipeline
from hamagan.data.harmonization_engine import HarmonizationEngine, HarmonizationSettings
from hamagan.models.colour_statistics import (
    CHANNELS,
    QUANTILES,
    STATISTICS,
    ColourStatisticsCorrector,
    colour_statistics,
)
from hamagan.pipeline import HaMaGANConfig, ModelNotFoundError
from hamagan.release import assemble, load_recipe, network_digest
from hamagan.training.colour_statistics import StatisticsSamples, draw_samples, fit_corrector, fmse_cut

SMALL_HARMONIZER = {"base_channels": 4, "num_downs": 5, "transform_grid": 1, "masked_pooling": True}


def _pipeline(statistics: list[str]) -> HaMaGANPipeline:
    torch.manual_seed(0)
    config = HaMaGANConfig(matting={"width_mult": 0.25}, harmonizer=SMALL_HARMONIZER, harmonize_size=64,
                           colour_statistics=statistics)
    return HaMaGANPipeline(config)


def test_each_layers_statistics_are_its_own_colours() -> None:
    composite = torch.full((1, 3, 128, 128), 0.5)
    composite[:, :, :, :64] = torch.tensor([1.0, 0.0, 0.0])[:, None, None]  # the portrait: pure red
    composite[:, 2, :, 64:] = torch.linspace(0, 1, 128)[:, None]  # the background's blue runs top to bottom
    alpha = torch.zeros(1, 1, 128, 128)
    alpha[..., :64] = 1
    statistics = colour_statistics(composite, alpha)
    per_layer = 2 * CHANNELS + len(QUANTILES) * CHANNELS
    assert statistics.shape == (1, STATISTICS) and STATISTICS == 2 * per_layer + 1
    portrait, background = statistics[0, :per_layer], statistics[0, per_layer:-1]
    mean, std, quantiles = portrait[:CHANNELS], portrait[CHANNELS:2 * CHANNELS], portrait[2 * CHANNELS:]
    assert torch.allclose(mean, torch.tensor([1.0, 0.0, 0.0, 1 / 3, 1.0, 0.5]), atol=1e-5)
    assert float(std.max()) < 1e-3
    assert torch.allclose(quantiles.view(len(QUANTILES), CHANNELS), mean.expand(len(QUANTILES), CHANNELS), atol=1e-5)
    blue_quantiles = background[2 * CHANNELS:].view(len(QUANTILES), CHANNELS)[:, 2]
    assert torch.allclose(blue_quantiles, torch.tensor(QUANTILES), atol=0.03)
    assert float(background[2]) == pytest.approx(0.5, abs=0.01) and float(statistics[0, -1]) == pytest.approx(0.5)


def test_an_untrained_correction_changes_nothing_and_needs_a_colour_map() -> None:
    plain, corrected = _pipeline([]), _pipeline(["background", "foreground"])
    corrected.harmonizers.load_state_dict(plain.harmonizers.state_dict())
    image, alpha = torch.rand(1, 3, 96, 80), torch.rand(1, 1, 96, 80)
    for direction in ("background", "foreground"):
        assert torch.equal(plain.harmonize(image, alpha, direction), corrected.harmonize(image, alpha, direction))
    with pytest.raises(ValueError, match="transform_grid"):
        HaMaGANConfig(harmonizer={"transform_grid": 0}, colour_statistics=["background"])
    with pytest.raises(ValueError, match="directions"):
        HaMaGANConfig(harmonizer=SMALL_HARMONIZER, directions=["background"], colour_statistics=["foreground"])


def test_the_corrections_are_saved_loaded_and_released_as_network_folders(tmp_path: Path) -> None:
    pipe = _pipeline(["background", "foreground"])
    for corrector in pipe.statistics.values():
        torch.nn.init.normal_(corrector.net[-1].weight, std=0.01)
    pipe.save_pretrained(tmp_path / "run")
    assert sorted(p.name for p in (tmp_path / "run").iterdir() if p.is_dir()) == [
        "harmonizer_background", "harmonizer_foreground", "matting", "statistics_background", "statistics_foreground"]
    loaded = HaMaGANPipeline.from_pretrained(tmp_path / "run")
    image, alpha = torch.rand(1, 3, 64, 64), torch.rand(1, 1, 64, 64)
    assert torch.equal(loaded.harmonize(image, alpha), pipe.harmonize(image, alpha))
    assert not torch.equal(loaded.harmonize(image, alpha), _pipeline([]).harmonize(image, alpha))
    names = ["matting", "harmonizer_background", "harmonizer_foreground", "statistics_background",
             "statistics_foreground"]
    recipe = {"pipeline": {"harmonize_size": 64},
              "networks": {n: {"from": f"run/{n}", "digest": network_digest(tmp_path / "run" / n)} for n in names}}
    (tmp_path / "releases").mkdir()
    (tmp_path / "releases/r.yaml").write_text(yaml.safe_dump(recipe))
    released = assemble(load_recipe(tmp_path / "releases/r.yaml"), tmp_path / "release")
    assert released.config.colour_statistics == ["background", "foreground"]
    assert torch.equal(released.harmonize(image, alpha), pipe.harmonize(image, alpha))
    del recipe["networks"]["statistics_foreground"]  # one harmonizer corrected, the other as it is
    (tmp_path / "releases/r.yaml").write_text(yaml.safe_dump(recipe))
    partial = assemble(load_recipe(tmp_path / "releases/r.yaml"), tmp_path / "partial")
    assert partial.config.colour_statistics == ["background"]
    assert not (tmp_path / "partial/statistics_foreground").exists()
    assert torch.equal(partial.harmonize(image, alpha), pipe.harmonize(image, alpha))
    plain_foreground = _pipeline([]).harmonize(image, alpha, "foreground")
    assert torch.equal(partial.harmonize(image, alpha, "foreground"), plain_foreground)
    del recipe["networks"]["harmonizer_background"]  # a correction without its harmonizer
    (tmp_path / "releases/r.yaml").write_text(yaml.safe_dump(recipe))
    with pytest.raises(ValueError, match="statistics_background"):
        assemble(load_recipe(tmp_path / "releases/r.yaml"), tmp_path / "other")
    for file in (tmp_path / "run/statistics_background").iterdir():
        file.unlink()
    with pytest.raises(ModelNotFoundError, match="statistics_background"):
        HaMaGANPipeline.from_pretrained(tmp_path / "run")


def test_a_correction_of_another_width_loads_as_wide_as_its_weights(tmp_path: Path) -> None:
    pipe = _pipeline(["background"])
    pipe.statistics["background"] = ColourStatisticsCorrector(hidden=32).eval()
    torch.nn.init.normal_(pipe.statistics["background"].net[-1].weight, std=0.01)
    pipe.save_pretrained(tmp_path / "run")
    loaded = HaMaGANPipeline.from_pretrained(tmp_path / "run")
    assert loaded.statistics["background"].net[0].out_features == 32
    recorded = json.loads((tmp_path / "run" / "statistics_background" / "config.json").read_text())
    assert recorded == loaded.statistics["background"].config == {"hidden": 32, "features": 0}
    image, alpha = torch.rand(1, 3, 64, 64), torch.rand(1, 1, 64, 64)
    assert torch.equal(loaded.harmonize(image, alpha), pipe.harmonize(image, alpha))


def test_a_correction_that_reads_g_hs_features_is_saved_loaded_and_asks_for_them(tmp_path: Path) -> None:
    pipe = _pipeline(["foreground"])
    width = pipe.harmonizers["foreground"].head[0].in_channels
    pipe.statistics["foreground"] = ColourStatisticsCorrector(hidden=32, features=width).eval()
    torch.nn.init.normal_(pipe.statistics["foreground"].net[-1].weight, std=0.01)
    image, alpha = torch.rand(1, 3, 64, 64), torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        corrected = pipe.harmonize(image, alpha, "foreground")
        _, features = pipe.harmonizers["foreground"].color_transform_and_features(image, alpha)
        correction = pipe.statistics["foreground"]
        assert features.shape == (1, width, 1, 1)
        assert not torch.allclose(correction(image, alpha, features), correction(image, alpha, features * 0))
    assert not torch.equal(corrected, _pipeline([]).harmonize(image, alpha, "foreground"))
    with pytest.raises(ValueError, match=f"reads {width} of G_h's features"):
        correction(image, alpha)
    pipe.save_pretrained(tmp_path / "run")
    loaded = HaMaGANPipeline.from_pretrained(tmp_path / "run")
    recorded = json.loads((tmp_path / "run" / "statistics_foreground" / "config.json").read_text())
    assert recorded == loaded.statistics["foreground"].config == {"hidden": 32, "features": width}
    assert torch.equal(loaded.harmonize(image, alpha, "foreground"), corrected)


def test_fitting_learns_an_exposure_change_that_g_h_leaves() -> None:
    """Backgrounds darkened by a factor their own statistics show (the portrait keeps the real exposure): G_h's map
    here is the identity, and the fitted correction undoes most of the change."""
    generator = torch.Generator().manual_seed(0)
    count, side = 384, 16
    real = torch.rand(count, 3, 1, 1, generator=generator) * 0.5 + 0.25 + 0.1 * torch.rand(count, 3, side, side,
                                                                                           generator=generator)
    alpha = torch.zeros(count, 1, side, side)
    alpha[..., : side // 2] = 1
    factor = 0.5 + 0.4 * torch.rand(count, 1, 1, 1, generator=generator)
    composite = torch.where(alpha > 0.5, real, real * factor)
    identity = torch.zeros(count, 3, 10)
    identity[:, :, :3] = torch.eye(3)
    samples = StatisticsSamples(composite, alpha, real, identity.view(count, 30, 1, 1), "background")
    assert fmse_cut(None, samples) == pytest.approx(0.0, abs=1e-6)
    corrector = fit_corrector(samples.part(slice(64, None)), epochs=30, batch=64, log=None)
    assert fmse_cut(corrector, samples.part(slice(None, 64))) > 0.6


def test_drawn_samples_carry_g_hs_own_coefficients() -> None:
    rng = np.random.default_rng(0)
    photos = [rng.integers(0, 256, (96, 128, 3), np.uint8) for _ in range(3)]
    shape = np.zeros((64, 48), np.float32)
    shape[8:56, 8:40] = 1
    engine = HarmonizationEngine(photos, [shape], HarmonizationSettings(size=64), seed=0)
    harmonizer = _pipeline(["background"]).harmonizers["background"]
    torch.nn.init.normal_(harmonizer.head[0].weight, std=0.1)  # a map other than the identity
    samples = draw_samples(harmonizer, engine, "background", 5, batch=2, progress=False)
    assert samples.composite.shape == (5, 3, 64, 64) and samples.coefficients.shape == (5, 30, 1, 1)
    draw = engine(3, "background")
    composite = torch.from_numpy(np.asarray(draw.composite, np.float32)).permute(2, 0, 1)[None]
    alpha = torch.from_numpy(np.asarray(draw.alpha, np.float32))[None, None]
    with torch.no_grad():
        expected = harmonizer.color_transform(composite, alpha)
    assert torch.allclose(samples.coefficients[3:4], expected, atol=1e-5)
    assert torch.equal(samples.alpha[3:4], alpha) and not torch.equal(expected, harmonizer.identity.expand_as(expected))
    assert samples.features is None
    with_features = draw_samples(harmonizer, engine, "background", 5, batch=2, progress=False, features=True)
    with torch.no_grad():
        _, pooled = harmonizer.color_transform_and_features(composite, alpha)
    assert with_features.features.shape == (5, harmonizer.head[0].in_channels, 1, 1)
    assert torch.allclose(with_features.features[3:4], pooled, atol=1e-5)
    fitted = fit_corrector(with_features, epochs=1, batch=2, log=None)
    assert fitted.features == harmonizer.head[0].in_channels and fmse_cut(fitted, with_features) == fmse_cut(
        fitted, with_features.part(slice(None)))


def test_the_training_portraits_among_the_people_are_the_hmh_train_split_at_the_pools_size() -> None:
    from hamagan import samples
    from hamagan.data.builder import validation_portrait
    from hamagan.training.colour_statistics import training_portraits

    portraits = training_portraits()
    held_out = {validation_portrait(), *samples.TEST_PORTRAITS}
    assert len(portraits) == len(samples.portrait_ids("all")) - len(held_out)
    kept = [image for portrait_id, (image, _) in zip(samples.portrait_ids("train"), samples.portrait_cutouts("train"),
                                                     strict=True) if portrait_id not in held_out]
    for (photo, alpha), original in zip(portraits, kept, strict=True):
        assert max(photo.shape[:2]) == 512 and photo.shape[:2] == alpha.shape
        assert abs(photo.shape[0] / photo.shape[1] - original.shape[0] / original.shape[1]) < 0.01
        assert 0.0 <= alpha.min() and alpha.max() <= 1.0 and 0.05 < alpha.mean() < 0.95


def test_only_the_set_aside_photos_of_the_train_split_join_the_corrections_photos(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import asdict

    from PIL import Image

    from hamagan.data.photo_pool import SPLITS, PoolPhoto, photo_split
    from hamagan.training.colour_statistics import set_aside_photos

    monkeypatch.setenv("HAMAGAN_PHOTO_POOL", str(tmp_path))
    with pytest.warns(UserWarning, match="photo pool is not fetched"):
        assert set_aside_photos() == []
    (tmp_path / "pkg").mkdir()
    rows = []
    for role in ("no-people", "set-aside"):
        for split in SPLITS:
            name = next(f"pkg/{role}{i}.png" for i in range(100) if photo_split(f"pkg/{role}{i}.png") == split)
            Image.fromarray(np.full((20, 30, 3), len(rows), np.uint8)).save(tmp_path / name)
            rows.append(asdict(PoolPhoto(name, "pkg", "1", "CC0", role, "")))
    (tmp_path / "manifest.json").write_text(json.dumps(rows))
    photos = set_aside_photos()
    assert len(photos) == 1 and photos[0].shape == (20, 30, 3) and int(photos[0][0, 0, 0]) == 3
