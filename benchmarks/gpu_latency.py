"""The pipeline on a CUDA GPU: G_m at the reference recipe and the whole pipeline, seconds per image.

    python -m benchmarks.gpu_latency [--checkpoint PATH_OR_REPO] [--repeats 20]

G_m: the held-out test portraits at long side 512 with a 10-px trimap (the CPU figures:
benchmarks/matting_speed.py), in float32 and under bf16 autocast. The whole pipeline (matting, foreground,
composite on a bundled background, harmonization): the first test portrait at 512 and upscaled to 2048.
Each figure is the median of ``--repeats`` runs after two untimed warm-ups, with the device synchronised
around each run.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from benchmarks.timing import median_seconds
from hamagan import HaMaGANPipeline
from hamagan.evaluation import load_matting_case
from hamagan.images import array_to_tensor
from hamagan.samples import background_paths, portrait_ids


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoint", help="default: the bundled model")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("gpu_latency.py: no CUDA device")
    pipe = HaMaGANPipeline.from_pretrained(args.checkpoint).to("cuda")
    cases = [load_matting_case(i) for i in portrait_ids("test")]
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, {len(cases)} test portraits\n")
    print("| what | size | seconds |\n|---|---|---|")
    for bf16 in (False, True):
        pipe.matting_bf16 = bf16
        seconds = [median_seconds(lambda c=c: pipe.matte(array_to_tensor(c.image.astype(np.float32)).cuda(),
                                                          array_to_tensor(c.trimap.astype(np.float32)).cuda()),
                                  args.repeats, warmups=2) for c in cases]
        print(f"| G_m ({'bf16' if bf16 else 'fp32'}) | long side 512 | {np.mean(seconds):.4f} |")
    pipe.matting_bf16 = False
    case, background = cases[0], str(background_paths()[0])
    for scale in (1, 4):
        image = np.kron(case.image, np.ones((scale, scale, 1))).astype(np.float32)
        trimap = np.kron(case.trimap, np.ones((scale, scale))).astype(np.float32)
        seconds = median_seconds(lambda i=image, t=trimap: pipe(i, trimap=t, background=background), args.repeats,
                                 warmups=2)
        print(f"| whole pipeline (fp32) | {image.shape[1]}x{image.shape[0]} | {seconds:.4f} |")


if __name__ == "__main__":
    main()
