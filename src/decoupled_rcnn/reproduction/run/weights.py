"""ImageNet backbone weights on clusters whose compute nodes have no network.

The full-size configs start their backbones from ``torchvision://resnet50``-style or
``open-mmlab://resnext101_32x4d``-style checkpoints, which mmengine (and
:mod:`decoupled_rcnn.models.pretrained`) read from ``$TORCH_HOME/hub/checkpoints`` and
download there on a miss. ``decoupled-rcnn fetch-weights`` (run on a login node) puts every
file the selected experiments name there, with checksums; :func:`require_local_weights`
makes a training on a node without network stop at its start, naming the file and that
command, instead of failing inside mmengine's download.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

__all__ = ["CHECKSUMS", "BackboneWeight", "MissingWeightsError", "backbone_weights",
           "fetch_weights", "require_local_weights", "weights_dir"]

#: The checksum file fetch-weights writes beside the weights (``sha256sum -c`` format).
CHECKSUMS = "decoupled-rcnn-weights.sha256"
_SCHEMES = ("torchvision://", "open-mmlab://", "openmmlab://", "http://", "https://")


class MissingWeightsError(RuntimeError):
    """A training would download backbone weights on a node without network (one line)."""


@dataclass(frozen=True)
class BackboneWeight:
    """One backbone checkpoint a config names.

    Attributes:
        spec: as the config writes it (``torchvision://resnet101``).
        url: where it downloads from.
        file: where mmengine / torch.hub look for it first.
    """

    spec: str
    url: str
    file: Path


def weights_dir() -> Path:
    """``$TORCH_HOME/hub/checkpoints`` (torch.hub's cache, where the loaders look)."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints"


def _url_of(spec: str) -> str:
    from mmengine.runner.checkpoint import get_deprecated_model_names, get_external_models

    from decoupled_rcnn.models.pretrained import torchvision_urls

    if spec.startswith("torchvision://"):
        return torchvision_urls()[spec.removeprefix("torchvision://")]
    if spec.startswith(("open-mmlab://", "openmmlab://")):
        name = spec.split("://", 1)[1]
        name = get_deprecated_model_names().get(name, name)
        return get_external_models()[name]
    return spec


def _weight(spec: str) -> BackboneWeight:
    url = _url_of(spec)
    return BackboneWeight(spec, url, weights_dir() / os.path.basename(urlparse(url).path))


def _backbone_spec(cfg: Any) -> str | None:
    init = (cfg.model.get("backbone") or {}).get("init_cfg") or {}
    checkpoint = init.get("checkpoint") if isinstance(init, Mapping) else None
    return checkpoint if isinstance(checkpoint, str) and checkpoint.startswith(_SCHEMES) \
        else None


def backbone_weights(wcfg: Mapping[str, Any],
                     experiments: list[str] | None = None) -> list[BackboneWeight]:
    """The downloadable backbone checkpoints the selected experiments start from.

    Args:
        wcfg: a validated workflow config; none with ``model.tiny`` or without
            ``model.pretrained`` (nothing is downloaded then).
        experiments: these manifest experiments (default: every one the tables need).
    """
    if wcfg["model"]["tiny"] or not wcfg["model"]["pretrained"]:
        return []
    from decoupled_rcnn.paths import REPO_ROOT
    from decoupled_rcnn.reproduction.manifest import load_manifest
    from decoupled_rcnn.reproduction.plan.compose import load_config

    manifest = load_manifest(REPO_ROOT / wcfg["manifest"])
    ids = experiments or [e.id for e in manifest.experiments_for(list(wcfg["tables"]))]
    specs: dict[str, None] = {}
    for exp_id in ids:
        exp = manifest.experiments[exp_id]
        spec = _backbone_spec(load_config(exp.config, exp.overrides))
        if spec:
            specs[spec] = None
    return [_weight(spec) for spec in specs]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _name_hash(file: Path) -> str | None:
    """The SHA-256 prefix torchvision and OpenMMLab put in a file name (``-0676ba61.pth``)."""
    found = re.search(r"-([0-9a-f]{8,64})$", file.stem)
    return found.group(1) if found else None


def fetch_weights(weights: list[BackboneWeight],
                  download: Callable[[str, str], None] | None = None) -> list[dict[str, str]]:
    """Download what is missing, check every file's SHA-256 and write :data:`CHECKSUMS`.

    Args:
        weights: from :func:`backbone_weights`.
        download: ``(url, destination)``; default :func:`torch.hub.download_url_to_file`.

    Returns:
        One record per file: spec, file, sha256, status (``present`` / ``downloaded``).

    Raises:
        ValueError: a file's SHA-256 does not start with the hash in its name (a broken
            download): the file is removed.
    """
    import torch

    download = download or (lambda url, dst: torch.hub.download_url_to_file(url, dst))
    records = []
    for weight in weights:
        status = "present"
        if not weight.file.is_file():
            weight.file.parent.mkdir(parents=True, exist_ok=True)
            part = weight.file.with_name(weight.file.name + ".part")
            download(weight.url, str(part))
            part.replace(weight.file)
            status = "downloaded"
        sha = _sha256(weight.file)
        expected = _name_hash(weight.file)
        if expected and not sha.startswith(expected):
            weight.file.unlink()
            raise ValueError(f"{weight.file}: SHA-256 {sha[:12]}... does not start with the "
                             f"{expected} its name promises; removed, run fetch-weights again")
        records.append({"spec": weight.spec, "file": str(weight.file), "sha256": sha,
                        "status": status})
    if records:
        lines = sorted(f"{r['sha256']}  {Path(r['file']).name}\n" for r in records)
        (weights_dir() / CHECKSUMS).write_text("".join(lines))
    return records


def _online(url: str, timeout: float = 5.0) -> bool:
    """Whether this node reaches ``url``'s host (a TCP connection, nothing downloaded)."""
    parts = urlparse(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 443), timeout=timeout):
            return True
    except OSError:
        return False


def require_local_weights(wcfg: Mapping[str, Any], experiment_id: str) -> None:
    """Stop a training at its start if it would download weights on a node without network.

    Raises:
        MissingWeightsError: one line naming the missing file and ``decoupled-rcnn
            fetch-weights``.
    """
    for weight in backbone_weights(wcfg, [experiment_id]):
        if weight.file.is_file() or _online(weight.url):
            continue
        raise MissingWeightsError(
            f"{experiment_id} starts from {weight.spec}, whose file {weight.file} is not "
            f"there and this node cannot reach {urlparse(weight.url).hostname} to download "
            "it: run `decoupled-rcnn fetch-weights --configfile <your workflow config>` on a "
            "node with network (the login node), with the same TORCH_HOME")
