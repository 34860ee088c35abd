"""The hamagan command line on the bundled samples: files written, stdout clean, exit codes, resumable batch."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hamagan.cli import main
from hamagan.samples import BARE_PORTRAIT, background_paths, portrait_paths


@pytest.fixture
def checkpoint(saved_small_pipe: Path) -> Path:
    return saved_small_pipe


@pytest.fixture(scope="module")
def small_portrait(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundled portrait at 240x160 (the CLI tests run many of them)."""
    path = tmp_path_factory.mktemp("portrait") / "portrait.jpg"
    Image.open(portrait_paths("p_818e689d")[0]).resize((240, 160)).save(path)
    return path


def test_compose_writes_the_harmonized_composite_the_matte_and_the_cutout(
        checkpoint: Path, small_portrait: Path, tmp_path: Path) -> None:
    common = [str(small_portrait), "--checkpoint", str(checkpoint)]
    assert main(["compose", *common, "--background", str(background_paths()[0]), "-o", str(tmp_path / "h.png")]) == 0
    assert main(["compose", *common, "--background", str(background_paths()[0]), "--strength", "0",
                 "-o", str(tmp_path / "plain.png")]) == 0
    assert main(["compose", *common, "--alpha-only", "-o", str(tmp_path / "a.png")]) == 0
    assert main(["compose", *common, "--rgba", "-o", str(tmp_path / "c.png")]) == 0
    harmonized, alpha, cut = (Image.open(tmp_path / n) for n in ("h.png", "a.png", "c.png"))
    assert (harmonized.mode, harmonized.size) == ("RGB", (240, 160))
    assert (alpha.mode, alpha.size) == ("L", (240, 160))
    assert (cut.mode, cut.size) == ("RGBA", (240, 160))
    matte = np.asarray(alpha)
    assert matte.min() == 0 and matte.max() == 255  # the automatic trimap's known regions
    np.testing.assert_array_equal(np.asarray(cut)[..., 3], matte)
    # --flip / --no-flip override the model's matting_flip (off in this small model, so --no-flip is its default).
    for flip in ("--flip", "--no-flip"):
        assert main(["compose", *common, "--alpha-only", flip, "-o", str(tmp_path / f"a{flip}.png")]) == 0
    flipped, unflipped = (np.asarray(Image.open(tmp_path / f"a{flip}.png")) for flip in ("--flip", "--no-flip"))
    np.testing.assert_array_equal(unflipped, matte)
    assert np.abs(flipped.astype(int) - matte).max() > 0
    # At strength 0 the harmonizer's change is left out (this small random model's change is not nothing).
    plain = np.asarray(Image.open(tmp_path / "plain.png"))
    assert np.abs(plain.astype(int) - np.asarray(harmonized, int)).max() > 0


def test_compose_to_stdout_is_a_clean_png_and_messages_go_to_stderr(checkpoint: Path, small_portrait: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "hamagan.cli", "compose", str(small_portrait), "--checkpoint",
                             str(checkpoint), "--random-background", "--seed", "3", "-o", "-"],
                            capture_output=True, timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    image = Image.open(io.BytesIO(result.stdout))
    assert image.format == "PNG" and image.size == (240, 160)
    assert b"background:" in result.stderr


def test_usage_errors_exit_2_and_bad_inputs_exit_1(checkpoint: Path, small_portrait: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    assert main(["compose", str(small_portrait), "--checkpoint", str(checkpoint)]) == 2
    assert "--background" in capsys.readouterr().err
    (tmp_path / "text.jpg").write_text("not an image")
    assert main(["compose", str(tmp_path / "text.jpg"), "--checkpoint", str(checkpoint), "--rgba"]) == 1
    assert "text.jpg" in capsys.readouterr().err
    assert main(["compose", str(small_portrait), "--checkpoint", str(tmp_path / "nowhere"), "--rgba"]) == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["compose", str(small_portrait), "--checkpoint", str(checkpoint), "--random-background",
              "--strength", "2"])
    assert exit_info.value.code == 2 and "between 0 and 1" in capsys.readouterr().err
    for command, phrase in (("compose", "stdout"), ("batch", "resumes"), ("eval", "tables"), ("space", "MOS"),
                            ("push", "checkpoint"), ("dataset", "build")):
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert phrase in capsys.readouterr().out


def test_batch_finishes_the_rest_names_the_bad_files_and_resumes(checkpoint: Path, small_portrait: Path,
                                                                 tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    inputs = tmp_path / "in"
    (inputs / "sub").mkdir(parents=True)
    Image.open(small_portrait).save(inputs / "good.jpg")
    wide = np.asarray(Image.open(BARE_PORTRAIT).convert("L").resize((120, 120)), np.uint16) * 257
    Image.fromarray(wide).save(inputs / "sub" / "deep.png")
    assert Image.open(inputs / "sub" / "deep.png").mode.startswith("I")
    (inputs / "corrupt.png").write_bytes((inputs / "good.jpg").read_bytes()[:300])
    (inputs / "notes.jpg").write_text("a text file with an image name")
    args = ["batch", str(inputs), str(tmp_path / "out"), "--checkpoint", str(checkpoint), "--rgba"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "failed corrupt.png" in err and "failed notes.jpg" in err and "done 2" in err
    written = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.png"))
    assert written == ["good.png", "sub/deep.png"]
    assert Image.open(tmp_path / "out/sub/deep.png").mode == "RGBA"
    assert main(args) == 1
    assert "done 0, already there 2, failed 2" in capsys.readouterr().err


def test_eval_writes_tables_and_figures(checkpoint: Path, tmp_path: Path, tiny_hmh: Path) -> None:
    out = tmp_path / "eval"
    assert main(["eval", "--checkpoint", f"ours={checkpoint}", "--checkpoint", f"again={checkpoint}", "--dataset",
                 str(tiny_hmh), "--baselines", "trimap only", "composite", "reinhard", "--long-side", "128",
                 "--out", str(out)]) == 0
    table = (out / "table1.md").read_text()
    assert "| ours |" in table and "| trimap only |" in table and "| reinhard |" in table and "| again |" not in table
    assert "| again |" in (out / "table2.md").read_text()
    for name in ("per_image_errors.png", "qualitative.png", "sweep.png"):
        assert Image.open(out / name).size[0] > 400


def test_push_uploads_exactly_the_checkpoint_files(checkpoint: Path, fake_hub: dict) -> None:
    sent = fake_hub
    assert main(["push", str(checkpoint), "someone/hamagan"]) == 0
    assert sent == {"folder": str(checkpoint), "repo": "someone/hamagan", "type": "model",
                    "files": ["config.json", *[f"{network}/{name}" for network in (
                        "matting", "harmonizer_background", "harmonizer_foreground")
                        for name in ("config.json", "model.safetensors")], "README.md"]}
