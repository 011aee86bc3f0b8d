"""Checks that the installed stack is the one the pipeline needs (used by set-up and tests).

On a machine where torch sees a CUDA device, mmcv's compiled ops must run on CUDA tensors too:
mmcv built on a node without the CUDA toolkit (torch's pip wheel brings no ``nvcc``) has CPU
ops only, and its NMS / RoIAlign fail on the GPU. :func:`check_stack` runs both ops on every
device there is; :func:`require_cuda_ops` is what training calls before it starts on a GPU.
The three functions that ask the hardware (:func:`cuda_available`, :func:`mmcv_cuda_version`,
:func:`run_ops`) are the boundary the tests fake.
"""

from __future__ import annotations

import platform

__all__ = ["CPU_ONLY", "InstallError", "check_stack", "cuda_available", "cuda_ops_fix",
           "mmcv_cuda_version", "require_cuda_build", "require_cuda_ops", "run_ops"]

#: How ``check-install`` names a machine without a usable CUDA device.
CPU_ONLY = "CPU only"


class InstallError(RuntimeError):
    """The environment lacks something the pipeline needs; the message says how to fix it."""


def cuda_available() -> bool:
    """Whether torch sees a CUDA device (where mmengine will put the model)."""
    import torch

    return torch.cuda.is_available()


def mmcv_cuda_version() -> str | None:
    """The CUDA version mmcv's ops were compiled with; None: built without CUDA."""
    from mmcv.ops import get_compiling_cuda_version

    version = get_compiling_cuda_version()
    return None if version in ("", "not available") else version


def cuda_ops_fix() -> str:
    """One line: why a CPU-only mmcv cannot train on this GPU, and how to rebuild it."""
    import torch

    wanted = torch.version.cuda or "matching torch's CUDA build"
    return ("mmcv was built without CUDA ops, so it cannot train on this GPU. Fix: install "
            f"the CUDA toolkit {wanted} (nvcc; torch's pip wheel has none), set CUDA_HOME, "
            "then rerun `python tools/setup_env.py` (or `make setup`) to rebuild mmcv with "
            "CUDA ops.")


def run_ops(device: str) -> None:
    """Run mmcv's NMS and RoIAlign on ``device`` tensors and check the results.

    Raises:
        InstallError: an op is missing for the device or returns a wrong result.
    """
    import torch
    from mmcv.ops import RoIAlign, nms

    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 10.0, 10.0],
                          [20.0, 20.0, 30.0, 30.0]], device=device)
    scores = torch.tensor([0.9, 0.8, 0.7], device=device)
    feats = torch.arange(16.0, device=device).reshape(1, 1, 4, 4)
    rois = torch.tensor([[0.0, 0.0, 0.0, 3.0, 3.0]], device=device)
    try:
        _, keep = nms(boxes, scores, iou_threshold=0.5)
        pooled = RoIAlign((2, 2), spatial_scale=1.0, sampling_ratio=2, aligned=True)(feats, rois)
    except RuntimeError as err:
        raise InstallError(f"mmcv's ops fail on {device} tensors ({err}).") from err
    if keep.tolist() != [0, 2]:
        raise InstallError(f"mmcv.ops.nms on {device} returned {keep.tolist()}, expected [0, 2]")
    # The features are 4y + x, linear, so each bin is that at its mean sample point (the
    # first ones clamped at 0): x, y in {0.3125, 1.75}.
    expected = torch.tensor([[[[1.5625, 3.0], [7.3125, 8.75]]]])
    if pooled.shape != (1, 1, 2, 2) or not torch.allclose(pooled.cpu(), expected, atol=1e-4):
        raise InstallError(f"mmcv.ops.RoIAlign on {device} returned {pooled.cpu().tolist()}")


def require_cuda_ops(device: str = "cuda") -> None:
    """Refuse to train on a GPU with an mmcv whose ops do not run there; no-op without CUDA.

    Args:
        device: the process's own GPU (``cuda:<LOCAL_RANK>`` in a torchrun worker): it is made
            the current device first, so the check's CUDA context is on that GPU, not GPU 0.

    Raises:
        InstallError: with one line that names the fix.
    """
    if not cuda_available():
        return
    require_cuda_build()
    if device != "cuda":
        _set_device(device)
    try:
        run_ops(device)
    except InstallError as err:
        raise InstallError(f"{err} {cuda_ops_fix()}") from err


def require_cuda_build() -> None:
    """Refuse an mmcv compiled without CUDA where torch sees a GPU; creates no CUDA context.

    Raises:
        InstallError: with one line that names the fix.
    """
    if cuda_available() and mmcv_cuda_version() is None:
        raise InstallError(cuda_ops_fix())


def _set_device(device: str) -> None:
    import torch

    torch.cuda.set_device(device)


def _gpu_name() -> str:
    import torch

    return torch.cuda.get_device_name(0)


def check_stack() -> dict[str, str]:
    """Import the stack and run mmcv's NMS and RoIAlign on the CPU, and on CUDA if present.

    Returns:
        Versions and devices, keyed by component name; ``device`` starts with
        :data:`CPU_ONLY` on a machine where torch sees no CUDA device.

    Raises:
        InstallError: mmcv has no compiled ops, they fail, or (CUDA present) they have no
            CUDA kernels.
    """
    import torch

    try:
        import mmcv.ops  # noqa: F401
    except (ImportError, ModuleNotFoundError) as err:
        raise InstallError(
            f"mmcv has no compiled ops ({err}). Rebuild it: pip cache remove mmcv && "
            "MMCV_WITH_OPS=1 pip install --no-build-isolation --no-cache-dir mmcv==2.1.0 "
            "(or run `make setup`, which does this)."
        ) from err
    import mmcv
    import mmdet
    import mmengine

    run_ops("cpu")
    if cuda_available():
        require_cuda_ops()
        device = (f"CUDA: {_gpu_name()}; mmcv ops compiled with CUDA {mmcv_cuda_version()}, "
                  "NMS and RoIAlign ran on the GPU")
    else:
        device = f"{CPU_ONLY} (torch sees no CUDA device; NMS and RoIAlign ran on the CPU)"
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda or "none (CPU build)",
        "mmengine": mmengine.__version__,
        "mmcv": f"{mmcv.__version__} (ops compiled)",
        "mmdet": mmdet.__version__,
        "device": device,
    }
