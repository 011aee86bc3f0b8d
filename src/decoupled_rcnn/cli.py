"""The ``decoupled-rcnn`` command line.

Each subcommand lives in its own module under :mod:`decoupled_rcnn.commands` and defines
``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``. Modules are found by
name, so adding a subcommand never touches this file; heavy imports stay inside ``run`` so
that ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from decoupled_rcnn import __version__, commands


def _command_modules() -> dict[str, object]:
    found = {}
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        found[info.name.replace("_", "-")] = module
    return found


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with one sub-parser per command module."""
    parser = argparse.ArgumentParser(
        prog="decoupled-rcnn",
        description="Decoupled R-CNN reproduction pipeline: model, data, evaluation and "
        "benchmarks behind the Snakemake workflow.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in _command_modules().items():
        cmd = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "_run"):
        parser.print_help()
        return 0
    return int(args._run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
