"""Parse and validate ``configs/paper/manifest.yaml`` into :mod:`.manifest`'s dataclasses.

Every problem is collected, named by its table, row, claim and key, and reported at once as
one :class:`~decoupled_rcnn.reproduction.manifest.ManifestError`. Use
:func:`decoupled_rcnn.reproduction.manifest.load_manifest` (or ``parse_manifest``), which call
:func:`read_manifest` / :func:`build_manifest` here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from decoupled_rcnn.reproduction.manifest.checks import check_id, require, unknown_keys
from decoupled_rcnn.reproduction.manifest.claims import parse_claims, parse_decision
from decoupled_rcnn.reproduction.manifest.model import (
    DEFAULT_MANIFEST,
    DEFAULT_TEST,
    NOT_AVAILABLE,
    Column,
    Experiment,
    Manifest,
    ManifestError,
    Metric,
    Row,
    Schedule,
    Table,
    TestSetting,
)

_TOP_KEYS = {"version", "paper", "metrics", "schedules", "test_settings", "cost_model",
             "experiments", "tables", "claims", "decision"}
_EXPERIMENT_KEYS = {"model", "backbone", "dataset", "schedule", "config", "overrides",
                    "description", "note"}
_TEST_KEYS = {"split", "score_thr", "nms", "stage_pair", "overrides", "description"}
_ROW_KEYS = {"labels", "paper", "experiment", "test", "published", "group", "note",
             "baseline"}
_TABLE_KEYS = {"title", "dataset", "label_columns", "columns", "rows", "sweep", "note",
               "baseline"}
_COLUMN_KEYS = {"key", "metric", "label", "test"}


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (PyYAML keeps the last one silently)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict:
    seen: dict = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise ManifestError(
                f"duplicate key {key!r} at line {key_node.start_mark.line + 1} "
                f"(first at line {seen[key]})"
            )
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_manifest(path: str | Path | None = None) -> Manifest:
    """Read and validate a manifest file (default: ``configs/paper/manifest.yaml``).

    Raises:
        ManifestError: listing every inconsistency, each naming its table, row and key.
    """
    path = Path(path) if path is not None else DEFAULT_MANIFEST
    with open(path, encoding="utf-8") as f:
        try:
            data = yaml.load(f, Loader=_UniqueKeyLoader)
        except ManifestError as err:
            raise ManifestError(f"{path}: {err}") from None
    return build_manifest(data, path=path)


def build_manifest(data: Mapping[str, Any], path: Path | None = None) -> Manifest:
    """Build a :class:`Manifest` from already-parsed YAML data, validating everything.

    Raises:
        ManifestError: listing every inconsistency, each naming its table, row, claim and key.
    """
    errors: list[str] = []
    if not isinstance(data, Mapping):
        raise ManifestError("manifest: the top level must be a mapping")
    unknown_keys(data, _TOP_KEYS, "manifest", errors)
    metrics = _parse_metrics(data.get("metrics") or {}, errors)
    schedules = _parse_schedules(data.get("schedules") or {}, errors)
    tests = _parse_tests(data.get("test_settings") or {}, errors)
    experiments = _parse_experiments(data.get("experiments") or {}, schedules, errors)
    tables = _parse_tables(data.get("tables") or {}, metrics, tests, experiments, errors)
    used = {r.experiment for t in tables.values() for r in t.rows if r.experiment}
    for exp_id in experiments:
        if exp_id not in used:
            errors.append(f"experiments.{exp_id}: declared but no table row uses it")
    _check_cost_model(data.get("cost_model") or {}, experiments, errors)
    decision = parse_decision(data.get("decision") or {}, errors)
    claims = parse_claims(data.get("claims") or [], tables, errors, decision)
    if DEFAULT_TEST not in tests:
        errors.append(f"test_settings: the {DEFAULT_TEST!r} test setting is required")
    if errors:
        where = f"{path}: " if path else ""
        raise ManifestError(f"{where}{len(errors)} problem(s):\n  " + "\n  ".join(errors))
    return Manifest(path=path, metrics=metrics, schedules=schedules, tests=tests,
                    experiments=experiments, tables=tables,
                    cost_model=dict(data.get("cost_model") or {}),
                    paper=dict(data.get("paper") or {}), claims=claims, decision=decision)


def _check_cost_model(cost: Mapping, experiments: Mapping[str, Experiment],
                      errors: list[str]) -> None:
    """Every experiment must be costable by ``decoupled-rcnn plan`` once a cost model exists."""
    if not cost:
        return
    needed = ("gpus_per_run", "images_per_gpu", "train_images", "eval_images", "s_per_iter",
              "test_s_per_img", "model_factor")
    if not require(cost, needed, "cost_model", errors):
        return
    for exp in experiments.values():
        for table, key in (("s_per_iter", exp.backbone), ("test_s_per_img", exp.backbone),
                           ("train_images", exp.dataset), ("eval_images", exp.dataset),
                           ("model_factor", exp.model)):
            if key not in cost[table]:
                errors.append(f"cost_model.{table}: no entry {key!r} "
                              f"(needed by experiments.{exp.id})")


def _parse_metrics(raw: Mapping, errors: list[str]) -> dict[str, Metric]:
    out = {}
    for name, entry in raw.items():
        where = f"metrics.{name}"
        entry = entry or {}
        unknown_keys(entry, {"label", "decimals", "kind", "higher_is_better"}, where, errors)
        kind = entry.get("kind", "accuracy")
        if kind not in ("accuracy", "benchmark"):
            errors.append(f"{where}.kind: {kind!r} is not 'accuracy' or 'benchmark'")
        out[name] = Metric(name=name, label=str(entry.get("label", name)),
                           decimals=int(entry.get("decimals", 1)), kind=kind,
                           higher_is_better=bool(entry.get("higher_is_better", True)))
    return out


def _parse_schedules(raw: Mapping, errors: list[str]) -> dict[str, Schedule]:
    out = {}
    for sid, entry in raw.items():
        where = f"schedules.{sid}"
        if not check_id(sid, where, errors) or not require(
            entry, ("dataset", "epochs", "lr", "milestones"), where, errors
        ):
            continue
        unknown_keys(entry, {"dataset", "epochs", "lr", "milestones", "multiscale",
                              "description"}, where, errors)
        milestones = tuple(int(m) for m in entry["milestones"])
        if any(m >= int(entry["epochs"]) for m in milestones):
            errors.append(f"{where}.milestones: {milestones} not all below epochs")
        out[sid] = Schedule(id=sid, dataset=entry["dataset"], epochs=int(entry["epochs"]),
                            lr=float(entry["lr"]), milestones=milestones,
                            multiscale=bool(entry.get("multiscale", False)),
                            description=str(entry.get("description", "")))
    return out


def _parse_tests(raw: Mapping, errors: list[str]) -> dict[str, TestSetting]:
    out = {}
    for tid, entry in raw.items():
        where = f"test_settings.{tid}"
        if not check_id(tid, where, errors) or not require(
            entry, ("split", "score_thr", "nms"), where, errors
        ):
            continue
        unknown_keys(entry, _TEST_KEYS, where, errors)
        if entry["split"] not in ("val", "test-dev"):
            errors.append(f"{where}.split: {entry['split']!r} is not 'val' or 'test-dev'")
        if entry["nms"] not in ("nms", "soft_nms"):
            errors.append(f"{where}.nms: {entry['nms']!r} is not 'nms' or 'soft_nms'")
        pair = entry.get("stage_pair")
        if pair is not None and (not isinstance(pair, list) or len(pair) != 2):
            errors.append(f"{where}.stage_pair: {pair!r} must be [regressor, classifier]")
            pair = None
        _check_overrides(entry.get("overrides") or {}, f"{where}.overrides", errors)
        out[tid] = TestSetting(id=tid, split=entry["split"], score_thr=float(entry["score_thr"]),
                               nms=entry["nms"], stage_pair=tuple(pair) if pair else None,
                               overrides=dict(entry.get("overrides") or {}),
                               description=str(entry.get("description", "")))
    return out


def _check_overrides(overrides: Any, where: str, errors: list[str]) -> None:
    if not isinstance(overrides, Mapping):
        errors.append(f"{where}: must be a mapping of dotted cfg-options keys to values")
        return
    for key in overrides:
        if not isinstance(key, str) or "." not in key or " " in key:
            errors.append(f"{where}: {key!r} is not a dotted cfg-options key (e.g. model.x.y)")


def _parse_experiments(raw: Mapping, schedules: Mapping[str, Schedule],
                       errors: list[str]) -> dict[str, Experiment]:
    out: dict[str, Experiment] = {}
    seen: dict[tuple, str] = {}
    required = ("model", "backbone", "dataset", "schedule", "config")
    for eid, entry in raw.items():
        where = f"experiments.{eid}"
        if not check_id(eid, where, errors) or not require(entry, required, where, errors):
            continue
        unknown_keys(entry, _EXPERIMENT_KEYS, where, errors)
        overrides = entry.get("overrides") or {}
        _check_overrides(overrides, f"{where}.overrides", errors)
        schedule = schedules.get(entry["schedule"])
        if schedule is None:
            errors.append(f"{where}.schedule: unknown schedule {entry['schedule']!r} "
                          f"(known: {', '.join(schedules)})")
        elif schedule.dataset != entry["dataset"]:
            errors.append(f"{where}: schedule {schedule.id!r} is for {schedule.dataset!r}, "
                          f"not dataset {entry['dataset']!r}")
        exp = Experiment(id=eid, model=entry["model"], backbone=entry["backbone"],
                         dataset=entry["dataset"], schedule=entry["schedule"],
                         config=entry["config"], overrides=dict(overrides),
                         description=str(entry.get("description", "")),
                         note=str(entry.get("note", "")))
        if exp.identity() in seen:
            errors.append(f"{where}: same parameters as experiments.{seen[exp.identity()]} "
                          "(one run must have one id; point both rows at it)")
        else:
            seen[exp.identity()] = eid
        out[eid] = exp
    return out


def _parse_columns(raw: Any, metrics: Mapping[str, Metric], tests: Mapping[str, TestSetting],
                   where: str, errors: list[str]) -> tuple[Column, ...]:
    columns = []
    for i, item in enumerate(raw or []):
        entry = {"key": item} if isinstance(item, str) else dict(item)
        cwhere = f"{where}.columns[{i}]"
        unknown_keys(entry, _COLUMN_KEYS, cwhere, errors)
        key = entry.get("key")
        if not isinstance(key, str):
            errors.append(f"{cwhere}: a column needs a string key")
            continue
        metric = entry.get("metric", key)
        if metric not in metrics:
            errors.append(f"{cwhere}: unknown metric {metric!r} (declare it under metrics:)")
            continue
        test = entry.get("test")
        if test is not None and test not in tests:
            errors.append(f"{cwhere}.test: unknown test setting {test!r}")
        columns.append(Column(key=key, metric=metric, test=test,
                              label=str(entry.get("label", metrics[metric].label))))
    keys = [c.key for c in columns]
    for key in {k for k in keys if keys.count(k) > 1}:
        errors.append(f"{where}.columns: column {key!r} appears twice")
    if not columns:
        errors.append(f"{where}.columns: a table needs at least one value column")
    return tuple(columns)


def _parse_paper_value(value: Any, where: str, errors: list[str]) -> float | None:
    if value == NOT_AVAILABLE:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors.append(f"{where}: {value!r} is not a number or {NOT_AVAILABLE!r}")
        return None
    return float(value)


def _parse_row(table_id: str, index: int, entry: Mapping, label_columns: tuple[str, ...],
               columns: tuple[Column, ...], tests: Mapping[str, TestSetting],
               experiments: Mapping[str, Experiment], errors: list[str]) -> Row:
    labels = dict(entry.get("labels") or {})
    where = f"Table {table_id} row {index}"
    for key in labels:
        if key not in label_columns:
            errors.append(f"{where}.labels: {key!r} is not a label column of Table {table_id} "
                          f"({', '.join(label_columns)})")
    unknown_keys(entry, _ROW_KEYS, where, errors)
    paper_raw = entry.get("paper") or {}
    col_keys = [c.key for c in columns]
    paper = {}
    for key, value in paper_raw.items():
        if key not in col_keys:
            errors.append(f"{where}.paper: Table {table_id} has no column {key!r} "
                          f"(columns: {', '.join(col_keys)})")
            continue
        paper[key] = _parse_paper_value(value, f"{where}.paper.{key}", errors)
    for key in col_keys:
        if key not in paper_raw:
            errors.append(f"{where}.paper: missing the paper's value for column {key!r} "
                          f"(write {NOT_AVAILABLE!r} where the paper has none)")
    published = bool(entry.get("published", False))
    experiment = entry.get("experiment")
    test = entry.get("test", DEFAULT_TEST)
    if published and experiment is not None:
        errors.append(f"{where}: a published-only row cannot name an experiment")
    if not published and experiment is None:
        errors.append(f"{where}: needs an experiment (or published: true for other detectors)")
    if experiment is not None and experiment not in experiments:
        errors.append(f"{where}.experiment: unknown experiment id {experiment!r}")
    if test not in tests:
        errors.append(f"{where}.test: unknown test setting {test!r}")
    return Row(table=table_id, index=index, labels=labels, paper=paper,
               experiment=experiment, test=test, published=published,
               group=str(entry.get("group", "")), note=str(entry.get("note", "")),
               baseline=entry.get("baseline"))


def _parse_tables(raw: Mapping, metrics: Mapping[str, Metric],
                  tests: Mapping[str, TestSetting], experiments: Mapping[str, Experiment],
                  errors: list[str]) -> dict[str, Table]:
    out = {}
    for tid, entry in raw.items():
        where = f"Table {tid}"
        if not require(entry, ("title", "columns", "rows"), where, errors):
            continue
        unknown_keys(entry, _TABLE_KEYS, where, errors)
        label_columns = tuple(entry.get("label_columns") or ())
        columns = _parse_columns(entry["columns"], metrics, tests, where, errors)
        rows = tuple(
            _parse_row(str(tid), i, r or {}, label_columns, columns, tests, experiments, errors)
            for i, r in enumerate(entry["rows"] or [], start=1)
        )
        names = [tuple(sorted((k, str(v)) for k, v in r.labels.items())) for r in rows]
        for i, name in enumerate(names):
            if name in names[:i] and not rows[i].note:
                errors.append(f"{rows[i].name}: same labels as an earlier row "
                              "(add a note: if the paper really repeats it)")
        runs = [(r.experiment, r.test) for r in rows if r.experiment]
        for i, row in enumerate(r for r in rows if r.experiment):
            if runs[i] in runs[:i]:
                errors.append(f"{row.name}: same experiment and test setting as an earlier row "
                              "of this table")
        sweep = entry.get("sweep")
        if sweep is not None and sweep not in label_columns:
            errors.append(f"{where}.sweep: {sweep!r} is not a label column")
        baseline = _parse_baseline(entry.get("baseline"), rows, where, errors)
        rows = tuple(dataclasses.replace(r, baseline=_parse_baseline(
            r.baseline, rows, r.name, errors)) if r.baseline is not None else r for r in rows)
        for row in rows:
            if row.experiment and row.experiment in experiments:
                exp = experiments[row.experiment]
                if entry.get("dataset") and exp.dataset != entry["dataset"]:
                    errors.append(f"{row.name}: experiment {exp.id!r} trains on {exp.dataset!r}"
                                  f" but Table {tid} is on {entry['dataset']!r}")
        out[str(tid)] = Table(id=str(tid), title=str(entry["title"]),
                              dataset=str(entry.get("dataset", "")),
                              label_columns=label_columns, columns=columns, rows=rows,
                              sweep=sweep, note=str(entry.get("note", "")), baseline=baseline)
    return out


def _parse_baseline(value: Any, rows: tuple[Row, ...], where: str,
                    errors: list[str]) -> int | None:
    """The table's reference row: a 1-based row index whose row is measured (not published)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors.append(f"{where}.baseline: {value!r} is not a row index (1-{len(rows)})")
        return None
    if not 1 <= value <= len(rows):
        errors.append(f"{where}.baseline: row {value} is out of range (the table has rows "
                      f"1-{len(rows)})")
        return None
    if rows[value - 1].published:
        errors.append(f"{rows[value - 1].name}: a baseline row must be measured, not published")
        return None
    return value


def load_manifest(path: str | Path | None = None) -> Manifest:
    """Read and validate a manifest file (default: ``configs/paper/manifest.yaml``).

    Raises:
        ManifestError: listing every inconsistency, each naming its table, row and key.
    """
    return read_manifest(path)


def parse_manifest(data: Mapping[str, Any], path: Path | None = None) -> Manifest:
    """Build a :class:`Manifest` from already-parsed YAML data, validating everything.

    Raises:
        ManifestError: listing every inconsistency, each naming its table, row, claim and key.
    """
    return build_manifest(data, path=path)
