"""The ``hamagan`` command line: thin entries to the library. Messages go to stderr; exit codes:
0 done, 1 some inputs failed (and were reported), 2 usage error."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hamagan import samples


def _dataset_build(args: argparse.Namespace) -> int:
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
    from hamagan.data.hub import push_dataset

    url = push_dataset(Path(args.out), args.repo_id, token=args.token, private=args.private)
    print(f"pushed {args.out} to {args.repo_id}: {url}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hamagan", description="HaMaGAN: joint portrait matting and harmonization.")
    commands = parser.add_subparsers(dest="command", required=True)

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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (FileNotFoundError, ValueError) as exc:
        print(f"hamagan: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
