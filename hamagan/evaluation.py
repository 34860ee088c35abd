"""The matting evaluation recipe of ``hamagan/samples/DATA_README.md``, and the baselines run through it.

1. Image (RGB) and alpha (L) are read with PIL and resized with PIL bicubic so the long side is 512
   (new size = round(w s), round(h s)); alpha = value / 255.
2. Trimap: foreground where alpha == 1, background where alpha == 0, the rest unknown, then every pixel
   within 10 px (Euclidean) of the unknown set becomes unknown.
3. A method maps (image float64 HxWx3 in [0, 1], trimap HxW of 0 / 0.5 / 1) to an alpha.
4. Metrics over the unknown region (:mod:`hamagan.metrics`); means over the images.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from tqdm import tqdm

from hamagan.extras import require
from hamagan.metrics import matting_metrics
from hamagan.samples import portrait_paths
from hamagan.trimap import trimap_from_alpha

MattingMethod = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass
class MattingCase:
    """One evaluation input: image (float64 HxWx3), ground-truth alpha and trimap (0 / 0.5 / 1)."""

    case_id: str
    image: np.ndarray
    alpha: np.ndarray
    trimap: np.ndarray


def load_matting_case(case_id: str, long_side: int = 512, radius: float = 10.0) -> MattingCase:
    """A bundled portrait prepared by the recipe (steps 1 and 2)."""
    image_path, alpha_path = portrait_paths(case_id)
    image = Image.open(image_path).convert("RGB")
    alpha = Image.open(alpha_path).convert("L")
    scale = long_side / max(image.size)
    size = (round(image.width * scale), round(image.height * scale))
    image_array = np.asarray(image.resize(size, Image.BICUBIC), dtype=np.float64) / 255.0
    alpha_array = np.asarray(alpha.resize(size, Image.BICUBIC), dtype=np.float64) / 255.0
    return MattingCase(case_id, image_array, alpha_array, trimap_from_alpha(alpha_array, radius).astype(np.float64))


def trimap_only(image: np.ndarray, trimap: np.ndarray) -> np.ndarray:
    """The trimap itself as the alpha (unknown = 0.5): the floor every method must beat."""
    return trimap.copy()


def closed_form(image: np.ndarray, trimap: np.ndarray) -> np.ndarray:
    """Closed-form matting (Levin et al., 2008) through pymatting."""
    require("classic", "the closed-form baseline")
    from pymatting import estimate_alpha_cf

    return estimate_alpha_cf(image, trimap)


def knn(image: np.ndarray, trimap: np.ndarray) -> np.ndarray:
    """KNN matting (Chen et al., 2013) through pymatting."""
    require("classic", "the KNN baseline")
    from pymatting import estimate_alpha_knn

    return estimate_alpha_knn(image, trimap)


BASELINES: dict[str, MattingMethod] = {"trimap only": trimap_only, "closed-form": closed_form, "KNN": knn}


@dataclass
class MattingReport:
    """Per-image metrics, seconds and predicted alphas of one method, with the means."""

    method: str
    rows: list[dict] = field(default_factory=list)
    alphas: list[np.ndarray] = field(default_factory=list, repr=False)

    def mean(self) -> dict[str, float]:
        keys = ("SAD", "MSE", "Grad", "Conn", "seconds")
        return {k: float(np.mean([r[k] for r in self.rows])) for k in keys}


def evaluate_matting(method: MattingMethod, cases: Sequence[MattingCase], name: str = "method",
                     progress: bool = True, warmup: bool = True) -> MattingReport:
    """Run one method on every case and measure it.

    Seconds exclude loading and, with ``warmup``, one untimed first call (JIT compilation, caches).
    """
    report = MattingReport(name)
    if warmup and cases:
        method(cases[0].image, cases[0].trimap)
    for case in tqdm(cases, desc=name, disable=not progress, leave=False):
        start = time.perf_counter()
        alpha = method(case.image, case.trimap)
        seconds = time.perf_counter() - start
        report.rows.append({"id": case.case_id, **matting_metrics(alpha, case.alpha, case.trimap),
                            "seconds": seconds})
        report.alphas.append(alpha)
    return report


def markdown_table(reports: Sequence[MattingReport]) -> str:
    """Mean SAD / MSE / Grad / Conn / s per image of several methods as a Markdown table."""
    lines = ["| method | SAD | MSE | Grad | Conn | s/img |", "|---|---|---|---|---|---|"]
    for report in reports:
        m = report.mean()
        lines.append(f"| {report.method} | {m['SAD']:.2f} | {m['MSE']:.4f} | {m['Grad']:.2f} | {m['Conn']:.2f} "
                     f"| {m['seconds']:.3f} |")
    return "\n".join(lines)
