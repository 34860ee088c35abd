"""The person finder and its automatic trimap: proxy scenes, false persons, matting with it, and speed.

    python -m hamagan.data.photo_pool     # once: the held-out person-free photos (Debian packages)
    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 python -m benchmarks.auto_trimap --split test

1. Proxy scenes (``hamagan.data.person_scenes``: the 15 bundled portraits cut out by their alpha, placed at
   3-30% of the frame, by the frame's edge and in pairs, over half of the bundled photos; plus the 15
   portraits as they are): the pipeline's alpha > 0.5 against the true alpha > 0.5 (IoU; a photo without a
   cut-out counts 0), per kind. The finder's settings were chosen on ``--split validation``; ``test``
   uses the other half of the photos and another seed. Per-image values go to ``auto_trimap_<split>.csv``.
   People with real faces (the P3M portraits' faces are blurred, so a face never confirms them): each person
   the finder finds and confirms in the people photos, cut out by its own mask, placed at 4-20% of the frame
   and by its edge over the split's half of the bundled photos; found with and without the close pose look
   that a person no face or pose confirms must pass (``FinderSettings.min_close_pose``).
   Composites over the photo pool (``--composites`` alone): 160 scenes of one person at 5-50% of the frame, one
   by its edge, or two, over the pool's person-free photos (validation: its training and validation splits, the
   twelve non-test portraits and the training and validation people photos' real-face cut-outs; test: the test
   splits and the three test portraits); the finder's mask with the colour vote (shipped,
   :mod:`hamagan.segmentation.agreement`) and as the union of each person's masks. Per scene in
   ``auto_trimap_pool_<split>.csv``.
2. False persons: the 40 bundled photos and the photo pool's first 36 person-free photos (both seen while
   choosing the settings: the pool was meant as a held-out test, and its first run, 8 of 37 false
   persons, is what made a selfie region need a face or a pose detection's head), and the pool's later
   person-free photos, which no setting has seen (``photo_pool.SEEN_BY_FINDER``); and the pool's set-aside
   photos (animals and monuments, 92), whose training split is looked at and whose other splits are only counted.
3. People photos without masks (the bundled astronaut and the pool's): people found. A group of twelve
   small people with real faces (``person_scenes.group_scene``) at four sizes: faces on the mask with and
   without the group look, and the finder's milliseconds.
4. Matting with the automatic trimap, as the pipeline makes it (``pipe(image)``), on the
   three test portraits (``--split validation``: the twelve others), at the reference recipe's long side 512, over
   the whole image, against the 10-px ground-truth trimap.
5. Matting with the automatic trimap on people G_m never trained on: the HMH validation portrait
   (``--split test``: the three test portraits) at 15-50% of the frame over person-free held-out photos (G_m's
   recipe's held-out photos; ``test``: the photo pool's test split; of the pool only its photos with nobody in
   them, and of all only those where the finder finds no one), at long side 512: whole-image SAD against the true
   alpha, beside the SAD with the 10-px trimap of that alpha. Per scene in ``auto_trimap_heldout_<split>.csv``.
6. Seconds of the pipeline's trimap stage at 1920x1080 with one and two people and with no one (where the tile
   look runs), and its parts, beside this VM's matmul rate at the time (``--speed``: this section alone).

``--matting`` runs sections 4 and 5 alone; ``--checkpoint`` scores another pipeline folder than the bundled model.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import cv2
import numpy as np
import yaml

from benchmarks.rows import write_rows
from benchmarks.timing import matmul_gflops, median_seconds
from hamagan import HaMaGANPipeline
from hamagan.data.person_scenes import Cutout, PersonScene, group_scene, load_cutout, make_scene, person_scenes, place
from hamagan.data.photo_pool import SEEN_BY_FINDER, default_cache, photo_split, pool_photos
from hamagan.evaluation import load_matting_case
from hamagan.images import array_to_tensor, tensor_to_array, to_array
from hamagan.metrics import matting_metrics
from hamagan.samples import BARE_PORTRAIT, TEST_PORTRAITS, background_paths, portrait_ids, portrait_paths
from hamagan.segmentation import (
    FinderSettings,
    default_finder,
    find_people,
    group_people,
    paint_people,
    people_probability,
)
from hamagan.segmentation.detector import detection_views
from hamagan.training.config import load_config
from hamagan.training.loaders import photo_paths
from hamagan.training.samples import load_backgrounds
from hamagan.trimap import WORKING_SIDE, auto_trimap, band_trimap, trimap_from_alpha, working_copy

HERE = Path(__file__).resolve().parent
VALIDATION_PORTRAIT = "p_bac3c1ff"  # the HMH datasets' validation portrait (hamagan dataset build's seeded split)
RELEASE = HERE.parent / "releases/default.yaml"  # names the recipe of the bundled G_m, whose held-out photos we use


def iou(mask: np.ndarray, truth: np.ndarray) -> float:
    union = np.count_nonzero(mask | truth)
    return float(np.count_nonzero(mask & truth) / union) if union else 1.0


def person_free(photos: list[np.ndarray]) -> list[np.ndarray]:
    """The photos in which the finder finds no one (so that the only person in a scene is the one placed)."""
    return [p for p in photos if not find_people(working_copy(p)[0]).found]


def at_long_side_512(scene: PersonScene) -> tuple[np.ndarray, np.ndarray]:
    """A scene's image (float32) and alpha (float64) at the reference recipe's long side 512."""
    scale = 512 / max(scene.image.shape[:2])
    size = (round(scene.image.shape[1] * scale), round(scene.image.shape[0] * scale))
    return (cv2.resize(scene.image, size, interpolation=cv2.INTER_AREA).astype(np.float32),
            cv2.resize(scene.alpha, size, interpolation=cv2.INTER_AREA).astype(np.float64))


def snapped(alpha: np.ndarray) -> np.ndarray:
    """``alpha`` with resampling's near-0 and near-1 values (within 0.02) set to 0 and 1."""
    return np.where(alpha > 0.98, 1.0, np.where(alpha < 0.02, 0.0, alpha))


