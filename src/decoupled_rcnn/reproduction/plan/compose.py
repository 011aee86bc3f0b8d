"""From (config file, overrides, workflow config) to a runnable mmengine config and model.

The one path to a network: a manifest experiment names a model config and scalar overrides
(NMS_reg, stages, lambda); the workflow config decides where the data is (the paper's
VOC/COCO, or the generated stand-in), whether the tiny model setting applies, how backbones
start, which schedule runs (the paper's, or a short iteration budget) and the seed.
:func:`experiment_config` applies all of that through :func:`compose_config`, and
:func:`build_model` builds the network; the train and evaluate rules, ``decoupled-rcnn
bench``, ``complexity`` and ``recipe`` all go through them, so they build the same network.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mmengine.config import Config, ConfigDict

from decoupled_rcnn.compat import mmdet_bases_without_metafile_scan
from decoupled_rcnn.paths import REPO_ROOT
from decoupled_rcnn.reproduction.manifest import Manifest, load_manifest
from decoupled_rcnn.reproduction.plan.config_parts import (
    DataSpec,
    ShortSchedule,
    use_dataset,
    use_short_schedule,
)
from decoupled_rcnn.reproduction.plan.layout import Layout


def compose_config(
    config: str | Path,
    overrides: Mapping[str, Any] | None = None,
    *,
    data: DataSpec | None = None,
    tiny: bool = False,
    pretrained: bool = True,
    schedule: ShortSchedule | None = None,
    work_dir: str | Path | None = None,
    seed: int = 0,
    pretrained_backbone: str | Path | None = None,
    input_size: int | None = None,
    max_dets: int | None = None,
    backbone_weights: str | Path | None = None,
) -> Config:
    """Build the config one experiment trains and tests with.

    Args:
        config: an mmdet config file (relative paths are taken from the repository root).
        overrides: dotted keys from the manifest (``model.roi_head.num_stages`` ...).
        data: the dataset to use instead of the config's (None keeps the config's).
        tiny: apply :func:`decoupled_rcnn.embedded.tiny.make_tiny` (the embedded default).
        pretrained: keep the backbone's pretrained init; False for offline runs.
        pretrained_backbone: with ``tiny``, the stand-in pre-trained tiny backbone checkpoint
            (the ``pretrain`` rule's output) that plays the ImageNet weights' role.
        input_size: with ``tiny``, the longest image side after resizing (your own data's
            chosen scale); None: the tiny setting's 160 px. ``max_dets``: likewise, the
            detections kept per image (None: the tiny setting's).
        backbone_weights: without ``tiny``, a local weights file for the full-size backbone
            (:func:`decoupled_rcnn.models.pretrained.backbone_weights_init`, checked here).
        schedule: an iteration budget instead of the config's epochs (None keeps the paper's).
        work_dir: where checkpoints and logs go.
        seed: the run's random seed.

    Returns:
        The composed config; ``cfg.model`` is ready for ``Runner.from_cfg``.
    """
    cfg = load_config(config, overrides)
    if data is not None:
        use_dataset(cfg, data)
    if tiny:
        from decoupled_rcnn.embedded.tiny import make_tiny

        cfg = make_tiny(cfg, pretrained_backbone=pretrained_backbone, input_size=input_size,
                        max_dets=max_dets)
    _backbone_init(cfg, tiny, pretrained, pretrained_backbone, backbone_weights)
    if schedule is not None:
        use_short_schedule(cfg, schedule)
    cfg.randomness = ConfigDict(seed=seed, deterministic=False)
    if work_dir is not None:
        cfg.work_dir = str(work_dir)
    return cfg


SYNTHETIC = "synthetic"
#: Your own dataset (``data.custom``): every manifest dataset (VOC or COCO rows) runs on it.
CUSTOM = "custom"
#: Epochs of the paper's 1x schedule: the short budget is scaled by ``epochs / 12``.
_ONE_X_EPOCHS = 12


def _backbone_init(cfg: Config, tiny: bool, pretrained: bool,
                   pretrained_backbone: str | Path | None,
                   backbone_weights: str | Path | None) -> None:
    """The backbone's init: a local weights file, the config's pretrained init, or none."""
    if backbone_weights is not None:
        if tiny:
            raise ValueError("model.backbone_weights loads full-size backbones: set "
                             "model.tiny: false (the tiny ones pre-train on your data)")
        from decoupled_rcnn.models.pretrained import backbone_weights_init

        cfg.model.backbone.init_cfg = ConfigDict(
            backbone_weights_init(backbone_weights, cfg.model.backbone))
    elif not pretrained and not (tiny and pretrained_backbone is not None):
        cfg.model.backbone.init_cfg = None


def data_spec(wcfg: Mapping[str, Any], dataset: str, split: str = "val") -> DataSpec:
    """Where the manifest's ``dataset`` (``voc0712``/``coco``) lives under a workflow config.

    A root the config leaves unset (e.g. only building a model) shows as ``<unset: key>``.
    With ``source: custom`` every dataset and split is the custom data's (a test split such
    as COCO test-dev is its val split), with its classes read from the data.
    """
    data = wcfg["data"]
    layout = Layout.from_config(wcfg)
    if data["source"] == SYNTHETIC:
        return DataSpec(SYNTHETIC, layout.path("synthetic_data"))
    if data["source"] == CUSTOM:
        from decoupled_rcnn.datasets.custom import (
            CustomSource,
            custom_classes,
            custom_split_files,
        )

        source = CustomSource.from_config(data.get("custom") or {})
        files = {split: (ann.absolute(), images.absolute()) for split, (ann, images) in
                 custom_split_files(source, layout.path("custom_json")).items()}
        return DataSpec(CUSTOM, source.root.absolute(),
                        ann_files=(files["train"][0], files["val"][0]),
                        img_dirs=(files["train"][1], files["val"][1]),
                        classes=custom_classes(source))
    if dataset == "voc0712":
        from decoupled_rcnn.datasets.cfg_options import DATASET_FRAGMENTS

        train, test, _ = DATASET_FRAGMENTS["voc0712"]  # what convert_voc0712 writes
        voc = layout.path("voc_json").absolute()  # not under the data_root mmdet joins with
        return DataSpec("voc0712", Path(data.get("voc_root") or "<unset: data.voc_root>"),
                        ann_files=(voc / train, voc / test))
    if dataset == "coco":
        fragment = "coco_test_dev" if split == "test-dev" else "coco_detection"
        return DataSpec(fragment, Path(data.get("coco_root") or "<unset: data.coco_root>"))
    raise ValueError(f"manifest dataset {dataset!r} has no data source (voc0712 or coco)")


def short_schedule(wcfg: Mapping[str, Any], epochs: int = _ONE_X_EPOCHS) -> ShortSchedule | None:
    """The short iteration budget of a workflow config (None: the paper's schedules).

    With ``scale_by_epochs`` a paper schedule of ``epochs`` gets ``iters * epochs / 12``
    iterations (a 2x schedule trains twice as long as 1x), milestones alike.
    """
    sched = wcfg["schedule"]
    if sched["kind"] != "short":
        return None
    short = dict(sched["short"])
    if short.pop("scale_by_epochs", False):
        factor = epochs / _ONE_X_EPOCHS
        short["iters"] = max(1, round(short["iters"] * factor))
    return ShortSchedule(**short)


def experiment_config(wcfg: Mapping[str, Any], experiment_id: str, *, seed: int | None = None,
                      test_id: str | None = None, work_dir: str | Path | None = None,
                      manifest: Manifest | None = None) -> Config:
    """The composed config of one manifest experiment under a workflow config.

    Args:
        wcfg: the workflow config (``configs/workflow/*.yaml``, validated by the Snakefile).
        experiment_id: a manifest experiment.
        seed: the training seed (default: the config's ``seed``).
        test_id: a manifest test setting whose overrides are merged (evaluation).
        work_dir: where checkpoints and logs go.
        manifest: the loaded manifest (default: ``wcfg["manifest"]``).

    Returns:
        The config the train / evaluate rules run, and bench / complexity build.
    """
    manifest = manifest or load_manifest(REPO_ROOT / wcfg["manifest"])
    exp = manifest.experiments[experiment_id]
    overrides = dict(exp.overrides)
    split = "val"
    if test_id is not None:
        test = manifest.tests[test_id]
        overrides.update(test.overrides)
        split = test.split
    model = wcfg["model"]
    pretrained_backbone = None
    if model["tiny"] and model["pretrained"]:
        from decoupled_rcnn.embedded.tiny import tiny_backbone_variant

        variant = tiny_backbone_variant(load_config(exp.config, overrides))
        pretrained_backbone = Layout.from_config(wcfg).path("pretrain", variant=variant)
    schedule = short_schedule(wcfg, manifest.schedules[exp.schedule].epochs)
    input_size = max_dets = None
    if wcfg["data"]["source"] == CUSTOM and model["tiny"]:
        from dataclasses import replace

        from decoupled_rcnn.datasets.data_profile import custom_sizing

        sizing = custom_sizing(wcfg, experiments=1)
        input_size, max_dets = sizing.scale.size, sizing.max_dets
        if schedule is not None and wcfg["data"]["custom"].get("epochs") is not None:
            schedule = replace(schedule, iters=sizing.iters)
    return compose_config(
        exp.config, overrides,
        data=data_spec(wcfg, exp.dataset, split),
        tiny=model["tiny"],
        pretrained=model["pretrained"],
        schedule=schedule,
        work_dir=work_dir,
        seed=wcfg["seed"] if seed is None else seed,
        pretrained_backbone=pretrained_backbone,
        input_size=input_size,
        max_dets=max_dets,
        backbone_weights=model.get("backbone_weights"),
    )


def load_config(config: str | Path, overrides: Mapping[str, Any] | None = None) -> Config:
    """A config file with overrides merged.

    Args:
        config: a file path (a relative one from the working directory where it exists
            there, else from the repository root) or a config shipped
            with an OpenMMLab package, ``package::rel/path.py`` (e.g.
            ``mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py``), found by mmengine's
            :func:`mmengine.hub.get_config`. ``cfg.filename`` is the file it was read from.
        overrides: dotted keys merged into the config.

    Its ``custom_imports`` are not imported here (composing needs no model code): whatever
    builds the model calls :func:`import_custom_modules` first.
    """
    text = str(config)
    with mmdet_bases_without_metafile_scan():
        if "::" in text:
            from mmengine.hub import get_config

            cfg = get_config(text)
        else:
            path = Path(text)
            cfg = Config.fromfile(path if path.is_absolute() or path.is_file()
                                  else REPO_ROOT / path, import_custom_modules=False)
    # format_python_code=False: mmengine's pretty_text (run at every config dump, log and
    # checkpoint) would yapf-format the config, measured at 16 % of a tiny training's time.
    # (Config.fromfile ignores that argument for plain configs, mmengine 0.10.)
    cfg = Config(cfg.to_dict(), cfg_text=cfg.text, filename=cfg.filename,
                 format_python_code=False)
    if overrides:
        cfg.merge_from_dict(dict(overrides))
    return cfg


def config_chain(config: str | Path) -> list[str]:
    """The config file and its ``_base_`` files, depth first, as written in each file."""
    import ast

    path = Path(config)
    path = path if path.is_absolute() else REPO_ROOT / path
    chain = [str(config)]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "_base_"
                                                for t in node.targets):
            value = ast.literal_eval(node.value)
            for base in [value] if isinstance(value, str) else value:
                if "::" in base:
                    chain.append(base)
                else:
                    found = (path.parent / base).resolve()
                    with contextlib.suppress(ValueError):
                        found = found.relative_to(REPO_ROOT)
                    chain.extend(config_chain(found))
    return chain


def _digest(node: Any) -> str:
    import hashlib
    import json

    text = json.dumps(node, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_identity(cfg: Config) -> str:
    """A digest of everything in a composed config that changes what is trained.

    Two experiments with one identity train the same network on the same data with the same
    schedule (e.g. a VOC and a COCO row on the generated stand-in data): they run once.
    ``model.test_cfg`` is left out (it does not change training): :func:`evaluation_identity`
    compares it per test setting.
    """
    keep = {k: cfg[k] for k in ("model", "train_dataloader", "train_cfg", "optim_wrapper",
                                "param_scheduler", "randomness") if k in cfg}
    keep = copy.deepcopy(Config(keep).to_dict())
    keep["model"].pop("test_cfg", None)
    return _digest(keep)


def evaluation_identity(cfg: Config, overrides: Mapping[str, Any]) -> str:
    """A digest of ``model.test_cfg`` once a test setting's ``overrides`` are merged."""
    merged = Config(copy.deepcopy({"model": {"test_cfg": cfg.model.get("test_cfg")}}))
    merged.merge_from_dict({k: v for k, v in overrides.items()
                            if k.startswith("model.test_cfg")})
    return _digest(merged.to_dict())


def import_custom_modules(cfg: Config) -> None:
    """Register mmdet's modules and import the config's ``custom_imports`` (our plugin)."""
    from mmdet.utils import register_all_modules
    from mmengine.utils import import_modules_from_strings

    register_all_modules(init_default_scope=True)
    if cfg.get("custom_imports"):
        import_modules_from_strings(**cfg.custom_imports)


def init_weights_quietly(module) -> None:
    """``module.init_weights()`` without mmengine's INFO line for every parameter."""
    import logging

    from mmengine.logging import MMLogger

    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        module.init_weights()
    finally:
        logger.setLevel(level)


def build_model(cfg: Config, *, init_weights: bool = False):
    """Build ``cfg.model`` (an mmdet detector) on the CPU, as the Runner builds it.

    Args:
        cfg: a composed config (:func:`experiment_config` or :func:`compose_config`).
        init_weights: run ``init_weights`` (which loads a Pretrained ``init_cfg``); without it
            the weights are the modules' default initialisation, enough for counting.

    Returns:
        The detector (``nn.Module``).
    """
    from mmdet.registry import MODELS

    import_custom_modules(cfg)
    model = MODELS.build(copy.deepcopy(cfg.model))
    if init_weights:
        init_weights_quietly(model)
    return model
