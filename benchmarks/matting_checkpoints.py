"""Choosing, on validation, between the shipped G_m and a newly trained one.

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 python -m benchmarks.matting_checkpoints \\
        --candidate PIPELINE_FOLDER [--baseline PIPELINE_FOLDER] [--count 48] [--csv PATH] \\
        [--setting NAME KEY=VALUE [KEY=VALUE ...]] ...

The sets of :mod:`benchmarks.matting_scale` (validation only, never the test portraits or the test seed): the
refinement weight benchmark's seven sets at 320 px, the held-out strands, training portraits and validation portrait
over held-out photos at 512 px, and the validation portrait small in scenes with its 10-px and the automatic
trimap. Each pipeline's default matte in float32; a candidate's folder is a pipeline (``hamagan release`` or a
run's export), whose G_m replaces the baseline's (its harmonizers and settings are not read). Each ``--setting``
adds the candidate once more under NAME with those pipeline settings changed (values in YAML, e.g.
``refinement_confidence=[0.9,0.95]``): the refinement's confidence thresholds were chosen for the shipped G_m, and
a new G_m may be surer of the same edges.

The rule, fixed before the run (:func:`benchmarks.matting_scale.passes`): the candidate is adopted when its mean
SAD share of the baseline's over the sets is below 0.97, its mean Grad share below 1, and no set's SAD share above
1.03. Per sample and pipeline: ``--csv`` (one per trial: ``matting_checkpoints_<trial>.csv``, with the printed
report in the ``.txt`` of the same name).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from benchmarks.matting_scale import measure, share_report, validation_sets
from benchmarks.rows import write_rows
from hamagan import HaMaGANPipeline

HERE = Path(__file__).resolve().parent


def with_matting_of(baseline: str | None, candidate: str) -> HaMaGANPipeline:
    """The baseline pipeline with the candidate folder's G_m."""
    pipe = HaMaGANPipeline.from_pretrained(baseline)
    pipe.matting = HaMaGANPipeline.from_pretrained(candidate).matting
    return pipe


def with_settings(pipe: HaMaGANPipeline, assignments: list[str]) -> HaMaGANPipeline:
    """``pipe`` with its config's fields set from ``KEY=VALUE`` strings (YAML values); unknown keys fail."""
    for assignment in assignments:
        key, _, value = assignment.partition("=")
        if not hasattr(pipe.config, key):
            raise SystemExit(f"--setting: the pipeline has no setting {key!r}")
        parsed = yaml.safe_load(value)
        setattr(pipe.config, key, tuple(parsed) if isinstance(parsed, list) else parsed)
    return pipe


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--candidate", required=True, help="a pipeline folder whose G_m is judged")
    parser.add_argument("--baseline", default=None, help="a pipeline folder (default: the bundled model)")
    parser.add_argument("--count", type=int, default=48)
    parser.add_argument("--csv", default=str(HERE / "matting_checkpoints.csv"))
    parser.add_argument("--setting", nargs="+", action="append", default=[], metavar=("NAME", "KEY=VALUE"),
                        help="the candidate again as NAME, with these pipeline settings")
    args = parser.parse_args()
    variants = {"baseline": HaMaGANPipeline.from_pretrained(args.baseline),
                "candidate": with_matting_of(args.baseline, args.candidate)}
    for name, *assignments in args.setting:
        variants[f"candidate {name}"] = with_settings(with_matting_of(args.baseline, args.candidate), assignments)
    for pipe in variants.values():
        pipe.matting_bf16 = False
    rows = measure(variants, validation_sets(args.count))
    write_rows(Path(args.csv), rows)
    print(f"baseline: {args.baseline or 'the bundled model'}; candidate G_m: {args.candidate}; float32; SAD / Grad "
          "over the unknown region (the scenes' automatic trimap: the whole image)\n")
    lines, passing = share_report(rows, list(variants), "G_m of the")
    verdict = f"adopt the {passing[0]}" if passing else "keep the baseline's G_m"
    print("\n".join([*lines, "", f"Rule: {verdict} (speed checked apart, benchmarks.matting_speed)."]))


if __name__ == "__main__":
    main()
