"""Training: losses, deterministic data, the step functions, and train/train.py end to end (1 and 2 processes)."""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from accelerate import Accelerator
from safetensors.torch import load_file

from hamagan.data.hmh import folds, load_rows, move_sources
from hamagan.metrics import colourfulness as measured_colourfulness
from hamagan.metrics import harmonization_metrics
from hamagan.models.discriminator import SelfAttentionCritic
from hamagan.models.harmonizer import AttentionUNetHarmonizer
from hamagan.models.indexnet import IndexNetMatting
from hamagan.training.config import StageConfig, load_config, resolve_config
from hamagan.training.ema import hold_batch_norm, recompute_batch_norm
from hamagan.training.losses import (
    colourfulness,
    critic_loss,
    foreground_normalised_mse,
    generator_adversarial,
    gradient_loss,
    laplacian_loss,
)
from hamagan.training.samples import HMHSamples, SampleOptions, StreamSampler
from hamagan.training.steps import JointSettings, harmonization_step, joint_step, land_change, matting_step
from hamagan.training.trainer import copy_matching, initialise_from
from hamagan.training.validation import validate_harmonization
from hamagan.weights import read_checkpoint_tensors, split_networks, tensor_digest

ROOT = Path(__file__).resolve().parents[1]
BN_STATISTICS = ("running_mean", "running_var", "num_batches_tracked")  # batch-norm buffers, by key suffix


def _batch(rows, kind: str, n: int = 2, size: int = 64) -> dict[str, torch.Tensor]:
    samples = HMHSamples(rows, SampleOptions(kind=kind, size=size), seed=1)
    items = [samples[i] for i in range(n)]
    return {k: torch.stack([item[k] for item in items]) for k in items[0]}


class GradientRecorder(torch.optim.SGD):
    """SGD with lr 0 that keeps a copy of the gradients it was asked to apply."""

    def __init__(self, params) -> None:
        super().__init__(params, lr=0.0)
        self.seen: list[torch.Tensor | None] = []

    def step(self, closure=None):
        self.seen = [None if p.grad is None else p.grad.clone() for g in self.param_groups for p in g["params"]]
        return super().step(closure)


def _models():
    torch.manual_seed(0)
    return (IndexNetMatting(width_mult=0.25, decoder_kernel_size=3),
            AttentionUNetHarmonizer(base_channels=4, num_downs=6, dropout=0.0), SelfAttentionCritic(widths=(8, 16)))


def _joint_gradients(batch, settings: JointSettings) -> dict[str, list[torch.Tensor | None]]:
    """G_m, G_h and D gradients of one joint step from the same initial models."""
    accelerator = Accelerator(cpu=True)
    matting, harmonizer, critic = _models()
    optimizers = {"matting": GradientRecorder(matting.parameters()),
                  "harmonizer": GradientRecorder(harmonizer.parameters()),
                  "critic": GradientRecorder(critic.parameters())}
    joint_step(accelerator, matting, harmonizer, critic, optimizers, batch, settings)
    return {k: v.seen for k, v in optimizers.items()}


def _differs(a: list, b: list) -> bool:
    return any((x - y).abs().max() > 1e-9 for x, y in zip(a, b, strict=True) if x is not None)


def test_critic_gradient_reaches_matting_in_the_joint_step_only(tiny_hmh: Path) -> None:
    batch = _batch(load_rows(str(tiny_hmh), "train"), "full")
    base = _joint_gradients(batch, JointSettings(lambda_matting=0.0, max_grad_norm=None))
    adversarial = _joint_gradients(batch, JointSettings(lambda_matting=0.02, max_grad_norm=None))
    # lambda1 changes G_m's gradient: the critic's judgement of I_c reaches G_m.
    assert _differs(base["matting"], adversarial["matting"])
    # By default (eq. 5) G_h's loss does not reach G_m; with the option it does.
    other_h = _joint_gradients(batch, JointSettings(lambda_harmonization=1.0, max_grad_norm=None))
    assert not _differs(adversarial["matting"], other_h["matting"])
    through = _joint_gradients(batch, JointSettings(harmonizer_grad_to_matting=True, max_grad_norm=None))
    assert _differs(adversarial["matting"], through["matting"])
    # The critic's update holds l_D's gradient only, whatever the generators' weights.
    assert not _differs(base["critic"], adversarial["critic"])
    # The matting stage never touches the critic.
    accelerator = Accelerator(cpu=True)
    matting, _, critic = _models()
    recorder = GradientRecorder(matting.parameters())
    matting_step(accelerator, matting, recorder, _batch(load_rows(str(tiny_hmh), "train"), "crop"))
    assert all(p.grad is None for p in critic.parameters())
    assert any(g is not None and g.abs().sum() > 0 for g in recorder.seen)


def test_tiny_overfit_halves_both_l1_losses(tiny_hmh: Path) -> None:
    rows = load_rows(str(tiny_hmh), "train")
    accelerator = Accelerator(cpu=True)
    matting, harmonizer, _ = _models()
    crop, full = _batch(rows, "crop", n=4), _batch(rows, "full", n=4)
    matting_opt = torch.optim.Adam(matting.parameters(), lr=3e-3)
    harmonizer_opt = torch.optim.Adam(harmonizer.parameters(), lr=3e-3)
    alpha, harmonization = [], []
    for _ in range(200):
        alpha.append(matting_step(accelerator, matting, matting_opt, crop)["alpha_l1"])
        harmonization.append(harmonization_step(accelerator, harmonizer, harmonizer_opt, full)["harmonization_l1"])
    first_alpha, last_alpha = sum(alpha[:5]) / 5, sum(alpha[-5:]) / 5
    first_h, last_h = sum(harmonization[:5]) / 5, sum(harmonization[-5:]) / 5
    assert last_alpha < first_alpha / 2, (first_alpha, last_alpha)
    assert last_h < first_h / 2, (first_h, last_h)


