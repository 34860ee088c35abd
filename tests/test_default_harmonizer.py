"""The bundled default model's harmonizers on held-out composites.

The guard is drawn from the validation photos that every training run holds out (the last bundled photos,
so no photo pool is needed): the harmonization engine's composites, both directions, the real photo the
target. The three test portraits are only required to beat the untouched composite and Reinhard's
transfer: issue 23 reports them in the model card and chooses nothing on them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hamagan import HaMaGANPipeline, samples
from hamagan.data.builder import BuildOptions, build_dataset
from hamagan.data.sources import open_source
from hamagan.harmonization_sets import bundled_held_out, composite_cases
from hamagan.metrics import colourfulness, harmonization_metrics
from hamagan.report import HarmonizationCase, load_harmonization_cases, pipeline_harmonizer, reinhard_region


def _fmse(outputs: list[np.ndarray], cases: list[HarmonizationCase]) -> float:
    return float(np.mean([harmonization_metrics(o, c.real, c.adjusted)["fMSE"] for o, c in zip(outputs, cases,
                                                                                               strict=True)]))


@pytest.mark.slow
def test_default_harmonizers_cut_held_out_composites_and_keep_their_colour() -> None:
    """80 engine composites at 256 over the held-out bundled photos. Measured (model card): version 13 (both
    harmonizers' colour-statistics corrections) cuts fMSE by 77% (background recoloured) and 71% (portrait),
    makes 10% / 12% worse and keeps 0.95 / 0.95 of the colourfulness; version 12 (the background's alone) 77% /
    64%, 10% / 12%, 0.95 / 0.98; version 11 with its
    harmonization gate 65% / 64%, 8% / 13% worse, 0.99 / 0.98 (without the gate: 69% / 67%, 33% / 38% worse,
    0.92 / 0.94); version 10 69% / 65%; version 9 39% / 10%, keeping 0.59 / 0.55; Reinhard 57% / 24%."""
    cases = composite_cases("validation", count=80, size=256, photos=bundled_held_out())
    ours = pipeline_harmonizer(HaMaGANPipeline.from_pretrained())
    for direction in ("background", "foreground"):
        chosen = [c for c in cases if c.direction == direction]
        model = [ours(c) for c in chosen]
        composite = _fmse([c.composite for c in chosen], chosen)
        reinhard = _fmse([reinhard_region(c) for c in chosen], chosen)
        assert _fmse(model, chosen) < min(0.45 * composite, reinhard), (direction, composite, reinhard)
        worse = np.mean([harmonization_metrics(o, c.real, c.adjusted)["fMSE"]
                         > harmonization_metrics(c.composite, c.real, c.adjusted)["fMSE"] + 0.01
                         for o, c in zip(model, chosen, strict=True)])
        assert worse <= 0.2, (direction, worse)  # composites that already fit are left as they are
        kept = (np.mean([colourfulness(o, c.adjusted) for o, c in zip(model, chosen, strict=True)])
                / np.mean([colourfulness(c.real, c.adjusted) for c in chosen]))
        assert 0.85 <= kept <= 1.15, (direction, kept)


@pytest.mark.slow
def test_default_harmonizers_beat_the_composite_and_reinhard_on_the_test_portraits(tmp_path: Path) -> None:
    """The HMH test composites of the three held-out portraits, rebuilt as the dataset build makes them (long
    side 512, seed 0; 6 background- and 4 portrait-recoloured variants each). Measured: version 13 3814, version
    12 4078, version 11 4310 (4358 with its gate), version 10 4322, version 9 3217, the composite 5254, Reinhard
    7506 (model card)."""
    items = [item for item in open_source(str(samples.PORTRAITS)) if item.source_id in samples.TEST_PORTRAITS]
    cases = []
    for perturb, variants in (("background", 6), ("foreground", 4)):
        out = tmp_path / perturb
        options = BuildOptions(size=512, keep_aspect=True, variants=variants, perturb=perturb)
        build_dataset(items, out, options, test_ids=set(samples.TEST_PORTRAITS), progress=False)
        cases += load_harmonization_cases(out)
    assert len(cases) == 30
    ours = pipeline_harmonizer(HaMaGANPipeline.from_pretrained())
    model = _fmse([ours(c) for c in cases], cases)
    composite = _fmse([c.composite for c in cases], cases)
    reinhard = _fmse([reinhard_region(c) for c in cases], cases)
    assert model < composite and model < reinhard, (model, composite, reinhard)
