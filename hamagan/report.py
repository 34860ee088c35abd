"""``hamagan eval``: the paper's Table 1 (and Table 2 for a sweep of checkpoints), measured.

Matting: the held-out bundled test portraits prepared by the reference recipe (long side 512, trimap =
soft region grown by 10 px), SAD / MSE / Grad / Conn over the unknown region, seconds per image.
Harmonization: the test split of built HMH datasets (true alpha), MSE / fMSE (adjusted region) / PSNR on
0..255, against the unharmonized composite and a Reinhard transfer of the adjusted region towards the other
region's colour statistics.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from hamagan.color import from_color_space, to_color_space
from hamagan.data import hmh
from hamagan.data.hmh import HMHRow, load_rows
from hamagan.evaluation import (
    BASELINES,
    MattingCase,
    MattingMethod,
    evaluate_matting,
    load_matting_case,
    markdown_table,
)
from hamagan.images import array_to_tensor, tensor_to_array, to_pil
from hamagan.metrics import harmonization_metrics
from hamagan.pipeline import HaMaGANPipeline
from hamagan.plots import bar_chart
from hamagan.samples import TEST_PORTRAITS


@dataclass
class HarmonizationCase:
    """One HMH test row: the two layers of the disharmonious composite, alpha, the real image, the direction."""

    case_id: str
    layer_fg: np.ndarray
    layer_bg: np.ndarray
    alpha: np.ndarray
    real: np.ndarray
    direction: str
    transform: str = ""

    @classmethod
    def from_row(cls, row: HMHRow) -> HarmonizationCase:
        return cls(row.id, row.floats("layer_fg"), row.floats("layer_bg"), row.floats("alpha"), row.floats("image"),
                   row.direction, row.transform)

    @property
    def composite(self) -> np.ndarray:
        return hmh.composite(self.layer_fg, self.layer_bg, self.alpha[..., None])

    @property
    def adjusted(self) -> np.ndarray:
        """The adjusted layer's coverage."""
        return hmh.adjusted_coverage(self.alpha, self.direction)

    @property
    def adjusted_layer(self) -> np.ndarray:
        return hmh.adjusted_layer(self.layer_fg, self.layer_bg, self.direction)

    def with_adjusted_layer(self, layer: np.ndarray) -> np.ndarray:
        """The composite with ``layer`` in place of the adjusted one."""
        other = hmh.unadjusted_layer(self.layer_fg, self.layer_bg, self.direction)
        return hmh.composite(*hmh.layers_by_direction(layer, other, self.direction), self.alpha[..., None])


@dataclass
class HarmonizationReport:
    method: str
    rows: list[dict] = field(default_factory=list)

    def mean(self) -> dict[str, float]:
        return {k: float(np.mean([r[k] for r in self.rows])) for k in ("MSE", "fMSE", "PSNR", "seconds")}


HarmonizationMethod = Callable[[HarmonizationCase], np.ndarray]


def load_harmonization_cases(dataset: Path, split: str = "test") -> list[HarmonizationCase]:
    return [HarmonizationCase.from_row(HMHRow.decode(row)) for row in load_rows(str(dataset), split) or []]


def unharmonized(case: HarmonizationCase) -> np.ndarray:
    return case.composite


def reinhard_region(case: HarmonizationCase, space: str = "lalphabeta") -> np.ndarray:
    """Reinhard transfer of the adjusted layer towards the other region's statistics (lαβ), recomposited."""
    composite = to_color_space(case.composite, space)
    adjusted = case.adjusted > 0.5
    source, target = composite[adjusted], composite[~adjusted]
    scale = target.std(axis=0) / np.maximum(source.std(axis=0), 1e-8)
    layer = to_color_space(case.adjusted_layer, space)
    return case.with_adjusted_layer(from_color_space((layer - source.mean(axis=0)) * scale + target.mean(axis=0),
                                                     space))


def labelled_checkpoint(value: str) -> tuple[str, str | None]:
    """"LABEL=PATH_OR_REPO" (PATH ``DEFAULT``: the bundled model), or a bare path labelled by its folder name."""
    label, sep, path = value.partition("=")
    if not sep:
        return Path(value).name or value, value
    return label, None if path in ("", "DEFAULT") else path


