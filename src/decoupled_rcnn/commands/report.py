"""``decoupled-rcnn report``: the report step of a workflow config, outside Snakemake."""

from __future__ import annotations

import argparse

HELP = ("Render the HTML report of a workflow config from its tables step's outputs and the "
        "metrics files it declares (run `decoupled-rcnn tables --figures` first).")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--configfile", default=None,
                        help="workflow config (default: configs/workflow/default.yaml)")
    parser.add_argument("--tables", nargs="*", default=None,
                        help="table ids (default: the config's tables)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from decoupled_rcnn.reproduction.pipeline import make_report
    from decoupled_rcnn.reproduction.plan.declared import declared_results
    from decoupled_rcnn.reproduction.plan.workflow_config import load_workflow_config

    overrides = {"tables": args.tables} if args.tables else None
    wcfg = load_workflow_config(args.configfile, overrides)
    files = declared_results(wcfg)
    make_report(wcfg, wcfg["report"], cells=files["cells"], runs=files["runs"],
                claims=files["claims"], metrics=files["metrics"],
                figures=[f for f in files["figures"] if f.is_file()],
                curves=[f for f in files["curves"] if Path(f).is_file()],
                qualitative=[f for f in files["qualitative"] if Path(f).is_file()])
    print(wcfg["report"])
    return 0
