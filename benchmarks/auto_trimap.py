"""Automatic trimaps: segmenter quality, end-to-end matting with them, false persons, and speed.

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 python benchmarks/auto_trimap.py

On the three held-out test portraits at long side 512 (the reference recipe): the segmenter's mask IoU
against alpha > 0.5; the shipped model's matting metrics with the automatic trimap, over its unknown
region and over the whole image, next to the same model with the 10-px ground-truth trimap. Then how many
of the 40 bundled person-free backgrounds it wrongly finds a person in, and seconds per image.
"""

from __future__ import annotations

import time

import numpy as np

from hamagan import HaMaGANPipeline
from hamagan.evaluation import load_matting_case
from hamagan.images import array_to_tensor, tensor_to_array, to_array
from hamagan.metrics import matting_metrics
from hamagan.samples import TEST_PORTRAITS, background_paths, portrait_paths
from hamagan.segmentation import default_segmenter, find_person
from hamagan.trimap import auto_trimap


def main() -> None:
    pipe = HaMaGANPipeline.from_pretrained()
    rows = []
    for portrait_id in TEST_PORTRAITS:
        case = load_matting_case(portrait_id, long_side=512)
        image = case.image.astype(np.float32)
        mask = find_person(image).probability > 0.5
        truth = case.alpha > 0.5
        iou = (mask & truth).sum() / (mask | truth).sum()
        automatic = auto_trimap(image).trimap
        results = {}
        for name, trimap in (("automatic", automatic), ("ground truth 10 px", case.trimap.astype(np.float32))):
            alpha = tensor_to_array(pipe.matte(array_to_tensor(image), array_to_tensor(trimap))).astype(np.float64)
            results[name] = {"own unknown region": matting_metrics(alpha, case.alpha, trimap),
                             "whole image": matting_metrics(alpha, case.alpha, np.full_like(trimap, 0.5))}
        rows.append((portrait_id, iou, results))
    print("| portrait | mask IoU | trimap | region | SAD | MSE | Grad | Conn |")
    print("|---|---|---|---|---|---|---|---|")
    for portrait_id, iou, results in rows:
        for trimap_name, by_region in results.items():
            for region, m in by_region.items():
                print(f"| {portrait_id} | {iou:.3f} | {trimap_name} | {region} | {m['SAD']:.2f} | {m['MSE']:.4f} "
                      f"| {m['Grad']:.2f} | {m['Conn']:.2f} |")
    print(f"\nmean mask IoU {np.mean([r[1] for r in rows]):.3f}")
    for trimap_name in rows[0][2]:
        for region in ("own unknown region", "whole image"):
            means = {k: np.mean([r[2][trimap_name][region][k] for r in rows]) for k in ("SAD", "MSE", "Grad", "Conn")}
            print(f"mean, {trimap_name} trimap, {region}: " + ", ".join(f"{k} {v:.4g}" for k, v in means.items()))
    wrong = [p.name for p in background_paths() if auto_trimap(p).found]
    print(f"\nperson-free backgrounds with a person found: {len(wrong)} of {len(background_paths())} {wrong}")
    segmenter = default_segmenter()
    full = to_array(portrait_paths(TEST_PORTRAITS[0])[0])  # 1920x1080
    for label, image in (("512x288", load_matting_case(TEST_PORTRAITS[0]).image.astype(np.float32)),
                         (f"{full.shape[1]}x{full.shape[0]}", full)):
        auto_trimap(image, segmenter=segmenter)
        start = time.perf_counter()
        for _ in range(10):
            auto_trimap(image, segmenter=segmenter)
        print(f"auto_trimap at {label}: {(time.perf_counter() - start) / 10 * 1000:.1f} ms per image")


if __name__ == "__main__":
    main()
