"""``decoupled-rcnn voc2coco``: convert PASCAL VOC XML annotations to COCO json."""

from __future__ import annotations

import argparse

HELP = "Convert VOC2007/2012 XML annotations to COCO json (difficult objects as ignore regions)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--voc-root", required=True,
                        help="VOCdevkit folder holding VOC2007/ and VOC2012/")
    parser.add_argument("--out", required=True, help="output COCO json")
    parser.add_argument(
        "--subset", action="append", metavar="YEAR:SET",
        help="image set to include, e.g. VOC2007:test; repeatable "
        "(default: VOC2007:trainval and VOC2012:trainval)",
    )
    parser.add_argument("--no-check-images", action="store_true",
                        help="do not check that each JPEGImages/<id>.jpg exists")
    parser.add_argument("--config-key", default="data.voc_root",
                        help="config key named in the error for a missing root")


def _parse_subsets(values: list[str] | None) -> list[tuple[str, str]] | None:
    if not values:
        return None
    subsets = []
    for value in values:
        year, sep, image_set = value.partition(":")
        if not sep or not year or not image_set:
            raise SystemExit(f"voc2coco: --subset must look like VOC2007:test, got {value!r}")
        subsets.append((year, image_set))
    return subsets


def run(args: argparse.Namespace) -> int:
    import logging
    import sys

    from decoupled_rcnn.datasets import DatasetError, convert_voc_to_coco
    from decoupled_rcnn.datasets.voc import VOC0712_TRAINVAL

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    subsets = _parse_subsets(args.subset) or list(VOC0712_TRAINVAL)
    try:
        summary = convert_voc_to_coco(args.voc_root, args.out, subsets,
                                      check_files=not args.no_check_images,
                                      config_key=args.config_key)
    except DatasetError as err:
        print(f"voc2coco: error: {err}", file=sys.stderr)
        return 2
    print(f"{summary.out_file}: {summary.num_images} images, {summary.num_annotations} boxes "
          f"({summary.num_difficult} difficult), {summary.num_dropped} dropped")
    return 0
