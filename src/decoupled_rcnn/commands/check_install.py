"""``decoupled-rcnn check-install``: verify the stack the pipeline needs is usable."""

from __future__ import annotations

import argparse

HELP = "Check that torch, mmcv (with compiled ops), mmengine and mmdet import and work."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true", help="print nothing on success")


def run(args: argparse.Namespace) -> int:
    from decoupled_rcnn.install_check import check_stack

    report = check_stack()
    if not args.quiet:
        for name, value in report.items():
            print(f"{name:>10}: {value}")
    return 0
