"""Runner checkpoints save and resume with ``weights_only=True``; foreign pickles are refused."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.hub import get_config
from mmengine.runner import Runner
from mmengine.runner.checkpoint import CheckpointLoader

import decoupled_rcnn.models  # noqa: F401  (registers the safe checkpoint loader)
from decoupled_rcnn.checkpoint import (
    HISTORY_STATISTICS,
    UnsafeCheckpointError,
    checkpoint_safety,
    load_checkpoint_file,
    safe_checkpoint_globals,
)
from decoupled_rcnn.reproduction.run.runs import build_runner


def tiny_faster_rcnn_cfg(data, work_dir: Path, max_iters: int) -> Config:
    """mmdet's Faster R-CNN R50-FPN config, shrunk to ResNet-18 and 32-channel FPN."""
    cfg = get_config("mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py")
    model = cfg.model
    model.backbone.update(depth=18, init_cfg=None)
    model.neck.update(in_channels=[64, 128, 256, 512], out_channels=32)
    model.rpn_head.update(in_channels=32, feat_channels=32)
    model.roi_head.bbox_roi_extractor.out_channels = 32
    model.roi_head.bbox_head.update(in_channels=32, fc_out_channels=64,
                                    num_classes=len(data.classes))
    model.train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=100)
    model.train_cfg.rcnn.sampler.num = 64
    model.test_cfg.rpn.update(nms_pre=200, max_per_img=100)

    pipeline = [
        dict(type="LoadImageFromFile"),
        dict(type="LoadAnnotations", with_bbox=True),
        dict(type="Resize", scale=(128, 128), keep_ratio=True),
        dict(type="RandomFlip", prob=0.5),
        dict(type="PackDetInputs"),
    ]
    cfg.train_dataloader = dict(
        batch_size=2,
        num_workers=0,
        sampler=dict(type="InfiniteSampler", shuffle=True),
        batch_sampler=dict(type="AspectRatioBatchSampler"),
        dataset=dict(
            type="CocoDataset",
            data_root=str(data.root),
            ann_file=data.ann_file,
            data_prefix=dict(img=data.img_prefix),
            metainfo=dict(classes=data.classes),
            filter_cfg=dict(filter_empty_gt=True, min_size=1),
            pipeline=pipeline,
        ),
    )
    cfg.train_cfg = dict(type="IterBasedTrainLoop", max_iters=max_iters, val_interval=10**6)
    for key in ("val_dataloader", "val_cfg", "val_evaluator",
                "test_dataloader", "test_cfg", "test_evaluator"):
        cfg[key] = None
    cfg.param_scheduler = [dict(type="ConstantLR", factor=1.0, by_epoch=False)]
    cfg.optim_wrapper.optimizer.lr = 0.005
    cfg.default_hooks.checkpoint = dict(type="CheckpointHook", interval=2, by_epoch=False)
    cfg.default_hooks.logger = dict(type="LoggerHook", interval=1)
    cfg.log_processor = dict(by_epoch=False)
    cfg.randomness = dict(seed=0)
    cfg.work_dir = str(work_dir)
    return cfg


@pytest.fixture(scope="module")
def trained_two_iters(tiny_coco, tmp_path_factory):
    work_dir = tmp_path_factory.mktemp("resume")
    runner = Runner.from_cfg(tiny_faster_rcnn_cfg(tiny_coco, work_dir, max_iters=2))
    runner.train()
    return work_dir, runner


def test_runner_checkpoint_needs_the_allow_list(trained_two_iters):
    work_dir, runner = trained_two_iters
    assert runner.iter == 2
    ckpt = work_dir / "iter_2.pth"
    assert ckpt.is_file()
    # None of ours is allow-listed process-wide: torch alone refuses a Runner checkpoint.
    ours = safe_checkpoint_globals()
    assert not [g for g in torch.serialization.get_safe_globals() if g in ours]
    unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(str(ckpt))
    with pytest.raises(pickle.UnpicklingError):
        torch.load(ckpt, map_location="cpu", weights_only=True)
    assert any("HistoryBuffer" in name for name in unsafe), unsafe
    allowed = {g[1] if isinstance(g, tuple) else f"{g.__module__}.{g.__qualname__}"
               for g in safe_checkpoint_globals()}
    assert set(unsafe) <= allowed, set(unsafe) - allowed
    # Within the scoped allow-list the file loads with weights_only on, and carries the
    # iteration it was saved at.
    with checkpoint_safety():
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
    assert state["meta"]["iter"] == 2
    assert not [g for g in torch.serialization.get_safe_globals() if g in ours]  # undone


class TrainedIterations(Hook):
    """Records the iteration counter at the start of every iteration a runner trains."""

    priority = "VERY_HIGH"

    def __init__(self):
        self.iters: list[int] = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.iters.append(runner.iter)  # 0 for the first iteration of a fresh training


