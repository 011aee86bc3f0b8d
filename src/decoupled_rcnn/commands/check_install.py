"""``decoupled-rcnn check-install``: verify the stack the pipeline needs is usable."""

from __future__ import annotations

import argparse
import sys

HELP = ("Check that torch, mmcv (with compiled ops), mmengine and mmdet import and work; "
        "NMS and RoIAlign run on the CPU, and on the GPU where torch sees one.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true", help="print nothing on success")


def run(args: argparse.Namespace) -> int:
    from decoupled_rcnn.install_check import InstallError, check_stack

    try:
        report = check_stack()
    except InstallError as err:
        print(f"check-install: {err}", file=sys.stderr)
        return 1
    if not args.quiet:
        for name, value in report.items():
            print(f"{name:>10}: {value}")
    return 0
