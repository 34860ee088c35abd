"""What the Compose tab does with uploads: checks them, shows them, and turns brush strokes into a trimap.

The brush paints on a transparent layer over the portrait with its automatic trimap blended in; the trimap
used is the automatic one with the painted pixels replaced (white person, black background, grey unknown),
so what is not painted stays exactly as the segmenter made it.
"""

from __future__ import annotations

import functools

import gradio as gr
import numpy as np
from PIL import Image

from hamagan.images import ImageError, open_image, to_array, to_pil
from hamagan.trimap import AutoTrimap, auto_trimap

MAX_PIXELS = 25_000_000
EDITOR_SIDE = 1280  # the brush editor shows the portrait at most this large; strokes are scaled back up
PREVIEW_SIDE = 768


def check_upload(path: str | None, what: str) -> None:
    """Refuse, with a message, an upload that is missing, not an image, or too large (header only)."""
    if not path:
        raise gr.Error(f"upload a {what} first")
    try:
        with Image.open(path) as probe:
            pixels = probe.width * probe.height
    except (OSError, ValueError, Image.DecompressionBombError):
        raise gr.Error(f"the {what} is not a readable image file") from None
    if pixels > MAX_PIXELS:
        raise gr.Error(f"the {what} has {pixels / 1e6:.0f} megapixels; the limit is {MAX_PIXELS / 1e6:.0f}")


def read_upload(path: str | None, what: str) -> Image.Image:
    """An uploaded file as a decoded RGB image (EXIF orientation applied), with clear errors."""
    check_upload(path, what)
    try:
        image = open_image(path)
        return image if image.mode == "RGB" else to_pil(to_array(image, channels=3))
    except ImageError as exc:
        raise gr.Error(f"the {what} cannot be read: {exc}") from None


def thumbnail(image: Image.Image, side: int = PREVIEW_SIDE) -> Image.Image:
    """A copy at most ``side`` pixels on its long side."""
    small = image.copy()
    small.thumbnail((side, side))
    return small


@functools.lru_cache(maxsize=8)
def automatic_trimap(path: str, people: str = "all") -> AutoTrimap:
    """The automatic trimap of an uploaded portrait (uploads have paths of their own, so the path is the key)."""
    return auto_trimap(read_upload(path, "portrait"), people=people)


def trimap_overlay(image: Image.Image, trimap: np.ndarray) -> Image.Image:
    """The portrait with its trimap blended in (person bright, background dark, unknown grey), editor-sized."""
    shown = thumbnail(image, EDITOR_SIDE)
    levels = Image.fromarray(np.round(trimap * 255).astype(np.uint8)).resize(shown.size, Image.NEAREST)
    return Image.blend(shown, levels.convert("RGB"), 0.55)


def editor_value(path: str | None, people: str = "all") -> dict:
    """The brush editor's value for a portrait: its overlay as the background and one empty layer to paint."""
    result = automatic_trimap(path, people) if path else None
    if result is None:
        raise gr.Error("upload a portrait first")
    gr.Info(result.message)
    return {"background": trimap_overlay(read_upload(path, "portrait"), result.trimap), "layers": [],
            "composite": None}


def check_editor(value: dict | None) -> None:
    """Refuse a brush editor that was never started from the automatic trimap."""
    if not value or value.get("background") is None:
        raise gr.Error("draw mode: press 'Start from the automatic trimap' and paint on it first")


def painted_trimap(value: dict | None, automatic: np.ndarray) -> np.ndarray:
    """The automatic trimap with the editor's painted pixels replaced by their snapped level."""
    check_editor(value)
    trimap = automatic.copy()
    height, width = automatic.shape
    for layer in value.get("layers") or []:
        layer = np.asarray(layer)
        if layer.ndim != 3 or layer.shape[2] != 4:
            continue
        if layer.shape[:2] != automatic.shape:
            layer = np.asarray(Image.fromarray(layer).resize((width, height), Image.NEAREST))
        painted = layer[..., 3] >= 128
        level = layer[..., :3].astype(np.float32).mean(axis=2)
        snapped = np.where(level < 64, 0.0, np.where(level > 191, 1.0, 0.5)).astype(np.float32)
        trimap[painted] = snapped[painted]
    return trimap


def trimap_picture(trimap: np.ndarray) -> Image.Image:
    """A trimap as an 8-bit picture (0 / 128 / 255)."""
    return Image.fromarray(np.round(trimap * 255).astype(np.uint8))
