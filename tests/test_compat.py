"""The scoped mmengine patch: same files found, no metafile read, undone on exit.

Each test pins behaviour of mmengine 0.10.7 that :mod:`decoupled_rcnn.compat` relies on, so a
new mmengine that resolves ``package::`` bases differently fails here, not in a training.
"""

from __future__ import annotations

import pytest
from mmengine.config import Config
from mmengine.config import config as mm_config
from mmengine.config import utils as mm_utils

from decoupled_rcnn.compat import mmdet_bases_without_metafile_scan

BASE = "mmdet::_base_/schedules/schedule_1x.py"


def _resolve(cfg_path: str) -> tuple[str, str | None]:
    return Config._get_cfg_path(cfg_path, "unused.py")


def test_base_resolves_to_the_same_file_without_reading_metafiles(monkeypatch):
    expected = _resolve(BASE)  # mmengine's own lookup, metafile scan and fallback
    assert expected[0].endswith("mmdet/.mim/configs/_base_/schedules/schedule_1x.py")
    assert expected[1] == "mmdet"

    def no_scan(*args):
        raise AssertionError("the metafile index was read")

    monkeypatch.setattr(mm_utils, "_get_cfg_metainfo", no_scan)
    with mmdet_bases_without_metafile_scan():
        assert _resolve(BASE) == expected
    with pytest.raises(AssertionError, match="metafile index was read"):
        _resolve(BASE)  # outside the context mmengine scans again


def test_the_patch_is_undone_on_exit_and_on_error():
    original = mm_config._get_external_cfg_path
    assert original is mm_utils._get_external_cfg_path
    with mmdet_bases_without_metafile_scan():
        assert mm_config._get_external_cfg_path is not original
        with mmdet_bases_without_metafile_scan():  # nested: restores the outer one
            inner = mm_config._get_external_cfg_path
        assert mm_config._get_external_cfg_path is not inner
    assert mm_config._get_external_cfg_path is original
    with pytest.raises(RuntimeError), mmdet_bases_without_metafile_scan():
        raise RuntimeError("boom")
    assert mm_config._get_external_cfg_path is original


def test_a_non_base_config_still_goes_to_mmengines_lookup(monkeypatch):
    seen = []

    def lookup(package_path, cfg_file):
        seen.append(cfg_file)
        raise ValueError("not in a metafile")

    monkeypatch.setattr(mm_config, "_get_external_cfg_path", lookup)
    with mmdet_bases_without_metafile_scan():
        path, _ = _resolve("mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py")
        _resolve(BASE)
    assert path.endswith("mmdet/.mim/configs/faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py")
    assert seen == ["faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py"]  # the base never reached it
