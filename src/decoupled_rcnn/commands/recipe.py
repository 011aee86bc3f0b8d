"""``decoupled-rcnn recipe``: what each row of a table runs, without training."""

from __future__ import annotations

import argparse

HELP = ("For each row of a table: the experiment, its config and _base_ chain, overrides, test "
        "setting, seeds, result paths and the composed config under a workflow config.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("table", help="table id, e.g. V")
    parser.add_argument("row", nargs="?", type=int, default=None,
                        help="one row (1-based, as in the paper); default every row")
    parser.add_argument("--configfile", default=None,
                        help="workflow config (default: configs/workflow/default.yaml)")
    parser.add_argument("--full", action="store_true",
                        help="print the whole composed config, not only its key settings")


def run(args: argparse.Namespace) -> int:
    import sys

    from decoupled_rcnn.reproduction.plan.recipe import recipe
    from decoupled_rcnn.reproduction.plan.workflow_config import load_workflow_config

    wcfg = load_workflow_config(args.configfile)
    try:
        print(recipe(wcfg, args.table, args.row, full=args.full))
    except (KeyError, IndexError) as err:
        print(f"recipe: no such table or row: {err}", file=sys.stderr)
        return 2
    return 0
