"""``decoupled-rcnn evaluate``: COCO-style AP of a detections json against ground truth."""

from __future__ import annotations

import argparse

HELP = "Compute AP, AP50..AP90, AP75, APs/APm/APl of a detections json against a COCO gt json."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gt", required=True, help="COCO-format ground-truth json")
    parser.add_argument("--dets", required=True,
                        help="detections json: list of {image_id, category_id, bbox, score}")
    parser.add_argument("--out", help="also write the metrics json here")


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from decoupled_rcnn.datasets import DatasetError
    from decoupled_rcnn.evaluation import evaluate_detections_file

    try:
        metrics = evaluate_detections_file(args.gt, args.dets, args.out)
    except DatasetError as err:
        print(f"evaluate: error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(metrics))
    return 0
