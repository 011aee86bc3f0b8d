"""The paper manifest: every row of Tables I-XI, the paper's numbers, and the experiments.

``configs/paper/manifest.yaml`` is data only. This module loads it into frozen dataclasses,
validates it (every problem is reported with the table, row and key it concerns) and answers
the questions the workflow, the table builder and ``decoupled-rcnn plan`` ask:

* which training experiments exist (each runs once, however many rows use it),
* which evaluations (experiment x test setting) exist: a row may reuse a trained model with
  other test settings (Table IX soft-NMS, Table X stage pairs),
* which experiments are shared between tables, and how many each table needs,
* which qualitative claims the paper makes about its tables (:class:`Claim`), each a statistic
  over table cells whose sign the paper asserts.

Numbers under a row's ``paper:`` key are the paper's reported values, never measurements.

This module is the data model; parsing and validation are in :mod:`.parse` (and
:mod:`.claims` for ``claims:``), structural checks in :mod:`.checks`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from decoupled_rcnn.paths import REPO_ROOT
from decoupled_rcnn.reproduction.manifest.claim_types import Claim, Decision

DEFAULT_MANIFEST = REPO_ROOT / "configs" / "paper" / "manifest.yaml"
DEFAULT_TEST = "default"
NOT_AVAILABLE = "n/a"


def cfg_options(overrides: Mapping[str, Any]) -> list[str]:
    """Format overrides as mmengine ``--cfg-options`` items: ``a.b=0.85``, ``a.c=[1,2,3]``."""

    def fmt(value: Any) -> str:
        if isinstance(value, list | tuple):
            return "[" + ",".join(fmt(v) for v in value) + "]"
        return "None" if value is None else str(value)

    return [f"{key}={fmt(value)}" for key, value in overrides.items()]


class ManifestError(ValueError):
    """The manifest is inconsistent; the message lists every problem found, one per line."""


@dataclass(frozen=True)
class Metric:
    """How one measured quantity is labelled and printed (e.g. ``AP50``, ``s_per_img``)."""

    name: str
    label: str
    decimals: int
    kind: str  # "accuracy" (from evaluation) or "benchmark" (speed, FLOPs, parameters)
    higher_is_better: bool


@dataclass(frozen=True)
class Schedule:
    """A training schedule of the paper (VOC 12 epochs, COCO 1x, 2x, multi-scale 2x)."""

    id: str
    dataset: str
    epochs: int
    lr: float
    milestones: tuple[int, ...]
    multiscale: bool
    description: str = ""


@dataclass(frozen=True)
class TestSetting:
    """Test-time settings applied to a trained model without retraining it."""

    id: str
    split: str  # "val" (VOC07 test / COCO val2017) or "test-dev" (evaluation server only)
    score_thr: float
    nms: str  # "nms" or "soft_nms"
    stage_pair: tuple[int | str, int | str] | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""

    def cfg_options(self) -> list[str]:
        """``key=value`` strings for ``--cfg-options`` (mmengine ``DictAction`` syntax)."""
        return cfg_options(self.overrides)

    @property
    def server_only(self) -> bool:
        """True when ground truth is private: numbers come from the COCO server, not us."""
        return self.split == "test-dev"


@dataclass(frozen=True)
class Experiment:
    """One training run: trained once, however many table rows use it."""

    id: str
    model: str
    backbone: str
    dataset: str
    schedule: str
    config: str
    overrides: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    note: str = ""

    def cfg_options(self) -> list[str]:
        """``key=value`` strings for ``--cfg-options`` (mmengine ``DictAction`` syntax)."""
        return cfg_options(self.overrides)

    def identity(self) -> tuple:
        """Everything that changes what is trained; two ids with equal identity are one run."""
        return (self.model, self.backbone, self.dataset, self.schedule, self.config,
                tuple(sorted((k, repr(v)) for k, v in self.overrides.items())))


@dataclass(frozen=True)
class Evaluation:
    """A trained experiment evaluated under one test setting (``<experiment>/<test>``)."""

    experiment: str
    test: str

    @property
    def key(self) -> str:
        return f"{self.experiment}/{self.test}"


@dataclass(frozen=True)
class Column:
    """A value column of a table; ``test`` overrides the row's test setting (Table X)."""

    key: str
    metric: str
    label: str
    test: str | None = None


@dataclass(frozen=True)
class Row:
    """One row of a paper table with the paper's values and what reproduces it."""

    table: str
    index: int  # 1-based position in the paper's table
    labels: Mapping[str, Any]
    paper: Mapping[str, float | None]  # the paper's reported values; None is "n/a"
    experiment: str | None
    test: str
    published: bool
    group: str = ""
    note: str = ""
    baseline: int | None = None  # 1-based reference row of this row (default: the table's)

    @property
    def name(self) -> str:
        shown = [f"{k}={v}" for k, v in self.labels.items() if v not in ("", None)]
        return f"Table {self.table} row {self.index} ({', '.join(shown) or 'no labels'})"

    def evaluation(self, column: Column) -> Evaluation | None:
        """The evaluation whose metrics fill ``column`` of this row; None for published rows."""
        if self.experiment is None:
            return None
        return Evaluation(self.experiment, column.test or self.test)


