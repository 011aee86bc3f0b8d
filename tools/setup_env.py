"""Create or update the project's virtual environment (standard library only).

Usage: ``python3.11 tools/setup_env.py [--venv .venv]``; ``make`` calls it.

The pins live in ``pyproject.toml`` alone. The order matters and is why a plain
``pip install -e .`` is not enough:

1. torch and the build helpers (setuptools < 81, ninja, psutil), because mmcv's setup.py
   imports both torch and pkg_resources;
2. mmcv from source with ``MMCV_WITH_OPS=1`` and ``--no-build-isolation``: with build
   isolation pip builds a wheel *without* compiled ops and says nothing; the result is
   checked, and a cached wheel without ops is thrown away and rebuilt once;
3. the package itself, editable, with the dev extras.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD_FIRST = ("torch", "setuptools", "ninja", "psutil")
OPS_CHECK = "from mmcv.ops import nms, RoIAlign"


def pinned_requirements(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, str]:
    """Map each direct dependency's name to its requirement string, from pyproject.toml."""
    project = tomllib.loads(pyproject.read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs.extend(extra)
    return {re.split(r"[\[<>=!~ ;]", r, maxsplit=1)[0].lower(): r for r in reqs}


def _run(cmd: list[str], **env: str) -> int:
    print("+", " ".join(cmd), flush=True)
    return subprocess.call(cmd, env={**os.environ, **env})


def _pip(python: Path, *args: str, **env: str) -> None:
    if _run([str(python), "-m", "pip", "install", "--disable-pip-version-check", *args], **env):
        sys.exit(f"setup_env: pip install {' '.join(args)} failed (see the output above).")


def _has_mmcv_ops(python: Path) -> bool:
    return subprocess.call([str(python), "-c", OPS_CHECK], stderr=subprocess.DEVNULL) == 0


def install_mmcv(python: Path, requirement: str) -> None:
    """Build mmcv with compiled ops (or reuse pip's cached wheel) and verify the ops import."""
    if _has_mmcv_ops(python):
        return
    env = {"MMCV_WITH_OPS": "1", "MAX_JOBS": os.environ.get("MAX_JOBS", str(os.cpu_count() or 2))}
    print(
        "setup_env: building mmcv with compiled ops from source; the first build takes about "
        "10-15 minutes on 2 cores, later set-ups reuse pip's cached wheel.",
        flush=True,
    )
    _pip(python, "--no-build-isolation", requirement, **env)
    if _has_mmcv_ops(python):
        return
    # A wheel built earlier without ops (e.g. with build isolation) sits in pip's cache.
    print("setup_env: installed mmcv has no compiled ops; rebuilding without pip's cache.")
    _run([str(python), "-m", "pip", "uninstall", "-y", "mmcv"])
    _pip(python, "--no-build-isolation", "--no-cache-dir", "--force-reinstall", "--no-deps",
         requirement, **env)
    if not _has_mmcv_ops(python):
        sys.exit(
            "setup_env: mmcv is installed without its compiled ops "
            f"(`python -c '{OPS_CHECK}'` fails).\n"
            "  Fix: pip cache remove mmcv && MMCV_WITH_OPS=1 pip install --no-build-isolation "
            f"--no-cache-dir {requirement}\n"
            "  (torch, ninja, psutil and setuptools<81 must be installed first; build isolation "
            "silently drops the ops.)"
        )


def setup(venv_dir: Path | None) -> None:
    """Install everything into ``venv_dir`` (created when missing), or into this interpreter."""
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"setup_env: needs Python 3.11, this is {sys.version.split()[0]}.")
    python = Path(sys.executable) if venv_dir is None else venv_dir / "bin" / "python"
    if not python.exists():
        print(f"setup_env: creating {venv_dir}", flush=True)
        venv.create(venv_dir, with_pip=True)
    pins = pinned_requirements()
    _pip(python, *(pins[name] for name in BUILD_FIRST))
    install_mmcv(python, pins["mmcv"])
    _pip(python, "-e", f"{ROOT}[dev]")
    if _run([str(python), "-m", "decoupled_rcnn.cli", "check-install"]):
        sys.exit("setup_env: the installed stack failed its check (see above).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--venv", type=Path, default=ROOT / ".venv", help="virtual environment "
                       "to create or update (default: .venv)")
    where.add_argument("--in-place", action="store_true", help="install into the running "
                       "interpreter's environment instead (e.g. an activated conda env)")
    args = parser.parse_args()
    setup(None if args.in_place else args.venv.resolve())


if __name__ == "__main__":
    main()
