"""``decoupled-rcnn tables``: one CSV per paper table (measured, paper, delta) and figures."""

from __future__ import annotations

import argparse

HELP = "Write table_<ID>.csv (measured, paper, delta per cell) and optionally the figures."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--manifest", default=None,
                        help="manifest YAML (default: configs/paper/manifest.yaml)")
    parser.add_argument("--results", required=True,
                        help="results root holding <experiment>/<test>/metrics.json")
    parser.add_argument("--out", required=True, help="folder for the CSV files")
    parser.add_argument("--tables", nargs="*", default=None, help="table ids (default: all)")
    parser.add_argument("--figures", default=None, help="also draw the figures into this folder")


def run(args: argparse.Namespace) -> int:
    from decoupled_rcnn.manifest import load_manifest
    from decoupled_rcnn.tables import build_cells, load_results, write_tables

    manifest = load_manifest(args.manifest)
    results = load_results(manifest, args.results)
    for path in write_tables(manifest, results, args.out, args.tables).values():
        print(path)
    if args.figures:
        from decoupled_rcnn.figures import make_figures

        cells = build_cells(manifest, results)
        for path in make_figures(manifest, cells, args.figures, args.tables).values():
            print(path)
    return 0