@dataclass(frozen=True)
class Table:
    """One paper table: its label columns, value columns and rows in the paper's order."""

    id: str
    title: str
    dataset: str
    label_columns: tuple[str, ...]
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    sweep: str | None = None  # label column swept along the rows (figures draw it as x)
    note: str = ""
    baseline: int | None = None  # 1-based index of the reference row ("difference to it")

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    def row(self, index: int) -> Row:
        """The row with 1-based ``index`` (as the paper and the manifest count)."""
        if not 1 <= index <= len(self.rows):
            raise IndexError(f"Table {self.id} has rows 1-{len(self.rows)}, not {index}")
        return self.rows[index - 1]

    @property
    def baseline_row(self) -> Row | None:
        """The reference row, or None where the table has none (e.g. Table IX)."""
        return None if self.baseline is None else self.row(self.baseline)

    def baseline_of(self, index: int) -> int | None:
        """The 1-based reference row of row ``index``: its own ``baseline:`` or the table's.

        A row's own baseline lets rows of another backbone compare with that backbone's FPN
        row (Tables VII, VIII, XI) instead of mixing backbone and method.
        """
        return self.row(index).baseline or self.baseline

    def baseline_rows(self) -> list[int]:
        """Every reference row some row of the table is compared with, in row order."""
        found = {self.baseline_of(r.index) for r in self.rows}
        return sorted(i for i in found if i is not None)

    def experiments(self) -> list[str]:
        """Training experiments this table needs, first use first, each once."""
        return list(dict.fromkeys(r.experiment for r in self.rows if r.experiment))

    def evaluations(self) -> list[Evaluation]:
        found = (r.evaluation(c) for r in self.rows for c in self.columns)
        return list(dict.fromkeys(e for e in found if e is not None))


@dataclass(frozen=True)
class Manifest:
    """The validated manifest; build it with :func:`load_manifest`."""

    path: Path | None
    metrics: Mapping[str, Metric]
    schedules: Mapping[str, Schedule]
    tests: Mapping[str, TestSetting]
    experiments: Mapping[str, Experiment]
    tables: Mapping[str, Table]
    cost_model: Mapping[str, Any]
    paper: Mapping[str, Any]
    claims: Mapping[str, Claim] = field(default_factory=dict)
    decision: Decision = field(default_factory=Decision)

    def unique_experiments(self) -> list[Experiment]:
        """Every training experiment some row needs, in order of first use, each once."""
        return self.experiments_for(None)

    def evaluations(self) -> list[Evaluation]:
        """Every (experiment, test setting) pair some cell needs, each once."""
        return self.evaluations_for(None)

    def experiments_for(self, tables: list[str] | None = None) -> list[Experiment]:
        """Training experiments the given tables need (all tables when None), each once."""
        chosen = self._tables(tables)
        ids = dict.fromkeys(e for t in chosen for e in t.experiments())
        return [self.experiments[i] for i in ids]

    def evaluations_for(self, tables: list[str] | None = None) -> list[Evaluation]:
        """Evaluations the given tables need (all tables when None), each once."""
        return list(dict.fromkeys(e for t in self._tables(tables) for e in t.evaluations()))

    def _tables(self, tables: list[str] | None) -> list[Table]:
        unknown = [t for t in tables or [] if t not in self.tables]
        if unknown:
            raise KeyError(f"unknown table(s) {unknown}; the manifest has {list(self.tables)}")
        return [self.tables[t] for t in (tables or self.tables)]

    def tables_using(self) -> dict[str, list[str]]:
        """Experiment id -> the tables whose rows use it."""
        used: dict[str, list[str]] = {}
        for table in self.tables.values():
            for exp in table.experiments():
                used.setdefault(exp, []).append(table.id)
        return used

    def shared_experiments(self) -> dict[str, list[str]]:
        """Experiments used by more than one table (they still train once)."""
        return {e: t for e, t in self.tables_using().items() if len(t) > 1}

    def counts_per_table(self) -> dict[str, dict[str, int]]:
        """Per table: rows, published-only rows, experiments, evaluations, shared ones."""
        using = self.tables_using()
        out = {}
        for tid, table in self.tables.items():
            exps = table.experiments()
            out[tid] = {
                "rows": len(table.rows),
                "published_rows": sum(r.published for r in table.rows),
                "experiments": len(exps),
                "evaluations": len(table.evaluations()),
                "shared": sum(len(using[e]) > 1 for e in exps),
            }
        return out

    def missing_configs(self, root: Path) -> list[str]:
        """Config paths (relative to ``root``) that do not exist."""
        paths = dict.fromkeys(e.config for e in self.unique_experiments())
        return [p for p in paths if not (root / p).is_file()]

    def evaluation(self, key: str) -> tuple[Experiment, TestSetting]:
        """The experiment and test setting of an ``<experiment>/<test>`` key."""
        experiment, _, test = key.partition("/")
        return self.experiments[experiment], self.tests[test or DEFAULT_TEST]

    def iter_rows(self) -> Iterator[Row]:
        for table in self.tables.values():
            yield from table.rows

    def claims_for(self, table: str) -> list[Claim]:
        """The claims about one table, in manifest order."""
        return [c for c in self.claims.values() if c.table == table]
