"""The GPU install decisions, on CPU: the CUDA checks are faked at their boundary.

``decoupled_rcnn.install_check`` asks the hardware through three functions
(``cuda_available``, ``mmcv_cuda_version``, ``run_ops``) and the installer through
``torch_cuda``/``find_nvcc``/``nvcc_version``; everything that decides what to do given their
answers runs for real here. Whether mmcv's CUDA kernels actually run is what
``check-install`` shows on a GPU node (not proven on these CPU-only machines).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from decoupled_rcnn import install_check
from decoupled_rcnn.install_check import CPU_ONLY, InstallError

ROOT = Path(__file__).resolve().parent.parent


def _setup_env():
    spec = importlib.util.spec_from_file_location("setup_env", ROOT / "tools" / "setup_env.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def gpu_node(monkeypatch):
    """torch sees a GPU; ``run_ops`` records the devices it is asked to run on."""
    devices = []
    monkeypatch.setattr(install_check, "cuda_available", lambda: True)
    monkeypatch.setattr(install_check, "_gpu_name", lambda: "NVIDIA H100")
    monkeypatch.setattr(install_check, "run_ops", devices.append)
    return devices


def test_check_install_says_cpu_only_here():
    out = subprocess.run([sys.executable, "-m", "decoupled_rcnn.cli", "check-install"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    if install_check.cuda_available():
        pytest.skip("this machine has a CUDA device: see test_cuda_ops_run_on_the_gpu")
    device = next(line for line in out.stdout.splitlines() if "device:" in line)
    assert device.split(":", 1)[1].strip().startswith(CPU_ONLY)


def test_a_cpu_only_mmcv_is_refused_on_a_gpu_in_one_line(gpu_node, monkeypatch):
    monkeypatch.setattr(install_check, "mmcv_cuda_version", lambda: None)
    with pytest.raises(InstallError) as err:
        install_check.require_cuda_ops()
    message = str(err.value)
    assert "\n" not in message
    assert "CUDA toolkit" in message and "tools/setup_env.py" in message
    assert gpu_node == []  # refused before any op was tried on the GPU
    with pytest.raises(InstallError):
        install_check.check_stack()


def test_mmcv_with_cuda_ops_runs_them_on_the_gpu(gpu_node, monkeypatch):
    monkeypatch.setattr(install_check, "mmcv_cuda_version", lambda: "12.4")
    install_check.require_cuda_ops()
    assert gpu_node == ["cuda"]
    gpu_node.clear()
    report = install_check.check_stack()
    assert gpu_node == ["cpu", "cuda"]  # check-install: both devices
    assert report["device"].startswith("CUDA: NVIDIA H100") and CPU_ONLY not in report["device"]


def test_cuda_kernels_that_fail_are_refused_with_the_fix(gpu_node, monkeypatch):
    monkeypatch.setattr(install_check, "mmcv_cuda_version", lambda: "12.4")

    def broken(device):
        raise InstallError(f"mmcv's ops fail on {device} tensors (no kernel image).")

    monkeypatch.setattr(install_check, "run_ops", broken)
    with pytest.raises(InstallError, match="no kernel image.*CUDA toolkit"):
        install_check.require_cuda_ops()


def test_without_cuda_training_is_not_held_up(monkeypatch):
    monkeypatch.setattr(install_check, "cuda_available", lambda: False)
    monkeypatch.setattr(install_check, "mmcv_cuda_version", lambda: None)
    install_check.require_cuda_ops()  # no GPU, nothing to refuse


def test_the_train_rule_refuses_before_composing_anything(gpu_node, monkeypatch, tmp_path):
    from decoupled_rcnn.reproduction import pipeline

    monkeypatch.setattr(install_check, "mmcv_cuda_version", lambda: None)
    wcfg = {"results_dir": str(tmp_path), "resources": {"train": {}}}
    with pytest.raises(InstallError, match="without CUDA ops"):
        pipeline.run_training(wcfg, "voc_r101_faster", 0, tmp_path / "model.pth",
                              tmp_path / "train.json", gpus=4)
    assert list(tmp_path.iterdir()) == []


def test_train_command_prints_one_line_and_fails(gpu_node, monkeypatch, capsys, tmp_path):
    from decoupled_rcnn import cli

    monkeypatch.setattr(install_check, "mmcv_cuda_version", lambda: None)
    argv = ["train", str(tmp_path / "config.py"), "--checkpoint", "m.pth", "--info", "i.json"]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("train: mmcv was built without CUDA")


def test_run_ops_checks_the_cpu_results_here():
    install_check.run_ops("cpu")  # the real ops, with known answers


@pytest.mark.parametrize(("visible", "cuda", "nvcc", "toolkit", "expect"), [
    (False, None, None, None, {"MMCV_WITH_OPS": "1"}),
    (True, "12.4", "/opt/cuda-12.4/bin/nvcc", "12.4",
     {"MMCV_WITH_OPS": "1", "FORCE_CUDA": "1", "CUDA_HOME": "/opt/cuda-12.4"}),
    (True, "12.8", "/opt/cuda-12.4/bin/nvcc", "12.4",
     {"MMCV_WITH_OPS": "1", "FORCE_CUDA": "1", "CUDA_HOME": "/opt/cuda-12.4"}),
])
def test_installer_builds_cuda_ops_where_it_can(visible, cuda, nvcc, toolkit, expect):
    env = _setup_env().mmcv_build_env(visible, cuda, Path(nvcc) if nvcc else None, toolkit)
    assert env == expect


def test_installer_stops_on_a_gpu_node_without_a_cuda_toolkit():
    with pytest.raises(SystemExit) as stop:
        _setup_env().mmcv_build_env(True, "12.4", None, None)
    message = str(stop.value)
    assert "\n" not in message
    assert "no CUDA toolkit (nvcc)" in message and "CUDA toolkit 12.4" in message


def test_installer_stops_on_a_toolkit_of_another_major_version():
    with pytest.raises(SystemExit, match="is 13.0, but torch was built for CUDA 12.4"):
        _setup_env().mmcv_build_env(True, "12.4", Path("/usr/local/cuda/bin/nvcc"), "13.0")


def test_installer_asks_for_cuda_kernels_on_a_gpu_node(monkeypatch, tmp_path):
    setup_env = _setup_env()
    calls = []
    monkeypatch.setattr(setup_env, "torch_cuda", lambda python: (True, "12.4"))
    monkeypatch.setattr(setup_env, "find_nvcc", lambda: None)
    monkeypatch.setattr(setup_env, "_pip", lambda *a, **env: calls.append(env))
    with pytest.raises(SystemExit, match="no CUDA toolkit"):
        setup_env.install_mmcv(tmp_path / "python", "mmcv==2.1.0")
    assert calls == []  # stopped before building anything


def test_build_jobs_follow_the_allocation_not_the_node(monkeypatch):
    setup_env = _setup_env()
    monkeypatch.delenv("MAX_JOBS", raising=False)
    monkeypatch.setattr(setup_env.os, "sched_getaffinity", lambda pid: {0, 5, 7})
    monkeypatch.setattr(setup_env.os, "cpu_count", lambda: 64)
    assert setup_env.build_jobs() == "3"  # 3 CPUs allocated on a 64-core node
    monkeypatch.setenv("MAX_JOBS", "12")
    assert setup_env.build_jobs() == "12"


def test_cuda_arch_list_reaches_the_build(monkeypatch):
    monkeypatch.setenv("TORCH_CUDA_ARCH_LIST", "7.0;8.0;9.0")
    env = _setup_env().mmcv_build_env(True, "12.4", Path("/opt/cuda-12.4/bin/nvcc"), "12.4")
    assert env["TORCH_CUDA_ARCH_LIST"] == "7.0;8.0;9.0"


def test_a_setup_for_another_device_kind_is_redone(monkeypatch, tmp_path):
    setup_env = _setup_env()
    stamp = tmp_path / ".setup-done"
    assert not setup_env.stamp_is_current(stamp)  # never set up
    stamp.write_text("cpu\n")  # set up on the login node
    monkeypatch.setattr(setup_env, "device_kind", lambda: "cuda: NVIDIA H100 80GB HBM3")
    assert not setup_env.stamp_is_current(stamp)  # a GPU node: make setup runs again
    stamp.write_text("cuda: NVIDIA H100 80GB HBM3\n")
    assert setup_env.stamp_is_current(stamp)
    stamp.write_text("")  # an older stamp without a kind is kept
    assert setup_env.stamp_is_current(stamp)


def test_device_kind_without_nvidia_smi_is_cpu(monkeypatch):
    setup_env = _setup_env()
    monkeypatch.setattr(setup_env.shutil, "which", lambda name: None)
    assert setup_env.device_kind() == "cpu"
