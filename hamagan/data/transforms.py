"""The HMH transforms (paper section 2.2) that make a layer disharmonious: Reinhard colour transfer towards
another photo, an illumination change, or MSRCR. Used by the dataset builder and by training's fresh
composites alike."""

from __future__ import annotations

import numpy as np

from hamagan.color import change_illumination, msrcr, reinhard_transfer

TRANSFORMS = ("reinhard", "illumination", "msrcr")


def random_transform(rng: np.random.Generator, targets: list[str], color_space: str = "lalphabeta") -> dict:
    """Pick one transform and its parameters (stored with a row); Reinhard only when there are ``targets``
    (ids of the photos it may transfer towards)."""
    names = [t for t in TRANSFORMS if t != "reinhard" or targets]
    name = str(rng.choice(names))
    if name == "reinhard":
        return {"name": name, "target_id": str(rng.choice(targets)), "color_space": color_space}
    if name == "illumination":
        return {"name": name, "offset": round(float(rng.uniform(-100, 200)), 3)}
    return {"name": name, "sigmas": [15, 80, 250], "alpha": 125.0, "beta": 46.0, "gain": 192.0, "offset": -30.0}


def apply_transform(layer: np.ndarray, params: dict, target: np.ndarray | None, fast: bool = False) -> np.ndarray:
    """The transform ``params`` names on ``layer`` (HxWx3 in [0, 1]); ``target`` is Reinhard's photo;
    ``fast`` runs MSRCR's wide blurs downscaled."""
    if params["name"] == "reinhard":
        return reinhard_transfer(layer, target, params["color_space"])
    if params["name"] == "illumination":
        return change_illumination(layer, params["offset"])
    return msrcr(layer, fast=fast)
