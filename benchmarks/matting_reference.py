"""Reproduce the reference matting figures of hamagan/samples/DATA_README.md with the project's harness.

    python -m benchmarks.matting_reference [--methods "trimap only" closed-form KNN] [--split all|test]

Prints a Markdown table of mean SAD / MSE / Grad / Conn / seconds per image and, for the 15 portraits,
each figure's relative difference from the published reference (the harness must stay within 5%).
"""

from __future__ import annotations

import argparse

from hamagan.evaluation import BASELINES, evaluate_matting, load_matting_case, markdown_table
from hamagan.samples import portrait_ids

# From hamagan/samples/DATA_README.md: mean of the 15 portraits, long side 512, 10-px trimap.
REFERENCE = {
    "trimap only": {"SAD": 13.23, "MSE": 0.2297, "Grad": 19.54, "Conn": 13.28},
    "closed-form": {"SAD": 2.15, "MSE": 0.0280, "Grad": 3.41, "Conn": 1.99},
    "KNN": {"SAD": 2.45, "MSE": 0.0307, "Grad": 3.21, "Conn": 2.23},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=list(BASELINES), choices=list(BASELINES))
    parser.add_argument("--split", default="all", choices=["all", "test", "train"])
    args = parser.parse_args()
    cases = [load_matting_case(i) for i in portrait_ids(args.split)]
    reports = [evaluate_matting(BASELINES[m], cases, m) for m in args.methods]
    print(f"{len(cases)} portraits ({args.split}), long side 512, 10-px trimap\n")
    print(markdown_table(reports))
    if args.split == "all":
        print("\nRelative difference from the reference:")
        for report in reports:
            mean = report.mean()
            diffs = {k: (mean[k] - v) / v for k, v in REFERENCE[report.method].items()}
            verdict = "within 5%" if all(abs(d) <= 0.05 for d in diffs.values()) else "OUTSIDE 5%"
            print(f"- {report.method}: " + ", ".join(f"{k} {d:+.1%}" for k, d in diffs.items()) + f" ({verdict})")


if __name__ == "__main__":
    main()
