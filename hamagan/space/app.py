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

from hamagan import samples  # noqa: E402
from hamagan.images import ImageError, to_pil  # noqa: E402
from hamagan.pipeline import STAGES, HaMaGANPipeline  # noqa: E402
from hamagan.plots import interval_chart  # noqa: E402
from hamagan.render import cutout, random_background, write_png  # noqa: E402
from hamagan.space.compose import (  # noqa: E402
    automatic_trimap,
    check_editor,
    check_upload,
    editor_value,
    painted_trimap,
    read_upload,
    thumbnail,
    trimap_picture,
)
from hamagan.space.ratings import HubSync, RatingError, RatingStore, consistency, summarize  # noqa: E402
from hamagan.space.study import BUNDLED_STUDY, QUESTION, Study  # noqa: E402

# One pipeline call at a time: the networks use every core, so two at once only slow each other, while a
# second compose can read its upload and write its results meanwhile (the event's concurrency limit is 2).
NETWORK_LOCK = threading.Lock()
FAST_PNG = 1  # zlib level: a 1080p result in about 0.1 s, against 0.5 s at PIL's default of 6
DEFAULT_DATABASE = Path(__file__).resolve().parent / "data" / "ratings.sqlite"
RANDOM = "random (the paper's protocol)"
UPLOADED = "my upload"
# The Space adjusts the portrait by default (the library keeps the paper's direction): on held-out photos of people
# the portrait direction is made worse less often (validation 6% against 39%, test 17% against 30%), and adjusting
# a chosen scene to the portrait greyed a forest and darkened a daylight street (benchmarks/README.md).
SPACE_DIRECTION = "foreground"
TRIMAP_MODES = ("automatic", "draw (brush on the automatic trimap)", "upload")
BRUSH = gr.Brush(colors=["#000000", "#ffffff", "#808080"], color_mode="fixed", default_size=16)
THEME = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                          font_mono=["ui-monospace", "monospace"])
SCORE_RANGE = (1.0, 5.0)
INTRO = ("**1.** Upload a portrait (or click an example). **2.** Pick a background. **3.** Compose. "
         "Everyone in the photo is cut out automatically (or only the largest person: *Trimap*); if the cut-out "
         "needs repair, open *Trimap* and paint on it.")


@dataclass
class Services:
    pipe: HaMaGANPipeline
    store: RatingStore
    study: Study
    sync: HubSync | None = None


def check_compose_inputs(portrait, trimap_mode, editor, trimap_file, background_choice, background_file) -> None:
    """Refuse a compose before it starts (a message; the shown result stays): missing or bad files."""
    check_upload(portrait, "portrait")
    if trimap_mode == TRIMAP_MODES[1]:
        check_editor(editor)
    if trimap_mode == TRIMAP_MODES[2]:
        if not trimap_file:
            raise gr.Error("upload mode: upload a trimap (0 / 128 / 255) of the portrait's size")
        check_upload(trimap_file, "trimap")
    if background_choice == UPLOADED:
        check_upload(background_file, "background")


