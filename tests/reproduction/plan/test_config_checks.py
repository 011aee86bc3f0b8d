"""Workflow config values are rejected by the schema or at DAG build time, naming the key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from decoupled_rcnn.reproduction.plan.config_checks import (
    ROOT_KEYS,
    WorkflowConfigError,
    check_dataset_roots,
)
from decoupled_rcnn.reproduction.plan.workflow_config import load_workflow_config

ROOT = Path(__file__).resolve().parents[3]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


@pytest.mark.parametrize("name", ["default.yaml", "paper.yaml"])
def test_the_shipped_workflow_configs_validate(name):
    wcfg = load_workflow_config(ROOT / "configs" / "workflow" / name)
    assert wcfg["tables"] and wcfg["seeds"] >= 1


@pytest.mark.parametrize(("overrides", "says"), [
    ({"tables": ["XII"]}, "tables[0]: 'XII' is not one of ['I', 'II'"),
    ({"data": {"source": "foo"}}, "data.source: 'foo' is not one of ['synthetic', 'real'"),
    ({"schedule": {"short": {"iters": -1}}}, "schedule.short.iters: -1 is less than the minimum"),
    ({"schedule": {"short": {"checkpoint_interval": 0}}},
     "schedule.short.checkpoint_interval: 0 is less than the minimum"),
    ({"seeds": 0}, "seeds: 0 is less than the minimum of 1"),
    ({"seeds": -1}, "seeds: -1 is less than the minimum of 1"),
    ({"seed": -1}, "seed: -1 is less than the minimum of 0"),
    ({"model": {"pretrain": {"iters": -1}}}, "model.pretrain.iters: -1 is less than the minimum"),
    ({"data": {"synthetic": {"num_train": 0}}}, "data.synthetic.num_train: 0 is less than"),
    ({"resources": {"train": {"runtime_min": 0}}}, "resources.train.runtime_min: 0 is less"),
    # A misspelt key is an error, not a setting silently left at its default.
    ({"tabels": ["V"]}, "(top level): Additional properties are not allowed ('tabels' was"),
    ({"schedule": {"short": {"iter": 3}}},
     "schedule.short: Additional properties are not allowed ('iter' was unexpected)"),
])
def test_a_bad_value_is_rejected_naming_its_key(overrides, says):
    with pytest.raises(jsonschema.ValidationError) as err:
        load_workflow_config(None, overrides)
    message = str(err.value)
    assert message.startswith(says) and "\n" not in message, message


def _snakemake(workdir: Path, config: dict, *args: str) -> subprocess.CompletedProcess:
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return subprocess.run([SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
                           "--configfile", str(path), "--cores", "1", *args],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})


@pytest.mark.workflow
def test_snakemakes_own_validation_names_the_key(tmp_path):
    result = _snakemake(tmp_path, {"tables": ["XII"]}, "-n")
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "'XII' is not one of" in out and "On instance['tables'][0]" in out, out[-2000:]


def _real(**roots) -> dict:
    return load_workflow_config(None, {"tables": ["I", "VIII"],
                                       "data": {"source": "real", **roots}})


def test_a_missing_dataset_root_is_named(tmp_path):
    voc = tmp_path / "VOCdevkit"
    with pytest.raises(WorkflowConfigError) as err:
        check_dataset_roots(_real(voc_root=str(voc), coco_root=str(tmp_path)))
    assert str(err.value).startswith(f"data.voc_root: {voc} does not exist; it must name the "
                                     "VOCdevkit folder")
    voc.mkdir()
    unset = r"^data\.coco_root: not set; .*tables \(I, VIII\)"
    with pytest.raises(WorkflowConfigError, match=unset):
        check_dataset_roots(_real(voc_root=str(voc)))
    (tmp_path / "coco").write_text("")
    with pytest.raises(WorkflowConfigError, match=r"^data\.coco_root: .* is not a directory"):
        check_dataset_roots(_real(voc_root=str(voc), coco_root=str(tmp_path / "coco")))
    check_dataset_roots(_real(voc_root=str(voc), coco_root=str(tmp_path)))  # both exist


def test_only_the_roots_the_selection_reads_are_checked(tmp_path):
    check_dataset_roots(load_workflow_config(None, {}))  # stand-in data: no root at all
    voc_only = load_workflow_config(None, {"tables": ["V"], "data": {
        "source": "real", "voc_root": str(tmp_path)}})
    check_dataset_roots(voc_only)  # Table V is VOC only: data.coco_root is not read
    assert {k.key for k in ROOT_KEYS} >= {"data.voc_root", "data.coco_root"}


@pytest.mark.workflow
def test_a_run_with_a_missing_root_fails_before_any_job_and_a_dry_run_still_plans(tmp_path):
    config = {"tables": ["V"], "data": {"source": "real", "voc_root": "/nonexistent/VOCdevkit"}}
    dry = _snakemake(tmp_path, config, "-n")
    assert dry.returncode == 0, dry.stderr[-2000:]
    run = _snakemake(tmp_path, config, "results/data/ready.json")
    assert run.returncode != 0
    assert "data.voc_root: /nonexistent/VOCdevkit does not exist" in run.stderr, run.stderr[-2000:]
    assert not (tmp_path / "results" / "data").exists()  # not even prepare_data ran
