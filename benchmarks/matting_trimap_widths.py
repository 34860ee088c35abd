"""G_m against closed-form matting on the test portraits by the reference recipe (long side 512), with
unknown bands of 5, 10, 20 and 30 px, in float32 and in bf16 (forced; where the CPU has no bf16 it is
emulated, slow but the same numbers a bf16 machine gives within rounding).

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 python -m benchmarks.matting_trimap_widths \\
        [--checkpoint LABEL=PATH ...] [--refine [--refinement-weight MU]]

``--refine`` adds each checkpoint refined by the matting Laplacian (its config's weight or confidence ramp), and
as its config refines by default (where the band is wide or G_m is unsure of it).
"""

from __future__ import annotations

import argparse

from hamagan import HaMaGANPipeline
from hamagan.evaluation import closed_form, evaluate_matting, load_matting_case
from hamagan.report import REFINEMENT_VARIANTS, fix_refinement_weight, labelled_checkpoint, pipeline_matting
from hamagan.samples import TEST_PORTRAITS

WIDTHS = (5, 10, 20, 30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoint", action="append", default=[], help="LABEL=PATH (DEFAULT: the bundled model)")
    parser.add_argument("--refine", action="store_true", help="also each checkpoint refined")
    parser.add_argument("--refinement-weight", type=float, help="mu for every checkpoint (default: each one's own)")
    args = parser.parse_args()
    checkpoints = dict(labelled_checkpoint(c) for c in args.checkpoint) or {"default": None}
    pipes = {label: HaMaGANPipeline.from_pretrained(path) for label, path in checkpoints.items()}
    for pipe in pipes.values() if args.refinement_weight is not None else ():
        fix_refinement_weight(pipe, args.refinement_weight)
    print("| band (px) | method | SAD | MSE | Grad | Conn | per portrait SAD |\n|---|---|---|---|---|---|---|")
    for width in WIDTHS:
        cases = [load_matting_case(portrait, radius=width) for portrait in TEST_PORTRAITS]
        methods = {}
        for label, pipe in pipes.items():
            for refine, suffix in (REFINEMENT_VARIANTS if args.refine else {False: ""}).items():
                for bf16 in (False, True):
                    pipe.matting_bf16 = bf16
                    name = f"{label}{suffix} ({'bf16' if bf16 else 'fp32'})"
                    methods[name] = evaluate_matting(pipeline_matting(pipe, refine), cases, label, progress=False)
        methods["closed-form"] = evaluate_matting(closed_form, cases, "closed-form", progress=False)
        for name, report in methods.items():
            mean = report.mean()
            each = " / ".join(f"{row['SAD']:.2f}" for row in report.rows)
            print(f"| {width} | {name} | {mean['SAD']:.3f} | {mean['MSE']:.4f} | {mean['Grad']:.3f} | "
                  f"{mean['Conn']:.3f} | {each} |")


if __name__ == "__main__":
    main()
