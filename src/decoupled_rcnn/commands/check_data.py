"""``decoupled-rcnn check-data``: what your own dataset holds and every problem, no training."""

from __future__ import annotations

import argparse

HELP = ("Check the custom dataset of a workflow config (data.source: custom) without training: "
        "per split images, boxes, classes with counts, box sizes against COCO's small / medium "
        "/ large bands, every problem found, and the input size, schedule and CPU-time estimate "
        "chosen from the data.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("configfile", help="workflow config with data.source: custom")
    parser.add_argument("--root", default=None,
                        help="data.custom.root instead of the config's (e.g. to try a copy)")


def run(args: argparse.Namespace) -> int:
    """Print the check; exit status 0 without problems, 1 with, 2 for a config not custom."""
    import logging
    import sys

    import jsonschema

    from decoupled_rcnn.datasets.custom_check import check_custom, format_check
    from decoupled_rcnn.reproduction.plan.workflow_config import load_workflow_config

    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(message)s")
    overrides = {"data": {"custom": {"root": args.root}}} if args.root else None
    try:
        wcfg = load_workflow_config(args.configfile, overrides)
    except (OSError, jsonschema.ValidationError) as err:
        message = getattr(err, "message", None) or str(err)
        print(f"check-data: error: {args.configfile}: {' '.join(message.split())}",
              file=sys.stderr)
        return 2
    if wcfg["data"]["source"] != "custom":
        print(f"check-data: error: {args.configfile}: data.source is "
              f"{wcfg['data']['source']!r}; check-data checks a custom dataset (source: custom)",
              file=sys.stderr)
        return 2
    check = check_custom(wcfg["data"]["custom"])
    print(format_check(check))
    if not check.problems:
        from decoupled_rcnn.datasets.common import DatasetError
        from decoupled_rcnn.datasets.data_profile import custom_sizing, format_sizing

        try:
            print(format_sizing(custom_sizing(wcfg)))
        except DatasetError as err:  # e.g. no boxes: the counts above say why
            print(f"scale and schedule: not decided ({err})")
    return 1 if check.problems else 0
