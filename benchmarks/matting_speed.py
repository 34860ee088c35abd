"""Our matting against closed-form matting, timed in one run on the same images, with the ratio.

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 python benchmarks/matting_speed.py \
        [--checkpoint PATH_OR_REPO] [--split test|all]

The reference recipe (long side 512, 10-px trimap); seconds per image after one untimed warm-up call,
metrics as in Table 1; G_m in float32 and under bf16 autocast. The full pipeline per stage, with peak
memory: benchmarks/pipeline_latency.py.
"""

from __future__ import annotations

import argparse

import torch

from hamagan import HaMaGANPipeline
from hamagan.evaluation import closed_form, evaluate_matting, load_matting_case, markdown_table
from hamagan.report import pipeline_matting
from hamagan.samples import portrait_ids


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoint", help="default: the bundled model")
    parser.add_argument("--split", default="test", choices=["test", "all"])
    args = parser.parse_args()
    pipe = HaMaGANPipeline.from_pretrained(args.checkpoint)
    cases = [load_matting_case(i) for i in portrait_ids(args.split)]
    reports = []
    for bf16 in (False, True):
        pipe.matting_bf16 = bf16
        reports.append(evaluate_matting(pipeline_matting(pipe), cases, f"ours (G_m, {'bf16' if bf16 else 'fp32'})",
                                        progress=False))
    reference = evaluate_matting(closed_form, cases, "closed-form", progress=False)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {len(cases)} portraits ({args.split}); "
          "bf16: pipe.matting_bf16 = True (off by default)")
    print(markdown_table([*reports, reference]))
    for ours in reports:
        ratio = reference.mean()["seconds"] / ours.mean()["seconds"]
        print(f"\n{ours.method}: {ours.mean()['seconds']:.3f} s per image, closed-form "
              f"{reference.mean()['seconds']:.3f} s: {ratio:.1f}x faster")


if __name__ == "__main__":
    main()
