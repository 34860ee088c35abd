"""Issue 22's false persons: how MoveNet's multi-person pose model, as a check on people whom no face or strong pose
confirms, trades false persons against lost people (the choice of ``FinderSettings.min_multipose``).

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 python -m benchmarks.multipose_cue  # about 5 min

MoveNet MultiPose Lightning (:mod:`hamagan.segmentation.multipose`; converted from the npm registry by
tools/tfjs_to_tflite.py) sees the finder's working copy letterboxed to 256x256 and returns up to six people, each
a score and 17 keypoints. Each person the finder keeps without the check gets the best score of a MoveNet pose
lying on their mask (:meth:`Pose.lies_on`). For each threshold, a person is kept as before where a face (detector
and mesh) or a pose detection of ``strong_detection`` confirms them, else only where that score reaches the
threshold; the tables count what that leaves in the finder's sets (the photo pool's, and the proxy scenes of
validation, whose bundled portraits have blurred faces).
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from benchmarks.auto_trimap import scenes_of
from benchmarks.timing import median_seconds
from hamagan.data.photo_pool import SEEN_BY_FINDER, default_cache, photo_split, pool_photos
from hamagan.samples import BARE_PORTRAIT, background_paths
from hamagan.segmentation import PersonFinder, default_finder, find_people, group_people, people_probability
from hamagan.segmentation.multipose import best_score_on
from hamagan.segmentation.people import detected
from hamagan.trimap import working_copy

THRESHOLDS = (0.15, 0.2, 0.25, 0.3)


def without_check() -> PersonFinder:
    """The shipped finder (its models shared) without MoveNet's check."""
    finder = default_finder()
    return dataclasses.replace(finder, settings=dataclasses.replace(finder.settings, min_multipose=None))


def kept_people(image: np.ndarray, finder: PersonFinder) -> list[tuple[float, bool]]:
    """Each person ``finder`` keeps: MoveNet's score on them, and whether a face or a strong pose detection
    confirms them."""
    poses = finder.multipose(image)
    return [(best_score_on(poses, people_probability(group, image.shape[:2]) > 0.5),
             detected(group, finder.settings.strong_detection) or finder.has_face(image, group))
            for group in group_people(find_people(image, finder=finder).people)]


def table(sets: dict[str, list[list[tuple[float, bool]]]], people_sets: set[str]) -> list[str]:
    lines = ["| set | photos | " + " | ".join(["now"] + [f"MoveNet >= {t}" for t in THRESHOLDS]) + " |",
             "|---|---|" + "---|" * (1 + len(THRESHOLDS))]
    for name, photos in sets.items():
        cells = []
        for threshold in (0.0, *THRESHOLDS):
            kept = [[p for p in photo if p[1] or p[0] >= threshold] for photo in photos]
            if name in people_sets:  # photos left without a cut-out, and people dropped
                dropped = sum(len(p) - len(k) for p, k in zip(photos, kept, strict=True))
                cells.append(f"{sum(not k for k in kept)} / {dropped}")
            else:  # false persons left
                cells.append(f"{sum(bool(k) for k in kept)}")
        lines.append(f"| {name} | {len(photos)} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    finder = without_check()
    cache = default_cache()
    free = pool_photos("no-people")
    aside = pool_photos("set-aside")
    in_training = {p for p in aside if photo_split(p.relative_to(cache).as_posix()) == "train"}
    paths = {"bundled photos": background_paths(),
             "pool, seen": [p for p in free if p.relative_to(cache).as_posix() in SEEN_BY_FINDER],
             "pool, unseen": [p for p in free if p.relative_to(cache).as_posix() not in SEEN_BY_FINDER],
             "set aside, training split": sorted(in_training),
             "set aside, the rest": [p for p in aside if p not in in_training],
             "people photos": [BARE_PORTRAIT, *pool_photos("people")]}
    sets = {name: [kept_people(working_copy(p)[0], finder) for p in group] for name, group in paths.items()}
    scenes = scenes_of("validation")  # the proxy scenes, then each bundled portrait as it is ("photo <id>")
    as_they_are = [s.name.startswith("photo ") for s in scenes]
    sets["proxy scenes, validation"] = [kept_people(working_copy(s.image)[0], finder)
                                        for s, whole in zip(scenes, as_they_are, strict=True) if not whole]
    sets["bundled portraits as they are"] = [kept_people(working_copy(s.image)[0], finder)
                                             for s, whole in zip(scenes, as_they_are, strict=True) if whole]
    people_sets = {"people photos", "proxy scenes, validation", "bundled portraits as they are"}
    print("## MoveNet MultiPose as a check on people no face or strong pose confirms", "")
    print("Person-free sets: photos with a false person left. People sets: photos left without a cut-out / people "
          "dropped.", "")
    print("\n".join(table(sets, people_sets)), "")
    image = working_copy(background_paths()[0])[0]
    print(f"MoveNet: {median_seconds(lambda: finder.multipose(image), 10) * 1000:.1f} ms a photo")
    for name in ("people photos",):
        low = [(p.name, [round(s, 2) for s, sure in found if not sure])
               for p, found in zip(paths[name], sets[name], strict=True)]
        print(f"{name}, unconfirmed people's scores:", [x for x in low if x[1]])


if __name__ == "__main__":
    main()