def build_app(services: Services) -> gr.Blocks:
    pipe, store, study = services.pipe, services.store, services.study
    backgrounds = {p.stem: p for p in samples.background_paths()}
    examples = [str(samples.portrait_paths(i)[0]) for i in samples.TEST_PORTRAITS] + [str(samples.BARE_PORTRAIT)]

    def compose(portrait, trimap_mode, editor=None, trimap_file=None, background_choice=RANDOM,
                background_file=None, direction=SPACE_DIRECTION, strength=1.0, people="all", refine=None,
                progress=gr.Progress()):  # noqa: B008 (how Gradio injects progress)
        progress(0.02, desc="reading")
        check_compose_inputs(portrait, trimap_mode, editor, trimap_file, background_choice, background_file)
        image = read_upload(portrait, "portrait")
        if trimap_mode == TRIMAP_MODES[1]:
            trimap = painted_trimap(editor, automatic_trimap(portrait, people).trimap)
        else:
            trimap = trimap_file if trimap_mode == TRIMAP_MODES[2] else None
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
                           on_stage=on_stage, people=people, refine=True if refine else None)
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

    def show_portrait(path: str | None):
        """A new upload: previewed, or refused with a message (and cleared) when it is not a usable image."""
        if not path:
            return None, None
        try:
            return gr.skip(), thumbnail(read_upload(path, "portrait"))
        except gr.Error as exc:
            gr.Warning(exc.message)
            return None, None

    def pick_example(evt: gr.SelectData):
        return examples[evt.index], thumbnail(read_upload(examples[evt.index], "portrait"))

    def pick_background(evt: gr.SelectData) -> str:
        return list(backgrounds)[evt.index]

    def preview_trimap(portrait, trimap_mode, editor, trimap_file, people="all"):
        """The trimap the next compose will use (automatic mode: the person finder's)."""
        if not portrait:
            return None
        try:
            automatic = automatic_trimap(portrait, people).trimap
            if trimap_mode == TRIMAP_MODES[1] and editor and editor.get("background") is not None:
                return trimap_picture(painted_trimap(editor, automatic))
            if trimap_mode == TRIMAP_MODES[2]:
                return trimap_file
            return trimap_picture(automatic)
        except gr.Error:
            return None

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

    def resume_rating(saved_rater: str):
        """A reload: the rater kept in this browser goes on at their next item."""
        if not saved_rater or not store.has_rater(study.study_id, saved_rater):
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        return saved_rater, *next_view(saved_rater)

    def check_score(score) -> None:
        if score is None:
            raise gr.Error("choose a score from 1 to 5 first")

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
        table = [[r.method, round(r.mos, 3), round(r.sd, 3), *interval_cells(r.mos, r.ci95), r.raters, r.ratings]
                 for r in summary]
        chart = interval_chart({r.method: (r.mos, *clipped_interval(r.mos, r.ci95)) for r in summary},
                               "Mean opinion score per method, with 95% confidence intervals over raters",
                               value_range=SCORE_RANGE)
        c = consistency(ratings)
        text = (f"**Consistency** over {c['pairs']} repeated pairs: mean |difference| "
                f"{c['mean_abs_difference']:.2f} (0 best, 4 worst), identical {c['identical']:.0%}."
                if c["pairs"] else "**Consistency**: no repeated pairs rated yet.")
        csv_path = Path(tempfile.mkdtemp(prefix="hamagan-ratings-")) / "ratings.csv"
        csv_path.write_text(store.to_csv(study.study_id))
        return table, chart, text, str(csv_path)

    with gr.Blocks(title="HaMaGAN") as app:
        gr.Markdown("# HaMaGAN: portrait matting and harmonization")
        # At the top level, not inside a tab: the browser reads it when the page loads, not when the tab opens.
        saved_rater = gr.BrowserState("", storage_key="hamagan-rater")
        with gr.Tab("Compose"):
            gr.Markdown(INTRO)
            with gr.Row(equal_height=False):
                with gr.Column(scale=2, min_width=380):
                    portrait = gr.File(label="Portrait (image file)", file_types=["image"], type="filepath",
                                       elem_id="portrait")
                    preview = gr.Image(label="Your portrait", type="pil", interactive=False, height=240,
                                       elem_id="portrait-preview")
                    example_gallery = gr.Gallery(examples, label="Examples (click one)", columns=4, rows=1,
                                                 height=120, allow_preview=False, object_fit="cover",
                                                 elem_id="examples")
                    background_choice = gr.Dropdown([*backgrounds, UPLOADED, RANDOM], value=next(iter(backgrounds)),
                                                    label="Background (or click one below)", elem_id="background")
                    gallery = gr.Gallery([str(p) for p in backgrounds.values()], label="Bundled backgrounds",
                                         columns=4, height=300, allow_preview=False, object_fit="cover",
                                         elem_id="backgrounds")
                    background_file = gr.File(label="Your background", file_types=["image"], type="filepath",
                                              visible=False)
                    with gr.Accordion("Trimap: automatic (open to repair the cut-out)", open=False):
                        trimap_mode = gr.Radio(list(TRIMAP_MODES), value=TRIMAP_MODES[0], label="Trimap",
                                               elem_id="trimap-mode")
                        people = gr.Radio([("everyone found", "all"), ("the largest person", "largest")],
                                          value="all", label="People to cut out (automatic trimap)",
                                          elem_id="people")
                        start = gr.Button("Start from the automatic trimap", size="sm", elem_id="start-editor")
                        editor = gr.ImageEditor(label="Paint: black = background, white = person, grey = unknown "
                                                      "(undo in the toolbar)", brush=BRUSH, type="numpy",
                                                format="png", layers=False, transforms=(), sources=(),
                                                visible=False, elem_id="editor")
                        trimap_file = gr.File(label="Trimap upload (0/128/255 PNG)", file_types=["image"],
                                              type="filepath", visible=False)
                        trimap_preview = gr.Image(label="The trimap the next compose will use", type="pil",
                                                  interactive=False, height=240, elem_id="trimap-preview")
                    with gr.Accordion("Options", open=False):
                        direction = gr.Radio([("adjust the portrait to the background", "foreground"),
                                              ("adjust the background to the portrait (the paper)", "background")],
                                             value=SPACE_DIRECTION, label="Direction")
                        strength = gr.Slider(0, 1, value=1, step=0.05, label="Harmonization strength (0: the plain "
                                             "composite, 1: the model's whole colour change; a change too "
                                             "small to trust is left out, and the message says so)")
                        refine = gr.Checkbox(pipe.config.refine_matting, elem_id="refine",
                                             label="Refine the whole unknown band (matting Laplacian; "
                                                   "slower). Unticked, the model's default: the edge the model "
                                                   "draws is refined, and an uploaded or painted trimap the "
                                                   "model is unsure of is refined whole")
                with gr.Column(scale=3, min_width=480):
                    run = gr.Button("Compose", variant="primary", elem_id="compose")
                    message = gr.Markdown("Your result appears here: the plain composite and the harmonized image "
                                          "under one slider, the alpha matte and the trimap used below.",
                                          elem_id="message")
                    comparison = gr.ImageSlider(label="Plain composite | harmonized (drag the handle)",
                                                type="filepath", max_height=620, elem_id="result")
                    with gr.Row():
                        alpha_out = gr.Image(label="Alpha", type="filepath", height=200, elem_id="alpha")
                        trimap_out = gr.Image(label="Trimap used", type="filepath", height=200, elem_id="trimap-used")
                    composite_out = gr.Image(type="filepath", visible=False)
                    harmonized_out = gr.Image(type="filepath", visible=False, elem_id="harmonized")
                    downloads = gr.File(label="Downloads: harmonized result and RGBA cut-out (PNG)",
                                        file_count="multiple")
            compose_inputs = [portrait, trimap_mode, editor, trimap_file, background_choice, background_file,
                              direction, strength, people, refine]
            preview_inputs = [portrait, trimap_mode, editor, trimap_file, people]
            portrait.upload(show_portrait, portrait, [portrait, preview], api_name=False).then(
                preview_trimap, preview_inputs, trimap_preview, api_name=False)
            portrait.clear(lambda: (None, None), None, [preview, trimap_preview], api_name=False)
            example_gallery.select(pick_example, None, [portrait, preview], api_name=False).then(
                preview_trimap, preview_inputs, trimap_preview, api_name=False)
            start.click(editor_value, [portrait, people], editor, api_name="auto_trimap").then(
                lambda: (TRIMAP_MODES[1], gr.update(visible=True)), None, [trimap_mode, editor], api_name=False)
            trimap_mode.change(lambda mode: (gr.update(visible=mode == TRIMAP_MODES[1]),
                                             gr.update(visible=mode == TRIMAP_MODES[2])),
                               trimap_mode, [editor, trimap_file], api_name=False).then(
                preview_trimap, preview_inputs, trimap_preview, api_name=False)
            gr.on([editor.change, trimap_file.change, people.change], preview_trimap, preview_inputs, trimap_preview,
                  api_name=False, show_progress="hidden", trigger_mode="always_last")
            gallery.select(pick_background, None, background_choice, api_name=False)
            background_choice.change(lambda choice: gr.update(visible=choice == UPLOADED), background_choice,
                                     background_file, api_name=False)
            run.click(check_compose_inputs, compose_inputs[:6], None, api_name=False).success(
                compose, compose_inputs, [alpha_out, trimap_out, composite_out, harmonized_out, downloads, message],
                api_name="compose", concurrency_limit=2).success(
                lambda plain, harmonized: (plain, harmonized), [composite_out, harmonized_out], comparison,
                api_name=False)
        with gr.Tab("Rate"):
            gr.Markdown(f"### {QUESTION}\nImages are shown one at a time in an order of their own for each rater; "
                        "the method that made each image is hidden. Your place is kept in this browser.")
            rater = gr.Textbox(label="Your anonymous rater id", interactive=False, elem_id="rater")
            begin = gr.Button("Start rating", variant="primary", elem_id="start-rating")
            shown = gr.Image(label="Item", type="filepath", interactive=False, height=420, elem_id="item")
            slot = gr.Number(label="Slot", value=-1, precision=0, visible=False)
            progress_text = gr.Markdown(elem_id="rating-progress")
            score = gr.Radio([("1 bad", 1), ("2 poor", 2), ("3 fair", 3), ("4 good", 4), ("5 excellent", 5)],
                             label="Score", elem_id="score")
            submit = gr.Button("Submit rating", elem_id="submit-rating")
            begin.click(start_rating, None, [rater, shown, slot, progress_text, score], api_name="start").then(
                lambda rater_id: rater_id, rater, saved_rater, api_name=False)
            submit.click(check_score, score, None, api_name=False).success(
                rate, [rater, slot, score], [shown, slot, progress_text, score], api_name="rate")
            app.load(resume_rating, saved_rater, [rater, shown, slot, progress_text], api_name=False)
        with gr.Tab("Results") as results_tab:
            gr.Markdown("MOS: the mean over raters of each rater's mean score (1-5). The interval is the 95% "
                        "confidence interval of that mean over raters (Student's t), clipped to the 1-5 scale; "
                        "a method rated by a single rater has none yet.")
            refresh = gr.Button("Refresh results", elem_id="refresh")
            table = gr.Dataframe(headers=["method", "MOS", "SD", "95% CI ±", "95% CI (1-5)", "raters", "ratings"],
                                 label="Mean opinion scores (spread over raters)", elem_id="results-table")
            chart = gr.Image(label="MOS with 95% confidence intervals", format="png", type="pil",
                             elem_id="results-chart")
            consistency_text = gr.Markdown()
            csv_file = gr.File(label="All ratings (CSV)")
            results_outputs = [table, chart, consistency_text, csv_file]
            refresh.click(results, None, results_outputs, api_name="results")
            results_tab.select(results, None, results_outputs, api_name=False)
    return app


