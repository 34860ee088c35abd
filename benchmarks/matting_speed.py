"""Our matting against closed-form matting, timed in one run on the same images, with the ratio.

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 python -m benchmarks.matting_speed \
        [--checkpoint PATH_OR_REPO] [--split test|train|all] [--refinement-weight MU]

The reference recipe (long side 512, 10-px trimap); seconds per image after one untimed warm-up call,
metrics as in Table 1; G_m in float32 and under bf16 autocast, alone, as the checkpoint's config refines by
default, and with the whole band refined by the matting Laplacian (``--refinement-weight``: default the
checkpoint's). Then steadier times: the median of
``--repeats`` runs per image. The full pipeline per stage, with peak
memory: benchmarks/pipeline_latency.py.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from benchmarks.timing import median_seconds
from hamagan import HaMaGANPipeline
from hamagan.evaluation import closed_form, evaluate_matting, load_matting_case, markdown_table
from hamagan.hardware import bf16_is_fast
from hamagan.report import fix_refinement_weight, pipeline_matting
from hamagan.samples import portrait_ids


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoint", help="default: the bundled model")
    parser.add_argument("--split", default="test", choices=["test", "train", "all"])
    parser.add_argument("--refinement-weight", type=float, help="mu of the refinement (default: the checkpoint's)")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per image (the median is kept)")
    args = parser.parse_args()
    pipe = HaMaGANPipeline.from_pretrained(args.checkpoint)
    if args.refinement_weight is not None:
        fix_refinement_weight(pipe, args.refinement_weight)
    cases = [load_matting_case(i) for i in portrait_ids(args.split)]
    reports = []
    suffixes = {False: "", None: ", default", True: " + refinement"}  # G_m alone, as the config refines, all
    variants = {f"ours (G_m, {'bf16' if bf16 else 'fp32'}{suffixes[refine]})": (bf16, refine)
                for refine in suffixes for bf16 in (False, True)}
    for name, (bf16, refine) in variants.items():
        pipe.matting_bf16 = bf16
        reports.append(evaluate_matting(pipeline_matting(pipe, refine), cases, name, progress=False))
    reference = evaluate_matting(closed_form, cases, "closed-form", progress=False)
    default = "bf16" if bf16_is_fast(pipe.device) else "fp32"
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {len(cases)} portraits ({args.split}); "
          f"bf16: pipe.matting_bf16 = True; the default on this machine: {default} (bf16 where it runs in hardware)")
    print(markdown_table([*reports, reference]))
    methods = {name: (pipeline_matting(pipe, refine), bf16) for name, (bf16, refine) in variants.items()}
    methods["closed-form"] = (closed_form, False)
    medians = {}
    for name, (method, bf16) in methods.items():
        pipe.matting_bf16 = bf16
        runs = [lambda m=method, c=case: m(c.image, c.trimap) for case in cases]
        medians[name] = float(np.mean([median_seconds(run, args.repeats, warmups=0) for run in runs]))
    print(f"\nseconds per image, median of {args.repeats} runs per image, mean over images:")
    for name, seconds in medians.items():
        print(f"  {name}: {seconds:.3f} s ({medians['closed-form'] / seconds:.1f}x closed-form's speed)")


if __name__ == "__main__":
    main()
