"""Create or update the project's virtual environment (standard library only).

Usage: ``python3.11 tools/setup_env.py [--venv .venv]``; ``make`` calls it.

The pins live in ``pyproject.toml`` alone. The order matters and is why a plain
``pip install -e .`` is not enough:

1. torch and the build helpers (setuptools < 81, ninja, psutil), because mmcv's setup.py
   imports both torch and pkg_resources;
2. mmcv from source with ``MMCV_WITH_OPS=1`` and ``--no-build-isolation``: with build
   isolation pip builds a wheel *without* compiled ops and says nothing; the result is
   checked, and a cached wheel without ops is thrown away and rebuilt once; where torch sees
   a GPU, with CUDA kernels too (``FORCE_CUDA=1``, the CUDA toolkit's ``nvcc``, which torch's
   wheel lacks): without a toolkit, or with one of another major version than torch's CUDA,
   set-up stops and says what to install;
   ``MAX_JOBS`` (compile processes) defaults to the CPUs this process may use
   (``os.sched_getaffinity``: a Slurm allocation's, not the whole node's), and
   ``TORCH_CUDA_ARCH_LIST`` (e.g. ``"7.0;8.0;9.0"``) builds kernels for GPU kinds other than
   this node's (README: set it when the compute nodes' GPUs differ from the build node's);
3. the package itself, editable, with the dev extras;
4. the stamp (``<venv>/.setup-done``) records the device kind set up for (``cpu`` or the
   GPU models ``nvidia-smi`` names): ``make setup`` on a node of another kind (a GPU node
   after the login node) runs this again (``--stamp-current`` answers for the Makefile);
5. optionally, the browser the report's browser test drives (Debian's ``chromium``; Playwright
   uses it through ``executable_path``, so no browser download): installed with apt-get when
   running as root, otherwise a message says how (the test is skipped without it).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD_FIRST = ("torch", "setuptools", "ninja", "psutil")
OPS_CHECK = "from mmcv.ops import nms, RoIAlign"
# mmcv's ops were compiled with CUDA kernels (it says "not available" otherwise).
CUDA_OPS_CHECK = ("from mmcv.ops import get_compiling_cuda_version as v; "
                  "assert v() != 'not available'")
TORCH_CUDA = "import torch; print(torch.cuda.is_available(), torch.version.cuda)"
CHROMIUM = Path("/usr/bin/chromium")


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


def _has_mmcv_ops(python: Path, cuda: bool = False) -> bool:
    checks = [OPS_CHECK, *([CUDA_OPS_CHECK] if cuda else [])]
    return all(subprocess.call([str(python), "-c", c], stderr=subprocess.DEVNULL) == 0
               for c in checks)


def torch_cuda(python: Path) -> tuple[bool, str | None]:
    """Whether the installed torch sees a CUDA device, and the CUDA version it was built for."""
    out = subprocess.run([str(python), "-c", TORCH_CUDA], capture_output=True, text=True,
                         check=True).stdout.split()
    return out[0] == "True", None if out[1] == "None" else out[1]


def find_nvcc() -> Path | None:
    """The CUDA toolkit's compiler: $CUDA_HOME/bin, the PATH, then /usr/local/cuda/bin."""
    home = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH")
    for candidate in ([Path(home) / "bin" / "nvcc"] if home else []):
        if candidate.is_file():
            return candidate
    found = shutil.which("nvcc")
    if found:
        return Path(found)
    default = Path("/usr/local/cuda/bin/nvcc")
    return default if default.is_file() else None


def nvcc_version(nvcc: Path) -> str | None:
    """The toolkit's release (``12.4``) from ``nvcc --version``."""
    out = subprocess.run([str(nvcc), "--version"], capture_output=True, text=True).stdout
    found = re.search(r"release (\d+\.\d+)", out)
    return found.group(1) if found else None


def mmcv_build_env(cuda_visible: bool, cuda_version: str | None, nvcc: Path | None,
                   toolkit: str | None) -> dict[str, str]:
    """What mmcv's build needs here; exits with one message where it could not use the GPU.

    Args:
        cuda_visible: torch sees a CUDA device (a GPU node).
        cuda_version: the CUDA version torch was built for (``torch.version.cuda``).
        nvcc: the CUDA toolkit's compiler, if one was found.
        toolkit: that toolkit's release.

    Returns:
        Environment variables for ``pip install mmcv``: CPU ops only without a GPU, CPU and
        CUDA ops (``FORCE_CUDA``, ``CUDA_HOME``) with one.
    """
    env = {"MMCV_WITH_OPS": "1"}
    if not cuda_visible:
        return env
    wanted = cuda_version or "matching torch"
    if nvcc is None:
        sys.exit(f"setup_env: torch sees a CUDA GPU, but no CUDA toolkit (nvcc) was found, so "
                 f"mmcv would build without CUDA ops and could not train on the GPU. Install "
                 f"the CUDA toolkit {wanted} (e.g. `module load cuda/{wanted}` on a cluster, or "
                 f"NVIDIA's cuda-toolkit package), put nvcc on the PATH or set CUDA_HOME, and "
                 f"run this again.")
    if cuda_version and toolkit and toolkit.split(".")[0] != cuda_version.split(".")[0]:
        sys.exit(f"setup_env: the CUDA toolkit at {nvcc} is {toolkit}, but torch was built "
                 f"for CUDA {cuda_version}; mmcv's CUDA ops must be compiled with the same "
                 f"major version. Install the CUDA toolkit {cuda_version} (or point CUDA_HOME "
                 f"at it) and run this again.")
    arch = os.environ.get("TORCH_CUDA_ARCH_LIST")
    return {**env, "FORCE_CUDA": "1", "CUDA_HOME": str(nvcc.parent.parent),
            **({"TORCH_CUDA_ARCH_LIST": arch} if arch else {})}