def clipped_interval(mean: float, half_width: float) -> tuple[float, float]:
    """A confidence interval clipped to the score scale; NaN (one rater) gives (NaN, NaN)."""
    if not np.isfinite(half_width):
        return float("nan"), float("nan")
    return max(SCORE_RANGE[0], mean - half_width), min(SCORE_RANGE[1], mean + half_width)


def interval_cells(mean: float, half_width: float) -> tuple[float | str, str]:
    """The table's two interval columns: the half-width and the clipped interval, or why there is none."""
    if not np.isfinite(half_width):
        return "n/a", "n/a (one rater)"
    low, high = clipped_interval(mean, half_width)
    return round(half_width, 3), f"{low:.2f} - {high:.2f}"


def make_services(database: str | Path | None = None, checkpoint: str | None = None,
                  study: str | Path | None = None) -> Services:
    repo, token = os.environ.get("HAMAGAN_RATINGS_REPO"), os.environ.get("HF_TOKEN")
    database = Path(database or os.environ.get("HAMAGAN_DATABASE") or DEFAULT_DATABASE)
    sync = HubSync(repo, token, database.parent / "hub-sync") if repo and token else None
    return Services(HaMaGANPipeline.from_pretrained(checkpoint), RatingStore(database),
                    Study(Path(study or BUNDLED_STUDY)), sync)


