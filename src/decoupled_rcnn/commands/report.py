"""``decoupled-rcnn report``: render the paper-style HTML report."""

from __future__ import annotations

import argparse

HELP = "Render reports/index.html: every table (ours, paper, delta), figures, provenance."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--manifest", default=None,
                        help="manifest YAML (default: configs/paper/manifest.yaml)")
    parser.add_argument("--results", required=True,
                        help="results root holding <experiment>/<test>/metrics.json")
    parser.add_argument("--out", default="reports/index.html", help="HTML file to write")
    parser.add_argument("--figures", default=None,
                        help="folder of table_<ID>_*.png figures to embed (drawn if absent)")
    parser.add_argument("--context", nargs="*", default=[], metavar="KEY=VALUE",
                        help="facts for the report header, e.g. workflow_config=... "
                             "setting='generated data: not comparable to the paper'")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from decoupled_rcnn.manifest import load_manifest
    from decoupled_rcnn.report import render_report
    from decoupled_rcnn.tables import build_cells, load_results

    manifest = load_manifest(args.manifest)
    results = load_results(manifest, args.results)
    figures = {}
    if args.figures:
        folder = Path(args.figures)
        figures = {p.stem: p for p in sorted(folder.glob("table_*.png"))}
        if not figures:
            from decoupled_rcnn.figures import make_figures

            figures = make_figures(manifest, build_cells(manifest, results), folder)
    context = dict(item.split("=", 1) for item in args.context)
    print(render_report(manifest, results, args.out, figures=figures, context=context))
    return 0
