"""``decoupled-rcnn make-synthetic``: write the generated shapes benchmark."""

from __future__ import annotations

import argparse

HELP = "Generate the seeded synthetic detection benchmark (COCO json + PNG images)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="dataset root to create")
    parser.add_argument("--seed", type=int, default=0, help="seed of everything drawn")
    parser.add_argument("--num-train", type=int, default=200, help="training images")
    parser.add_argument("--num-val", type=int, default=50, help="validation images")
    parser.add_argument("--size", type=int, default=160, help="image side in pixels")
    parser.add_argument("--max-objects", type=int, default=None,
                        help="most objects per image (default: the generator's)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from decoupled_rcnn.datasets import DatasetError, generate_synthetic

    extra = {} if args.max_objects is None else {"max_objects": args.max_objects}
    try:
        summary = generate_synthetic(
            args.out, seed=args.seed, num_train=args.num_train, num_val=args.num_val,
            size=args.size, overwrite=args.overwrite, **extra,
        )
    except (DatasetError, ValueError) as err:
        print(f"make-synthetic: error: {err}", file=sys.stderr)
        return 2
    print(json.dumps({"root": str(summary.root), "classes": summary.classes,
                      "counts": summary.counts, "seconds": round(summary.seconds, 2)}))
    return 0
