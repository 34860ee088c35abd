"""What the ablation reports of each run: its G_m's per-image scores on the evaluation sets, and the health of
its critic (a table and a chart of the scores on real portraits against the bound)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from hamagan import HaMaGANPipeline
from hamagan.evaluation import evaluate_matting
from hamagan.plots import line_chart
from hamagan.report import pipeline_matting
from hamagan.training.ablation import CRITIC_REAL_BOUND, critic_trace, degenerate


def evaluate_export(export: Path, sets: dict[str, list], cache: Path) -> dict[str, list[dict]]:
    """Per-image metrics of the G_m in ``export`` on every set, kept in ``cache``."""
    if cache.exists():
        stored = json.loads(cache.read_text())
        if stored.get("sets") == {name: len(cases) for name, cases in sets.items()}:
            return stored["rows"]
    method = pipeline_matting(HaMaGANPipeline.from_pretrained(str(export)))
    rows = {name: evaluate_matting(method, cases, name, progress=False).rows for name, cases in sets.items()}
    cache.write_text(json.dumps({"sets": {name: len(cases) for name, cases in sets.items()}, "rows": rows},
                                default=float))
    return rows


def critic_health(folders: dict[str, Path], figure: Path) -> list[str]:
    """A table of each run's critic (named run to run folder): its real scores' range, its real-minus-fake gap
    over the last fifth, whether it degenerated; and ``figure``, both traces of every run."""
    lines = ["| run | critic on real: min, max | real minus fake, last fifth | degenerate (real beyond ±5) |",
             "|---|---|---|---|"]
    real, gaps = {}, {}
    for name, folder in folders.items():
        trace = critic_trace(folder)
        tail = slice(len(trace["step"]) * 4 // 5, None)
        gap = float(np.mean(trace["critic_real"][tail] - trace["critic_fake"][tail]))
        lines.append(f"| {name} | {trace['critic_real'].min():+.2f}, {trace['critic_real'].max():+.2f} | {gap:+.3f} | "
                     f"{'yes' if degenerate(trace) else 'no'} |")
        real[name] = (trace["step"], trace["critic_real"])
        gaps[name] = (trace["step"], trace["critic_real"] - trace["critic_fake"])
    charts = [line_chart(real, "the critic's mean score on real portraits (dotted: the +-5 bound)",
                         guides=(-CRITIC_REAL_BOUND, CRITIC_REAL_BOUND)),
              line_chart(gaps, "real minus fake score (mean over the three kinds of fake)", guides=(0.0,))]
    sheet = Image.new("RGB", (charts[0].width, sum(c.height for c in charts)), "white")
    for index, chart in enumerate(charts):
        sheet.paste(chart, (0, index * charts[0].height))
    sheet.save(figure)
    return lines + [""]
