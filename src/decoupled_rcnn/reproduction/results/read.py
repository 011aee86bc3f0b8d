"""Reading the metrics and benchmark files a rule declares into :class:`Results`.

Each file is named by the results layout: ``<experiment>/seed<k>/<test>/metrics.json`` and
``<experiment>/benchmark.json``; a path outside the layout is an error. A training that failed
(its failure record, layout kind ``train_failed``) makes every evaluation of it ``failed``,
with the reason (:func:`read_declared`). The file format is described in
:mod:`decoupled_rcnn.reproduction.results.tables`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from decoupled_rcnn.datasets.common import is_finite_number
from decoupled_rcnn.reproduction.plan.layout import Layout

OK, MISSING, FAILED, SERVER, PUBLISHED = "ok", "missing", "failed", "server", "published"
UNDEFINED = "undefined"  # the run finished but the metric has nothing to measure (None)


@dataclass
class EvalResult:
    """What one result file says (or that it could not be read)."""

    status: str  # "ok" or "failed"
    metrics: dict[str, float] = field(default_factory=dict)  # as written (see ``units``)
    provenance: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    source: str = ""
    percent: bool = False  # accuracy values are already percent
    undefined: set[str] = field(default_factory=set)  # metrics written as null

    def value(self, metric: str, accuracy: bool) -> float:
        """``metric`` as the tables show it: accuracy in percent, benchmarks as written."""
        value = self.metrics[metric]
        return round(value * 100, 10) if accuracy and not self.percent else value


@dataclass
class Results:
    """Every declared result: per evaluation and seed, and per experiment (benchmark)."""

    evaluations: dict[str, dict[int, EvalResult]] = field(default_factory=dict)
    benchmarks: dict[str, EvalResult] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)

    def of(self, evaluation: str) -> dict[int, EvalResult]:
        """Seed -> result of ``<experiment>/<test>`` (an alias reads its run's results)."""
        experiment, _, test = evaluation.partition("/")
        return self.evaluations.get(f"{self.aliases.get(experiment, experiment)}/{test}", {})

    def benchmark(self, experiment: str) -> EvalResult | None:
        return self.benchmarks.get(self.aliases.get(experiment, experiment))


def parse_payload(payload: Any, source: str = "") -> EvalResult:
    """An :class:`EvalResult` from a decoded metrics / benchmark JSON document."""
    if not isinstance(payload, Mapping):
        return EvalResult(status=FAILED, error=f"{source}: not a JSON object", source=source)
    metrics = payload.get("metrics") or {}
    units = str(payload.get("units", "fraction"))
    result = EvalResult(
        status=OK if str(payload.get("status", OK)) == OK else FAILED,
        metrics={k: float(v) for k, v in metrics.items() if is_finite_number(v)},
        provenance=dict(payload.get("provenance") or {}), error=str(payload.get("error", "")),
        source=source, percent=units == "percent",
        undefined={k for k, v in metrics.items() if v is None})
    if units not in ("fraction", "percent"):
        result.status, result.error = FAILED, f"{source}: unknown units {units!r}"
    return result


def read_result(path: str | Path) -> EvalResult:
    """One result file; an unreadable or malformed one is a failed result, never a number."""
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        return EvalResult(status=FAILED, error=f"unreadable {path}: {err}", source=str(path))
    return parse_payload(payload, str(path))


def read_declared(layout: Layout, path: str | Path) -> EvalResult:
    """A declared metrics file, or the failure of the training it evaluates.

    A training's failure record (layout kind ``train_failed``, e.g. a NaN loss) wins over a
    metrics file: it exists only while the newest training of that experiment and seed has
    failed, so an older metrics file beside it is not a result of what is configured now.
    """
    record = layout.train_failure_of(path)
    if record is not None and record.is_file():
        try:
            payload = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            payload = {"error": f"unreadable failure record: {err}"}
        payload = payload if isinstance(payload, Mapping) else {}
        return EvalResult(status=FAILED, source=str(record),
                          error=f"training failed: {payload.get('error', '')}".rstrip(": "),
                          provenance={"log": payload.get("log", "")})
    return read_result(path)


def read_results(layout: Layout, metrics: Sequence[str | Path],
                 benchmarks: Sequence[str | Path] = (),
                 aliases: Mapping[str, str] | None = None) -> Results:
    """Read exactly the declared metrics and benchmark files (paths from the layout).

    A metrics file whose training failed reads as that failure (:func:`read_declared`).

    Raises:
        ValueError: a path that is not a metrics / benchmark file of ``layout``.
    """
    out = Results(aliases=dict(aliases or {}))
    for path in metrics:
        key = layout.metrics_key(path)
        out.evaluations.setdefault(key.evaluation, {})[key.seed] = read_declared(layout, path)
    for path in benchmarks:
        out.benchmarks[layout.metrics_key(path).experiment] = read_result(path)
    return out


def read_provenance(layout: Layout, metrics: Sequence[str | Path]) -> dict[str, dict]:
    """Experiment -> {"status", "error", "provenance", "evaluations": {test: {seed: ...}}}."""
    found: dict[str, dict] = {}
    for path in metrics:
        key = layout.metrics_key(path)
        result = read_declared(layout, path)
        entry = found.setdefault(key.experiment, {"provenance": {}, "evaluations": {}})
        for name, value in result.provenance.items():
            entry["provenance"].setdefault(name, value)
        entry["evaluations"].setdefault(key.test, {})[key.seed] = {
            "status": result.status, "error": result.error,
            "submission": result.provenance.get("submission", ""),
            "log": result.provenance.get("log", "")}
    return found
