"""The Snakemake workflow end to end on a two-experiment subset (Table V), on CPU."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.slow, pytest.mark.workflow]

STRAY_TEXTS = ("98.7", "0.987")

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
TABLE_V = ("voc_r101_dec_c3_reg070_l100", "voc_r101_dec_c3_reg085_l100")
#: A metrics file of another experiment, left in the results folder by an earlier run.
STRAY = "results/experiments/voc_r101_faster/seed0/default/metrics.json"
STRAY_AP = 0.987


def _snakemake(workdir: Path, config: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(config), "--cores", "2", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("workflow")
    stray = workdir / STRAY
    stray.parent.mkdir(parents=True)
    stray.write_text(json.dumps({"status": "ok", "metrics": {"AP": STRAY_AP, "AP50": STRAY_AP}}))
    config = workdir / "subset.yaml"
    config.write_text(yaml.safe_dump({
        "tables": ["V"],
        "results_dir": "results",
        "report": "reports/index.html",
        "data": {"source": "synthetic",
                 "synthetic": {"seed": 0, "num_train": 12, "num_val": 6, "size": 96}},
        "model": {"tiny": True, "pretrained": True, "pretrain": {"iters": 4}},
        "schedule": {"kind": "short",
                     "short": {"iters": 4, "lr": 0.01, "batch_size": 2, "warmup_iters": 1,
                               "checkpoint_interval": 2}},
    }))
    result = _snakemake(workdir, config)
    assert result.returncode == 0, result.stderr[-4000:]
    return workdir, config, result


def test_subset_runs_to_a_report(finished_run):
    workdir, _, result = finished_run
    # prepare_data, pretrain (one tiny R101 variant), 2 x train, curves, 2 x evaluate,
    # tables, figures, report, all
    assert "11 of 11 steps (100%) done" in result.stderr
    results = workdir / "results" / "experiments"
    assert sorted(p.name for p in results.iterdir()) == sorted([*TABLE_V, "voc_r101_faster"])
    for exp in TABLE_V:
        payload = json.loads((results / exp / "seed0" / "default" / "metrics.json").read_text())
        assert payload["status"] == "ok"
        assert set(payload["metrics"]) >= {"AP", "AP50", "AP60", "AP70", "AP80", "AP90"}
        voc07 = payload["metrics"].pop("voc07_11point")  # the 11-point values, beside
        assert set(voc07) >= {"AP", "AP50", "AP90"}
        for values in (payload["metrics"], voc07):
            assert all(v is None or 0.0 <= v <= 1.0 for v in values.values())
        train = json.loads((results / exp / "seed0" / "train" / "train.json").read_text())
        assert train["iterations"] == 4
    table = (workdir / "results" / "tables" / "table_V.csv").read_text()
    assert "58.7" in table  # the paper's AP for NMS_reg 0.85, beside ours
    html = (workdir / "reports" / "index.html").read_text()
    assert re.findall(r'<table class="paper-table" data-table="([IVX]+)"', html) == ["V"]
    figure = workdir / "reports" / "figures" / "table_V_ap_vs_iou.png"
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "figures/table_V_ap_vs_iou.png" in html
    # every job wrote its Snakemake benchmark file, and the report's compute box sums them
    benches = workdir / "results" / "benchmarks"
    assert {p.relative_to(benches).as_posix() for p in benches.rglob("*.tsv")} >= {
        "prepare_data.tsv", "pretrain/r101.tsv", "curves.tsv", "tables.tsv", "figures.tsv",
        *(f"train/{e}.tsv" for e in TABLE_V), *(f"evaluate/{e}/default.tsv" for e in TABLE_V)}
    assert 'id="where-the-time-went"' in html and "<td>train</td><td>2</td>" in html


def test_a_stray_result_reaches_no_table(finished_run):
    workdir, _, _ = finished_run
    outputs = [*(workdir / "results" / "tables").glob("*.csv"), workdir / "reports" / "index.html"]
    assert sorted(p.name for p in outputs if p.suffix == ".csv") == [
        "cells.csv", "claims.csv", "runs.csv", "table_V.csv"]
    for path in outputs:
        text = path.read_text()
        assert not any(t in text for t in STRAY_TEXTS), path


def test_touching_nothing_reruns_nothing(finished_run):
    workdir, config, _ = finished_run
    dry = _snakemake(workdir, config, "-n")
    assert dry.returncode == 0, dry.stderr[-2000:]
    assert "Nothing to be done" in dry.stdout + dry.stderr


def test_rerunning_one_experiment_recomputes_only_its_chain(finished_run):
    workdir, config, _ = finished_run
    target = f"results/experiments/{TABLE_V[0]}/seed0/default/metrics.json"
    dry = _snakemake(workdir, config, "-n", "--forcerun", "train", "--until", target)
    out = dry.stdout + dry.stderr
    assert dry.returncode == 0, out[-2000:]
    assert TABLE_V[0] in out and TABLE_V[1] not in out



def _planned(workdir: Path, config: Path, **changes: object) -> dict[str, list[str]]:
    """Rule -> the experiments (or ``""``) of the jobs ``snakemake -n`` plans under a copy of
    ``config`` with ``changes`` (top-level keys; ``schedule`` is merged one level down)."""
    wcfg = yaml.safe_load(config.read_text())
    for key, value in changes.items():
        wcfg[key] = {**wcfg[key], **value} if key == "schedule" else value
    variant = workdir / "variant.yaml"
    variant.write_text(yaml.safe_dump(wcfg))
    dry = _snakemake(workdir, variant, "-n")
    out = dry.stdout + dry.stderr
    assert dry.returncode == 0, out[-3000:]
    jobs: dict[str, list[str]] = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", out):
        rule = re.match(r"(?:local)?rule (\w+):", block)
        if rule:
            found = re.search(r"wildcards: .*?experiment=([\w-]+)", block)
            jobs.setdefault(rule[1], []).append(found[1] if found else "")
    return {rule: sorted(experiments) for rule, experiments in jobs.items()}


def _manifest_copy(workdir: Path, experiment: str | None = None) -> str:
    """A copy of the paper manifest; with ``experiment``, its ``reg_loss_weight`` 1.0 -> 0.9."""
    lines = (ROOT / "configs" / "paper" / "manifest.yaml").read_text().splitlines()
    if experiment is not None:
        start = lines.index(f"  {experiment}:")
        at = next(i for i in range(start, start + 8) if "overrides:" in lines[i])
        assert "reg_loss_weight: 1.0}" in lines[at]
        lines[at] = lines[at].replace("reg_loss_weight: 1.0}", "reg_loss_weight: 0.9}")
    copy = workdir / f"manifest_{experiment or 'same'}.yaml"
    copy.write_text("\n".join(lines) + "\n")
    return str(copy)


def test_a_copy_of_the_manifest_changing_nothing_plans_nothing(finished_run):
    workdir, config, _ = finished_run
    assert _planned(workdir, config, manifest=_manifest_copy(workdir)) == {}


def test_one_changed_override_reruns_only_that_experiment(finished_run):
    workdir, config, _ = finished_run
    planned = _planned(workdir, config, manifest=_manifest_copy(workdir, TABLE_V[0]))
    # Its training, its curves and evaluation, then the tables, figures and report.
    assert planned == {"train": [TABLE_V[0]], "curves": [""],
                       "evaluate": [TABLE_V[0]], "tables": [""], "figures": [""],
                       "report": [""], "all": [""]}


def test_a_changed_schedule_reruns_every_training(finished_run):
    workdir, config, _ = finished_run
    planned = _planned(workdir, config, schedule={"short": {
        **yaml.safe_load(config.read_text())["schedule"]["short"], "iters": 6}})
    both = sorted(TABLE_V)
    assert planned == {"train": both, "curves": [""], "evaluate": both, "tables": [""],
                       "figures": [""], "report": [""], "all": [""]}
