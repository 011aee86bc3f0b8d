"""``decoupled-rcnn plan``: what reproducing the paper's tables takes, from the manifest."""

from __future__ import annotations

import argparse

HELP = "Experiments per table, shared runs and estimated GPU-hours, from the paper manifest."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--manifest", default=None,
                        help="manifest YAML (default: configs/paper/manifest.yaml)")
    parser.add_argument("--tables", nargs="*", default=None,
                        help="only these tables, e.g. --tables III IV (default: all)")
    parser.add_argument("--format", choices=("text", "csv", "json"), default="text")
    parser.add_argument("--config", default=None,
                        help="a workflow config with data.source: custom: also print the input "
                             "size, schedule and CPU-time estimate chosen from its data")
    parser.add_argument("--smoke-config", default=None,
                        help="the smoke setting whose estimate is printed beside the full run's "
                             "(default: configs/workflow/paper-smoke.yaml)")
    parser.add_argument("--check-configs", action="store_true",
                        help="fail if a config path the manifest names does not exist")


def _smoke_iters(path: str | None):
    """The smoke setting's config file and its iterations per training."""
    from pathlib import Path

    from decoupled_rcnn.paths import REPO_ROOT
    from decoupled_rcnn.reproduction.plan.workflow_config import load_workflow_config

    smoke = Path(path) if path else REPO_ROOT / "configs" / "workflow" / "paper-smoke.yaml"
    return smoke, int(load_workflow_config(smoke)["schedule"]["short"]["iters"])


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from decoupled_rcnn.reproduction.manifest import DEFAULT_MANIFEST, load_manifest
    from decoupled_rcnn.reproduction.plan.cost import plan_table

    if args.config:
        return _custom_plan(args)
    manifest = load_manifest(args.manifest)
    plan = plan_table(manifest, args.tables)
    if args.format == "csv":
        print(plan.to_csv(index=False), end="")
        return 0
    if args.format == "json":
        print(plan.to_json(orient="records", indent=1))
        return 0
    unique = manifest.experiments_for(args.tables)
    rows = sum(len(manifest.tables[t].rows) for t in args.tables or manifest.tables)
    print(f"manifest: {manifest.path}")
    print(f"{len(unique)} training experiments (each runs once), "
          f"{len(manifest.evaluations_for(args.tables))} evaluations, {rows} table rows\n")
    shown = plan.copy()
    for col in ("gpu_hours_alone", "gpu_hours_new"):
        shown[col] = shown[col].round(0).astype(int)
    print(shown.to_string(index=False))
    total = plan["gpu_hours_new"].sum()
    print(f"\nestimated total: {total:,.0f} GPU-hours "
          f"({manifest.cost_model.get('assumption', 'see cost_model in the manifest')})")
    smoke_path, smoke_iters = _smoke_iters(args.smoke_config)
    smoke = plan_table(manifest, args.tables, short_iters=smoke_iters)["gpu_hours_new"].sum()
    print(f"smoke run first ({smoke_path.name}: {smoke_iters} iterations per training, the "
          f"full evaluation): {smoke:,.0f} GPU-hours; then the full run: {total:,.0f} GPU-hours")
    print("gpu_hours_alone: every experiment the table needs; gpu_hours_new: only those no "
          "earlier table needs (sums to the total). LABELLED ESTIMATES, not measurements.\n")
    cost = manifest.cost_model
    print("assumptions (estimates, from cost_model in the manifest):")
    print(f"  {cost['gpus_per_run']} GPUs x {cost['images_per_gpu']} images per run; "
          f"train images {cost['train_images']}")
    print(f"  s/iteration by backbone: {cost['s_per_iter']}")
    print(f"  variant factors: {cost['model_factor']}\n")
    print("shared experiments (run once, used by several tables):")
    for exp, tables in manifest.shared_experiments().items():
        if args.tables is None or set(tables) & set(args.tables):
            print(f"  {exp:32s} {', '.join(tables)}")
    root = (Path(args.manifest).resolve().parents[2] if args.manifest
            else DEFAULT_MANIFEST.parents[2])
    missing = manifest.missing_configs(root)
    if missing:
        print(f"\n{len(missing)} config file(s) named in the manifest do not exist yet:")
        for path in missing:
            print(f"  {path}")
        if args.check_configs:
            return 1
    return 0


def _custom_plan(args: argparse.Namespace) -> int:
    """``plan --config``: the own-data run's experiments, scale, schedule and CPU estimate."""
    import sys

    from decoupled_rcnn.datasets.common import DatasetError
    from decoupled_rcnn.datasets.data_profile import custom_sizing, format_sizing
    from decoupled_rcnn.paths import REPO_ROOT
    from decoupled_rcnn.reproduction.manifest import load_manifest
    from decoupled_rcnn.reproduction.plan.workflow_config import load_workflow_config

    overrides = {"tables": args.tables} if args.tables else None
    wcfg = load_workflow_config(args.config, overrides)
    if wcfg["data"]["source"] != "custom":
        print(f"plan: error: {args.config}: --config needs data.source: custom", file=sys.stderr)
        return 2
    manifest = load_manifest(args.manifest or REPO_ROOT / wcfg["manifest"])
    experiments = manifest.experiments_for(list(wcfg["tables"]))
    print(f"{wcfg['data']['custom'].get('name')}: tables {', '.join(wcfg['tables'])}: "
          f"{len(experiments)} training experiments x {wcfg['seeds']} seeds")
    try:
        print(format_sizing(custom_sizing(wcfg, len(experiments))))
    except DatasetError as err:
        print(f"plan: error: {err} (decoupled-rcnn check-data {args.config})", file=sys.stderr)
        return 1
    return 0
