"""Joint against separate training of G_m, the paper's Tables 1 and 2 over seeds (issue 26).

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 python train/ablation.py --table 1 2

Trains every arm of the tables for each seed (train/configs/trials/ablation.yaml with the arm's lambdas;
runs already exported are reused, so a stopped ablation goes on where it stopped), evaluates each exported G_m
and the starting one on the three sets of :func:`hamagan.training.ablation.evaluation_sets`, and writes
REPORT.md (the tables, mean +- std over seeds, joint minus separate with its standard error, the critic's
health), REPORT.csv (every image of every run) and REPORT-critic.png (the critic's real and fake scores of every
run). ``--no-train`` reports the runs that are done. ``--joint KEY=VALUE`` screens a variant of the joint stage
(e.g. ``critic_form=wgan``) in its own ``--out`` folder.
"""

from __future__ import annotations

import argparse
import csv
import json
import shlex
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from hamagan import HaMaGANPipeline
from hamagan.report import (
    HarmonizationCase,
    evaluate_harmonization,
    load_harmonization_cases,
    pipeline_harmonizer,
)
from hamagan.training.ablation import (
    SEPARATE,
    Arm,
    arm_config,
    check_recipe,
    difference,
    evaluation_sets,
    run_folder,
    seed_means,
    table_arms,
    train_arm,
    verdict,
)
from hamagan.training.ablation_report import critic_health, evaluate_export
from hamagan.training.config import load_config, parse_settings

ROOT = Path(__file__).resolve().parents[1]
METRICS = ("SAD", "MSE", "Grad", "Conn")


def cell(values: np.ndarray, digits: int) -> str:
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}" if len(values) > 1 else \
        f"{values.mean():.{digits}f}"


DIGITS = {"SAD": 3, "MSE": 5, "Grad": 3, "Conn": 3}


def arm_rows(label: str, per_seed: dict[int, dict[str, list[dict]]], set_name: str) -> str:
    seeds = {seed: rows[set_name] for seed, rows in per_seed.items()}
    values = [cell(seed_means(seeds, metric), DIGITS[metric]) for metric in METRICS]
    return f"| {label} | {len(seeds)} | " + " | ".join(values) + " |"


def start_row(rows: dict[str, list[dict]], set_name: str) -> str:
    values = [f"{np.mean([r[m] for r in rows[set_name]]):.{DIGITS[m]}f}" for m in METRICS]
    return "| start (the generators every arm starts from) | - | " + " | ".join(values) + " |"


def table(title: str, arms: list[Arm], results: dict[Arm, dict], start: dict, set_name: str, size: int) -> list[str]:
    lines = [f"#### {title}: {set_name} ({size} images)", "", "| arm | seeds | SAD | MSE | Grad | Conn |",
             "|---|---|---|---|---|---|", start_row(start, set_name)]
    for arm in arms:
        if results.get(arm):
            lines.append(arm_rows(arm_name(arm), results[arm], set_name))
    return lines + [""]


def arm_name(arm: Arm) -> str:
    if arm.separate:
        return "separate (lambda1 = lambda2 = 0)"
    return f"joint, lambda1 = {arm.lambda_matting:g}, lambda2 = {arm.lambda_harmonization:g}"


def differences(joint: dict, separate: dict, sets: dict[str, list]) -> list[str]:
    common = sorted(set(joint) & set(separate))
    if len(common) < 2:
        return ["Joint minus separate needs two seeds of each arm.", ""]
    lines = ["Joint (lambda1 = 0.02) minus separate, over the seeds both arms ran "
             f"({', '.join(map(str, common))}); negative is better for joint; the bar is twice the standard error:",
             "", "| set | metric | difference ± SE | same-seed difference ± SE | reading (the unpaired bar) |",
             "|---|---|---|---|---|"]
    readings = {}
    for set_name in sets:
        for metric in METRICS:
            d = difference(*(seed_means({s: arm[s][set_name] for s in common}, metric) for arm in (joint, separate)))
            readings[set_name, metric] = d.reading()
            digits = DIGITS[metric] + 1
            lines.append(f"| {set_name} | {metric} | {d.mean:+.{digits}f} ± {d.standard_error:.{digits}f} | "
                         f"{d.paired:+.{digits}f} ± {d.paired_error:.{digits}f} | {d.reading()} |")
    return lines + ["", verdict(readings), ""]