def pipeline_harmonizer(pipe: HaMaGANPipeline) -> HarmonizationMethod:
    def method(case: HarmonizationCase) -> np.ndarray:
        out = pipe.harmonize_layers(array_to_tensor(case.layer_fg), array_to_tensor(case.layer_bg),
                                    array_to_tensor(case.alpha), case.direction)
        return tensor_to_array(out)
    return method


def fix_refinement_weight(pipe: HaMaGANPipeline, weight: float) -> None:
    """Refine with this one mu for every image, whatever G_m's confidence (no ramp)."""
    pipe.config.refinement_weight, pipe.config.refinement_weight_unsure = weight, None


REFINEMENT_VARIANTS = {False: "", None: " (default: as the config refines)", True: " + refinement"}
"""``pipeline_matting``'s ``refine`` values a benchmark compares, with their label suffixes: G_m alone, as the
config's ``refine_matting``, ``refine_from_band``, ``refine_below_confidence`` and ``refine_edge`` say, the whole
band always refined."""


def pipeline_matting(pipe: HaMaGANPipeline, refine: bool | None = None) -> MattingMethod:
    """The pipeline's ``matte`` as an evaluation method (``refine``: the pipeline's option)."""
    def method(image: np.ndarray, trimap: np.ndarray) -> np.ndarray:
        alpha = pipe.matte(array_to_tensor(image.astype(np.float32)), array_to_tensor(trimap.astype(np.float32)),
                           refine)
        return tensor_to_array(alpha).astype(np.float64)
    return method


def evaluate_harmonization(method: HarmonizationMethod, cases: Sequence[HarmonizationCase],
                           name: str) -> HarmonizationReport:
    report = HarmonizationReport(name)
    for case in cases:
        start = time.perf_counter()
        output = method(case)
        seconds = time.perf_counter() - start
        report.rows.append({"id": case.case_id, **harmonization_metrics(output, case.real, case.adjusted),
                            "seconds": seconds})
    return report


def harmonization_table(reports: Sequence[HarmonizationReport]) -> str:
    lines = ["| method | MSE | fMSE | PSNR (dB) |", "|---|---|---|---|"]
    for r in reports:
        m = r.mean()
        lines.append(f"| {r.method} | {m['MSE']:.1f} | {m['fMSE']:.1f} | {m['PSNR']:.2f} |")
    return "\n".join(lines)