def scenes_of(split: str) -> list[PersonScene]:
    scenes = person_scenes(split, seed={"validation": 0, "test": 1}[split])
    for pid in portrait_ids():
        image, alpha = (to_array(p, channels=c) for p, c in zip(portrait_paths(pid), (3, 1), strict=True))
        scenes.append(PersonScene(image, alpha, 1, (), f"photo {pid}"))
    return scenes


def proxy_scenes(pipe: HaMaGANPipeline, split: str) -> list[str]:
    rows = []
    for scene in scenes_of(split):
        out = pipe(scene.image)
        found = out.alpha.max() > 0.5
        rows.append({"scene": scene.name, "kind": scene.name.split()[0], "found": found,
                     "iou": iou(out.alpha > 0.5, scene.alpha > 0.5) if found else 0.0,
                     "message": out.message})
    write_rows(HERE / f"auto_trimap_{split}.csv", rows)
    lines = [f"## Proxy scenes ({split}): IoU of the pipeline's alpha > 0.5 with the true alpha > 0.5", "",
             "| kind | scenes | mean IoU | median | without a cut-out |", "|---|---|---|---|---|"]
    for kind in dict.fromkeys(r["kind"] for r in rows):
        values = [r["iou"] for r in rows if r["kind"] == kind]
        lines.append(f"| {kind} | {len(values)} | {np.mean(values):.3f} | {np.median(values):.3f} | "
                     f"{sum(not r['found'] for r in rows if r['kind'] == kind)} |")
    values = [r["iou"] for r in rows]
    lines.append(f"| all | {len(values)} | **{np.mean(values):.3f}** | {np.median(values):.3f} | "
                 f"**{sum(not r['found'] for r in rows)}** ({sum(not r['found'] for r in rows) / len(rows):.1%}) |")
    return lines + ["", f"per scene: benchmarks/auto_trimap_{split}.csv", ""]


