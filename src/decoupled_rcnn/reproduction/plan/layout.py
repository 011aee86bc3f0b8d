"""Where every result file lives: the one owner of the results layout.

The workflow's rules build their path templates from :class:`Layout` (``{experiment}``,
``{seed}``, ``{test}``, ``{variant}``, ``{table}`` and ``{name}`` are Snakemake wildcards), and
the pipeline, tables and report code ask it for concrete paths or parse a declared path back
into what it holds. No other module joins result paths::

    <results>/data/ready.json                                   prepared data (summary)
    <results>/data/synthetic/                                   the generated stand-in data
    <results>/data/voc/                                         VOC XML converted to COCO json
    <results>/data/custom/{train,val}.json                      your VOC-format dataset, as
                                                                COCO json
    <results>/pretrain/<variant>/backbone.pth (+ .json, .log)   tiny backbone pre-training
    <results>/experiments/<experiment>/seed<k>/train/           model.pth, train.json,
                                                                train.log, work/ (config.py)
                                                                failed.json (the last
                                                                training failed: why)
    <results>/experiments/<experiment>/seed<k>/<test>/          metrics.json, evaluate.log,
                                                                detections.bbox.json, work/
    <results>/experiments/<experiment>/benchmark.json           speed, FLOPs, parameters
    <results>/benchmark/benchmark.json                          the whole benchmark run
    <results>/tables/table_<ID>.csv, cells.csv, runs.csv, claims.csv
    <results>/logs/<step>.log
    <results>/benchmarks/<rule>/<job>.tsv                       Snakemake's benchmark of each
                                                                job (wall, CPU-s, memory)
    <results>/.cache/selection.json                             which experiments share a run
    <report folder>/index.html, <report folder>/figures/<name>.png
    <report folder>/figures/curves/<experiment>.png             training curves
    <report folder>/figures/fig4_fpn_vs_decoupled.png (+ .json) Fig. 4: FPN vs Decoupled boxes
    <report folder>/figures/fig5_detections.png (+ .json)       Fig. 5: final model's boxes
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Layout", "MetricsKey"]

_TEMPLATES = {
    "data_ready": "{results}/data/ready.json",
    "synthetic_data": "{results}/data/synthetic",
    "voc_json": "{results}/data/voc",
    "custom_json": "{results}/data/custom",
    "pretrain": "{results}/pretrain/{variant}/backbone.pth",
    "pretrain_info": "{results}/pretrain/{variant}/backbone.json",
    "pretrain_log": "{results}/pretrain/{variant}/pretrain.log",
    "checkpoint": "{results}/experiments/{experiment}/seed{seed}/train/model.pth",
    "train_info": "{results}/experiments/{experiment}/seed{seed}/train/train.json",
    "train_log": "{results}/experiments/{experiment}/seed{seed}/train/train.log",
    "train_work": "{results}/experiments/{experiment}/seed{seed}/train/work",
    "train_failed": "{results}/experiments/{experiment}/seed{seed}/train/failed.json",
    "metrics": "{results}/experiments/{experiment}/seed{seed}/{test}/metrics.json",
    "eval_log": "{results}/experiments/{experiment}/seed{seed}/{test}/evaluate.log",
    "eval_work": "{results}/experiments/{experiment}/seed{seed}/{test}/work",
    "detections": "{results}/experiments/{experiment}/seed{seed}/{test}/detections",
    "benchmark": "{results}/experiments/{experiment}/benchmark.json",
    "bench_summary": "{results}/benchmark/benchmark.json",
    "table": "{results}/tables/table_{table}.csv",
    "cells": "{results}/tables/cells.csv",
    "runs": "{results}/tables/runs.csv",
    "claims": "{results}/tables/claims.csv",
    "log": "{results}/logs/{name}.log",
    # {name}: <rule>/<job>, e.g. "train/{experiment}" (the job's own wildcards kept)
    "rule_benchmark": "{results}/benchmarks/{name}.tsv",
    "selection_cache": "{results}/.cache/selection.json",
    "figure": "{report_dir}/figures/{name}.png",
    "curves": "{report_dir}/figures/curves/{experiment}.png",
    "fig4": "{report_dir}/figures/fig4_fpn_vs_decoupled.png",
    "fig4_info": "{report_dir}/figures/fig4_fpn_vs_decoupled.json",
    "fig5": "{report_dir}/figures/fig5_detections.png",
    "fig5_info": "{report_dir}/figures/fig5_detections.json",
}
_WILDCARDS = ("experiment", "seed", "test", "variant", "table", "name")


@dataclass(frozen=True)
class MetricsKey:
    """What one metrics (or benchmark) file holds: an experiment, a seed and a test setting.

    ``seed`` and ``test`` are None for a benchmark file (architecture-level numbers).
    """

    experiment: str
    seed: int | None
    test: str | None

    @property
    def evaluation(self) -> str:
        """The manifest's ``<experiment>/<test>`` key."""
        return f"{self.experiment}/{self.test}"


@dataclass(frozen=True)
class Layout:
    """The results layout of one workflow config.

    Attributes:
        results: the results folder (``results_dir`` of the workflow config).
        report: the HTML report's path (``report``); figures go beside it.
    """

    results: Path
    report: Path

    @classmethod
    def from_config(cls, wcfg: Mapping[str, Any]) -> Layout:
        """The layout of a workflow config (``results_dir`` and ``report`` keys)."""
        return cls(Path(wcfg["results_dir"]), Path(wcfg["report"]))

    def template(self, kind: str) -> str:
        """A path template with Snakemake wildcards, e.g. ``layout.template("metrics")``."""
        keep = {w: f"{{{w}}}" for w in _WILDCARDS}
        return _TEMPLATES[kind].format(results=self.results.as_posix(),
                                       report_dir=self.report.parent.as_posix(), **keep)

    def path(self, kind: str, **wildcards: Any) -> Path:
        """A concrete path, e.g. ``layout.path("checkpoint", experiment="x", seed=0)``."""
        return Path(self.template(kind).format(**{w: "{" + w + "}" for w in _WILDCARDS}
                                               | {k: str(v) for k, v in wildcards.items()}))

    def parse(self, kind: str, path: str | Path) -> dict[str, str]:
        """The wildcard values of a path made from ``template(kind)``.

        Raises:
            ValueError: if ``path`` is not of that kind (a file the DAG did not declare).
        """
        pattern = re.escape(self.template(kind))
        for wildcard in _WILDCARDS:
            pattern = pattern.replace(re.escape(f"{{{wildcard}}}"), f"(?P<{wildcard}>[^/]+)")
        match = re.fullmatch(pattern, Path(path).as_posix())
        if match is None:
            raise ValueError(f"{path} is not a {kind} file of {self.template(kind)}")
        return match.groupdict()

    def metrics_key(self, path: str | Path) -> MetricsKey:
        """Experiment, seed and test of a metrics file (or experiment of a benchmark file)."""
        try:
            found = self.parse("metrics", path)
            return MetricsKey(found["experiment"], int(found["seed"]), found["test"])
        except ValueError:
            found = self.parse("benchmark", path)
            return MetricsKey(found["experiment"], None, None)

    def train_failure_of(self, metrics: str | Path) -> Path | None:
        """The failure record of the training a metrics file evaluates (None: a benchmark)."""
        key = self.metrics_key(metrics)
        if key.seed is None:
            return None
        return self.path("train_failed", experiment=key.experiment, seed=key.seed)

    def train_log_of(self, train_info: str | Path) -> Path:
        """The training log beside a train info file."""
        found = self.parse("train_info", train_info)
        return self.path("train_log", **found)
