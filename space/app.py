"""The Gradio app: Compose (portrait on a new background, harmonized), Rate (the MOS study), Results.

Offline by default: analytics off, system fonts (no web fonts), the bundled model and study, ratings in
a local SQLite file. Ratings reach a Hub dataset repo only when HAMAGAN_RATINGS_REPO and HF_TOKEN are set.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import tempfile  # noqa: E402
import threading  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from hamagan import samples  # noqa: E402
from hamagan.images import ImageError, open_image, to_array, to_pil  # noqa: E402
from hamagan.pipeline import STAGES, HaMaGANPipeline  # noqa: E402
from hamagan.plots import bar_chart  # noqa: E402
from hamagan.render import cutout, random_background, write_png  # noqa: E402
from hamagan.trimap import auto_trimap  # noqa: E402
from space.ratings import HubSync, RatingError, RatingStore, consistency, summarize  # noqa: E402
from space.study import BUNDLED_STUDY, QUESTION, Study  # noqa: E402

MAX_PIXELS = 25_000_000
# One pipeline call at a time: the networks use every core, so two at once only slow each other, while a
# second compose can read its upload and write its results meanwhile (the event's concurrency limit is 2).
NETWORK_LOCK = threading.Lock()
FAST_PNG = 1  # zlib level: a 1080p result in about 0.1 s, against 0.5 s at PIL's default of 6
DEFAULT_DATABASE = Path(__file__).resolve().parent / "data" / "ratings.sqlite"
RANDOM = "random (the paper's protocol)"
UPLOADED = "my upload"
TRIMAP_MODES = ("automatic", "draw (brush on the automatic trimap)", "upload")
BRUSH = gr.Brush(colors=["#ffffff", "#000000", "#808080"], color_mode="fixed", default_size=12)
THEME = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                          font_mono=["ui-monospace", "monospace"])


@dataclass
class Services:
    pipe: HaMaGANPipeline
    store: RatingStore
    study: Study
    sync: HubSync | None = None


def read_upload(path: str | None, what: str) -> Image.Image:
    """An uploaded file as a decoded RGB image (EXIF orientation applied), with clear errors (not an image,
    too large)."""
    if not path:
        raise gr.Error(f"upload a {what} first")
    try:
        with Image.open(path) as probe:
            pixels = probe.width * probe.height
    except (OSError, ValueError, Image.DecompressionBombError):
        raise gr.Error(f"the {what} is not a readable image file") from None
    if pixels > MAX_PIXELS:
        raise gr.Error(f"the {what} has {pixels / 1e6:.0f} megapixels; the limit is {MAX_PIXELS / 1e6:.0f}")
    try:
        image = open_image(path)
        return image if image.mode == "RGB" else to_pil(to_array(image, channels=3))
    except ImageError as exc:
        raise gr.Error(f"the {what} cannot be read: {exc}") from None


def trimap_layer(trimap: np.ndarray) -> np.ndarray:
    """A trimap as a half-transparent RGBA layer for the brush editor."""
    grey = np.round(trimap * 255).astype(np.uint8)
    return np.dstack([grey, grey, grey, np.full_like(grey, 160)])


def decode_editor(value: dict | None, shape: tuple[int, int]) -> np.ndarray:
    """The edited trimap: every layer's painted pixels, snapped to background / unknown / foreground."""
    if not value or not value.get("layers"):
        raise gr.Error("draw mode: press 'Start from the automatic trimap' and paint on it first")
    trimap = np.full(shape, 0.5, np.float32)
    for layer in value["layers"]:
        layer = np.asarray(layer)
        if layer.shape[:2] != shape:
            layer = np.asarray(Image.fromarray(layer).resize((shape[1], shape[0]), Image.NEAREST))
        painted = layer[..., 3] > 0 if layer.shape[2] == 4 else np.ones(shape, bool)
        level = layer[..., :3].astype(np.float32).mean(axis=2)
        snapped = np.where(level < 64, 0.0, np.where(level > 191, 1.0, 0.5))
        trimap[painted] = snapped[painted]
    return trimap


def start_editor(portrait: str | None) -> dict:
    image = read_upload(portrait, "portrait")
    result = auto_trimap(image)
    gr.Info(result.message)
    return {"background": image, "layers": [trimap_layer(result.trimap)], "composite": None}



