"""Where the time went: each rule's wall and CPU seconds from Snakemake's benchmark files.

Every rule declares ``benchmark:`` (layout kind ``rule_benchmark``,
``<results>/benchmarks/<rule>/<job>.tsv`` or ``<results>/benchmarks/<rule>.tsv`` for a rule
with one job). Snakemake writes one TSV row per job: ``s`` (wall seconds) and ``cpu_time``
(user + system seconds of the job's process tree). ``cpu_time`` is sampled, every 0.5 s for a
job's first 30 s and every 30 s after, so a long job's CPU-s may miss up to its last 30 s
and a job shorter than the first sample has none (``NA``: counted in ``jobs_without_cpu``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from decoupled_rcnn.reproduction.plan.layout import Layout

__all__ = ["COLUMNS", "rule_of", "rule_times"]

#: The columns of :func:`rule_times`.
COLUMNS = ("rule", "jobs", "wall_s", "cpu_s", "jobs_without_cpu")


def rule_of(layout: Layout, path: str | Path) -> str:
    """The rule a benchmark file belongs to: the first part of its name under the folder."""
    folder = layout.path("rule_benchmark", name="x").parent
    return Path(path).relative_to(folder).with_suffix("").parts[0]


def rule_times(layout: Layout) -> pd.DataFrame:
    """Jobs, total wall and CPU seconds per rule, most CPU first, and a ``total`` row.

    Args:
        layout: the results layout whose ``benchmarks/`` folder is read (every file there:
            a run's benchmarks are written by the jobs that ran, never declared by a reader).

    Returns:
        One row per rule (:data:`COLUMNS`); empty (no ``total`` row) when no file exists.
    """
    folder = layout.path("rule_benchmark", name="x").parent
    rows = []
    for path in sorted(folder.rglob("*.tsv")) if folder.is_dir() else []:
        try:
            bench = pd.read_csv(path, sep="\t", na_values=["NA", "-"])
        except (OSError, ValueError, pd.errors.EmptyDataError):
            continue
        if "s" not in bench:
            continue
        cpu = pd.to_numeric(bench.get("cpu_time", pd.Series(dtype=float)), errors="coerce")
        for i, wall in enumerate(pd.to_numeric(bench["s"], errors="coerce")):
            value = cpu.iloc[i] if i < len(cpu) else float("nan")
            rows.append({"rule": rule_of(layout, path), "wall_s": wall,
                         "cpu_s": 0.0 if pd.isna(value) else float(value),
                         "without": int(pd.isna(value))})
    if not rows:
        return pd.DataFrame(columns=list(COLUMNS))
    frame = pd.DataFrame(rows)
    table = frame.groupby("rule").agg(jobs=("wall_s", "size"), wall_s=("wall_s", "sum"),
                                      cpu_s=("cpu_s", "sum"), jobs_without_cpu=("without", "sum"))
    table = table.reset_index().sort_values(["cpu_s", "rule"], ascending=[False, True])
    total = pd.DataFrame([{"rule": "total", "jobs": table["jobs"].sum(),
                           "wall_s": table["wall_s"].sum(), "cpu_s": table["cpu_s"].sum(),
                           "jobs_without_cpu": table["jobs_without_cpu"].sum()}])
    table = pd.concat([table, total], ignore_index=True)[list(COLUMNS)]
    return table.round({"wall_s": 1, "cpu_s": 1})