def test_colourfulness_loss_measures_the_metric_and_pulls_a_grey_output_back_to_colour(tiny_hmh: Path) -> None:
    generator = torch.Generator().manual_seed(0)
    image = torch.rand(2, 3, 32, 32, generator=generator)
    weight = (torch.rand(2, 1, 32, 32, generator=generator) > 0.5).float()
    for index in range(2):
        expected = measured_colourfulness(image[index].permute(1, 2, 0).numpy(), weight[index, 0].numpy()) / 255
        assert colourfulness(image, weight)[index].item() == pytest.approx(expected, rel=1e-4)
    rows = load_rows(str(tiny_hmh), "train")
    batch = _batch(rows, "full", n=2)
    results = {}
    for weight_value in (0.0, 10.0):
        torch.manual_seed(0)
        _, harmonizer, _ = _models()
        optimizer = torch.optim.SGD(harmonizer.parameters(), lr=0.0)
        results[weight_value] = harmonization_step(Accelerator(cpu=True), harmonizer, optimizer, batch, "background",
                                                   "mse", colourfulness_weight=weight_value)
    assert "harmonization_colourfulness" not in results[0.0]
    assert results[10.0]["harmonization_colourfulness"] >= 0
    assert results[10.0]["harmonization_mse"] == pytest.approx(results[0.0]["harmonization_mse"])
    # A duller output than the real image: the term's gradient makes it more colourful.
    grey = image.mean(dim=1, keepdim=True)
    dull = (grey + 0.3 * (image - grey)).requires_grad_(True)
    (colourfulness(dull, weight) - colourfulness(image, weight)).square().sum().backward()
    stepped = dull.detach() - 0.5 * dull.grad
    assert (colourfulness(stepped, weight) > colourfulness(dull.detach(), weight)).all()
    with pytest.raises(ValueError, match="colourfulness_weight"):
        StageConfig(name="harmonization", steps=1, colourfulness_weight=-1)


def test_foreground_normalised_mse_is_the_metrics_fmse_and_weighs_small_regions_as_large(tiny_hmh: Path) -> None:
    generator = torch.Generator().manual_seed(0)
    target = 0.9 * torch.rand(2, 3, 32, 32, generator=generator)  # in [0, 1] after the error too
    weight = torch.zeros(2, 1, 32, 32)
    weight[0, :, :4, :4] = 1  # a small region
    weight[1, :, :, :16] = 1  # half the image
    prediction = target + 0.1 * weight  # the same error per pixel inside each region, none outside
    expected = [harmonization_metrics(prediction[i].permute(1, 2, 0).numpy(), target[i].permute(1, 2, 0).numpy(),
                                      weight[i, 0].numpy())["fMSE"] / 255**2 for i in range(2)]
    assert expected == pytest.approx([0.01, 0.01])
    assert foreground_normalised_mse(prediction, target, weight, min_area=1).item() == pytest.approx(0.01)
    # A plain mean weights the half-image region 32 times as much as the small one.
    plain = [(prediction[i] - target[i]).square().mean().item() for i in range(2)]
    assert plain[1] == pytest.approx(32 * plain[0])
    # Below min_area the region counts as min_area pixels (an empty region gives no division by zero).
    assert foreground_normalised_mse(prediction[:1], target[:1], weight[:1], min_area=32).item() == pytest.approx(0.005)
    assert foreground_normalised_mse(target, target, torch.zeros_like(weight)).item() == 0
    rows = load_rows(str(tiny_hmh), "train")
    batch = _batch(rows, "full", n=2)
    torch.manual_seed(0)
    _, harmonizer, _ = _models()
    logged = harmonization_step(Accelerator(cpu=True), harmonizer, torch.optim.SGD(harmonizer.parameters(), lr=0.0),
                                batch, "foreground", "fn_mse")
    assert set(logged) == {"harmonization_fn_mse"} and logged["harmonization_fn_mse"] > 0
    assert StageConfig(name="harmonization", steps=1, harmonization_loss="fn_mse").harmonization_loss == "fn_mse"


def test_samples_depend_on_position_only_and_ranks_share_nothing(tiny_hmh: Path) -> None:
    rows = load_rows(str(tiny_hmh), "train")
    a = HMHSamples(rows, SampleOptions(size=64), seed=3)
    b = HMHSamples(rows, SampleOptions(size=64), seed=3, cache=False)
    for position in (0, 5, 40):
        assert all(torch.equal(a[position][k], b[position][k]) for k in a[position])
    two = [StreamSampler(2, rank, 2) for rank in (0, 1)]
    first = [list(itertools.islice(s, 6)) for s in two]
    assert set(first[0]).isdisjoint(first[1])
    assert first[0] == [0, 1, 4, 5, 8, 9]
    resumed = list(itertools.islice(StreamSampler(2, 0, 2, start_step=2), 2))
    assert resumed == first[0][4:]
    # Every row is drawn once per epoch.
    assert sorted(a.row_index(p) for p in range(len(rows))) == list(range(len(rows)))
    sample = a[7]
    assert sample["image"].shape == (3, 64, 64) and set(torch.unique(sample["trimap"]).tolist()) <= {0, 0.5, 1}


def test_log_uniform_trimap_radii_draw_narrower_bands_within_the_same_bounds(tiny_hmh: Path) -> None:
    rows = load_rows(str(tiny_hmh), "train")
    unknown = {}
    for log in (False, True):
        samples = HMHSamples(rows, SampleOptions(size=64, trimap_radius=(1, 12), trimap_radius_log=log), seed=4)
        drawn = [samples[p] for p in range(24)]
        unknown[log] = torch.stack([(d["trimap"] == 0.5).float().mean() for d in drawn])
        narrowest = HMHSamples(rows, SampleOptions(size=64, trimap_radius=(1, 1), trimap_radius_log=log), seed=4)
        # No radius below the lower bound: every band at least as wide as the narrowest one.
        assert all((d["trimap"] == 0.5).sum() >= (narrowest[p]["trimap"] == 0.5).sum() for p, d in enumerate(drawn))
    assert unknown[True].mean() < 0.8 * unknown[False].mean()


