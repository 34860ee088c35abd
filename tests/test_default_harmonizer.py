"""The bundled default model's harmonizers on the HMH test composites of the three held-out portraits,
rebuilt here exactly as the dataset build makes them (long side 512, seed 0; 6 background-recoloured and
4 portrait-recoloured variants per portrait)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hamagan import HaMaGANPipeline, samples
from hamagan.data.builder import BuildOptions, build_dataset
from hamagan.data.sources import open_source
from hamagan.metrics import harmonization_metrics
from hamagan.report import load_harmonization_cases, pipeline_harmonizer, reinhard_region


@pytest.mark.slow
def test_default_harmonizers_beat_the_composite_and_reinhard(tmp_path: Path) -> None:
    items = [item for item in open_source(str(samples.PORTRAITS)) if item.source_id in samples.TEST_PORTRAITS]
    cases = []
    for perturb, variants in (("background", 6), ("foreground", 4)):
        out = tmp_path / perturb
        options = BuildOptions(size=512, keep_aspect=True, variants=variants, perturb=perturb)
        build_dataset(items, out, options, test_ids=set(samples.TEST_PORTRAITS), progress=False)
        cases += load_harmonization_cases(out)
    assert len(cases) == 30
    ours = pipeline_harmonizer(HaMaGANPipeline.from_pretrained())

    def mean_fmse(method) -> float:
        return float(np.mean([harmonization_metrics(method(c), c.real, c.adjusted)["fMSE"] for c in cases]))

    composite, reinhard, model = (mean_fmse(m) for m in (lambda c: c.composite, reinhard_region, ours))
    # Measured (the model card): 3217 against the composite's 5254 and Reinhard's 7506: 39% less, where the
    # goal was 60% (the card reports the shortfall); this guards what the shipped model reaches.
    assert model < 0.7 * composite and model < reinhard, (model, composite, reinhard)
