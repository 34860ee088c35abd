"""The ``hamagan`` command line: thin entries to the library. Messages go to stderr; exit codes:
0 done, 1 some inputs failed (and were reported), 2 usage error."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hamagan import samples
from hamagan.extras import MissingExtraError, require
from hamagan.images import ImageError


def _dataset_build(args: argparse.Namespace) -> int:
    require("dataset", "hamagan dataset build")
    import datasets

    from hamagan.data.builder import BuildOptions, build_dataset, load_built
    from hamagan.data.hub import copy_licences, write_card
    from hamagan.data.sources import open_source

    out = Path(args.out)
    if args.source == "bundled":
        root, licence_root, test_ids = samples.PORTRAITS, samples.ROOT, set(samples.TEST_PORTRAITS)
    else:
        root, licence_root, test_ids = Path(args.source), Path(args.source), None
    if args.split_file:
        test_ids = {line.strip() for line in Path(args.split_file).read_text().splitlines() if line.strip()}
    items = open_source(str(root), args.source_kind)
    options = BuildOptions(size=args.size, keep_aspect=args.keep_aspect, variants=args.variants, seed=args.seed,
                           perturb=args.perturb, color_space=args.color_space, shard_size=args.shard_size)
    report = build_dataset(items, out, options, test_ids, num_proc=args.num_proc)
    licences = copy_licences(licence_root, out) if licence_root.is_dir() else []
    write_card(out, str(args.source), options, report, licences)
    if "arrow" in args.format:
        load_built(out).save_to_disk(str(out / "arrow"))
    if "parquet" not in args.format:
        for path in (out / "data").glob("*.parquet"):
            path.unlink()
    (out / "build_report.json").write_text(json.dumps({"rows": report.rows, "skipped": report.skipped}, indent=2))
    datasets.enable_progress_bars()
    print(f"wrote {sum(report.rows.values())} rows {report.rows} to {out}"
          f" ({report.shards_reused} finished shards reused)", file=sys.stderr)
    for skip in report.skipped:
        reason = skip["reason"] if skip["file"] in skip["reason"] else f"{skip['file']}: {skip['reason']}"
        print(f"skipped {reason}", file=sys.stderr)
    return 1 if report.skipped else 0


def _dataset_push(args: argparse.Namespace) -> int:
    require("dataset", "hamagan dataset push")
    from hamagan.data.hub import push_dataset

    url = push_dataset(Path(args.out), args.repo_id, token=args.token, private=args.private)
    print(f"pushed {args.out} to {args.repo_id}: {url}", file=sys.stderr)
    return 0


def _load_pipeline(checkpoint: str | None, flip: bool | None = None):
    """The pipeline of ``checkpoint``; ``flip`` overrides its ``matting_flip`` where given."""
    from hamagan.pipeline import HaMaGANPipeline

    pipe = HaMaGANPipeline.from_pretrained(checkpoint)
    if flip is not None:
        pipe.config.matting_flip = flip
    return pipe


def _mode(args: argparse.Namespace) -> str:
    if args.alpha_only:
        return "alpha"
    if args.rgba:
        return "rgba"
    if args.background is None and not args.random_background:
        raise UsageError("give --background IMG or --random-background (or --alpha-only / --rgba for a cut-out)")
    return "harmonized"


def _background(args: argparse.Namespace):
    from hamagan.render import random_background

    if args.random_background:
        path = random_background(args.seed)
        print(f"background: {path.name}", file=sys.stderr)
        return path
    return args.background


def _compose(args: argparse.Namespace) -> int:
    from hamagan.render import png_bytes, render, write_png

    mode = _mode(args)
    pipe = _load_pipeline(args.checkpoint, args.flip)
    output = pipe(args.portrait, args.trimap, background=_background(args) if mode == "harmonized" else None,
                  direction=args.direction, strength=args.strength, people=args.people,
                  refine=args.refine)
    if output.message:
        print(f"hamagan: {output.message}", file=sys.stderr)
    image = render(output, mode)
    if args.output == "-":
        sys.stdout.buffer.write(png_bytes(image))
        sys.stdout.buffer.flush()
        return 0
    target = Path(args.output or f"{Path(args.portrait).stem}-{mode}.png")
    write_png(image, target)
    print(f"wrote {target} ({image.width}x{image.height} {image.mode})", file=sys.stderr)
    return 0


def _batch(args: argparse.Namespace) -> int:
    from hamagan.batch import run_batch

    in_dir, out_dir = Path(args.in_dir), Path(args.out_dir)
    if not in_dir.is_dir():
        raise UsageError(f"{in_dir}: not a folder")
    mode = _mode(args)
    pipe = _load_pipeline(args.checkpoint, args.flip)
    report = run_batch(pipe, in_dir, out_dir, mode, _background(args) if mode == "harmonized" else None,
                       Path(args.trimap_dir) if args.trimap_dir else None, args.direction, args.workers,
                       strength=args.strength, people=args.people, refine=args.refine)
    print(f"done {len(report.done)}, already there {len(report.skipped)}, failed {len(report.failed)}",
          file=sys.stderr)
    for name, error in sorted(report.failed.items()):
        print(f"failed {name}: {error}", file=sys.stderr)
    return 1 if report.failed else 0


def _push(args: argparse.Namespace) -> int:
    from hamagan.hub import push_checkpoint

    url = push_checkpoint(Path(args.checkpoint), args.repo_id, token=args.token, private=args.private)
    print(f"pushed {args.checkpoint} to {args.repo_id}: {url}", file=sys.stderr)
    return 0


def _release(args: argparse.Namespace) -> int:
    from hamagan.release import assemble, load_recipe

    pipeline = assemble(load_recipe(args.recipe), Path(args.out))
    print(f"assembled {args.out} ({', '.join(['matting', *pipeline.harmonizers])}) from {args.recipe}",
          file=sys.stderr)
    return 0


def _space(args: argparse.Namespace) -> int:
    require("space", "hamagan space")
    from hamagan.space.app import launch

    launch(host=args.host, port=args.port, database=args.database, checkpoint=args.checkpoint, study=args.study)
    return 0


def _eval(args: argparse.Namespace) -> int:
    require("train", "hamagan eval")
    from hamagan.report import labelled_checkpoint, run_evaluation

    checkpoints = dict(labelled_checkpoint(c) for c in args.checkpoint)
    written = run_evaluation(checkpoints, [Path(d) for d in args.dataset], Path(args.out),
                             baselines=args.baselines, long_side=args.long_side, refine=args.refine)
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    return 0


def _strength(text: str) -> float:
    from hamagan.pipeline import check_strength

    value = float(text)
    try:
        check_strength(value)
    except ValueError as exc:  # the pipeline's own bound, reported as a usage error
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", help="checkpoint folder or Hub repo id (default: the bundled model)")
    parser.add_argument("--background", help="the new background image (fitted to the portrait)")
    parser.add_argument("--random-background", action="store_true",
                        help="one of the bundled background photos at random (see --seed)")
    parser.add_argument("--seed", type=int, help="seed of --random-background")
    parser.add_argument("--direction", choices=["background", "foreground"], default="background",
                        help="adjust the background to the portrait (the paper) or the portrait to the background")
    parser.add_argument("--strength", type=_strength, default=1.0,
                        help="how much of the harmonizer's colour change to apply: 0 (the plain composite) to 1 "
                             "(all of it, the default; a change too small to trust is left out, and said so)")
    parser.add_argument("--people", choices=["all", "largest"], default="all",
                        help="automatic trimap: cut out everyone found (default) or only the largest person")
    parser.add_argument("--refine", action=argparse.BooleanOptionalAction, default=None,
                        help="refine the matte's whole unknown band by the confidence-weighted matting Laplacian "
                             "(default: the model's settings: refine_matting; a given trimap with a wide band or "
                             "one the network is unsure of is refined whole, refine_from_band and "
                             "refine_below_confidence; otherwise the band around the network's edge, refine_edge; "
                             "--no-refine: the network's matte alone)")
    parser.add_argument("--flip", action=argparse.BooleanOptionalAction, default=None,
                        help="average the matte with the matte of the mirrored image (default: the model's "
                             "matting_flip setting, on in the bundled model; --no-flip halves the matting network's "
                             "time)")
    parser.add_argument("--alpha-only", action="store_true", help="write the alpha matte (8-bit L PNG)")
    parser.add_argument("--rgba", action="store_true", help="write the cut-out with transparency (RGBA PNG)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hamagan", description="HaMaGAN: joint portrait matting and harmonization.")
    commands = parser.add_subparsers(dest="command", required=True)

    compose = commands.add_parser(
        "compose", help="cut out one portrait and composite it, harmonized, on a new background",
        description="Cut out PORTRAIT (automatic trimap unless --trimap) and write the harmonized composite on a "
                    "new background, or the matte (--alpha-only), or the RGBA cut-out (--rgba), as PNG. "
                    "-o - writes the PNG to stdout.")
    compose.add_argument("portrait")
    compose.add_argument("--trimap", help="0/128/255 trimap of the portrait's size (default: automatic)")
    compose.add_argument("-o", "--output", help="output PNG path, or - for stdout (default: PORTRAIT-MODE.png)")
    _model_options(compose)
    compose.set_defaults(run=_compose)

    batch = commands.add_parser(
        "batch", help="every image of a folder; resumes, reports unreadable files",
        description="Process every image under IN_DIR into OUT_DIR (same relative paths, .png). Outputs already "
                    "written are skipped, so a rerun resumes; unreadable files are reported at the end and the "
                    "exit code is 1.")
    batch.add_argument("in_dir")
    batch.add_argument("out_dir")
    batch.add_argument("--trimap-dir", help="trimaps named like the portraits (any image suffix)")
    batch.add_argument("--workers", type=int, default=1, help="images processed at once (threads)")
    _model_options(batch)
    batch.set_defaults(run=_batch)

    evaluate = commands.add_parser(
        "eval", help="the paper's tables: matting and harmonization metrics against baselines",
        description="Matting SAD/MSE/Grad/Conn on the held-out bundled test portraits (long side 512, 10 px "
                    "trimap) and harmonization MSE/fMSE/PSNR on the HMH test split, for each checkpoint and the "
                    "baselines; Markdown + JSON tables, a per-image error figure and a qualitative grid in OUT.")
    evaluate.add_argument("--dataset", action="append", default=[],
                          help="built HMH dataset whose test split makes the harmonization table (repeatable)")
    evaluate.add_argument("--checkpoint", action="append", default=[],
                          help="LABEL=PATH_OR_REPO (repeat for a sweep, e.g. lambda1-0.02=runs/a/final; "
                               "PATH DEFAULT is the bundled model); default: the bundled model")
    evaluate.add_argument("--baselines", nargs="*", default=["trimap only", "closed-form", "KNN", "composite",
                                                              "reinhard"],
                          help="matting: 'trimap only', closed-form, KNN; harmonization: composite, reinhard")
    evaluate.add_argument("--long-side", type=int, default=512)
    evaluate.add_argument("--refine", action="store_true",
                          help="also measure each checkpoint's matting refined by the matting Laplacian")
    evaluate.add_argument("--out", required=True, help="folder for tables and figures")
    evaluate.set_defaults(run=_eval)

    space = commands.add_parser(
        "space", help="launch the Gradio app (compose + MOS study)",
        description="Serve the app: Compose (a portrait on a new background, harmonized), Rate (the MOS study) "
                    "and Results. Offline unless HAMAGAN_RATINGS_REPO and HF_TOKEN are set.")
    space.add_argument("--host", help="default: HAMAGAN_HOST, GRADIO_SERVER_NAME or 127.0.0.1")
    space.add_argument("--port", type=int, help="default: HAMAGAN_PORT, GRADIO_SERVER_PORT or 7860")
    space.add_argument("--database", help="SQLite file of the MOS ratings (default: hamagan/space/data/ratings.sqlite)")
    space.add_argument("--checkpoint", help="checkpoint folder or Hub repo id (default: the bundled model)")
    space.add_argument("--study",
                       help="study folder made by `python -m hamagan.space.study` (default: the bundled one)")
    space.set_defaults(run=_space)

    push_model = commands.add_parser(
        "push", help="upload a checkpoint folder (safetensors + card) to the Hub",
        description="Check that the checkpoint loads, then upload its config.json, model.safetensors and README.md "
                    "(model card) to a Hub model repo in one commit.")
    push_model.add_argument("checkpoint")
    push_model.add_argument("repo_id")
    push_model.add_argument("--token", help="Hub token (default: the logged-in one)")
    push_model.add_argument("--private", action="store_true")
    push_model.set_defaults(run=_push)

    release = commands.add_parser(
        "release", help="assemble a checkpoint from the per-network folders of training runs",
        description="Assemble a pipeline checkpoint from the per-network folders that a release recipe "
                    "(releases/*.yaml) names, each checked against its pinned digest.")
    release.add_argument("recipe", help="the release recipe (YAML)")
    release.add_argument("--out", required=True, help="the checkpoint folder to write")
    release.set_defaults(run=_release)

    dataset = commands.add_parser("dataset", help="build or publish the HMH dataset")
    dataset_commands = dataset.add_subparsers(dest="dataset_command", required=True)
    build = dataset_commands.add_parser(
        "build", help="build HMH rows from real portraits and alpha mattes",
        description="Build the HMH dataset. SOURCE is 'bundled' (the 15 portraits shipped with hamagan, fixed "
                    "12/3 split), a folder of pairs (image(s)/ + alpha(s)/, or P3M's original/ + mask/), the "
                    "AISegment layout (clip_img/ + matting/), or a Hugging Face dataset (save_to_disk folder or "
                    "repo id) with image and alpha columns. A rerun with the same arguments writes the same "
                    "bytes; an interrupted build resumes.")
    build.add_argument("source")
    build.add_argument("out")
    build.add_argument("--format", nargs="+", default=["parquet", "arrow"], choices=["parquet", "arrow"],
                       help="Parquet shards in the Hub layout (data/), and/or a save_to_disk folder (arrow/)")
    build.add_argument("--num-proc", type=int, default=1, help="worker processes")
    build.add_argument("--seed", type=int, default=0)
    build.add_argument("--size", type=int, default=256, help="square side (the paper's 256), or long side")
    build.add_argument("--keep-aspect", action="store_true", help="keep the aspect ratio; --size is the long side")
    build.add_argument("--variants", type=int, default=1, help="rows per portrait (own trimap and transform)")
    build.add_argument("--perturb", choices=["background", "foreground"], default="background",
                       help="recolour the background (the paper) or the portrait (paper Fig. 6)")
    build.add_argument("--color-space", choices=["lalphabeta", "cielab"], default="lalphabeta",
                       help="colour space of the Reinhard transfer")
    build.add_argument("--split-file", help="text file naming the test portraits' ids, one per line")
    build.add_argument("--source-kind", choices=["auto", "folder", "aisegment", "hf"], default="auto")
    build.add_argument("--shard-size", type=int, default=64, help="portraits per Parquet shard")
    build.set_defaults(run=_dataset_build)
    push = dataset_commands.add_parser("push", help="upload a built dataset folder to a Hub dataset repo")
    push.add_argument("out")
    push.add_argument("repo_id")
    push.add_argument("--token", help="Hub token (default: the logged-in one)")
    push.add_argument("--private", action="store_true")
    push.set_defaults(run=_dataset_push)
    return parser


class UsageError(ValueError):
    """Arguments that cannot work together."""


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except ImageError as exc:
        print(f"hamagan: error: {exc}", file=sys.stderr)
        return 1
    except MissingExtraError as exc:
        print(f"hamagan: error: {exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError) as exc:
        print(f"hamagan: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