def false_persons() -> list[str]:
    lines = ["## False persons (photos with nobody in them)", ""]
    cache = default_cache()
    seen = [p for p in pool_photos("no-people") if p.relative_to(cache).as_posix() in SEEN_BY_FINDER]
    unseen = [p for p in pool_photos("no-people") if p.relative_to(cache).as_posix() not in SEEN_BY_FINDER]
    aside = pool_photos("set-aside")
    looked_at = [p for p in aside if photo_split(p.relative_to(cache).as_posix()) == "train"]
    sets = [("bundled photos (seen while choosing the settings)", background_paths(), True),
            (f"photo pool, first {len(seen)} (seen: see the docstring)", seen, True),
            ("photo pool, the rest (no setting was chosen on them; looked at on 2026-12-04)", unseen, True),
            ("set aside, its training split (GCompris's animals and monuments, looked at on 2026-12-06; Darknet's "
             "and Gradio's animals, 2026-12-07)", looked_at, True),
            ("set aside, its validation and test splits (counted, never looked at)",
             [p for p in aside if p not in looked_at], False)]
    for name, paths, named in sets:
        if not paths:
            lines.append(f"- {name}: not fetched (python -m hamagan.data.photo_pool)")
            continue
        wrong = [f"{p.parent.name}/{p.name}" for p in paths if auto_trimap(p).found]
        lines.append(f"- {name}: {len(wrong)} of {len(paths)} ({len(wrong) / len(paths):.1%})"
                     + (f" {wrong}" if named else ""))
    lines += ["", "## People photos without masks", ""]
    for path in [BARE_PORTRAIT, *pool_photos("people")]:
        lines.append(f"- {path.name}: {auto_trimap(path).message}")
    return lines + [""]


def real_face_cutouts() -> list[tuple[str, Cutout]]:
    """Each person that the finder finds and confirms, covering at least 8% of the frame, in the bundled
    astronaut and the pool's photos of people (long side 1024), cut out by the finder's own mask."""
    finder = default_finder()
    out = []
    for path in [BARE_PORTRAIT, *pool_photos("people")]:
        image = to_array(path)
        scale = 1024 / max(image.shape[:2])
        image = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)),
                           interpolation=cv2.INTER_AREA)
        for group in group_people(finder.people(image)):
            probability = people_probability(group, image.shape[:2])
            mask = probability > 0.5
            if mask.mean() < 0.08 or not finder.confirmed(image, group):
                continue
            rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
            box = slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)
            out.append((path.name, Cutout(image[box], probability[box], rows[-1] >= image.shape[0] - 2)))
    return out


def pool_composites(split: str, count: int = 160) -> list[str]:
    """People over the photo pool's person-free photos, as the finder paints them with the colour vote (shipped)
    and as the union of each person's masks; the finder's mask > 0.5 against the true alpha > 0.5."""
    cache = default_cache()
    splits = ("train", "validation") if split == "validation" else ("test",)
    photos = person_free([to_array(p, channels=3) for s in splits for p in pool_photos("no-people", split=s)])
    ids = TEST_PORTRAITS if split == "test" else [p for p in portrait_ids() if p not in TEST_PORTRAITS]
    people_splits = {p.name: photo_split(p.relative_to(cache).as_posix()) for p in pool_photos("people")}
    cutouts = [load_cutout(p) for p in ids]
    cutouts += [c for name, c in real_face_cutouts() if people_splits.get(name) in splits]
    rng = np.random.default_rng([{"validation": 0, "test": 1}[split], 36])
    rows = []
    for index in range(count):
        photo = photos[rng.integers(len(photos))]
        kind = str(rng.choice(["one", "edge", "two"], p=[0.6, 0.15, 0.25]))
        if kind == "two":
            pair = rng.choice(len(cutouts), 2, replace=False)
            scene = make_scene(photo, [cutouts[i] for i in pair], list(rng.uniform(0.04, 0.25, 2)), rng)
        else:
            scene = make_scene(photo, [cutouts[rng.integers(len(cutouts))]], [rng.uniform(0.05, 0.5)], rng,
                               cut=rng.uniform(0.2, 0.5) if kind == "edge" else 0.0)
        image, alpha = at_long_side_512(scene)
        truth = alpha > 0.5
        shipped = find_people(image)
        union = paint_people(image, group_people(shipped.people), None)
        rows.append({"scene": index, "kind": kind, "found": shipped.found,
                     "iou": iou(shipped.probability > 0.5, truth) if shipped.found else 0.0,
                     "iou_union": iou(union > 0.5, truth) if shipped.found else 0.0})
    write_rows(HERE / f"auto_trimap_pool_{split}.csv", rows)
    lines = [f"## Composites over the photo pool ({split}): {len(photos)} person-free photos, {len(cutouts)} people; "
             "the finder's mask > 0.5 against the true alpha > 0.5", "",
             "| kind | scenes | IoU, union of each person's masks | IoU, colour vote (shipped) | better / worse |",
             "|---|---|---|---|---|"]
    for kind in ("one", "edge", "two", "all"):
        chosen = [r for r in rows if kind in (r["kind"], "all")]
        before, after = (np.array([r[k] for r in chosen]) for k in ("iou_union", "iou"))
        lines.append(f"| {kind} | {len(chosen)} | {before.mean():.3f} | **{after.mean():.3f}** | "
                     f"{np.sum(after > before + 0.01)} / {np.sum(after < before - 0.01)} |")
    missed = sum(not r["found"] for r in rows)
    return lines + ["", f"without a cut-out: {missed} of {len(rows)}; "
                    f"per scene: benchmarks/auto_trimap_pool_{split}.csv", ""]