def test_losses_are_well_posed() -> None:
    real, fake = torch.tensor([1.0, 2.0]), [torch.tensor([0.5]), torch.tensor([1.5]), torch.tensor([0.0])]
    # mean over kinds (0.5 + 1.5 + 0) / 3 = 0.667; minus real mean 1.5; drift 1e-3 * mean(1, 4) = 0.0025.
    assert critic_loss(real, fake) == pytest.approx(2 / 3 - 1.5 + 0.0025)
    # A constant added to every score no longer lowers l_D without bound: the drift term grows.
    shifted = critic_loss(real + 1000, [f + 1000 for f in fake])
    assert shifted > critic_loss(real, fake)
    assert critic_loss(real, fake, "hinge") == pytest.approx(0.0 + (1.5 + 2.5 + 1.0) / 3)
    assert generator_adversarial(real, torch.tensor([0.0, 1.0])) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="hinge"):
        critic_loss(real, fake, "lsgan")


def test_gradient_loss_sees_blurred_edges_in_the_unknown_region_only() -> None:
    alpha = torch.zeros(1, 1, 32, 32)
    alpha[..., 16:] = 1.0
    trimap = torch.full_like(alpha, 0.5)
    trimap[..., :, :8], trimap[..., :, 24:] = 0.0, 1.0
    assert gradient_loss(alpha, alpha, trimap) == 0
    blurred = torch.nn.functional.avg_pool2d(alpha, (1, 5), stride=1, padding=(0, 2), count_include_pad=False)
    assert gradient_loss(blurred, alpha, trimap) > 0.05
    # A change inside the known region alone does not count.
    known_noise = alpha.clone()
    known_noise[..., :, :6] = torch.rand(1, 1, 32, 6)
    assert gradient_loss(known_noise, alpha, trimap) == 0


def test_recompute_batch_norm_measures_the_model_s_own_statistics() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                                torch.nn.Conv2d(4, 2, 1), torch.nn.BatchNorm2d(2)).eval()
    inputs = [(torch.randn(4, 3, 8, 8) * 2 + 1,) for _ in range(3)]
    recompute_batch_norm(model, inputs)
    assert not model.training and model[1].momentum == 0.1 and model[4].momentum == 0.1
    with torch.no_grad():
        features = [model[0](x) for (x,) in inputs]
    # The plain average of the batches' own statistics, not a momentum-weighted trail of older ones.
    torch.testing.assert_close(model[1].running_mean, torch.cat(features).mean((0, 2, 3)))
    torch.testing.assert_close(model[1].running_var, torch.stack([f.var((0, 2, 3)) for f in features]).mean(0))
    assert int(model[1].num_batches_tracked) == 3


def test_held_batch_norm_keeps_its_statistics_while_the_rest_of_the_model_trains() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4), torch.nn.Dropout(0.5)).train()
    model[1].running_mean.fill_(0.3)
    before = copy.deepcopy(model[1].state_dict())
    hold_batch_norm(model)
    x = torch.randn(2, 3, 8, 8) * 3 + 2
    model(x).sum().backward()
    assert model.training and model[2].training and not model[1].training
    assert all(torch.equal(before[k], v) for k, v in model[1].state_dict().items())
    torch.testing.assert_close(model[1](model[0](x)), model[1].eval()(model[0](x)))  # normalised by the old ones
    assert model[1].weight.grad is not None  # its scale still trains


