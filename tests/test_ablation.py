"""The joint-against-separate ablation: its arms and recipes, the difference over seeds, the critic's health,
and train/ablation.py end to end on tiny models."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image
from safetensors.torch import load_file
from torch.utils.tensorboard import SummaryWriter

from hamagan.pipeline import HaMaGANPipeline
from hamagan.plots import line_chart, nice_ticks
from hamagan.training.ablation import (
    PAPER,
    SEPARATE,
    Arm,
    arm_config,
    critic_trace,
    degenerate,
    difference,
    table_arms,
    verdict,
)
from hamagan.training.config import load_config

ROOT = Path(__file__).resolve().parents[1]


def _base(tmp_path: Path, dataset: Path, **changes) -> Path:
    config = yaml.safe_load((ROOT / "train/configs/tiny.yaml").read_text())
    start = tmp_path / "start"
    HaMaGANPipeline(load_config(ROOT / "train/configs/tiny.yaml").model).save_pretrained(start)
    config.update(datasets={"background": str(dataset)}, backgrounds=None, held_out_backgrounds=0,
                  scene_backgrounds=False, init_from=str(start), ema_decay=0, eval_every=100, image_every=100,
                  checkpoint_every=100, stages=[{"name": "joint", "direction": "background", "steps": 2,
                                                 "lr_encoder": 1e-5, "lr_decoder": 1e-7,
                                                 "joint": {"critic_form": "hinge"}}], **changes)
    path = tmp_path / "base.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_arms_set_only_their_lambdas_and_seed(tiny_hmh: Path, tmp_path: Path) -> None:
    assert table_arms(1) == [SEPARATE, PAPER]
    assert [arm.lambda_matting for arm in table_arms(2)] == [0, 0.01, 0.02, 0.033, 0.1]
    assert SEPARATE.separate and not Arm(0.0, 0.01).separate and SEPARATE.label == "separate"
    base = _base(tmp_path, tiny_hmh)
    separate = arm_config(base, SEPARATE, 3, tmp_path / "a")
    joint = arm_config(base, PAPER, 3, tmp_path / "b", {"critic_form": "wgan"})
    assert (separate.seed, separate.output_dir) == (3, str(tmp_path / "a"))
    assert (separate.stages[0].joint.lambda_matting, separate.stages[0].joint.lambda_harmonization) == (0, 0)
    assert (joint.stages[0].joint.lambda_matting, joint.stages[0].joint.lambda_harmonization) == (0.02, 0.01)
    assert (separate.stages[0].joint.critic_form, joint.stages[0].joint.critic_form) == ("hinge", "wgan")
    two = yaml.safe_load(base.read_text())
    two["stages"].append({"name": "matting", "steps": 1})
    base.write_text(yaml.safe_dump(two))
    with pytest.raises(ValueError, match="exactly one stage"):
        arm_config(base, SEPARATE, 0, tmp_path / "c")


def test_difference_over_seeds_and_its_bar() -> None:
    joint, separate = np.array([1.0, 1.2, 1.1]), np.array([2.0, 2.2, 2.1])
    d = difference(joint, separate)
    assert d.mean == pytest.approx(-1.0) and d.paired == pytest.approx(-1.0)
    assert d.standard_error == pytest.approx(np.sqrt(2 * 0.01 / 3))
    assert d.paired_error == pytest.approx(0.0)  # the same shift in every seed
    shifted = difference(np.array([1.0, 2.0, 3.0]), np.array([1.1, 2.0, 3.2]))
    assert shifted.paired == pytest.approx(-0.1) and shifted.paired_error == pytest.approx(0.1 / np.sqrt(3))
    assert d.clear and d.reading() == "joint better"
    assert difference(separate, joint).reading() == "joint worse"
    assert difference(np.array([1.0, 2.0]), np.array([1.2, 1.9])).reading() == "within noise"
    with pytest.raises(ValueError, match="two seeds"):
        difference(np.array([1.0]), separate)


def test_the_reading_follows_the_issues_rule_on_held_out_sets_only() -> None:
    noise = {(n, m): "within noise" for n in ("test_portraits", "held_out_strands") for m in ("SAD", "Grad")}
    assert "cannot be told apart" in verdict(noise)
    on_test = {**noise, ("test_portraits", "SAD"): "joint better", ("test_portraits", "Grad"): "joint better"}
    assert "cannot be told apart" in verdict(on_test)  # the test portraits do not count
    assert "cannot be told apart" in verdict({**noise, ("held_out_strands", "SAD"): "joint better"})  # SAD alone
    both = {**noise, ("held_out_strands", "SAD"): "joint better", ("held_out_strands", "Grad"): "joint better"}
    assert "holds here** on held_out_strands" in verdict(both)
    assert "fails here" in verdict({**noise, ("test_portraits", "Grad"): "joint worse"})


def test_critic_trace_reads_the_logged_scores_and_flags_a_drifting_critic(tmp_path: Path) -> None:
    for name, drift in (("healthy", 0.0), ("drifting", -0.1)):
        writer = SummaryWriter(tmp_path / name / "hamagan")
        for step in range(5, 101, 5):
            writer.add_scalar("joint/critic_real", 0.5 + drift * step, step)
            writer.add_scalar("joint/critic_fake", -0.5, step)
        writer.close()
    healthy, drifting = critic_trace(tmp_path / "healthy"), critic_trace(tmp_path / "drifting")
    assert list(healthy["step"]) == list(range(5, 101, 5))
    assert healthy["critic_real"] == pytest.approx(np.full(20, 0.5))
    assert drifting["critic_real"][-1] == pytest.approx(-9.5)
    assert not degenerate(healthy) and degenerate(drifting)


def test_line_chart_draws_each_series_and_its_bounds() -> None:
    chart = np.asarray(line_chart({"a": ([0, 1, 2], [0.0, 1.0, 2.0]), "b": ([0, 2], [3.0, 3.0])}, "t",
                                  guides=(-5.0, 5.0)))
    colours = {tuple(c) for c in chart.reshape(-1, 3)}
    assert (66, 133, 244) in colours and (219, 68, 55) in colours
    # The y axis spans the guides: the flat line at 3 sits above the middle, not at the top.
    rows = np.nonzero((chart == (219, 68, 55)).all(axis=2).any(axis=1))[0]
    assert 40 < rows.min() < chart.shape[0] / 2
    assert nice_ticks(-0.433, 1.27) == [-0.5, 0.0, 0.5, 1.0, 1.5]  # round values spanning the data
    assert nice_ticks(-5, 5) == [-5, -2.5, 0, 2.5, 5] and nice_ticks(3, 3) == [2.5, 2.75, 3, 3.25, 3.5]


def test_ablation_trains_evaluates_and_reports_both_arms_over_seeds(tiny_hmh: Path, tmp_path: Path) -> None:
    base, out, report = _base(tmp_path, tiny_hmh), tmp_path / "runs", tmp_path / "report"

    def ablation(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(ROOT / "train/ablation.py"), "--base", str(base), "--out", str(out),
                               "--report", str(report), "--table", "1", "--seeds", "0", "1", "--count", "2", *extra],
                              capture_output=True, text=True, timeout=900, env={**os.environ, "HF_HUB_OFFLINE": "1"})

    done = ablation()
    assert done.returncode == 0, done.stderr[-3000:]
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert folders == ["joint-l1-0.02-l2-0.01-seed-0", "joint-l1-0.02-l2-0.01-seed-1", "separate-seed-0",
                       "separate-seed-1"]
    text = report.with_suffix(".md").read_text()
    assert "| separate (lambda1 = lambda2 = 0) | 2 |" in text
    assert "| joint, lambda1 = 0.02, lambda2 = 0.01 | 2 |" in text
    for set_name in ("test_portraits", "held_out_strands", "held_out_portraits"):
        for metric in ("SAD", "MSE", "Grad", "Conn"):
            assert f"| {set_name} | {metric} | " in text
    assert text.count("| no |") + text.count("| yes |") == 4  # the critic's health of each run
    assert "**Reading: " in text
    with report.with_suffix(".csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 5 * (3 + 2 + 2)  # the start and four runs, on each image of each set
    assert {r["seed"] for r in rows if r["arm"] == "separate"} == {"0", "1"}
    # Within a seed, the arms differ only by the critic's terms: G_m moved differently. Two steps move the
    # metrics by under 1e-6 (the CSV's precision), so the exported weights are compared.
    separate, joint = (load_file(out / f"{arm}-seed-0/final/matting/model.safetensors")
                       for arm in ("separate", "joint-l1-0.02-l2-0.01"))
    assert separate.keys() == joint.keys()
    assert any(not torch.equal(separate[name], joint[name]) for name in separate)
    assert Image.open(report.with_name("report-critic.png")).size[1] > 400
    # G_h's table and the labelled grid: composite, start, the two arms, real.
    assert "| joint, lambda1 = 0.02, lambda2 = 0.01 | 2 |" in text.split("## The harmonizer")[1]
    assert Image.open(report.with_name("report-harmonizer.jpg")).size[0] == 5 * 170
    # Done runs are reused, evaluations read back; a changed recipe in the same folder is refused.
    stamps = [p.stat().st_mtime_ns for p in sorted(out.glob("*/evaluation.json"))]
    again = ablation("--no-train")
    assert again.returncode == 0, again.stderr[-3000:]
    assert [p.stat().st_mtime_ns for p in sorted(out.glob("*/evaluation.json"))] == stamps
    changed = ablation("--joint", "critic_form=wgan")
    assert changed.returncode != 0 and "trained with another recipe" in changed.stderr
    # A screen of critic variants reuses the tables' separate and joint runs of its seed and trains the rest.
    variants = tmp_path / "variants.yaml"
    variants.write_text(yaml.safe_dump({"paper": {}, "edge": {"recomposite": "new_background", "critic_patch": 32,
                                                               "r1_weight": 1.0, "adversarial_warmup": 1}}))

    def screen(path: Path) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(ROOT / "train/screen_joint.py"), "--variants", str(path),
                               "--base", str(base), "--tables", str(out), "--report", str(tmp_path / "screen"),
                               "--count", "2"], capture_output=True, text=True, timeout=900,
                              env={**os.environ, "HF_HUB_OFFLINE": "1"})

    screened = screen(variants)
    assert screened.returncode == 0, screened.stderr[-3000:]
    assert [p.stat().st_mtime_ns for p in sorted(out.glob("*/evaluation.json"))] == stamps
    assert (out / "variants/edge/joint-l1-0.02-l2-0.01-seed-0/final/config.json").exists()
    text = (tmp_path / "screen.md").read_text()
    assert "| edge | adversarial_warmup = 1, critic_patch = 32, r1_weight = 1.0, recomposite = new_background |" in text
    assert "| paper | the tables' joint arm |" in text and "not known" not in text  # two seeds: a bar
    variants.write_text(yaml.safe_dump({"new-photos": {"fresh_background": 1.0}}))
    refused = screen(variants)
    assert refused.returncode != 0 and "reach the separate arm too" in refused.stderr
