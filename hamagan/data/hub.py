"""The HMH dataset's Hub folder: the dataset card, the licences, and publishing with one upload."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import asdict
from pathlib import Path

from huggingface_hub import HfApi

from hamagan.data.builder import BuildOptions, BuildReport, load_built

LICENCE_FILES = ("LICENSE*", "LICENCE*", "SOURCES*.md", "COPYING*")


def copy_licences(source_root: Path, out: Path) -> list[str]:
    """Copy the source's licence and provenance files into ``out/licenses`` (named after their folder)."""
    copied = []
    for pattern in LICENCE_FILES:
        for path in sorted(Path(source_root).glob(pattern)) + sorted(Path(source_root).glob(f"*/{pattern}")):
            target = out / "licenses" / f"{path.parent.name}-{path.name}"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            copied.append(target.relative_to(out).as_posix())
    return sorted(set(copied))


def write_card(out: Path, source: str, options: BuildOptions, report: BuildReport, licences: list[str]) -> Path:
    """README.md with Hub metadata (configs per split), provenance, licences, method and transform counts."""
    built = load_built(out)
    transforms = Counter(t for split in built.values() for t in split["transform"])
    splits_yaml = "\n".join(f"  - split: {s}\n    path: data/{s}-*" for s in built)
    rows = ", ".join(f"{s}: {len(d)}" for s, d in built.items())
    licence_lines = "\n".join(f"- [`{name}`]({name})" for name in licences) or "- (the source shipped none)"
    card = f"""---
license: other
license_name: mixed-source-licences
pretty_name: HMH (Human Matting and Harmonization)
task_categories:
- image-segmentation
- image-to-image
tags:
- matting
- image-harmonization
- portrait
size_categories:
- n<1K
configs:
- config_name: default
  data_files:
{splits_yaml}
---

# HMH: Human Matting and Harmonization

Rows for training portrait matting and image harmonization together, made as in Ren, Liu and Song,
*A Generative Adversarial Framework for Optimizing Image Matting and Harmonization Simultaneously*
(section 2.2), with the `hamagan dataset build` command.

- Source: `{source}`; rows per split: {rows}. Splits are by source portrait: no portrait is in two.
- Options: `{json.dumps(asdict(options), sort_keys=True)}`
- Transforms drawn: {dict(sorted(transforms.items()))}

## How each row was made

1. Image I and alpha A resized to {"long side " if options.keep_aspect else ""}{options.size}
   {"" if options.keep_aspect else f"x {options.size}"}.
2. Trimap T: the soft region 0 < A < 1 grown by a Euclidean distance of a random radius (1-20 px at 320 px,
   scaled with the image); 0 / 128 / 255.
3. Foreground F by blur-fusion foreground estimation; background B by OpenCV Telea inpainting (radius 15)
   of the portrait region.
4. One transform, drawn uniformly: Reinhard colour transfer towards another portrait of the same split
   (colour space `{options.color_space}`; each channel scaled by its own std ratio, signed chroma kept), an
   illumination change (offset drawn from [-100, 200] on 0..255), or MSRCR (scales 15/80/250,
   alpha 125, beta 46, gain 192, offset -30, 1% clipping). Its name and parameters are in `transform` and
   `transform_params` (JSON, with the trimap radius).
5. Perturbed layer `{options.perturb}`: background: B_f = T(B), I_d = A·I + (1 − A)·B_f; foreground:
   `foreground_adjusted` = T(I), I_d = A·T(I) + (1 − A)·I.

## Columns

`id`, `source_id`, `image` (I), `alpha` (A, mode L), `trimap` (T, mode L), `foreground` (F), `background` (B),
`background_adjusted` (B_f), `foreground_adjusted`, `composite` (I_d), `perturb`, `transform`,
`transform_params`.

## Licences

The rows are derived from the source images and keep their licences; they differ by source (the bundled
portraits are MIT, from P3M; the bundled backgrounds, used by training composites, are GPL-2+, CC-BY(-SA)
and CC0 per file). The source's licence and provenance files travel with the dataset:

{licence_lines}

## Skipped inputs

{len(report.skipped)} source files were skipped: {json.dumps(report.skipped[:20])}
"""
    path = out / "README.md"
    path.write_text(card)
    return path


def hub_files(out: Path) -> list[str]:
    """The files a push sends: the Parquet shards, the card and the licences."""
    out = Path(out)
    files = sorted(p.relative_to(out).as_posix() for p in (out / "data").glob("*.parquet"))
    files += ["README.md"] + sorted(p.relative_to(out).as_posix() for p in (out / "licenses").glob("*"))
    return [f for f in files if (out / f).exists()]


def push_dataset(out: Path, repo_id: str, token: str | None = None, private: bool = False) -> str:
    """Create the dataset repo if needed and upload the Hub folder in one ``upload_folder`` call."""
    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="dataset", exist_ok=True, private=private)
    commit = api.upload_folder(folder_path=str(out), repo_id=repo_id, repo_type="dataset",
                               allow_patterns=hub_files(out), commit_message="Upload the HMH dataset")
    return str(commit)