def serve(services: Services, **launch_options) -> gr.Blocks:
    """Build, queue and launch the app on ``services`` (``launch_options`` are Gradio's): four calls at a time,
    composes two (their own limit); the bundled photos and the study's images are served from wherever they
    live, so the app runs from any working directory and from an installed package."""
    app = build_app(services).queue(default_concurrency_limit=4)
    app.launch(theme=THEME, show_error=True, allowed_paths=[str(samples.ROOT), str(services.study.folder)],
               **launch_options)
    return app


def server_address(host: str | None = None, port: int | None = None) -> tuple[str, int]:
    """Where to serve: the arguments (``hamagan space --host/--port``) win, then HAMAGAN_HOST / HAMAGAN_PORT, then
    Gradio's GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, then 127.0.0.1:7860 (0.0.0.0 on a Hugging Face Space)."""
    env = os.environ
    default_host = "0.0.0.0" if env.get("SPACE_ID") else "127.0.0.1"
    host = host or env.get("HAMAGAN_HOST") or env.get("GRADIO_SERVER_NAME") or default_host
    port = port or int(env.get("HAMAGAN_PORT") or env.get("GRADIO_SERVER_PORT") or 7860)
    return host, port


def launch(host: str | None = None, port: int | None = None, database: str | None = None,
           checkpoint: str | None = None, study: str | None = None, **kwargs) -> None:
    host, port = server_address(host, port)
    serve(make_services(database, checkpoint, study), server_name=host, server_port=port, **kwargs)