def lambda_differences(results: dict[Arm, dict], sets: dict[str, list]) -> list[str]:
    """Table 2's arms minus the separate arm, same seed, SAD and Grad (mean ± SE of the per-seed differences)."""
    separate = results.get(SEPARATE, {})
    arms = [arm for arm in table_arms(2) if not arm.separate and len(set(results.get(arm, {})) & set(separate)) > 1]
    if not arms:
        return []
    lines = ["Each lambda1 minus separate, same seed (mean ± SE over the seeds both ran; negative is better for "
             "joint; *: beyond twice the SE, which 1 in 20 differences without any effect also reach):", "",
             "| lambda1 | " + " | ".join(f"{n} {m}" for n in sets for m in ("SAD", "Grad")) + " |",
             "|---|" + "---|" * (2 * len(sets))]
    for arm in arms:
        common = sorted(set(results[arm]) & set(separate))
        cells = []
        for set_name in sets:
            for metric in ("SAD", "Grad"):
                d = difference(*(seed_means({s: rows[s][set_name] for s in common}, metric)
                                 for rows in (results[arm], separate)))
                star = "*" if abs(d.paired) > 2 * d.paired_error else ""
                cells.append(f"{d.paired:+.4f} ± {d.paired_error:.4f}{star}")
        lines.append(f"| {arm.lambda_matting:g} | " + " | ".join(cells) + " |")
    return lines + [""]


def harmonizer_scores(export: Path, cases: list[HarmonizationCase], cache: Path) -> list[dict]:
    """Per-row fMSE / MSE / PSNR of the export's harmonizer (true alpha), kept in ``cache``."""
    if cache.exists():
        stored = json.loads(cache.read_text())
        if [row["id"] for row in stored] == [case.case_id for case in cases]:
            return stored
    rows = evaluate_harmonization(pipeline_harmonizer(HaMaGANPipeline.from_pretrained(str(export))), cases,
                                  export.name).rows
    cache.write_text(json.dumps(rows, default=float))
    return rows


