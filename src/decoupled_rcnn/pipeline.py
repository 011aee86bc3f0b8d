"""What the workflow's rules do, one function per rule; each takes the workflow config.

The workflow config (``configs/workflow/*.yaml``, schema in ``workflow/schemas``) says where
the data is (generated stand-in or the paper's VOC/COCO), whether the tiny model setting and
a short schedule apply, and where results go. The manifest says what each experiment is.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from decoupled_rcnn.experiment import DataSpec, ShortSchedule, compose_config
from decoupled_rcnn.manifest import Manifest, load_manifest
from decoupled_rcnn.paths import REPO_ROOT

__all__ = ["benchmark_experiments", "data_spec", "experiment_config", "log_to",
           "make_figure_files", "make_report", "make_tables", "prepare_data", "run_benchmark",
           "run_evaluation", "run_training"]

SYNTHETIC = "synthetic"


@contextlib.contextmanager
def log_to(path: str | Path) -> Iterator[None]:
    """Send this process's stdout and stderr (and so mmengine's log) to a rule's log file."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as log, contextlib.redirect_stdout(log), \
            contextlib.redirect_stderr(log):
        yield


def _manifest(wcfg: Mapping[str, Any]) -> Manifest:
    return load_manifest(REPO_ROOT / wcfg["manifest"])


def _data_dir(wcfg: Mapping[str, Any]) -> Path:
    return Path(wcfg["results_dir"]) / "data"


def prepare_data(wcfg: Mapping[str, Any], done: str | Path) -> None:
    """Generate the stand-in data, or check the real roots and convert VOC to COCO json.

    Writes ``done`` (a small JSON summary) last, so the rule's output means "data ready".
    """
    from decoupled_rcnn.datasets.common import write_json_atomic

    data = wcfg["data"]
    summary: dict[str, Any] = {"source": data["source"]}
    if data["source"] == SYNTHETIC:
        from decoupled_rcnn.datasets.synthetic import generate_synthetic

        syn = data["synthetic"]
        result = generate_synthetic(_data_dir(wcfg) / SYNTHETIC, seed=syn["seed"],
                                    num_train=syn["num_train"], num_val=syn["num_val"],
                                    size=syn["size"], overwrite=True)
        summary["synthetic"] = repr(result)
    else:
        datasets = {e.dataset for e in _manifest(wcfg).experiments_for(wcfg["tables"])}
        if "voc0712" in datasets:
            from decoupled_rcnn.datasets.voc import convert_voc0712

            convert_voc0712(data.get("voc_root"), _data_dir(wcfg) / "voc")
            summary["voc"] = str(_data_dir(wcfg) / "voc")
        if "coco" in datasets:
            from decoupled_rcnn.datasets.coco import check_coco_root

            check_coco_root(data.get("coco_root"))
            summary["coco"] = str(data["coco_root"])
    write_json_atomic(summary, done)


def data_spec(wcfg: Mapping[str, Any], dataset: str, split: str = "val") -> DataSpec:
    """Where the manifest's ``dataset`` (``voc0712``/``coco``) lives under this config."""
    data = wcfg["data"]
    if data["source"] == SYNTHETIC:
        return DataSpec(SYNTHETIC, _data_dir(wcfg) / SYNTHETIC)
    if dataset == "voc0712":
        voc = _data_dir(wcfg) / "voc"
        return DataSpec("voc0712", Path(data["voc_root"]),
                        ann_files=(voc / "voc0712_trainval.json", voc / "voc07_test.json"))
    if dataset == "coco":
        fragment = "coco_test_dev" if split == "test-dev" else "coco_detection"
        return DataSpec(fragment, Path(data["coco_root"]))
    raise ValueError(f"manifest dataset {dataset!r} has no data source (voc0712 or coco)")


def experiment_config(wcfg: Mapping[str, Any], experiment_id: str, work_dir: str | Path,
                      test_id: str | None = None):
    """The composed mmengine config of one experiment (with a test setting's overrides)."""
    manifest = _manifest(wcfg)
    exp = manifest.experiments[experiment_id]
    overrides = dict(exp.overrides)
    split = "val"
    if test_id is not None:
        test = manifest.tests[test_id]
        overrides.update(test.overrides)
        split = test.split
    sched = wcfg["schedule"]
    return compose_config(
        exp.config, overrides,
        data=data_spec(wcfg, exp.dataset, split),
        tiny=wcfg["model"]["tiny"],
        pretrained=wcfg["model"]["pretrained"],
        schedule=ShortSchedule(**sched["short"]) if sched["kind"] == "short" else None,
        work_dir=work_dir,
        seed=wcfg["seed"],
    )


def run_training(wcfg: Mapping[str, Any], experiment_id: str, work_dir: str | Path,
                 checkpoint: str | Path, info: str | Path, gpus: int = 0) -> None:
    """Train one experiment; with more than one GPU, through ``torchrun`` (one process each).

    The composed config is saved as ``<work_dir>/config.py`` first: it is the record of what
    ran, and what the distributed workers load.
    """
    from decoupled_rcnn.runs import train_experiment

    cfg = experiment_config(wcfg, experiment_id, work_dir)
    Path(work_dir).mkdir(parents=True, exist_ok=True)
    saved = Path(work_dir) / "config.py"
    cfg.dump(saved)
    if gpus > 1:
        cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={gpus}",
               "-m", "decoupled_rcnn.cli", "train", str(saved), "--launcher", "pytorch",
               "--checkpoint", str(checkpoint), "--info", str(info)]
        subprocess.run(cmd, check=True, env=os.environ.copy())
        return
    cfg.filename = str(saved)
    train_experiment(cfg, checkpoint, info)


