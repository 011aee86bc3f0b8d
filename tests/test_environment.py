"""The pins in pyproject.toml and environment.yml agree, and the stack is usable."""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def _load_setup_env():
    spec = importlib.util.spec_from_file_location("setup_env", ROOT / "tools" / "setup_env.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~ ;]", requirement, maxsplit=1)[0].lower()


def test_environment_yml_repeats_pyproject_pins_exactly():
    pins = _load_setup_env().pinned_requirements(ROOT / "pyproject.toml")
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "python=3.11" in conda
    assert {_name(r): r for r in pip} == pins


def test_required_pins_are_the_frozen_stack():
    pins = _load_setup_env().pinned_requirements(ROOT / "pyproject.toml")
    for expected in ("torch==2.13.0", "mmengine==0.10.7", "mmcv==2.1.0", "mmdet==3.3.0",
                     "setuptools>=77.0.3,<81"):
        assert expected in pins.values()
    assert pins["snakemake"].startswith("snakemake[reports]==9.")


def test_stack_check_runs_a_compiled_op():
    from decoupled_rcnn.install_check import check_stack

    report = check_stack()
    assert report["mmcv"] == "2.1.0 (ops compiled)"
    assert report["mmdet"] == "3.3.0"
    assert report["torch"].startswith("2.13.0")


def test_weights_only_stays_the_default(tmp_path):
    import pickle

    import torch

    import decoupled_rcnn  # noqa: F401  (import installs the allow-list)

    assert "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD" not in os.environ
    path = tmp_path / "obj.pth"
    torch.save({"when": __import__("datetime").date(2020, 1, 1)}, path)
    with pytest.raises(pickle.UnpicklingError, match="datetime"):
        torch.load(path)  # no weights_only argument: the default must refuse the object