def harmonizer_section(start: Path, runs: dict[Arm, dict[int, Path]], cases: list[HarmonizationCase], out: Path,
                       figure: Path, shown: int = 6) -> list[str]:
    """G_h's fMSE per arm over the dataset's test rows (mean ± std over seeds) and a labelled grid of each arm's
    first seed (the paper's Fig. 5): composite, the starting G_h, each arm, the real image."""
    lines = [f"G_h on the HMH test rows of its direction ({len(cases)} rows, true alpha; lower is better):", "",
             "| arm | seeds | fMSE | MSE | PSNR |", "|---|---|---|---|---|"]
    start_rows = harmonizer_scores(start, cases, out / "start-harmonizer.json")
    lines.append("| start (the generators every arm starts from) | - | "
                 + " | ".join(f"{np.mean([r[k] for r in start_rows]):.1f}" for k in ("fMSE", "MSE"))
                 + f" | {np.mean([r['PSNR'] for r in start_rows]):.2f} |")
    shown_runs = {"start": start}
    for arm, folders in runs.items():
        if not folders:
            continue
        scores = {seed: harmonizer_scores(folder / "final", cases, folder / "harmonizer.json")
                  for seed, folder in folders.items()}
        cells = [cell(seed_means(scores, k), 1 if k != "PSNR" else 2) for k in ("fMSE", "MSE", "PSNR")]
        lines.append(f"| {arm_name(arm)} | {len(scores)} | " + " | ".join(cells) + " |")
        first = min(folders)
        shown_runs[f"{arm.label} s{first}"] = folders[first] / "final"
    pipes = {label: pipeline_harmonizer(HaMaGANPipeline.from_pretrained(str(path)))
             for label, path in shown_runs.items()}
    labels = ["composite", *pipes, "real"]
    rows = []
    for case in cases[:: max(1, len(cases) // shown)][:shown]:
        outputs = [case.composite, *(method(case) for method in pipes.values()), case.real]
        rows.append(np.concatenate([tile(image) for image in outputs], axis=1))
    header = Image.new("RGB", (rows[0].shape[1], 24), "white")
    draw = ImageDraw.Draw(header)
    for index, label in enumerate(labels):
        draw.text((index * TILE + 4, 6), label[:26], fill="black", font=ImageFont.load_default())
    Image.fromarray(np.concatenate([np.asarray(header), *rows])).save(figure, quality=88)
    return lines + ["", f"`{figure.name}`: " + ", ".join(labels) + " (the arms' first seed).", ""]


TILE = 170


def tile(image: np.ndarray) -> np.ndarray:
    """The image scaled to ``TILE`` pixels high and centre-cropped square."""
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = np.round(np.clip(image[top:top + side, left:left + side], 0, 1) * 255).astype(np.uint8)
    return np.asarray(Image.fromarray(square).resize((TILE, TILE), Image.BICUBIC))


def write_csv(path: Path, results: dict[Arm, dict], start: dict) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["arm", "lambda1", "lambda2", "seed", "set", "image", *METRICS])
        runs = [("start", "", "", "", start)]
        runs += [(arm.label, arm.lambda_matting, arm.lambda_harmonization, seed, rows)
                 for arm, per_seed in results.items() for seed, rows in per_seed.items()]
        for label, l1, l2, seed, rows in runs:
            for set_name, images in rows.items():
                for row in images:
                    writer.writerow([label, l1, l2, seed, set_name, row["id"], *(f"{row[m]:.6f}" for m in METRICS)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", type=int, nargs="+", default=[1, 2], choices=(1, 2))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--base", default=str(ROOT / "train/configs/trials/ablation.yaml"))
    parser.add_argument("--out", default=str(ROOT / "runs/ablation"))
    parser.add_argument("--report", default=str(ROOT / "benchmarks/joint_vs_separate"))
    parser.add_argument("--count", type=int, default=96, help="images in each held-out engine set")
    parser.add_argument("--joint", action="append", default=[], help="KEY=VALUE of the joint stage (a variant)")
    parser.add_argument("--no-train", action="store_true", help="report only the runs already exported")
    args = parser.parse_args()
    base, out, report = Path(args.base), Path(args.out), Path(args.report)
    settings = parse_settings(args.joint)
    config = load_config(base)
    arms = list(dict.fromkeys(arm for t in args.table for arm in table_arms(t)))
    runs = [(arm, seed, run_folder(out, arm, seed)) for seed in args.seeds for arm in arms]
    for arm, seed, folder in runs:  # a changed recipe is refused before anything runs
        check_recipe(arm_config(base, arm, seed, folder, settings), folder)
    sets = evaluation_sets(config.datasets[config.stages[0].direction], args.count)
    results: dict[Arm, dict[int, dict]] = {arm: {} for arm in arms}
    folders: dict[str, Path] = {}
    run_folders: dict[Arm, dict[int, Path]] = {}
    for arm, seed, folder in runs:  # each run is evaluated as soon as it is trained: nothing competes for the CPU
        if not args.no_train:
            train_arm(base, arm, seed, folder, settings)
        if (folder / "final/config.json").exists():
            results[arm][seed] = evaluate_export(folder / "final", sets, folder / "evaluation.json")
            folders[f"{arm.label} seed {seed}"] = folder
            run_folders.setdefault(arm, {})[seed] = folder
            print(f"ablation: {arm.label} seed {seed} evaluated", file=sys.stderr)
    out.mkdir(parents=True, exist_ok=True)
    start = evaluate_export(Path(config.init_from), sets, out / "start-evaluation.json")
    command = "python train/ablation.py " + " ".join(shlex.quote(a) for a in sys.argv[1:] if a != "--no-train")
    lines = ["# Joint against separate training of G_m (paper Tables 1 and 2)", "",
             f"Made by `LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 {command}` from "
             f"`{base.relative_to(ROOT) if base.is_relative_to(ROOT) else base}`"
             + (f" with {settings}" if settings else "") + ". Every arm starts from the same generators "
             f"({config.init_from}) and sees the same samples for a seed ({config.stages[0].steps} steps of batch "
             f"{config.batch_size} at {config.size}); cells are mean ± std over seeds of each run's mean over the "
             f"set. Per-image values: `{report.name}.csv`; the critic's scores: `{report.name}-critic.png`.", ""]
    separate, joint = results.get(SEPARATE, {}), results.get(Arm(0.02, 0.01), {})
    for number in args.table:
        lines += [f"## Table {number}", ""]
        for set_name, cases in sets.items():
            lines += table(f"Table {number}", table_arms(number), results, start, set_name, len(cases))
        lines += differences(joint, separate, sets) if number == 1 else lambda_differences(results, sets)
    direction = config.stages[0].direction
    cases = [case for case in load_harmonization_cases(Path(config.datasets[direction]), "test")
             if case.direction == direction]
    lines += ["## The harmonizer (the paper's Fig. 5: lambda2 = 0 in the separate arm, 0.01 in the joint ones)", "",
              *harmonizer_section(Path(config.init_from), run_folders, cases, out,
                                  report.with_name(report.name + "-harmonizer.jpg"))]
    lines += ["## The critic's health", "", *critic_health(folders, report.with_name(report.name + "-critic.png"))]
    report.with_suffix(".md").write_text("\n".join(lines))
    write_csv(report.with_suffix(".csv"), results, start)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