def build_jobs() -> str:
    """``MAX_JOBS`` for mmcv's build: the caller's, else the CPUs this process may run on."""
    if os.environ.get("MAX_JOBS"):
        return os.environ["MAX_JOBS"]
    if hasattr(os, "sched_getaffinity"):
        return str(len(os.sched_getaffinity(0)))
    return str(os.cpu_count() or 2)


def device_kind() -> str:
    """``cpu``, or ``cuda: <GPU models>`` as ``nvidia-smi`` names them (no torch needed)."""
    smi = shutil.which("nvidia-smi")
    if smi:
        out = subprocess.run([smi, "--query-gpu=name", "--format=csv,noheader"],
                             capture_output=True, text=True)
        names = sorted({line.strip() for line in out.stdout.splitlines() if line.strip()})
        if out.returncode == 0 and names:
            return "cuda: " + ", ".join(names)
    return "cpu"


def stamp_is_current(stamp: Path) -> bool:
    """Whether ``stamp`` records a set-up for this node's device kind.

    An empty stamp (written before stamps recorded the kind) counts as current, so an
    existing environment is not rebuilt by surprise; ``make setup`` once rewrites it.
    """
    if not stamp.is_file():
        return False
    recorded = stamp.read_text().strip()
    return not recorded or recorded == device_kind()


def install_mmcv(python: Path, requirement: str) -> None:
    """Build mmcv with compiled ops (or reuse pip's cached wheel) and verify the ops import.

    Where torch sees a GPU the ops must have CUDA kernels too: then a CUDA toolkit is needed
    (torch's wheel has no nvcc), and a cached CPU-only wheel is rebuilt.
    """
    visible, version = torch_cuda(python)
    nvcc = find_nvcc() if visible else None
    build = mmcv_build_env(visible, version, nvcc, nvcc_version(nvcc) if nvcc else None)
    if _has_mmcv_ops(python, cuda=visible):
        return
    env = {**build, "MAX_JOBS": build_jobs()}
    print(
        "setup_env: building mmcv with compiled ops from source; the first build takes about "
        "10-15 minutes on 2 cores, later set-ups reuse pip's cached wheel.",
        flush=True,
    )
    _pip(python, "--no-build-isolation", requirement, **env)
    if _has_mmcv_ops(python, cuda=visible):
        return
    # A wheel built earlier without ops (e.g. with build isolation) sits in pip's cache.
    print("setup_env: installed mmcv has no compiled ops; rebuilding without pip's cache.")
    _run([str(python), "-m", "pip", "uninstall", "-y", "mmcv"])
    _pip(python, "--no-build-isolation", "--no-cache-dir", "--force-reinstall", "--no-deps",
         requirement, **env)
    if not _has_mmcv_ops(python, cuda=visible):
        sys.exit(
            "setup_env: mmcv is installed without its compiled ops "
            f"(`python -c '{OPS_CHECK}'` fails).\n"
            "  Fix: pip cache remove mmcv && MMCV_WITH_OPS=1 pip install --no-build-isolation "
            f"--no-cache-dir {requirement}\n"
            "  (torch, ninja, psutil and setuptools<81 must be installed first; build isolation "
            "silently drops the ops.)"
            + ("\n  On this GPU node the ops also need CUDA kernels: add FORCE_CUDA=1 "
               f"CUDA_HOME={build.get('CUDA_HOME')} to that command." if visible else "")
        )


def install_browser() -> bool:
    """Make sure Debian's chromium is at /usr/bin/chromium (apt-get when root); never fatal.

    Returns:
        Whether the browser is there afterwards.
    """
    if CHROMIUM.exists():
        return True
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        print(f"setup_env: {CHROMIUM} is missing, so the report's browser test will be "
              "skipped. Install it with `sudo apt-get install -y chromium` (Debian/Ubuntu), "
              "or run this set-up as root.", flush=True)
        return False
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    if _run([apt, "install", "-y", "chromium"], **env):
        _run([apt, "update"], **env)  # a fresh image has no package lists yet
        _run([apt, "install", "-y", "chromium"], **env)
    if not CHROMIUM.exists():
        print(f"setup_env: installing chromium failed (see above); the report's browser "
              f"test will be skipped until {CHROMIUM} exists.", flush=True)
    return CHROMIUM.exists()


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
    install_browser()
    if venv_dir is not None:
        (venv_dir / ".setup-done").write_text(device_kind() + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--venv", type=Path, default=ROOT / ".venv", help="virtual environment "
                       "to create or update (default: .venv)")
    where.add_argument("--in-place", action="store_true", help="install into the running "
                       "interpreter's environment instead (e.g. an activated conda env)")
    where.add_argument("--stamp-current", type=Path, metavar="STAMP", help="exit 0 if STAMP "
                       "records a set-up for this node's device kind, else 1 (for make)")
    args = parser.parse_args()
    if args.stamp_current:
        sys.exit(0 if stamp_is_current(args.stamp_current) else 1)
    setup(None if args.in_place else args.venv.resolve())


if __name__ == "__main__":
    main()
