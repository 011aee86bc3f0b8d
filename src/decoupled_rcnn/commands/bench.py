"""``decoupled-rcnn bench``: inference and training speed, FLOPs and parameters side by side."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys

HELP = (
    "Time inference (s/img) and training (s/iter) of several detectors in one process, "
    "interleaved, with ratios to Faster R-CNN FPN, FLOPs and parameters."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "configs",
        nargs="*",
        metavar="[NAME=]CONFIG",
        help="config files (or mmdet::rel/path.py), optionally named; default: R50 Faster "
        "R-CNN FPN, Cascade R-CNN, Decoupled R-CNN, Decoupled R-CNN with 3-stage cascade",
    )
    parser.add_argument(
        "--size", nargs=2, type=int, default=None, metavar=("H", "W"),
        help="input height and width (default 800 1333; 96 160 with --tiny)",
    )
    parser.add_argument("--tiny", action="store_true", help="shrink every model (make_tiny)")
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default 1)")
    parser.add_argument(
        "--number", type=int, default=1,
        help="calls per timed sample, averaged (default 1; more steadies tiny runs)",
    )
    parser.add_argument(
        "--device", choices=("cpu", "cuda"), default=None,
        help="default: cuda when available, else cpu",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads value")
    parser.add_argument("--no-flops", action="store_true", help="skip the FLOPs count (slow)")
    parser.add_argument(
        "--baseline", default=None, help="entry name the ratios divide by (default: the first)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seeds weights and inputs")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    parser.add_argument("--out", default=None, help="also write the JSON result to this file")


def _progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from decoupled_rcnn.measure import bench_output, benchmark

    # Anything the models print while measuring goes to stderr, so that --json stays parseable.
    with contextlib.redirect_stdout(sys.stderr):
        result = benchmark.benchmark(
            args.configs or benchmark.DEFAULT_CONFIGS,
            size=tuple(args.size) if args.size else None,
            tiny=args.tiny,
            repeats=args.repeats,
            warmup=args.warmup,
            device=args.device,
            threads=args.threads,
            flops=not args.no_flops,
            baseline=args.baseline,
            number=args.number,
            seed=args.seed,
            progress=None if args.quiet else _progress,
        )
    if args.out:
        bench_output.write_benchmark_json(result, args.out)
    print(json.dumps(result, indent=2) if args.json else bench_output.format_table(result))
    return 0
