"""Figures of measured results beside the paper's (matplotlib, Agg canvas, no pyplot state).

* AP vs IoU threshold (AP50 ... AP90) for every table that reports them: one colour per row,
  measured solid with filled markers, the paper's dashed with hollow markers.
* Sweeps along a table's ``sweep`` label column (Table III NMS_reg, Table IV stages,
  Table VI lambda): AP, AP50 and AP90 against the swept value, measured beside paper.

Unmeasured points are left out (never drawn as zero); a panel with nothing measured says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from decoupled_rcnn.reproduction.manifest import Manifest, Table

if TYPE_CHECKING:  # matplotlib and pandas load only when a figure is drawn
    import pandas as pd
    from matplotlib.figure import Figure

IOU_METRICS = {"AP50": 50, "AP60": 60, "AP70": 70, "AP80": 80, "AP90": 90}
SWEEP_METRICS = ("AP", "AP50", "AP90")


def _row_label(table: Table, index: int) -> str:
    row = table.rows[index - 1]
    shown = [f"{v}" if k in ("Method", "Backbone") else f"{k} {v}"
             for k, v in row.labels.items() if v not in ("", None)]
    return ", ".join(shown) or f"row {index}"


def iou_columns(table: Table) -> list[str]:
    """Value columns of ``table`` that are AP at a single IoU threshold (in IoU order)."""
    keys = [c.key for c in table.columns if c.metric in IOU_METRICS and c.key == c.metric]
    return sorted(keys, key=IOU_METRICS.__getitem__)


def ap_vs_iou_figure(manifest: Manifest, table_id: str, cells: pd.DataFrame) -> Figure:
    """AP at IoU 0.5 ... 0.9 for every row of one table, measured beside the paper's.

    Lines come in pairs per row: the paper's (dashed, all thresholds), then ours (solid, only
    the thresholds that were measured).
    """
    import matplotlib as mpl
    from matplotlib.figure import Figure

    table = manifest.tables[table_id]
    keys = iou_columns(table)
    sub = cells[(cells["table"] == table_id) & cells["column"].isin(keys)]
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.subplots()
    colors = mpl.rcParams["axes.prop_cycle"].by_key()["color"]
    measured_any = False
    for i, row in enumerate(table.rows):
        mine = sub[sub["row"] == row.index].set_index("column").reindex(keys)
        x = [IOU_METRICS[k] for k in keys]
        color = colors[i % len(colors)]
        label = _row_label(table, row.index)
        ax.plot(x, mine["paper"], ls="--", marker="o", mfc="none", color=color, alpha=0.8)
        ok = mine["status"] == "ok"
        if ok.any():
            measured_any = True
            ax.plot([v for v, good in zip(x, ok, strict=True) if good],
                    mine.loc[ok, "measured"], ls="-", marker="o", color=color, label=label)
        else:
            ax.plot([], [], ls="-", marker="o", color=color, label=f"{label} (not measured)")
    ax.plot([], [], ls="--", marker="o", mfc="none", color="gray", label="paper")
    ax.set(xlabel="IoU threshold (%)", ylabel="AP (%)", xticks=list(IOU_METRICS.values()),
           title=f"Table {table_id}: AP vs IoU threshold (solid: measured, dashed: paper)")
    if not measured_any:
        ax.text(0.5, 0.05, "no measured results yet", transform=ax.transAxes, ha="center",
                color="firebrick")
    ax.legend(fontsize=7, loc="lower left")
    ax.grid(alpha=0.3)
    return fig


def sweep_figure(manifest: Manifest, table_id: str, cells: pd.DataFrame) -> Figure:
    """AP, AP50 and AP90 against the table's swept label (NMS_reg, stages, lambda).

    One panel per metric, each with the paper's line first and ours (measured points only).
    """
    from matplotlib.figure import Figure

    table = manifest.tables[table_id]
    if table.sweep is None:
        raise ValueError(f"Table {table_id} declares no sweep column")
    xs = {r.index: float(r.labels[table.sweep]) for r in table.rows}
    metrics = [m for m in SWEEP_METRICS if any(c.key == m for c in table.columns)]
    fig = Figure(figsize=(4.0 * len(metrics), 3.6))
    axes = fig.subplots(1, len(metrics), squeeze=False)
    sub = cells[cells["table"] == table_id]
    for ax, metric in zip(axes[0], metrics, strict=True):
        mine = sub[sub["column"] == metric].copy()
        mine["x"] = mine["row"].map(xs)
        mine = mine.sort_values("x")
        ax.plot(mine["x"], mine["paper"], ls="--", marker="o", mfc="none", color="gray",
                label="paper")
        ok = mine[mine["status"] == "ok"]
        if len(ok):
            ax.plot(ok["x"], ok["measured"], ls="-", marker="o", color="C0", label="measured")
        else:
            ax.text(0.5, 0.5, "not measured yet", transform=ax.transAxes, ha="center",
                    color="firebrick")
        ax.set(xlabel=table.sweep, ylabel=f"{metric} (%)", xticks=sorted(xs.values()),
               title=f"Table {table_id}: {metric}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return fig


def save(fig: Figure, out: str | Path) -> Path:
    """Write ``fig`` as PNG (parents created, no software tag so reruns are byte-stable)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    if fig.get_layout_engine() is None:  # a figure made with layout="constrained" keeps it
        fig.tight_layout()
    from decoupled_rcnn.provenance import write_atomic

    # via a temporary file and a rename: a kill mid-write never leaves a half PNG
    write_atomic(out, lambda f: fig.savefig(f, format="png", dpi=110, metadata={"Software": None}))
    return out