def test_resume_continues_to_iteration_four(trained_two_iters, tiny_coco):
    work_dir, first = trained_two_iters
    weights_at_2 = {k: v.clone() for k, v in first.model.state_dict().items()}
    cfg = tiny_faster_rcnn_cfg(tiny_coco, work_dir, max_iters=4)
    # The train rule's runner: it resumes from the work dir's newest complete checkpoint.
    runner = build_runner(cfg)
    assert runner.resumed_from == work_dir / "iter_2.pth"
    trained = TrainedIterations()
    runner.register_hook(trained)
    runner.train()
    # Iterations 3 and 4 ran, and only they: a restart at 0 would run [0, 1, 2, 3].
    assert trained.iters == [2, 3], f"resume ran iterations {trained.iters} (counter values)"
    assert runner.iter == 4
    state = load_checkpoint_file(str(work_dir / "iter_4.pth"), map_location="cpu")
    assert state["meta"]["iter"] == 4
    # Training went on from the resumed weights: some parameter changed after iteration 2.
    changed = [k for k, v in runner.model.state_dict().items()
               if v.is_floating_point() and not torch.equal(v, weights_at_2[k])]
    assert changed
    assert "optimizer" in state and state["optimizer"]["state"]


class Foreign:
    """A pickled object a checkpoint should never carry; unpickling it leaves a mark."""

    marker: Path | None = None

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_foreign_pickled_object_is_refused(tmp_path):
    marker = tmp_path / "code-ran"
    foreign = Foreign()
    foreign.marker = marker
    path = tmp_path / "foreign.pth"
    torch.save({"state_dict": {"w": torch.zeros(2)}, "meta": {"payload": foreign}}, path)

    with pytest.raises(UnsafeCheckpointError) as err:
        CheckpointLoader.load_checkpoint(str(path), map_location="cpu")
    message = str(err.value)
    assert str(path) in message
    assert "pathlib" in message and "refused" in message
    assert not marker.exists()
    assert isinstance(err.value, pickle.UnpicklingError)


class SneakyGetattr:
    """Pickles as ``getattr(HistoryBuffer, '__init__')``: not a statistics method."""

    def __reduce__(self):
        from mmengine.logging.history_buffer import HistoryBuffer

        return (getattr, (HistoryBuffer, "__init__"))


def test_getattr_is_limited_to_history_buffer_statistics(tmp_path):
    path = tmp_path / "sneaky.pth"
    torch.save({"meta": {"x": SneakyGetattr()}}, path)
    with pytest.raises(UnsafeCheckpointError, match="sneaky.pth: refused"):
        CheckpointLoader.load_checkpoint(str(path), map_location="cpu")


def test_fresh_process_loads_a_runner_checkpoint(trained_two_iters):
    """No HistoryBuffer exists yet in a new process: the allow-list must not depend on one."""
    import subprocess
    import sys

    work_dir, _ = trained_two_iters
    code = ("import decoupled_rcnn.models\n"
            "from mmengine.runner.checkpoint import CheckpointLoader\n"
            f"state = CheckpointLoader.load_checkpoint({str(work_dir / 'iter_2.pth')!r})\n"
            "print(state['meta']['iter'])\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("2")


def test_history_buffer_pickles_only_its_built_in_statistics():
    """Pins mmengine's HistoryBuffer: the getattr names its pickle carries are ours to allow.

    Fails when the pinned version pickles other statistics methods (or none), so
    :data:`~decoupled_rcnn.checkpoint.HISTORY_STATISTICS` must follow.
    """
    import io

    from mmengine.logging.history_buffer import HistoryBuffer

    fetched: list[tuple[object, str]] = []

    class Recorder(pickle.Unpickler):
        def find_class(self, module, name):
            if module in ("builtins", "__builtin__") and name == "getattr":
                return lambda obj, attr: fetched.append((obj, attr)) or getattr(obj, attr)
            return super().find_class(module, name)

    buffer = HistoryBuffer()
    buffer.update(1.5)
    data = pickle.dumps({"hub": buffer}, protocol=torch.serialization.DEFAULT_PROTOCOL)
    Recorder(io.BytesIO(data)).load()  # as torch.save pickles it
    assert {obj for obj, _ in fetched} == {HistoryBuffer}
    assert {attr for _, attr in fetched} == set(HISTORY_STATISTICS)


def test_scoped_allow_list_loads_a_history_buffer(tmp_path):
    from mmengine.logging.history_buffer import HistoryBuffer

    buffer = HistoryBuffer()
    buffer.update(2.0)
    buffer.update(4.0)
    path = tmp_path / "hub.pth"
    torch.save({"meta": {"hub": buffer}}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)  # outside the scope: refused
    loaded = load_checkpoint_file(str(path))["meta"]["hub"]
    assert loaded.mean() == 3.0 and loaded.current() == 4.0