def qualitative_grid(cases: Sequence[MattingCase], alphas: dict[str, list[np.ndarray]],
                     harmonized: dict[str, list[np.ndarray]], harmonization_cases: Sequence[HarmonizationCase],
                     tile: int = 240) -> Image.Image:
    """Rows of input, trimap, each method's alpha and the truth; then composites, each method's result, real."""
    def fit(array: np.ndarray) -> Image.Image:
        image = to_pil(array).convert("RGB")
        image.thumbnail((tile, tile))
        canvas = Image.new("RGB", (tile, tile), "white")
        canvas.paste(image, ((tile - image.width) // 2, (tile - image.height) // 2))
        return canvas

    sections = [(["input", "trimap", *alphas, "true alpha"],
                 [[c.image, c.trimap, *[a[i] for a in alphas.values()], c.alpha] for i, c in enumerate(cases)])]
    if harmonization_cases:
        sections.append((["composite", *harmonized, "real"],
                         [[h.composite, *[r[i] for r in harmonized.values()], h.real]
                          for i, h in enumerate(harmonization_cases[:3])]))
    label_height = 20
    columns = max(len(labels) for labels, _ in sections)
    height = sum(label_height + tile * len(rows) for _, rows in sections)
    grid = Image.new("RGB", (columns * tile, height), "white")
    draw = ImageDraw.Draw(grid)
    y = 0
    for labels, rows in sections:
        for x, label in enumerate(labels):
            draw.text((x * tile + 6, y + 4), label, fill="black")
        y += label_height
        for row in rows:
            for x, array in enumerate(row):
                grid.paste(fit(array), (x * tile, y))
            y += tile
    return grid


def run_evaluation(checkpoints: dict[str, str | None], datasets: Sequence[Path], out: Path,
                   baselines: Sequence[str] = ("trimap only", "closed-form", "KNN", "composite", "reinhard"),
                   long_side: int = 512, refine: bool = False) -> list[Path]:
    """Measure every checkpoint and baseline; write tables (Markdown, JSON) and figures to ``out``. With
    ``refine``, each checkpoint's matting is also measured refined ("LABEL + refinement")."""
    out.mkdir(parents=True, exist_ok=True)
    checkpoints = checkpoints or {"ours": None}
    pipes = {label: HaMaGANPipeline.from_pretrained(path) for label, path in checkpoints.items()}
    cases = [load_matting_case(i, long_side) for i in TEST_PORTRAITS]
    matting = [evaluate_matting(pipeline_matting(p, False), cases, label) for label, p in pipes.items()]
    if refine:
        matting += [evaluate_matting(pipeline_matting(p, True), cases, f"{label} + refinement")
                    for label, p in pipes.items()]
    matting += [evaluate_matting(BASELINES[name], cases, name) for name in BASELINES if name in baselines]
    h_cases = [c for dataset in datasets for c in load_harmonization_cases(dataset)]
    harmonization: list[HarmonizationReport] = []
    if h_cases:
        harmonization = [evaluate_harmonization(pipeline_harmonizer(p), h_cases, label) for label, p in pipes.items()]
        classical = {"composite": unharmonized, "reinhard": reinhard_region}
        harmonization += [evaluate_harmonization(m, h_cases, n) for n, m in classical.items() if n in baselines]
    results = {"matting": {r.method: {"mean": r.mean(), "per_image": r.rows} for r in matting},
               "harmonization": {r.method: {"mean": r.mean(), "per_image": r.rows} for r in harmonization},
               "protocol": {"portraits": list(TEST_PORTRAITS), "long_side": long_side, "trimap_radius": 10,
                            "datasets": [str(d) for d in datasets], "checkpoints": checkpoints}}
    written = [out / "results.json", out / "table1.md", out / "per_image_errors.png", out / "qualitative.png"]
    written[0].write_text(json.dumps(results, indent=2, default=str))
    first = list(pipes)[0]
    table1 = [r for r in matting if r.method == first or r.method not in pipes]
    text = f"## Matting (test portraits, long side {long_side}, 10 px trimap)\n\n{markdown_table(table1)}\n"
    if harmonization:
        rows = [r for r in harmonization if r.method == first or r.method not in pipes]
        text += f"\n## Harmonization (HMH test split, {len(h_cases)} composites)\n\n{harmonization_table(rows)}\n"
    written[1].write_text(text)
    if len(pipes) > 1:
        sweep = [r for r in matting if r.method in pipes]
        text2 = f"## Sweep over checkpoints: matting\n\n{markdown_table(sweep)}\n"
        if harmonization:
            swept = [r for r in harmonization if r.method in pipes]
            text2 += f"\n## Sweep: harmonization\n\n{harmonization_table(swept)}\n"
        (out / "table2.md").write_text(text2)
        values = {r.method: {"SAD": r.mean()["SAD"]} for r in sweep}
        if harmonization:
            for r in harmonization:
                if r.method in pipes:
                    values[r.method]["fMSE / 100"] = r.mean()["fMSE"] / 100
        bar_chart(values, "Sweep: matting SAD and harmonization fMSE per checkpoint").save(out / "sweep.png")
        written += [out / "table2.md", out / "sweep.png"]
    per_image = {case.case_id: {r.method: r.rows[i]["SAD"] for r in matting if r.method != "trimap only"}
                 for i, case in enumerate(cases)}
    bar_chart(per_image, "Matting SAD per test portrait (lower is better)").save(written[2])
    alphas = {r.method: r.alphas for r in matting if r.method != "trimap only"}
    h_methods = {**{label: pipeline_harmonizer(p) for label, p in pipes.items()}, "reinhard": reinhard_region}
    shown = {name: [m(c) for c in h_cases[:3]] for name, m in h_methods.items()}
    qualitative_grid(cases, alphas, shown, h_cases).save(written[3])
    return written
