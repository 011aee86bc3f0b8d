"""What a :func:`decoupled_rcnn.measure.benchmark.benchmark` result becomes: JSON and a table.

``benchmark.json`` keeps the whole result (header naming the hardware, every entry); written
for one experiment it also carries that entry's ``metrics`` and ``provenance`` at the top
level, the format :mod:`decoupled_rcnn.reproduction.results.tables` reads.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from decoupled_rcnn.provenance import write_json_atomic

__all__ = ["METRIC_FIELDS", "format_table", "metrics_payload", "write_benchmark_json"]

#: Fields of every entry, as the report reads them from benchmark.json files.
METRIC_FIELDS = (
    "s_per_img",
    "s_per_img_min",
    "train_s_per_iter",
    "train_s_per_iter_min",
    "ratio_infer",
    "ratio_infer_min",
    "ratio_train",
    "ratio_train_min",
    "gflops",
    "params_trainable_m",
)



def metrics_payload(result: Mapping[str, Any], name: str) -> dict[str, Any]:
    """One entry as a metrics file the tables read (``status``, ``metrics``, ``provenance``)."""
    entries = {e["name"]: e for e in result["entries"]}
    if name not in entries:
        raise KeyError(f"no entry {name!r}; have {sorted(entries)}")
    entry = entries[name]
    provenance = dict(result["header"])
    provenance.update(config=entry["config"], overrides=entry["overrides"], benchmark_name=name)
    return {
        "status": result.get("status", "ok"),
        "metrics": {key: entry[key] for key in METRIC_FIELDS},
        "provenance": provenance,
    }


def write_benchmark_json(
    result: Mapping[str, Any], path: str | os.PathLike, entry: str | None = None
) -> Path:
    """Write ``result`` to ``path`` atomically (temporary file + rename).

    The file keeps the whole result; it also carries one entry's ``metrics`` and
    ``provenance`` at the top level (the format :mod:`decoupled_rcnn.reproduction.results.tables`
    reads): the entry named ``entry``, or the only one when a single config was measured.

    Returns:
        The destination path.
    """

    payload = dict(result)
    if entry is None and len(result["entries"]) == 1:
        entry = result["entries"][0]["name"]
    if entry is not None:
        payload.update(metrics_payload(result, entry))
    return write_json_atomic(payload, path)


def _cell(value: Any, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def format_table(result: Mapping[str, Any]) -> str:
    """A readable table of a :func:`benchmark` result, with the hardware and threads above it."""
    h = result["header"]
    size = "x".join(str(v) for v in h["size"])
    number = h.get("number", 1)
    each = "" if number == 1 else f" (each the mean of {number} calls)"
    tiny = " (tiny setting)" if h["tiny"] else ""
    lines = [
        f"hardware: {h['hardware']}  device: {h['device']}  torch threads: {h['threads']}",
        f"input {size}{tiny}, {h['warmup']} warm-up + {h['repeats']} timed rounds{each}, "
        f"interleaved; inference batch {h['infer_batch']}, training batch {h['train_batch']}; "
        f"ratios to {h['baseline']} (median / min)",
    ]
    head = ["config", "s/img med", "s/img min", "x infer", "train s/it med", "train s/it min",
            "x train", "GFLOPs", "params M"]
    rows = [head]
    for e in result["entries"]:
        rows.append([
            e["name"],
            _cell(e["s_per_img"], ".4f"),
            _cell(e["s_per_img_min"], ".4f"),
            f"{e['ratio_infer']:.2f} / {e['ratio_infer_min']:.2f}",
            _cell(e["train_s_per_iter"], ".4f"),
            _cell(e["train_s_per_iter_min"], ".4f"),
            f"{e['ratio_train']:.2f} / {e['ratio_train_min']:.2f}",
            _cell(e["gflops"], ".2f"),
            _cell(e["params_trainable_m"], ".2f"),
        ])
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    table = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    table.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines + [""] + table)
