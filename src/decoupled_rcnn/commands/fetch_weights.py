"""``decoupled-rcnn fetch-weights``: the backbone weights a workflow config needs, offline."""

from __future__ import annotations

import argparse
import sys

HELP = ("Download the ImageNet backbone weights the selected experiments start from into "
        "$TORCH_HOME/hub/checkpoints (run it on a login node), with SHA-256 checksums.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--configfile", default=None,
                        help="workflow config (default: configs/workflow/default.yaml, which "
                             "needs none; e.g. configs/workflow/paper.yaml)")
    parser.add_argument("--tables", nargs="*", default=None,
                        help="only these tables' experiments (default: the config's)")
    parser.add_argument("--list", action="store_true", help="list the files, download nothing")


def run(args: argparse.Namespace) -> int:
    from decoupled_rcnn.reproduction.plan.workflow_config import load_workflow_config
    from decoupled_rcnn.reproduction.run.weights import (
        CHECKSUMS,
        backbone_weights,
        fetch_weights,
        weights_dir,
    )

    overrides = {"tables": args.tables} if args.tables else None
    wcfg = load_workflow_config(args.configfile, overrides)
    weights = backbone_weights(wcfg)
    if not weights:
        print("fetch-weights: this config downloads no backbone weights (tiny or not "
              "pretrained)")
        return 0
    if args.list:
        for w in weights:
            print(f"{w.spec:36s} {w.file} {'present' if w.file.is_file() else 'missing'}")
        return 0
    try:
        records = fetch_weights(weights)
    except (OSError, ValueError) as err:
        print(f"fetch-weights: {err}", file=sys.stderr)
        return 1
    for r in records:
        print(f"{r['status']:10s} {r['spec']:36s} sha256 {r['sha256'][:16]}  {r['file']}")
    print(f"checksums: {weights_dir() / CHECKSUMS}; compute nodes need the same TORCH_HOME "
          "(a shared filesystem)")
    return 0
