"""Training curves from mmengine's own scalar logs: loss terms and per-stage sample counts.

mmengine's ``LocalVisBackend`` writes one JSON object per logged iteration to
``<work_dir>/<timestamp>/vis_data/scalars.json`` (a resumed run adds a timestamp folder).
:func:`read_scalars` joins them in iteration order (a later run's value of an iteration
wins), and :func:`curves_figure` draws one small figure per experiment: the loss terms
(``loss_rpn_*``, ``s{k}.loss_*`` or Faster R-CNN's ``loss_cls`` / ``loss_bbox``, and the
total) on the left, the sample counts (``s{k}.num_pos_cls``, ``s{k}.num_pos_reg``,
``s{k}.num_reg``) on the right; one line style per seed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from decoupled_rcnn.reproduction.figures.measured import save

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["count_keys", "curves_figure", "loss_keys", "make_curves", "read_scalars",
           "scalar_files"]

_SEED_STYLES = ("-", "--", ":", "-.")


def scalar_files(work_dir: str | Path) -> list[Path]:
    """Every ``scalars.json`` of a training work dir, oldest run first."""
    return sorted(Path(work_dir).glob("*/vis_data/scalars.json"))


def read_scalars(work_dir: str | Path) -> dict[int, dict[str, float]]:
    """Iteration -> logged scalars of one training (all its runs, later runs winning).

    Lines that are not JSON (a log cut by a kill) are skipped; lines without ``iter`` or
    ``step`` (e.g. validation) are ignored.
    """
    by_iter: dict[int, dict[str, float]] = {}
    for path in scalar_files(work_dir):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            step = record.get("iter", record.get("step"))
            if not isinstance(step, int | float):
                continue
            by_iter[int(step)] = {k: float(v) for k, v in record.items()
                                  if isinstance(v, int | float) and k not in ("iter", "step")}
    return dict(sorted(by_iter.items()))


def loss_keys(keys: set[str] | list[str]) -> list[str]:
    """The loss terms among logged keys (RPN first, then by stage), the total ``loss`` last."""
    terms = sorted((k for k in keys if "loss" in k.split(".")[-1] and k != "loss"),
                   key=lambda k: (not k.startswith("loss_rpn"), k))
    return [*terms, "loss"] if "loss" in keys else terms


def count_keys(keys: set[str] | list[str]) -> list[str]:
    """The per-stage sample counts among logged keys (``s{k}.num_*``)."""
    return sorted(k for k in keys if k.split(".")[-1].startswith("num_"))


def curves_figure(experiment: str, runs: Mapping[int, Mapping[int, Mapping[str, float]]]
                  ) -> Figure:
    """Loss terms and sample counts of one experiment over iterations, one style per seed.

    Args:
        experiment: the experiment id (the title).
        runs: seed -> :func:`read_scalars` of that seed's training.
    """
    import matplotlib as mpl
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.2, 3.6), layout="constrained")
    ax_loss, ax_count = fig.subplots(1, 2)
    keys = {k for scalars in runs.values() for rec in scalars.values() for k in rec}
    colors = mpl.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, names, title in ((ax_loss, loss_keys(keys), "loss terms"),
                             (ax_count, count_keys(keys), "samples per stage")):
        for i, name in enumerate(names):
            color = "black" if name == "loss" else colors[i % len(colors)]
            for j, (_seed, scalars) in enumerate(sorted(runs.items())):
                points = [(it, rec[name]) for it, rec in scalars.items() if name in rec]
                if not points:
                    continue
                ax.plot(*zip(*points), ls=_SEED_STYLES[j % len(_SEED_STYLES)], color=color,
                        marker="." if len(points) < 20 else None, lw=1.2,
                        label=name if j == 0 else None)
        if not names:
            ax.text(0.5, 0.5, "none logged by this head" if runs else "no scalar log found",
                    transform=ax.transAxes, ha="center", va="center", color="firebrick")
        else:
            ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3,
                      frameon=False)
        if ax is ax_count and names:
            ax.set_yscale("symlog", linthresh=10)  # 512 sampled vs a handful of positives
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("iteration", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    seeds = ", ".join(str(s) for s in sorted(runs)) or "none"
    styles = "; line style per seed" if len(runs) > 1 else ""
    fig.suptitle(f"{experiment} (seeds: {seeds}{styles})", fontsize=9)
    return fig


def make_curves(experiment: str, train_infos: Mapping[int, str | Path],
                out: str | Path) -> Path:
    """Draw one experiment's training curves from the work dirs its train infos record.

    Args:
        experiment: the experiment id.
        train_infos: seed -> that seed's ``train.json`` (its ``work_dir`` holds the logs).
        out: the PNG to write.
    """
    runs: dict[int, dict[int, dict[str, float]]] = {}
    for seed, info in train_infos.items():
        record: dict[str, Any] = json.loads(Path(info).read_text(encoding="utf-8"))
        scalars = read_scalars(record["work_dir"])
        if scalars:
            runs[seed] = scalars
    return save(curves_figure(experiment, runs), out)
