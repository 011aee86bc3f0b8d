"""``decoupled-rcnn tables``: the tables step of a workflow config, outside Snakemake."""

from __future__ import annotations

import argparse

HELP = ("Write table_<ID>.csv, cells, runs and claims from the metrics files a workflow config "
        "declares (those that exist), and optionally the figures.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--configfile", default=None,
                        help="workflow config (default: configs/workflow/default.yaml)")
    parser.add_argument("--tables", nargs="*", default=None,
                        help="table ids (default: the config's tables)")
    parser.add_argument("--figures", action="store_true", help="also draw the figures")


def run(args: argparse.Namespace) -> int:
    from decoupled_rcnn.reproduction.pipeline import make_tables
    from decoupled_rcnn.reproduction.plan.declared import declared_results
    from decoupled_rcnn.reproduction.plan.workflow_config import load_workflow_config

    overrides = {"tables": args.tables} if args.tables else None
    wcfg = load_workflow_config(args.configfile, overrides)
    files = declared_results(wcfg)
    make_tables(wcfg, files["metrics"], files["benchmarks"], files["tables"], files["cells"],
                files["runs"], files["claims"])
    for path in (*files["tables"], files["cells"], files["runs"], files["claims"]):
        print(path)
    from decoupled_rcnn.reproduction.plan.layout import Layout
    from decoupled_rcnn.reproduction.results.rule_time import rule_times

    times = rule_times(Layout.from_config(wcfg))
    if len(times):
        print("where the time went (Snakemake benchmark files; wall summed over jobs):")
        print(times.to_string(index=False))
    if args.figures:
        from decoupled_rcnn.reproduction.pipeline_figures import make_figure_files

        make_figure_files(wcfg, files["cells"], files["figures"])
        print(*files["figures"], sep="\n")
    return 0