def real_faces(split: str) -> list[str]:
    """People with real faces (cut out of photos by the finder itself) at 4-20% of the frame and by its edge,
    at the pipeline's working size: found (the finder's mask against the pasted one, IoU > 0.5) with and without
    the close pose look, the mean IoU (no cut-out counts 0) and the scenes without a cut-out."""
    half = {"validation": 0, "test": 1}[split]
    photos = background_paths()[half::2]
    rng = np.random.default_rng([half, 7])
    loose = dataclasses.replace(default_finder(), settings=FinderSettings(min_close_pose=0.0))
    counts: dict[str, list[float]] = {}
    for name, cutout in real_face_cutouts():
        for kind, share, cut in (("4%", 0.04, 0.0), ("10%", 0.10, 0.0), ("20%", 0.20, 0.0),
                                 ("10-20%, by the edge", rng.uniform(0.10, 0.20), rng.uniform(0.33, 0.5))):
            photo = to_array(photos[rng.integers(len(photos))])
            scene = make_scene(photo, [cutout], [share], rng, cut=cut, name=name)
            image, _ = working_copy(scene.image)
            truth = cv2.resize(scene.alpha, image.shape[1::-1], interpolation=cv2.INTER_AREA) > 0.5
            found = [find_people(image, finder=f) for f in (loose, None)]
            overlaps = [iou(f.probability > 0.5, truth) if f.found else 0.0 for f in found]
            row = counts.setdefault(kind, [0, 0, 0, 0.0, 0])
            row[0] += 1
            row[1] += overlaps[0] > 0.5
            row[2] += overlaps[1] > 0.5
            row[3] += overlaps[1]
            row[4] += not found[1].found
    lines = [f"## People with real faces ({split}): the finder's own cut-outs of the people photos' confirmed people, "
             "placed over the bundled photos (at the pipeline's working size)", "",
             "| kind | scenes | found without the close pose look | found (shipped) | mean IoU | without a cut-out |",
             "|---|---|---|---|---|---|"]
    counts["all"] = list(np.sum(list(counts.values()), axis=0))
    for kind, (n, loose_found, found, total, missed) in counts.items():
        lines.append(f"| {kind} | {n:.0f} | {loose_found:.0f} | {found:.0f} | {total / n:.3f} | {missed:.0f} |")
    return lines + [""]


