"""What a table row runs, from the manifest to the composed config, without training.

:func:`recipe` answers "what did row N of Table V run?" in one place: the experiment (and the
run it shares, if its config composes to another experiment's), the config file with its
``_base_`` chain, the manifest's overrides, the test setting, the seeds, where its results
go, and the composed config under the chosen workflow config (key settings, or all of it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from decoupled_rcnn.reproduction.plan.compose import config_chain, experiment_config
from decoupled_rcnn.reproduction.plan.layout import Layout
from decoupled_rcnn.reproduction.plan.selection import select

__all__ = ["KEY_SETTINGS", "recipe"]

#: Composed-config keys the short form prints (dotted; absent keys are skipped).
KEY_SETTINGS = (
    "model.type", "model.backbone.type", "model.backbone.depth", "model.backbone.init_cfg",
    "model.roi_head.type", "model.roi_head.num_stages", "model.roi_head.reg_loss_weight",
    "model.roi_head.reg_stage_loss_decay",
    "model.train_cfg.rpn_proposal.nms.iou_threshold",
    "model.train_cfg.rpn_proposal.reg_nms.iou_threshold", "model.test_cfg.rcnn",
    "train_dataloader.batch_size", "train_dataloader.dataset.data_root",
    "train_dataloader.dataset.ann_file", "train_cfg", "optim_wrapper.optimizer",
    "randomness",
)


def _get(cfg: Mapping[str, Any], dotted: str) -> Any:
    node: Any = cfg
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise KeyError(dotted)
        node = node[part]
    return node


def recipe(wcfg: Mapping[str, Any], table_id: str, row_index: int | None = None, *,
           full: bool = False) -> str:
    """A text description of what each row of a table runs under ``wcfg``.

    Args:
        wcfg: a loaded workflow config (:func:`~.workflow_config.load_workflow_config`).
        table_id: e.g. ``"V"``.
        row_index: one row (1-based, as in the paper); default every row.
        full: print the whole composed config instead of :data:`KEY_SETTINGS`.

    Raises:
        KeyError: unknown table or row.
    """
    selection = select(wcfg)  # the config's tables decide which experiment trains a run
    manifest = selection.manifest
    table = manifest.tables[table_id]
    layout = Layout.from_config(wcfg)
    rows = table.rows if row_index is None else [table.rows[row_index - 1]]
    lines = [f"Table {table_id}: {table.title}",
             f"workflow config: data {wcfg['data']['source']}, tiny {wcfg['model']['tiny']}, "
             f"schedule {wcfg['schedule']['kind']}, seeds {list(selection.seeds)}", ""]
    for row in rows:
        lines.append(row.name)
        if row.experiment is None:
            lines += ["  published value of another detector (no experiment)", ""]
            continue
        exp = manifest.experiments[row.experiment]
        run = selection.run_of(exp.id)
        lines.append(f"  experiment: {exp.id}" + (f" (same run as {run})" if run != exp.id
                                                  else ""))
        lines.append(f"  model {exp.model}, backbone {exp.backbone}, paper dataset "
                     f"{exp.dataset}, paper schedule {exp.schedule}")
        lines.append("  config: " + " <- ".join(config_chain(exp.config)))
        lines.append("  overrides: " + (", ".join(f"{k}={v}" for k, v in exp.overrides.items())
                                         or "none"))
        tests = sorted({row.evaluation(c).test for c in table.columns})
        for tid in tests:
            test = manifest.tests[tid]
            extra = ", ".join(f"{k}={v}" for k, v in test.overrides.items())
            lines.append(f"  test {tid}: {test.description} [{extra}]")
        seed = selection.seeds[0]
        lines.append(f"  trains to: {layout.path('checkpoint', experiment=run, seed=seed)}")
        lines.append("  metrics: " + ", ".join(
            str(layout.path("metrics", experiment=run, seed=seed, test=t)) for t in tests)
            + (f" (and seeds {list(selection.seeds[1:])})" if len(selection.seeds) > 1 else ""))
        composed = experiment_config(wcfg, exp.id, seed=seed, manifest=manifest,
                                     test_id=None if tests == ["default"] else tests[0])
        lines.append("  composed config" + (" (all):" if full else " (key settings):"))
        if full:
            lines += ["    " + line for line in composed.pretty_text.splitlines()]
        else:
            cfg = composed.to_dict()
            for key in KEY_SETTINGS:
                try:
                    value = _get(cfg, key)
                except KeyError:
                    continue
                lines.append(f"    {key} = {value}")
        lines.append("")
    return "\n".join(lines)
