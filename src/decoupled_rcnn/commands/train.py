"""``decoupled-rcnn train``: train one composed config (the workflow's train rule uses it)."""

from __future__ import annotations

import argparse
import sys

HELP = "Train a composed mmengine config, resuming from its work dir's last good checkpoint."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="a config file (e.g. results/.../work/config.py)")
    parser.add_argument("--checkpoint", required=True, help="where the final weights go")
    parser.add_argument("--info", required=True, help="where the run's provenance JSON goes")
    parser.add_argument("--work-dir", help="override the config's work_dir")
    parser.add_argument("--launcher", default="none", choices=["none", "pytorch", "slurm"],
                        help="distributed launcher (torchrun sets up 'pytorch'; without CUDA "
                        "the workers use gloo)")


def run(args: argparse.Namespace) -> int:
    from mmengine.config import Config

    from decoupled_rcnn.install_check import InstallError, require_cuda_ops
    from decoupled_rcnn.reproduction.run.distributed import rank_device
    from decoupled_rcnn.reproduction.run.runs import train_experiment

    try:  # a torchrun worker checks its own GPU (no CUDA context on GPU 0 from every rank)
        require_cuda_ops(rank_device() if args.launcher == "pytorch" else "cuda")
    except InstallError as err:
        print(f"train: {err}", file=sys.stderr)
        return 1
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.work_dir:
        cfg.work_dir = args.work_dir
    train_experiment(cfg, args.checkpoint, args.info)
    return 0
