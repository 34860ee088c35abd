"""``hamagan batch``: every image of a folder through the pipeline, resumable, failures reported at the end."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from hamagan.images import ImageError
from hamagan.pipeline import HaMaGANPipeline
from hamagan.render import render, write_png

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}


@dataclass
class BatchReport:
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def list_images(folder: Path) -> list[Path]:
    """Files with an image suffix under ``folder`` (recursively), sorted; hidden files left out."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def output_path(source: Path, in_dir: Path, out_dir: Path) -> Path:
    return (out_dir / source.relative_to(in_dir)).with_suffix(".png")


def run_batch(pipe: HaMaGANPipeline, in_dir: Path, out_dir: Path, mode: str, background=None,
              trimap_dir: Path | None = None, direction: str = "background", workers: int = 1,
              progress: bool = True, strength: float = 1.0, people: str = "all",
              refine: bool | None = None) -> BatchReport:
    """Process every image of ``in_dir`` into ``out_dir`` (same relative paths, .png), skipping finished ones.
    ``direction``, ``strength``, ``people`` and ``refine`` are the pipeline's."""
    report = BatchReport()
    todo = []
    for source in list_images(in_dir):
        if output_path(source, in_dir, out_dir).exists():
            report.skipped.append(str(source.relative_to(in_dir)))
        else:
            todo.append(source)

    def process(source: Path) -> tuple[Path, str | None]:
        trimap = None
        if trimap_dir is not None:
            found = [p for p in trimap_dir.glob(f"{source.stem}.*") if p.suffix.lower() in IMAGE_SUFFIXES]
            trimap = found[0] if found else None
        try:
            output = pipe(source, trimap, background=background, direction=direction, strength=strength,
                          people=people, refine=refine)
            write_png(render(output, mode), output_path(source, in_dir, out_dir))
            return source, None
        except (ImageError, ValueError) as exc:
            return source, str(exc)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for source, error in tqdm(pool.map(process, todo), total=len(todo), desc="hamagan batch", unit="image",
                                  disable=not progress):
            name = str(source.relative_to(in_dir))
            if error:
                report.failed[name] = error
            else:
                report.done.append(name)
    return report