def build_app(services: Services) -> gr.Blocks:
    pipe, store, study = services.pipe, services.store, services.study
    backgrounds = {p.stem: p for p in samples.background_paths()}

    def compose(portrait, trimap_mode, editor, trimap_file, background_choice, background_file, direction,
                strength=1.0, progress=gr.Progress()):  # noqa: B008 (how Gradio injects progress)
        progress(0.02, desc="reading")
        image = read_upload(portrait, "portrait")
        if trimap_mode == TRIMAP_MODES[1]:
            trimap = decode_editor(editor, (image.height, image.width))
        elif trimap_mode == TRIMAP_MODES[2]:
            if not trimap_file:
                raise gr.Error("upload mode: upload a trimap (0 / 128 / 255) of the portrait's size")
            trimap = trimap_file
        else:
            trimap = None
        if background_choice == UPLOADED:
            background = read_upload(background_file, "background")
        elif background_choice in backgrounds:
            background = backgrounds[background_choice]
        else:
            background = random_background()
        def on_stage(stage: str) -> None:
            progress(0.05 + 0.9 * STAGES.index(stage) / len(STAGES), desc=stage)

        progress(0.05, desc="waiting for the networks")
        try:
            with NETWORK_LOCK:
                out = pipe(image, trimap, background=background, direction=direction, strength=strength,
                           on_stage=on_stage)
        except (ImageError, ValueError) as exc:
            raise gr.Error(str(exc)) from None
        progress(0.95, desc="saving")
        folder = Path(tempfile.mkdtemp(prefix="hamagan-"))
        images = {"alpha": to_pil(out.alpha), "trimap": to_pil(out.trimap), "composite": to_pil(out.composite),
                  "harmonized": to_pil(out.harmonized), "cutout": cutout(out)}
        paths = {name: str(write_png(image, folder / f"{name}.png", compress_level=FAST_PNG))
                 for name, image in images.items()}
        message = f"{out.message or 'used your trimap'} (composed in {sum(out.seconds.values()):.2f} s)"
        return (paths["alpha"], paths["trimap"], paths["composite"], paths["harmonized"],
                [paths["harmonized"], paths["cutout"]], message)

    def pick_background(evt: gr.SelectData) -> str:
        return list(backgrounds)[evt.index]

    def plan_for(rater_id: str):
        if not rater_id or not store.has_rater(study.study_id, rater_id):
            raise gr.Error("unknown rater id: press 'Start rating' to get one")
        return study.plan(rater_id)

    def next_view(rater_id: str):
        plan = plan_for(rater_id)
        done = store.rated_slots(study.study_id, rater_id)
        remaining = [s for s in plan if s.slot not in done]
        if not remaining:
            return None, -1, f"All {len(plan)} items rated. Thank you!"
        slot = remaining[0]
        return str(study.image_path(slot.item)), slot.slot, f"Item {len(done) + 1} of {len(plan)}"

    def start_rating():
        rater_id = store.new_rater(study.study_id)
        image, slot, progress_text = next_view(rater_id)
        return rater_id, image, slot, progress_text, None

    def rate(rater_id: str, slot: int, score):
        plan = plan_for(rater_id)
        try:
            slot_index = int(slot)
        except (TypeError, ValueError):
            raise gr.Error("slot must be a whole number") from None
        if not 0 <= slot_index < len(plan):
            raise gr.Error(f"unknown item: slot {slot_index} is not in this rater's study (0-{len(plan) - 1})")
        item = plan[slot_index].item
        try:
            row = store.add(study.study_id, rater_id, slot_index, item.item_id, item.method, score)
        except RatingError as exc:
            raise gr.Error(str(exc)) from None
        if services.sync is not None:
            services.sync.append(row)
        image, next_slot, progress_text = next_view(rater_id)
        return image, next_slot, progress_text, None

    def results():
        ratings = store.ratings(study.study_id)
        summary = summarize(ratings)
        table = [[r.method, round(r.mos, 3), round(r.sd, 3), round(r.ci95, 3), r.raters, r.ratings]
                 for r in summary]
        chart = bar_chart({r.method: {"MOS": r.mos} for r in summary},
                          "Mean opinion score per method (95% CI over raters)",
                          errors={r.method: {"MOS": r.ci95 if np.isfinite(r.ci95) else 0.0} for r in summary})
        c = consistency(ratings)
        text = (f"**Consistency** over {c['pairs']} repeated pairs: mean |difference| "
                f"{c['mean_abs_difference']:.2f} (0 best, 4 worst), identical {c['identical']:.0%}."
                if c["pairs"] else "**Consistency**: no repeated pairs rated yet.")
        csv_path = Path(tempfile.mkdtemp(prefix="hamagan-ratings-")) / "ratings.csv"
        csv_path.write_text(store.to_csv(study.study_id))
        return table, chart, text, str(csv_path)

    with gr.Blocks(title="HaMaGAN") as app:
        gr.Markdown("# HaMaGAN: portrait matting and harmonization\nCut out a portrait, put it on a new "
                    "background, and let the model harmonize the two.")
        with gr.Tab("Compose"):
            with gr.Row():
                with gr.Column():
                    portrait = gr.File(label="Portrait (image file)", file_types=["image"], type="filepath",
                                       elem_id="portrait")
                    examples = [str(samples.portrait_paths(i)[0]) for i in samples.TEST_PORTRAITS]
                    gr.Examples([*examples, str(samples.BARE_PORTRAIT)], inputs=portrait,
                                label="Examples (held-out bundled portraits)")
                    trimap_mode = gr.Radio(list(TRIMAP_MODES), value=TRIMAP_MODES[0], label="Trimap")
                    start = gr.Button("Start from the automatic trimap", size="sm")
                    editor = gr.ImageEditor(label="Trimap brush: white = person, black = background, "
                                                  "grey = unknown", brush=BRUSH, type="numpy", format="png",
                                            layers=False, transforms=())
                    trimap_file = gr.File(label="Trimap upload (0/128/255 PNG)", file_types=["image"],
                                          type="filepath")
                with gr.Column():
                    background_choice = gr.Dropdown([RANDOM, UPLOADED, *backgrounds], value=RANDOM,
                                                    label="Background")
                    gallery = gr.Gallery([str(p) for p in backgrounds.values()], label="Bundled backgrounds "
                                         "(click to pick)", columns=8, height=200, allow_preview=False)
                    background_file = gr.File(label="Background upload", file_types=["image"], type="filepath")
                    direction = gr.Radio([("adjust the background to the portrait (the paper)", "background"),
                                          ("adjust the portrait to the background", "foreground")],
                                         value="background", label="Direction")
                    strength = gr.Slider(0, 1, value=1, step=0.05, label="Harmonization strength (0: the plain "
                                         "composite, 1: the model's whole colour change)")
                    run = gr.Button("Compose", variant="primary", elem_id="compose")
            message = gr.Markdown()
            with gr.Row():
                alpha_out = gr.Image(label="Alpha", type="filepath")
                trimap_out = gr.Image(label="Trimap used", type="filepath")
                composite_out = gr.Image(label="Plain composite", type="filepath")
                harmonized_out = gr.Image(label="Harmonized", type="filepath", elem_id="harmonized")
            downloads = gr.File(label="Downloads: harmonized result and RGBA cut-out (PNG)", file_count="multiple")
            start.click(start_editor, portrait, editor, api_name="auto_trimap").then(
                lambda: TRIMAP_MODES[1], None, trimap_mode, api_name=False)
            gallery.select(pick_background, None, background_choice, api_name=False)
            run.click(compose, [portrait, trimap_mode, editor, trimap_file, background_choice, background_file,
                                direction, strength],
                      [alpha_out, trimap_out, composite_out, harmonized_out, downloads, message], api_name="compose",
                      concurrency_limit=2)
        with gr.Tab("Rate"):
            gr.Markdown(f"### {QUESTION}\nImages are shown one at a time in an order of their own for each rater; "
                        "the method that made each image is hidden.")
            rater = gr.Textbox(label="Your anonymous rater id", interactive=False)
            begin = gr.Button("Start rating", variant="primary", elem_id="start-rating")
            shown = gr.Image(label="Item", type="filepath", interactive=False, height=420, elem_id="item")
            slot = gr.Number(label="Slot", value=-1, precision=0, visible=False)
            progress_text = gr.Markdown(elem_id="rating-progress")
            score = gr.Radio([("1 bad", 1), ("2 poor", 2), ("3 fair", 3), ("4 good", 4), ("5 excellent", 5)],
                             label="Score", elem_id="score")
            submit = gr.Button("Submit rating", elem_id="submit-rating")
            begin.click(start_rating, None, [rater, shown, slot, progress_text, score], api_name="start")
            submit.click(rate, [rater, slot, score], [shown, slot, progress_text, score], api_name="rate")
        with gr.Tab("Results"):
            refresh = gr.Button("Refresh results", elem_id="refresh")
            table = gr.Dataframe(headers=["method", "MOS", "SD", "95% CI ±", "raters", "ratings"],
                                 label="Mean opinion scores (spread over raters)", elem_id="results-table")
            chart = gr.Image(label="MOS with 95% confidence intervals", format="png", type="pil")
            consistency_text = gr.Markdown()
            csv_file = gr.File(label="All ratings (CSV)")
            refresh.click(results, None, [table, chart, consistency_text, csv_file], api_name="results")
    return app


def make_services(database: str | Path | None = None, checkpoint: str | None = None,
                  study: str | Path | None = None) -> Services:
    repo, token = os.environ.get("HAMAGAN_RATINGS_REPO"), os.environ.get("HF_TOKEN")
    database = Path(database or os.environ.get("HAMAGAN_DATABASE") or DEFAULT_DATABASE)
    sync = HubSync(repo, token, database.parent / "hub-sync") if repo and token else None
    return Services(HaMaGANPipeline.from_pretrained(checkpoint), RatingStore(database),
                    Study(Path(study or BUNDLED_STUDY)), sync)


def queued(app: gr.Blocks) -> gr.Blocks:
    """The app with the queue it is served with: four calls at a time, composes two (their own limit)."""
    return app.queue(default_concurrency_limit=4)


def launch(host: str = "127.0.0.1", port: int = 7860, database: str | None = None, checkpoint: str | None = None,
           study: str | None = None, **kwargs) -> None:
    app = queued(build_app(make_services(database, checkpoint, study)))
    app.launch(server_name=host, server_port=port, show_error=True, theme=THEME, **kwargs)