def figure_names(manifest: Manifest, tables: list[str] | None = None) -> list[str]:
    """The figures ``tables`` get: ``table_<ID>_ap_vs_iou`` (at least three AP_t columns) and
    ``table_<ID>_sweep`` (tables that sweep a setting along their rows)."""
    names = []
    for tid in tables or list(manifest.tables):
        table = manifest.tables[tid]
        if len(iou_columns(table)) >= 3:
            names.append(f"table_{tid}_ap_vs_iou")
        if table.sweep is not None:
            names.append(f"table_{tid}_sweep")
    return names


def figure_caption(manifest: Manifest, name: str) -> str:
    """The one-sentence caption of a :func:`figure_names` figure."""
    tid, kind = name.removeprefix("table_").split("_", 1)
    table = manifest.tables[tid]
    if kind == "ap_vs_iou":
        return (f"Table {tid}: AP at IoU thresholds 0.5 to 0.9 for each row, ours (solid, "
                "measured points only) beside the paper's (dashed).")
    metrics = ", ".join(m for m in SWEEP_METRICS if any(c.key == m for c in table.columns))
    return (f"Table {tid}: {metrics} against {table.sweep}, ours (solid, measured points "
            "only) beside the paper's (dashed).")


def make_figures(manifest: Manifest, cells: pd.DataFrame,
                 out: str | Path | Mapping[str, str | Path],
                 tables: list[str] | None = None) -> dict[str, Path]:
    """Draw every figure of :func:`figure_names`; returns name -> PNG path.

    Args:
        out: a folder (``<name>.png`` inside it), or name -> path (the rule's outputs).
    """
    names = figure_names(manifest, tables)
    paths = ({n: Path(out[n]) for n in names} if isinstance(out, Mapping)
             else {n: Path(out) / f"{n}.png" for n in names})
    figures: dict[str, Path] = {}
    for name in names:
        tid, kind = name.removeprefix("table_").split("_", 1)
        draw = ap_vs_iou_figure if kind == "ap_vs_iou" else sweep_figure
        figures[name] = save(draw(manifest, tid, cells), paths[name])
    return figures