def groups() -> list[str]:
    lines = ["## A group of twelve small people (real faces; person_scenes.group_scene, 640x427)", "",
             "| photo side (face about a fifth) | without the group look: faces on the mask | found | ms | "
             "with it: faces on the mask | found | ms |", "|---|---|---|---|---|---|---|"]
    without = dataclasses.replace(default_finder(), settings=FinderSettings(group_look_below=0.0))
    for side in (64, 72, 80, 96):
        image, faces = group_scene(side)
        cells = [f"{side} px"]
        for finder in (without, default_finder()):
            people = find_people(image, finder=finder)
            cells += [f"{sum(bool(people.probability[y, x] > 0.5) for x, y in faces)} of {len(faces)}",
                      people.message.split(",")[0].split(";")[0],
                      f"{median_seconds(lambda f=finder, i=image: find_people(i, finder=f), 3) * 1000:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


def portrait_matting(pipe: HaMaGANPipeline, split: str) -> list[str]:
    """Whole-image SAD of the pipeline's alpha with its automatic trimap against the alpha from the 10-px
    ground-truth trimap: the three test portraits, or for validation the twelve others (those the finder misses
    count with an empty alpha)."""
    ids = TEST_PORTRAITS if split == "test" else [p for p in portrait_ids() if p not in TEST_PORTRAITS]
    lines = [f"## Matting on the {'three test' if split == 'test' else 'twelve non-test'} portraits (long side 512), "
             "whole image", "", "| portrait | mask IoU | SAD automatic | SAD 10-px trimap | ratio | note |",
             "|---|---|---|---|---|---|"]
    sums: dict[str, list[float]] = {"auto": [], "truth": [], "found": []}
    for portrait_id in ids:
        case = load_matting_case(portrait_id, long_side=512)
        image = case.image.astype(np.float32)
        whole = np.full(case.alpha.shape, 0.5)
        automatic = pipe(image)
        truth = tensor_to_array(pipe.matte(array_to_tensor(image), array_to_tensor(case.trimap.astype(np.float32))))
        sad = {name: matting_metrics(alpha.astype(np.float64), case.alpha, whole)["SAD"]
               for name, alpha in (("auto", automatic.alpha), ("truth", truth))}
        for name, value in sad.items():
            sums[name].append(value)
        mask_iou = iou(find_people(image).probability > 0.5, case.alpha > 0.5)
        sums["found"].append(automatic.alpha.max() > 0)
        note = "refined" if "refined" in automatic.message else "" if sums["found"][-1] else "no person found"
        lines.append(f"| {portrait_id} | {mask_iou:.3f} | {sad['auto']:.2f} | {sad['truth']:.2f} | "
                     f"{sad['auto'] / sad['truth']:.2f} | {note} |")
    found = np.array(sums.pop("found"))
    means = [("mean", np.ones_like(found))] + ([("mean over the portraits found", found)] if not found.all() else [])
    for label, chosen in means:
        auto, truth = (np.mean(np.array(sums[name])[chosen]) for name in ("auto", "truth"))
        lines.append(f"| {label} | | **{auto:.3f}** | {truth:.3f} | **{auto / truth:.2f}** | |")
    return lines + [""]


def held_out_people(split: str, count: int = 24) -> list[tuple[str, np.ndarray, np.ndarray, int]]:
    """Held-out portraits (the validation portrait, or the test three) placed at 15-50% of the frame over the
    split's person-free held-out photos, at long side 512: (portrait, image, alpha, photo index) per scene,
    seeded."""
    if split == "validation":
        recipe = yaml.safe_load(RELEASE.read_text())["networks"]["matting"]["recipe"]
        people = set(pool_photos("people"))
        paths = [p for p in photo_paths(load_config(HERE.parent / recipe))[1] if p not in people]
        portraits, photos = [VALIDATION_PORTRAIT], load_backgrounds(paths)
    else:
        portraits, photos = list(TEST_PORTRAITS), [to_array(path) for path in pool_photos("no-people", split="test")]
    photos = person_free([np.asarray(p, np.float32) / (255 if p.dtype == np.uint8 else 1) for p in photos])
    rng = np.random.default_rng([{"validation": 0, "test": 1}[split], 31])
    scenes = []
    for index in range(count):
        portrait = portraits[index % len(portraits)]
        scene = make_scene(photos[index % len(photos)], [load_cutout(portrait)], [rng.uniform(0.15, 0.5)], rng)
        image, alpha = at_long_side_512(scene)
        scenes.append((portrait, image, snapped(alpha), index % len(photos)))
    return scenes


def held_out_scenes(pipe: HaMaGANPipeline, split: str, count: int = 24) -> list[str]:
    """Section 5: held-out people over person-free held-out photos, matted through the automatic trimap."""
    rows, scenes = [], held_out_people(split, count)
    for index, (portrait, image, alpha, _) in enumerate(scenes):
        automatic = pipe(image)
        reference = tensor_to_array(pipe.matte(array_to_tensor(image),
                                               array_to_tensor(trimap_from_alpha(alpha, 10).astype(np.float32))))
        rows.append({"scene": index, "portrait": portrait, "found": bool(automatic.alpha.max() > 0.5),
                     "sad_automatic": float(np.abs(automatic.alpha - alpha).sum() / 1000),
                     "sad_10px": float(np.abs(reference - alpha).sum() / 1000), "message": automatic.message})
    write_rows(HERE / f"auto_trimap_heldout_{split}.csv", rows)
    found = [r for r in rows if r["found"]]
    auto, ten = (np.array([r[k] for r in found]) for k in ("sad_automatic", "sad_10px"))
    photos = len({photo for *_, photo in scenes})
    return [f"## Held-out people over {photos} person-free held-out photos ({split}; long side 512), whole image",
            "", "| scenes | found | SAD automatic, mean / median (found) | SAD 10-px trimap, mean | ratio of means |",
            "|---|---|---|---|---|",
            f"| {len(rows)} | {len(found)} | {auto.mean():.3f} / {np.median(auto):.3f} | {ten.mean():.3f} | "
            f"{auto.mean() / ten.mean():.2f} |", "", f"per scene: benchmarks/auto_trimap_heldout_{split}.csv", ""]


def _speed_row(pipe: HaMaGANPipeline, name: str, image: np.ndarray) -> str:
    finder = default_finder()
    tensor = array_to_tensor(image)
    pipe(tensor)
    stage = float(np.median([pipe(tensor).seconds["trimap"] for _ in range(10)]))
    height, width = image.shape[:2]
    scale = WORKING_SIDE / max(height, width)
    size = (round(width * scale), round(height * scale))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    people = find_people(small)
    views = detection_views(*small.shape[:2])
    regions = [d.body_region() for d in finder.detector(small, finder.settings.min_detection, views)]
    parts = [median_seconds(lambda: cv2.resize(image, size, interpolation=cv2.INTER_AREA), 10),
             median_seconds(lambda: finder.selfie(small), 10),
             median_seconds(lambda: finder.detector(small, finder.settings.min_detection, views), 10),
             median_seconds(lambda: [finder.body(small, r) for r in regions], 10),
             median_seconds(lambda: band_trimap(small, people.probability), 10)]
    asked = sum(c.face is not None for c in people.people)
    ms = [f"{p * 1000:.1f}" for p in parts]
    return (f"| {name} | {people.message} | **{stage * 1000:.0f} ms** | {ms[0]} | {ms[1]} | {ms[2]} | "
            f"{ms[3]} ({len(regions)}) | {asked} | {ms[4]} |")


def nobody_1080p() -> np.ndarray:
    """A bundled photo with no one in it (a stormy sky over fields) at 1920x1080: the finder's every look runs."""
    storm = next(p for p in background_paths() if p.name == "mate-Storm.jpg")
    return cv2.resize(to_array(storm), (1920, 1080), interpolation=cv2.INTER_AREA)


def two_people_1080p() -> np.ndarray:
    """Two bundled portraits, 12% of the frame each, over a bundled photo at 1920x1080."""
    image = cv2.resize(to_array(background_paths()[16]), (1920, 1080), interpolation=cv2.INTER_AREA)
    alpha = np.zeros(image.shape[:2], np.float32)
    rng = np.random.default_rng(0)
    for portrait_id, centre in (("p_819ea202", 0.3), ("p_bac3c1ff", 0.7)):
        place(image, alpha, load_cutout(portrait_id), 0.12, centre, rng)
    return image


def speed(pipe: HaMaGANPipeline) -> list[str]:
    one = to_array(portrait_paths(TEST_PORTRAITS[0])[0])  # 1920x1080
    pair = two_people_1080p()
    return [f"## Seconds at 1920x1080 (median of 10; the finder works at long side {WORKING_SIDE}; this VM's fp32 "
            f"matmul now: {matmul_gflops():.0f} GFLOP/s)", "",
            "| photo | found | pipeline trimap stage | working copy | first look | detector | bodies (regions) | "
            "faces asked | band |", "|---|---|---|---|---|---|---|---|---|",
            _speed_row(pipe, "one person", one), _speed_row(pipe, "two people", pair),
            _speed_row(pipe, "no one", nobody_1080p()), ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["validation", "test"], default="validation")
    parser.add_argument("--speed", action="store_true", help="only the seconds at 1920x1080")
    parser.add_argument("--matting", action="store_true", help="only the matting with the automatic trimap")
    parser.add_argument("--composites", action="store_true", help="only the composites over the photo pool")
    parser.add_argument("--checkpoint", help="a pipeline folder to score instead of the bundled model")
    args = parser.parse_args()
    pipe = HaMaGANPipeline.from_pretrained(args.checkpoint) if args.checkpoint else HaMaGANPipeline.from_pretrained()
    matting = [lambda: portrait_matting(pipe, args.split), lambda: held_out_scenes(pipe, args.split)]
    sections = matting if args.matting else [lambda: speed(pipe)]
    if args.composites:
        sections = [lambda: pool_composites(args.split)]
    if not (args.speed or args.matting or args.composites):
        sections = [lambda: proxy_scenes(pipe, args.split), lambda: pool_composites(args.split),
                    lambda: real_faces(args.split), false_persons, groups,
                    *matting, *sections]
    for section in sections:
        print("\n".join(section()), flush=True)


if __name__ == "__main__":
    main()
