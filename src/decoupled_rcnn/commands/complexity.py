"""``decoupled-rcnn complexity``: parameters and FLOPs of configs, or of every paper row."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

HELP = (
    "Trainable/total parameters and FLOPs (3x800x1333 input, 1000 proposals) of configs, "
    "or of every paper row with --paper."
)


def _parse_option(text: str) -> tuple[str, Any]:
    import yaml

    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, yaml.safe_load(value)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("configs", nargs="*", help="config files (or mmdet::rel/path.py)")
    parser.add_argument(
        "--experiment", nargs="+", default=[], metavar="ID",
        help="manifest experiments, built as the workflow config (--configfile) trains them",
    )
    parser.add_argument(
        "--configfile", default=None,
        help="workflow config for --experiment (default: configs/workflow/default.yaml) and "
             "--paper (default: configs/workflow/paper.yaml)",
    )
    parser.add_argument(
        "--paper",
        action="store_true",
        help="measure every paper row that reports model size, beside the paper's values",
    )
    parser.add_argument(
        "--rows", default=None,
        help="YAML list of rows to use with --paper (default: the manifest's rows)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--params-only", action="store_true", help="count parameters only (skip FLOPs; fast)"
    )
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        type=_parse_option,
        default=[],
        metavar="KEY=VALUE",
        help="overrides for the given configs, e.g. model.backbone.depth=101",
    )
    parser.add_argument(
        "--shape",
        nargs=2,
        type=int,
        default=None,
        metavar=("H", "W"),
        help="input height and width (default 800 1333, as in the paper)",
    )
    parser.add_argument(
        "--num-proposals", type=int, default=None, help="RoIs through the heads (default 1000)"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="with --paper: exit 1 unless every row matches (params to 2 decimals, FLOPs 1%%)",
    )


def _format_table(entries: list[dict[str, Any]], paper: bool) -> str:
    head = ["config", "trainable M", "total M", "GFLOPs"]
    if paper:
        head = ["table", "row"] + head + ["paper M", "dM", "paper GFLOPs", "dGFLOPs %"]

    def cell(entry: dict[str, Any], key: str) -> str:
        value = entry.get(key)
        return "-" if value is None else f"{value:.2f}" if isinstance(value, float) else str(value)

    keys = ["config", "params_trainable_m", "params_total_m", "gflops"]
    if paper:
        keys = (
            ["table", "row"]
            + keys
            + ["paper_params_m", "diff_params_m", "paper_gflops", "diff_gflops_pct"]
        )
    rows = [head] + [[cell(e, k) for k in keys] for e in entries]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from decoupled_rcnn.measure import complexity

    if not args.paper and not args.configs and not args.experiment:
        print("complexity: give config paths, --experiment or --paper", file=sys.stderr)
        return 2
    kwargs: dict[str, Any] = {"count_flops": not args.params_only}
    if args.shape:
        kwargs["input_shape"] = (3, *args.shape)
    if args.num_proposals:
        kwargs["num_proposals"] = args.num_proposals

    entries: list[dict[str, Any]] = []
    if args.paper:
        from decoupled_rcnn.reproduction.plan.workflow_config import load_workflow_config

        rows = (complexity.load_paper_rows(args.rows) if args.rows
                else complexity.paper_rows())
        wcfg = load_workflow_config(args.configfile or complexity.PAPER_WORKFLOW_CONFIG)
        entries += complexity.measure_paper_rows(rows, workflow_config=wcfg, **kwargs)
    if args.experiment:
        from decoupled_rcnn.reproduction.plan.compose import experiment_config
        from decoupled_rcnn.reproduction.plan.workflow_config import load_workflow_config

        wcfg = load_workflow_config(args.configfile)
        for exp in args.experiment:
            entry = complexity.measure_complexity(experiment_config(wcfg, exp), **kwargs)
            entries.append({**entry, "config": exp})
    options = dict(args.cfg_options)
    for config in args.configs:
        entries.append(complexity.measure_complexity(config, options, **kwargs))

    if args.json:
        print(json.dumps(entries, indent=2))
    else:
        print(_format_table(entries, paper=args.paper))
    if args.check and args.paper:
        bad = [
            e["row"]
            for e in entries
            if "row" in e and not (e["params_match"] and e.get("flops_within_tol", True))
        ]
        if bad:
            print(f"complexity: rows differing from the paper: {bad}", file=sys.stderr)
            return 1
    return 0