def run_evaluation(wcfg: Mapping[str, Any], experiment_id: str, test_id: str,
                   checkpoint: str | Path, metrics: str | Path, train_info: str | Path) -> None:
    """Evaluate a trained experiment under one manifest test setting."""
    import json

    from decoupled_rcnn.datasets.common import write_json_atomic
    from decoupled_rcnn.runs import evaluate_experiment

    manifest = _manifest(wcfg)
    test = manifest.tests[test_id]
    exp = manifest.experiments[experiment_id]
    work_dir = Path(metrics).parent / "work"
    cfg = experiment_config(wcfg, experiment_id, work_dir, test_id)
    server_only = test.server_only and wcfg["data"]["source"] != SYNTHETIC
    result = evaluate_experiment(cfg, checkpoint, metrics, server_only=server_only)
    trained = json.loads(Path(train_info).read_text())
    result["provenance"].update(
        config=exp.config, overrides=dict(exp.overrides), test=test_id,
        dataset=exp.dataset if wcfg["data"]["source"] != SYNTHETIC else "synthetic stand-in",
        schedule=exp.schedule if wcfg["schedule"]["kind"] == "paper" else
        f"short: {wcfg['schedule']['short']['iters']} iterations",
        wall_time_s=trained["wall_time_s"], train_hardware=trained["hardware"],
        log=str(Path(train_info).with_name("train.log")))
    write_json_atomic(result, metrics)


def benchmark_experiments(manifest: Manifest, tables: list[str]) -> list[str]:
    """Experiments of ``tables`` whose rows report speed, FLOPs or parameters."""
    found: dict[str, None] = {}
    for tid in tables:
        table = manifest.tables[tid]
        if any(manifest.metrics[c.metric].kind == "benchmark" for c in table.columns):
            found.update(dict.fromkeys(r.experiment for r in table.rows if r.experiment))
    return list(found)


def run_benchmark(wcfg: Mapping[str, Any], summary: str | Path,
                  per_experiment: Mapping[str, str | Path]) -> None:
    """Time every experiment's network in one process, interleaved (``decoupled-rcnn bench``).

    The first Faster R-CNN experiment is the baseline of the ratios. Writes the whole result
    (hardware named in its header) to ``summary`` and each experiment's numbers beside its
    metrics, where the tables read them.
    """
    from decoupled_rcnn.benchmark import benchmark, write_benchmark_json

    manifest = _manifest(wcfg)
    specs = [dict(name=e, config=manifest.experiments[e].config,
                  overrides=dict(manifest.experiments[e].overrides)) for e in per_experiment]
    baselines = [e for e in per_experiment if manifest.experiments[e].model == "faster_rcnn"]
    bench = wcfg["benchmark"]
    result = benchmark(specs, size=tuple(bench["size"]), tiny=wcfg["model"]["tiny"],
                       repeats=bench["repeats"], warmup=bench["warmup"], device=bench["device"],
                       threads=bench["threads"], flops=bench["flops"],
                       baseline=baselines[0] if baselines else None)
    write_benchmark_json(result, summary)
    for experiment, path in per_experiment.items():
        write_benchmark_json(result, path, entry=experiment)


def make_tables(wcfg: Mapping[str, Any], out_dir: str | Path) -> None:
    """One CSV per table (measured, paper, delta) from the metrics files that exist."""
    from decoupled_rcnn.tables import load_results, write_tables

    manifest = _manifest(wcfg)
    results = load_results(manifest, Path(wcfg["results_dir"]) / "experiments")
    write_tables(manifest, results, out_dir, wcfg["tables"])


def make_figure_files(wcfg: Mapping[str, Any], cells_csv: str | Path,
                      out_dir: str | Path) -> None:
    """AP-vs-IoU and sweep figures (measured beside the paper) from the tables' cells."""
    import pandas as pd

    from decoupled_rcnn.figures import make_figures

    make_figures(_manifest(wcfg), pd.read_csv(cells_csv), out_dir, wcfg["tables"])


def make_report(wcfg: Mapping[str, Any], out: str | Path, figures: list[str | Path]) -> None:
    """``index.html``: every table measured beside the paper, the figures, provenance."""
    from decoupled_rcnn.report import render_report
    from decoupled_rcnn.tables import load_results

    manifest = _manifest(wcfg)
    results = load_results(manifest, Path(wcfg["results_dir"]) / "experiments")
    figures = {Path(f).stem: Path(f) for f in figures}
    setting = ("generated stand-in data and the tiny model setting: the pipeline's numbers, "
               "not comparable to the paper's" if wcfg["data"]["source"] == SYNTHETIC
               else "the paper's datasets")
    render_report(manifest, results, out, figures=figures, context={"setting": setting})
