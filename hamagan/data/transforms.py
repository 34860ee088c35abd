"""The transforms that make a layer disharmonious.

- ``TRANSFORMS``: the HMH dataset's (paper section 2.2): Reinhard colour transfer towards another photo, an
  illumination change, or MSRCR. Used by the dataset builder and by training's fresh composites alike.
- ``CAMERA_TRANSFORMS``: what real composites show besides: a white balance, exposure with contrast and
  saturation, a tone curve, and a soft gradient of gains across the layer. The harmonization engine and its
  held-out sets draw from both.
"""

from __future__ import annotations

import numpy as np

from hamagan.color import (
    change_illumination,
    exposure_contrast,
    gradient_gain,
    msrcr,
    reinhard_transfer,
    tone_curve,
    white_balance,
)

TRANSFORMS = ("reinhard", "illumination", "msrcr")
CAMERA_TRANSFORMS = ("white_balance", "exposure", "tone_curve", "gradient")
ALL_TRANSFORMS = TRANSFORMS + CAMERA_TRANSFORMS


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 4) for v in values]


def _camera_params(rng: np.random.Generator, name: str) -> dict:
    if name == "white_balance":  # a colour cast: gains with a geometric mean of 1
        gains = np.exp(rng.normal(0.0, 0.2, 3))
        return {"name": name, "gains": _rounded(gains / np.exp(np.log(gains).mean()))}
    if name == "exposure":
        return {"name": name, "stops": round(float(rng.uniform(-1.5, 1.5)), 4),
                "contrast": round(float(np.exp(rng.uniform(np.log(0.6), np.log(1.6)))), 4),
                "saturation": round(float(np.exp(rng.uniform(np.log(0.3), np.log(1.8)))), 4)}
    if name == "tone_curve":
        return {"name": name, "gamma": round(float(np.exp(rng.uniform(np.log(0.5), np.log(2.0)))), 4),
                "s_curve": round(float(rng.uniform(-0.6, 0.6)), 4)}
    return {"name": name, "start": _rounded(np.exp(rng.uniform(-0.4, 0.4, 3))),
            "end": _rounded(np.exp(rng.uniform(-0.4, 0.4, 3))), "angle": round(float(rng.uniform(0, 2 * np.pi)), 4)}


def random_transform(rng: np.random.Generator, targets: list[str], color_space: str = "lalphabeta",
                     names: tuple[str, ...] = TRANSFORMS) -> dict:
    """Pick one of ``names`` and its parameters (stored with a row); Reinhard only when there are ``targets``
    (ids of the photos it may transfer towards)."""
    unknown = set(names) - set(ALL_TRANSFORMS)
    if unknown:
        raise ValueError(f"unknown transforms {sorted(unknown)}; choose from {ALL_TRANSFORMS}")
    names = [t for t in names if t != "reinhard" or targets]
    name = str(rng.choice(names))
    if name == "reinhard":
        return {"name": name, "target_id": str(rng.choice(targets)), "color_space": color_space}
    if name == "illumination":
        return {"name": name, "offset": round(float(rng.uniform(-100, 200)), 3)}
    if name == "msrcr":
        return {"name": name, "sigmas": [15, 80, 250], "alpha": 125.0, "beta": 46.0, "gain": 192.0, "offset": -30.0}
    return _camera_params(rng, name)


def apply_transform(layer: np.ndarray, params: dict, target: np.ndarray | None, fast: bool = False) -> np.ndarray:
    """The transform ``params`` names on ``layer`` (HxWx3 in [0, 1]); ``target`` is Reinhard's photo;
    ``fast`` runs MSRCR's wide blurs downscaled."""
    name = params["name"]
    if name == "reinhard":
        return reinhard_transfer(layer, target, params["color_space"])
    if name == "illumination":
        return change_illumination(layer, params["offset"])
    if name == "msrcr":
        return msrcr(layer, fast=fast)
    if name == "white_balance":
        return white_balance(layer, np.array(params["gains"]))
    if name == "exposure":
        return exposure_contrast(layer, params["stops"], params["contrast"], params["saturation"])
    if name == "tone_curve":
        return tone_curve(layer, params["gamma"], params["s_curve"])
    if name == "gradient":
        return gradient_gain(layer, np.array(params["start"]), np.array(params["end"]), params["angle"])
    raise ValueError(f"unknown transform {name!r}; choose from {ALL_TRANSFORMS}")