def test_averaged_generators_are_exported_with_their_own_batch_norm_statistics(tiny_hmh: Path,
                                                                                tmp_path: Path) -> None:
    exports = {}
    for batches, frozen in ((0, ()), (2, ()), (2, ("matting",))):
        name = f"run-{batches}{'-frozen' if frozen else ''}"
        config = _tiny_config(tmp_path, tiny_hmh, ema_decay=0.5, bn_calibration_batches=batches, eval_every=100,
                              output_dir=str(tmp_path / name), frozen_batch_norm=list(frozen),
                              stages=[{"name": "matting", "steps": 3}])
        # One thread: two runs compared bit for bit (with two, 1 in 8 pairs differed by up to 6e-5 in G_m's weights).
        done = subprocess.run([sys.executable, str(ROOT / "train/train.py"), "--config", str(config)],
                              capture_output=True, text=True, timeout=300,
                              env={**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"})
        assert done.returncode == 0, done.stderr[-2000:]
        exports[name] = read_checkpoint_tensors(tmp_path / name / "final")
        stage = read_checkpoint_tensors(tmp_path / name / "stages/0-matting-background")
        assert all(torch.equal(stage[k], exports[name][k]) for k in stage)  # the final export is the last stage's
    plain, calibrated, frozen = exports["run-0"], exports["run-2"], exports["run-2-frozen"]
    statistics = [k for k in plain if k.endswith(BN_STATISTICS)]
    # Same averaged weights; G_m's statistics measured anew; the harmonizers (not trained) left as they were.
    assert all(torch.equal(plain[k], calibrated[k]) for k in plain if k not in statistics or "harmonizers" in k)
    changed = [k for k in statistics if not torch.equal(plain[k], calibrated[k])]
    assert changed and all(k.startswith("matting.") for k in changed)
    # Frozen: G_m's statistics are still the ones it started with (a fresh layer's 0 and 1), and its weights trained
    # otherwise than the plain run's, normalised by them.
    matting = [k for k in statistics if k.startswith("matting.")]
    assert all(torch.all(frozen[k] == 0) for k in matting if k.endswith("running_mean"))
    assert all(torch.all(frozen[k] == 1) for k in matting if k.endswith("running_var"))
    assert any(not torch.equal(frozen[k], plain[k]) for k in frozen if k.startswith("matting.") and k not in matting)


def test_matting_stages_with_the_engine_validate_on_held_out_strands_and_portraits(tiny_hmh: Path,
                                                                                   tmp_path: Path) -> None:
    out = tmp_path / "run"
    config = _tiny_config(tmp_path, tiny_hmh, ema_decay=0, eval_every=100, output_dir=str(out), engine_share=0.5,
                          finder_trimaps=0.5, held_out_backgrounds=4, log_every=1,
                          stages=[{"name": "matting", "steps": 2}])
    done = subprocess.run([sys.executable, str(ROOT / "train/train.py"), "--config", str(config)],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = json.loads((out / "final" / "metrics.json").read_text())
    for name in ("held_out_strands", "held_out_portraits", "held_out_portraits_finder"):
        assert 0 < metrics[f"val/{name}_SAD"] < float("inf") and f"val/{name}_Grad" in metrics
    assert "data wait" in done.stderr


def test_checkpoints_average_into_one_pipeline(tiny_hmh: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    config = _tiny_config(tmp_path, tiny_hmh, ema_decay=0, eval_every=100, checkpoint_every=2, output_dir=str(out),
                          stages=[{"name": "matting", "steps": 4}])
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, str(ROOT / "train/train.py"), "--config", str(config)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    folders = [str(out / "checkpoints" / f"step-{step:07d}") for step in (2, 4)]
    done = subprocess.run([sys.executable, str(ROOT / "train/train.py"), "--config", str(config), "--average",
                           *folders, "--export-to", str(tmp_path / "averaged")],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    averaged, final = read_checkpoint_tensors(tmp_path / "averaged"), read_checkpoint_tensors(out / "final")
    # G_m (the first model a run prepares) is the mean of the two checkpoints' weights, with batch-norm
    # statistics of its own; the harmonizers, never trained, are the run's own.
    steps = [load_file(Path(folder) / "model.safetensors") for folder in folders]
    weights = [k for k in steps[0] if not k.endswith(BN_STATISTICS)]
    assert all(torch.allclose(averaged[f"matting.{k}"], (steps[0][k] + steps[1][k]) / 2, atol=1e-7) for k in weights)
    statistics = [k for k in steps[0] if k.endswith("running_mean")]
    assert any(not torch.allclose(averaged[f"matting.{k}"], (steps[0][k] + steps[1][k]) / 2) for k in statistics)
    assert all(torch.equal(averaged[k], final[k]) for k in final if k.startswith("harmonizers."))


def test_laplacian_loss_sees_structure_at_every_scale_of_the_unknown_region() -> None:
    alpha = torch.zeros(1, 1, 64, 64)
    alpha[..., 32:] = 1.0
    trimap = torch.full_like(alpha, 0.5)
    trimap[..., :, :16], trimap[..., :, 48:] = 0.0, 1.0
    assert laplacian_loss(alpha, alpha, trimap) == 0
    # Band-pass levels only: a uniform offset is the alpha loss's to correct.
    assert laplacian_loss(alpha + 0.2, alpha, trimap) < 1e-6

    def blurred(width: int) -> torch.Tensor:
        return torch.nn.functional.avg_pool2d(alpha, (1, width), stride=1, padding=(0, width // 2),
                                              count_include_pad=False)

    assert 0.01 < laplacian_loss(blurred(3), alpha, trimap) < laplacian_loss(blurred(9), alpha, trimap)
    # At the finest level only the unknown region's neighbourhood counts: noise far inside the known region
    # does not, noise inside the unknown region does.
    far, inside = alpha.clone(), alpha.clone()
    far[..., :, :8] = torch.rand(1, 1, 64, 8)
    inside[..., :, 20:28] = torch.rand(1, 1, 64, 8)
    assert laplacian_loss(far, alpha, trimap, levels=1) == 0
    assert laplacian_loss(inside, alpha, trimap, levels=1) > 0.05


def test_matting_step_adds_the_weighted_laplacian_loss(tiny_hmh: Path) -> None:
    batch = _batch(load_rows(str(tiny_hmh), "train"), "crop")
    seen = {}
    for weight in (0.0, 1.0):
        matting = _models()[0]
        recorder = GradientRecorder(matting.parameters())
        losses = matting_step(Accelerator(cpu=True), matting, recorder, batch, laplacian_weight=weight)
        seen[weight] = (losses, recorder.seen)
    assert "laplacian" not in seen[0.0][0] and seen[1.0][0]["laplacian"] > 0
    assert seen[0.0][0]["alpha_l1"] == seen[1.0][0]["alpha_l1"]
    assert _differs(seen[0.0][1], seen[1.0][1])


def test_harmonizer_change_lands_on_the_adjusted_layer_only(tiny_hmh: Path) -> None:
    batch = _batch(load_rows(str(tiny_hmh), "train"), "full")
    change = torch.rand_like(batch["image"])
    alpha = batch["alpha"]
    composite = alpha * batch["layer_fg"] + (1 - alpha) * batch["layer_bg"]
    background = land_change(change, composite, alpha, "background")
    foreground = land_change(change, composite, alpha, "foreground")
    solid = (alpha == 1).expand_as(change)
    clear = (alpha == 0).expand_as(change)
    assert torch.equal(background[solid], batch["layer_fg"][solid])
    assert torch.allclose(background[clear], change[clear], atol=1e-6)
    assert torch.equal(foreground[clear], batch["layer_bg"][clear])
    assert torch.allclose(foreground[solid], change[solid], atol=1e-6)


def test_fresh_validation_composites_over_held_out_photos(tiny_hmh: Path) -> None:
    rows = load_rows(str(tiny_hmh), "train")
    identity = AttentionUNetHarmonizer(base_channels=4, num_downs=6, transform_grid=1)
    photos = [(torch.rand(80, 90, 3) * 255).to(torch.uint8).numpy() for _ in range(2)]
    stored = validate_harmonization(identity, rows, 64)
    fresh = validate_harmonization(identity, rows, 64, backgrounds=photos, fresh_samples=5)
    # The identity scores exactly as the untouched composite; the fresh composites differ from the rows'.
    for metrics in (stored, fresh):
        assert metrics["fMSE"] == pytest.approx(metrics["composite_fMSE"])
    assert fresh["composite_fMSE"] != pytest.approx(stored["composite_fMSE"])


def test_own_scene_samples_keep_the_rows_scene_and_change_it_as_a_whole(tiny_hmh: Path) -> None:
    rows = load_rows(str(tiny_hmh), "train")
    photos = [(torch.rand(80, 90, 3) * 255).to(torch.uint8).numpy() for _ in range(2)]
    plain, doubled = (HMHSamples(rows, SampleOptions(kind="full", size=64, flip=False, fresh_background=1.0,
                                                      own_scene=1.0, scene_gain=(gain, gain)), photos, seed=3)
                      for gain in (1.0, 2.0))
    row = HMHSamples(rows, SampleOptions(kind="full", size=64, flip=False), seed=3)
    for position in range(3):
        sample, brighter, stored = plain[position], doubled[position], row[position]
        # The row's own inpainted background and foreground, not a photo's; the real image is their composite.
        assert torch.allclose(sample["background"], stored["background"], atol=1 / 255)
        assert torch.allclose(sample["foreground"], stored["foreground"], atol=1 / 255)
        alpha = sample["alpha"]
        assert torch.allclose(sample["image"], alpha * sample["foreground"] + (1 - alpha) * sample["background"],
                              atol=2 / 255)
        # A gain of 2 on the scene brightens portrait and background alike.
        expected = (2 * stored["foreground"]).clamp(max=1)
        assert torch.allclose(brighter["foreground"], expected, atol=2 / 255)
        assert torch.allclose(brighter["background"], (2 * stored["background"]).clamp(max=1), atol=2 / 255)


def test_photo_cutouts_cut_one_photo_by_the_alpha_and_leave_the_other_samples_as_they_were(
        tiny_hmh: Path) -> None:
    rows = load_rows(str(tiny_hmh), "train")
    photos = [(torch.rand(80, 90, 3) * 255).to(torch.uint8).numpy() for _ in range(2)]
    common = {"kind": "full", "size": 64, "flip": False, "fresh_background": 1.0, "own_scene": 0.3}
    mixed = HMHSamples(rows, SampleOptions(**common, photo_cutout=0.4), photos, seed=3)
    before = HMHSamples(rows, SampleOptions(**common), photos, seed=3)
    row = HMHSamples(rows, SampleOptions(kind="full", size=64, flip=False), seed=3)
    cutouts = 0
    for position in range(30):
        sample, old = mixed[position], before[position]
        if torch.equal(sample["foreground"], sample["background"]):  # one photo on both sides of the silhouette
            cutouts += 1
            assert torch.allclose(sample["image"], sample["background"], atol=1 / 255)
            assert not torch.allclose(sample["background"], row[position]["background"], atol=0.1)
            # The adjusted layer (the background here) is a transform of that photo; the alpha is the row's.
            assert torch.equal(sample["layer_fg"], sample["image"])
            assert not torch.equal(sample["layer_bg"], sample["image"])
            assert torch.equal(sample["alpha"], row[position]["alpha"])
        else:  # own scenes and portraits over photos: drawn exactly as without cutouts
            assert all(torch.equal(sample[k], old[k]) for k in sample)
    assert 0 < cutouts < 30


def test_untouched_samples_are_their_own_composite_and_the_others_unchanged(tiny_hmh: Path) -> None:
    rows = load_rows(str(tiny_hmh), "train")
    photos = [(torch.rand(80, 90, 3) * 255).to(torch.uint8).numpy() for _ in range(2)]
    common = {"kind": "full", "size": 64, "flip": False, "fresh_background": 1.0, "own_scene": 0.5}
    mixed = HMHSamples(rows, SampleOptions(**common, untouched=0.5), photos, seed=3)
    before = HMHSamples(rows, SampleOptions(**common), photos, seed=3)
    untouched = 0
    for position in range(20):
        sample, old = mixed[position], before[position]
        assert all(torch.equal(sample[k], old[k]) for k in ("image", "alpha", "foreground", "background"))
        if torch.equal(sample["layer_bg"], sample["background"]):  # no transform: the real layers themselves
            untouched += 1
            assert torch.equal(sample["layer_fg"], sample["image"])
        else:
            assert torch.equal(sample["layer_bg"], old["layer_bg"]) and torch.equal(sample["layer_fg"], old["layer_fg"])
    assert 0 < untouched < 20


def test_validation_sources_move_whole_portraits_out_of_training(tiny_hmh: Path) -> None:
    train, validation = load_rows(str(tiny_hmh), "train"), load_rows(str(tiny_hmh), "validation")
    fold = set(sorted(set(train["source_id"]))[:3])
    kept, held = move_sources(train, validation, fold)
    assert not fold & set(kept["source_id"])
    assert set(held["source_id"]) == fold | set(validation["source_id"])
    assert len(kept) + len(held) == len(train) + len(validation)
    first_moved = next(row["id"] for row in train if row["source_id"] in fold)
    assert held[len(validation)]["id"] == first_moved  # appended after the fixed validation rows
    unchanged = move_sources(train, validation, set())
    assert unchanged[0] is train and unchanged[1] is validation
    with pytest.raises(ValueError, match="not in the training split"):
        move_sources(train, validation, {"p_nobody"})


def test_config_checks() -> None:
    config = load_config(ROOT / "train/configs/default-cpu.yaml")
    assert [s.name for s in config.stages] == ["matting", "harmonization", "harmonization", "joint", "joint"]
    assert config.stage_at(0) == (0, 0) and config.stage_at(config.stages[0].steps) == (1, 0)
    stage = StageConfig(name="matting", steps=100, warmup=10)
    assert stage.lr_factor(4) == pytest.approx(0.5) and stage.lr_factor(10) == 1.0
    assert stage.lr_factor(99) < 0.01
    with pytest.raises(ValueError, match="unknown config keys"):
        load_config(ROOT / "train/configs/tiny.yaml", {"learning_rate": 1})
    with pytest.raises(ValueError, match="stage name"):
        StageConfig(name="pretrain", steps=1)
    with pytest.raises(ValueError, match="harmonization_loss"):
        StageConfig(name="harmonization", steps=1, harmonization_loss="l2")
    with pytest.raises(ValueError, match="together at most 1"):
        load_config(ROOT / "train/configs/tiny.yaml", {"own_scene": 0.6, "photo_cutout": 0.5})
    with pytest.raises(ValueError, match="untouched is a share"):
        load_config(ROOT / "train/configs/tiny.yaml", {"untouched": 1.5})
    with pytest.raises(ValueError, match="log-uniform trimap radii start at 1"):
        load_config(ROOT / "train/configs/tiny.yaml", {"trimap_radius": [0, 10], "trimap_radius_log": True})
    with pytest.raises(ValueError, match="frozen_batch_norm names generators"):
        load_config(ROOT / "train/configs/tiny.yaml", {"frozen_batch_norm": ["critic/background"]})
    with pytest.raises(ValueError, match="select_by must name a validation metric"):
        load_config(ROOT / "train/configs/tiny.yaml", {"select_by": "matting_SAD"})
    for path in sorted((ROOT / "train/configs").rglob("*.yaml")):  # every committed recipe still loads
        assert load_config(path).total_steps > 0, path
    # Shipped recipes start from scratch or from weights pinned by digest (one start was never kept).
    for path in sorted((ROOT / "train/configs").glob("*.yaml")):
        config = load_config(path)
        assert not config.init_from or config.init_digests or path.name == "default-cpu-refine.yaml", path
    paper = load_config(ROOT / "train/configs/joint.yaml")
    joint = [s for s in paper.stages if s.name == "joint"][0]
    assert (joint.joint.lambda_matting, joint.joint.lambda_harmonization) == (0.02, 0.01)
    assert (joint.lr_encoder, joint.lr_decoder, joint.lr_critic) == (1e-5, 1e-7, 2e-4)


# -- train/train.py end to end ------------------------------------------------------------------------------


def test_select_by_exports_the_generators_of_the_lowest_evaluation(tiny_hmh: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    config = _tiny_config(tmp_path, tiny_hmh, ema_decay=0, eval_every=1, checkpoint_every=1, keep_checkpoints=4,
                          output_dir=str(out), select_by="val/matting_SAD", stages=[{"name": "matting", "steps": 4}])
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, str(ROOT / "train/train.py"), "--config", str(config)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    best = json.loads((out / "best" / "metrics.json").read_text())
    final = json.loads((out / "final" / "metrics.json").read_text())
    assert best["step"] in (1, 2, 3, 4) and best["val/matting_SAD"] <= final["val/matting_SAD"]
    # The best export holds the live G_m of its step's checkpoint (no EMA).
    saved = load_file(out / "checkpoints" / f"step-{best['step']:07d}" / "model.safetensors")
    exported = read_checkpoint_tensors(out / "best")
    assert all(torch.equal(exported[f"matting.{k}"], v) for k, v in saved.items())
    # A metric the run does not log is a clear error at the first evaluation.
    wrong = _tiny_config(tmp_path, tiny_hmh, ema_decay=0, eval_every=1, output_dir=str(tmp_path / "wrong"),
                         select_by="val/matting_SADD", stages=[{"name": "matting", "steps": 1}])
    done = subprocess.run([sys.executable, str(ROOT / "train/train.py"), "--config", str(wrong)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode != 0 and "select_by 'val/matting_SADD' is not among" in done.stderr


def _tiny_config(tmp_path: Path, dataset: Path, **changes) -> Path:
    config = yaml.safe_load((ROOT / "train/configs/tiny.yaml").read_text())
    config["datasets"] = {"background": str(dataset), "foreground": str(dataset)}
    config.update(changes)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _cross_validate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "train/cross_validate.py"), *args], capture_output=True,
                          text=True, timeout=600, env={**os.environ, "HF_HUB_OFFLINE": "1"})


def _launch(config: Path, out: Path, processes: int, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ACCELERATE_USE_CPU": "true", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    launcher = [sys.executable, "-m", "accelerate.commands.launch", "--num_machines", "1", "--mixed_precision",
                "no", "--dynamo_backend", "no", "--num_processes", str(processes)]
    if processes > 1:
        launcher.insert(3, "--multi_gpu")
    command = [*launcher, str(ROOT / "train/train.py"), "--config", str(config), "--output-dir", str(out),
               "--num-processes", str(processes), *extra]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


def test_cross_validation_trains_each_arm_on_each_fold(tiny_hmh: Path, tmp_path: Path) -> None:
    config = _tiny_config(tmp_path, tiny_hmh, fresh_background=1.0, eval_every=2,
                          stages=[{"name": "harmonization", "direction": "background", "steps": 2,
                                   "harmonization_loss": "mse"}])
    out = tmp_path / "cv"
    command = [sys.executable, str(ROOT / "train/cross_validate.py"), "--config", str(config), "--folds", "2",
               "--parallel", "2",
               "--arm", "photos", "own_scene=0.0", "--arm", "scenes", "own_scene=1.0", "--out", str(out)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((out / "results.json").read_text())
    # The folds deal out the 11 training portraits; each run validated on its fold (plus the fixed portrait).
    assert sorted(sum(report["folds"], [])) == sorted(set(load_rows(str(tiny_hmh), "train")["source_id"]))
    assert report["arms"] == {"photos": ["own_scene=0.0"], "scenes": ["own_scene=1.0"]}
    # The untouched composites' figure depends on the validation rows only: equal across the arms of a
    # fold, different between folds (each holds out other portraits).
    plain = {arm: [run["val/background_composite_fMSE"] for run in runs] for arm, runs in report["results"].items()}
    assert plain["photos"] == pytest.approx(plain["scenes"])
    assert plain["photos"][0] != pytest.approx(plain["photos"][1])
    # Every sample of one arm is over a photo, of the other in its own scene: the harmonizers score differently.
    ours = {arm: runs[0]["val/background_fMSE"] for arm, runs in report["results"].items()}
    assert ours["photos"] != pytest.approx(ours["scenes"])
    assert "| scenes | val/background_fMSE |" in (out / "table.md").read_text()
    # The averaged weights (ema_decay 0.999, 2 steps) are still nearly the identity they started as: their
    # harmonizer scores as the untouched composite, the live one does not.
    run = report["results"]["scenes"][0]
    live_change = abs(run["val/background_fMSE"] - run["val/background_composite_fMSE"])
    averaged_change = abs(run["val_ema/background_fMSE"] - run["val_ema/background_composite_fMSE"])
    assert live_change > 0 and averaged_change < 0.1 * live_change
    # Each run folder records its resolved recipe; a finished run is reused for the same arm only.
    recorded = load_config(out / "scenes-fold0/config.yaml")
    assert recorded.own_scene == 1.0 and list(recorded.validation_sources) == report["folds"][0]
    logs = sorted(out.glob("*.log"))
    stamps = [p.stat().st_mtime_ns for p in logs]
    again = _cross_validate("--config", str(config), "--folds", "2", "--arm", "scenes", "own_scene=1.0", "--out",
                            str(out))
    assert again.returncode == 0, again.stderr[-3000:]
    assert [p.stat().st_mtime_ns for p in logs] == stamps
    other = _cross_validate("--config", str(config), "--folds", "2", "--arm", "scenes", "own_scene=0.5", "--out",
                            str(out))
    assert other.returncode != 0
    assert re.search("finished with another recipe .* own_scene", other.stderr)


def test_cross_validation_can_train_on_one_fold_and_keeps_other_splits_apart(tiny_hmh: Path, tmp_path: Path) -> None:
    config = _tiny_config(tmp_path, tiny_hmh)
    portraits = set(load_rows(str(tiny_hmh), "train")["source_id"])
    dealt = folds(sorted(portraits), 3)
    held_out = folds(sorted(portraits), 3, train_on_fold=True)
    # Each learning-curve run holds out exactly the portraits the usual run of that fold trains on.
    for fold, rest in zip(dealt, held_out, strict=True):
        assert set(rest) == portraits - set(fold) and len(rest) > len(fold)
    # An output folder of usual runs is not mistaken for learning-curve runs (their fold-k runs differ), even
    # when the usual call stopped before any run finished (here: a setting train.py refuses).
    out = tmp_path / "cv"
    refused = _cross_validate("--config", str(config), "--arm", "a", "bogus=1", "--folds", "3", "--out", str(out))
    assert refused.returncode != 0 and "train.py exited" in refused.stderr
    assert json.loads((out / "results.json").read_text())["folds"] == dealt
    other = _cross_validate("--config", str(config), "--arm", "a", "bogus=1", "--folds", "3", "--train-on-fold",
                            "--out", str(out))
    assert other.returncode != 0 and "held out other portraits" in other.stderr


@pytest.mark.slow
def test_two_processes_stay_in_sync_and_a_killed_run_resumes_exactly(tiny_hmh: Path, tmp_path: Path) -> None:
    config = _tiny_config(tmp_path, tiny_hmh)
    whole = _launch(config, tmp_path / "whole", 2)
    assert whole.returncode == 0, whole.stderr[-3000:]
    replicas = json.loads((tmp_path / "whole/replicas.json").read_text())
    assert replicas["processes"] == 2 and replicas["checksums"][0] == replicas["checksums"][1]
    killed = _launch(config, tmp_path / "split", 2, "--stop-after", "5")
    assert killed.returncode != 0
    assert not (tmp_path / "split/final").exists()
    resumed = _launch(config, tmp_path / "split", 2, "--resume", "latest")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    a, b = read_checkpoint_tensors(tmp_path / "whole/final"), read_checkpoint_tensors(tmp_path / "split/final")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    # The export loads as a pipeline and its card holds the validation metrics.
    from hamagan import HaMaGANPipeline

    pipe = HaMaGANPipeline.from_pretrained(str(tmp_path / "whole/final"))
    assert pipe.config.matting.width_mult == 0.25
    assert "val/matting_SAD" in (tmp_path / "whole/final/README.md").read_text()
    assert list((tmp_path / "whole/hamagan").rglob("events.out.tfevents*"))
    # Every stage leaves its generators; any checkpoint exports the same EMA weights as the run's end.
    assert sorted(p.name for p in (tmp_path / "whole/stages").iterdir()) == [
        "0-matting-background", "1-harmonization-background", "2-joint-background"]
    export = subprocess.run([sys.executable, str(ROOT / "train/train.py"), "--config", str(config), "--export-from",
                             str(tmp_path / "whole/checkpoints/step-0000008"), "--export-to", str(tmp_path / "x")],
                            capture_output=True, text=True, timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert export.returncode == 0, export.stderr[-2000:]
    c = read_checkpoint_tensors(tmp_path / "x")
    # The batch-norm statistics are measured anew for the averaged weights: equal up to float rounding (the
    # run and the export use different thread counts, so oneDNN sums in another order: up to 3e-6 apart,
    # measured); everything else bit for bit.
    statistics = [k for k in a if k.endswith(("running_mean", "running_var"))]
    assert all(torch.equal(a[k], c[k]) for k in a if k not in statistics)
    assert all(torch.allclose(a[k], c[k], rtol=1e-4, atol=1e-5) for k in statistics)


@pytest.mark.slow
def test_sigterm_saves_a_checkpoint_and_exports_the_generators(tiny_hmh: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    config = _tiny_config(tmp_path, tiny_hmh, num_workers=1, ema_decay=0, output_dir=str(out),
                          stages=[{"name": "matting", "steps": 100000, "gradient_weight": 1.0}])
    process = subprocess.Popen([sys.executable, str(ROOT / "train/train.py"), "--config", str(config)],
                               stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 300
    while not list(out.glob("checkpoints/step-*/progress.json")) and time.monotonic() < deadline:
        time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 143, stderr[-3000:]
    step = json.loads((out / "interrupted/progress.json").read_text())["step"]
    assert 2 <= step < 100000 and "stopped by SIGTERM" in stderr
    saved = load_file(out / f"checkpoints/step-{step:07d}/model.safetensors")  # the first model is G_m
    exported = read_checkpoint_tensors(out / "interrupted")
    assert all(torch.equal(exported[f"matting.{k}"], v) for k, v in saved.items())
    assert not (out / "final").exists()
    # The run's recipe is recorded as it ran; resuming with another one is refused before any training.
    assert load_config(out / "config.yaml") == load_config(config)
    changed = subprocess.run([sys.executable, str(ROOT / "train/train.py"), "--config", str(config), "--resume",
                              "latest", "--set", "seed=9"], capture_output=True, text=True, timeout=300,
                             env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert changed.returncode == 2 and "differs from the run's" in changed.stderr and " in seed;" in changed.stderr
    assert json.loads((out / "interrupted/progress.json").read_text())["step"] == step
    # What a transfer with a per-file size cap takes away: the stage's generator, and G_m from a checkpoint
    # (the last: older ones are pruned to keep_checkpoints), each under the pipeline's key names.
    extract = subprocess.run([sys.executable, str(ROOT / "train/extract_generators.py"), str(config),
                              str(tmp_path / "x"), str(step)], capture_output=True, text=True, timeout=300)
    assert extract.returncode == 0, extract.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == [
        f"interrupted-step-{step}-matting.safetensors", f"matting-step-{step}.safetensors"]
    generator = load_file(tmp_path / "x" / f"interrupted-step-{step}-matting.safetensors")
    assert generator.keys() == {k for k in exported if k.startswith("matting.")}
    assert load_file(tmp_path / "x" / f"matting-step-{step}.safetensors").keys() == generator.keys()


@pytest.mark.slow
def test_a_launch_with_the_wrong_number_of_processes_refuses_to_start(tiny_hmh: Path, tmp_path: Path) -> None:
    config = _tiny_config(tmp_path, tiny_hmh, num_processes=2)
    result = subprocess.run([sys.executable, str(ROOT / "train/train.py"), "--config", str(config), "--output-dir",
                             str(tmp_path / "run")], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 2
    assert "expected 2 processes but the launcher started 1" in result.stderr
    assert not (tmp_path / "run/checkpoints").exists()


def test_set_null_clears_a_config_value_and_flags_override_it(tmp_path: Path) -> None:
    config = yaml.safe_load((ROOT / "train/configs/tiny.yaml").read_text())
    config.update(init_from="runs/somewhere", seed=7)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    kept = resolve_config(path)
    assert kept.init_from == "runs/somewhere" and kept.seed == 7
    cleared = resolve_config(path, ["init_from=null"])
    assert cleared.init_from is None and cleared.seed == 7
    flagged = resolve_config(path, ["init_from=null"], {"init_from": "runs/other", "seed": 3, "output_dir": None})
    assert flagged.init_from == "runs/other" and flagged.seed == 3


def test_init_can_take_the_harmonizers_from_a_second_checkpoint(tmp_path: Path, small_config) -> None:
    from hamagan import HaMaGANPipeline

    sources = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        HaMaGANPipeline(small_config).save_pretrained(tmp_path / str(seed))
        sources.append(HaMaGANPipeline.from_pretrained(str(tmp_path / str(seed))))
    target = HaMaGANPipeline(small_config)
    initialise_from(target, str(tmp_path / "1"), False, str(tmp_path / "2"))
    for module, source in ((target.matting, sources[0].matting), (target.harmonizers, sources[1].harmonizers)):
        theirs = source.state_dict()
        assert all(torch.equal(v, theirs[k]) for k, v in module.state_dict().items())
    # A harmonizer with another head keeps the trained body; only the head starts fresh.
    head = dataclasses.replace(small_config.harmonizer, transform_grid=1, masked_pooling=True)
    masked = AttentionUNetHarmonizer(**dataclasses.asdict(head))
    fresh = copy_matching(masked, sources[1].harmonizers["background"])
    assert fresh == ["head.0.weight", "head.0.bias"]
    theirs = sources[1].harmonizers["background"].state_dict()
    assert all(torch.equal(v, theirs[k]) for k, v in masked.state_dict().items() if k not in fresh)
    # A recipe that pins its start refuses other weights, and takes the pinned ones.
    digests = {name: tensor_digest(t) for name, t in split_networks(sources[0].state_dict(), ["background",
                                                                                                "foreground"]).items()}
    initialise_from(HaMaGANPipeline(small_config), str(tmp_path / "1"), False, pinned=digests)
    with pytest.raises(ValueError, match="harmonizer_background holds other weights"):
        initialise_from(HaMaGANPipeline(small_config), str(tmp_path / "2"), False, pinned={
            "harmonizer_background": digests["harmonizer_background"]})
    with pytest.raises(ValueError, match="needs init_from"):
        load_config(ROOT / "train/configs/tiny.yaml", {"init_harmonizers_from": str(tmp_path / "2")})


def test_stage_optimizers_follow_the_config() -> None:
    stage = StageConfig(name="joint", steps=1, joint={"update_matting": False})
    assert stage.joint.update_matting is False
    assert copy.deepcopy(stage).lr_factor(0) == 1.0
