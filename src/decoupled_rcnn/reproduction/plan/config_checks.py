"""Checks of a workflow config that the schema cannot make, run when the DAG is built.

The schema (``workflow/schemas/config.schema.yaml``) rejects unknown table ids and data
sources, negative iterations and seeds; :func:`schema_error_text` turns its error into one
line naming the key. What it cannot know is whether a folder exists: :func:`check_dataset_roots`
fails, naming the key, when a dataset root that the selected tables read does not exist.

It runs in ``workflow/rules/common.smk`` for every Snakemake invocation that will run jobs,
and not for a dry run (``snakemake -n``): a dry run of the paper profile on a machine without
the datasets answers "what would run" (``decoupled-rcnn plan`` and the tests rely on that).
The prepare_data rule checks the same roots again (and every file in them) before any
training starts, so a wrong root never reaches a training either way.

To add a root (another data source): add a :class:`RootKey` to :data:`ROOT_KEYS`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ROOT_KEYS", "RootKey", "WorkflowConfigError", "check_dataset_roots",
           "needed_datasets", "schema_error_text"]


class WorkflowConfigError(ValueError):
    """A workflow config value is wrong; the one-line message starts with the key."""


@dataclass(frozen=True)
class RootKey:
    """A dataset folder a workflow config names.

    Attributes:
        key: the dotted config key (``data.voc_root``).
        needed: whether the run reads it, given the config and the manifest datasets
            (``voc0712``, ``coco``) of the selected tables' experiments.
        what: the folder, for the message.
    """

    key: str
    needed: Callable[[Mapping[str, Any], Collection[str]], bool]
    what: str


def _source(wcfg: Mapping[str, Any]) -> str:
    return str(wcfg.get("data", {}).get("source", "synthetic"))


#: Every dataset root a workflow config can name, and when it is read.
ROOT_KEYS: tuple[RootKey, ...] = (
    RootKey("data.voc_root", lambda w, d: _source(w) == "real" and "voc0712" in d,
            "the VOCdevkit folder (VOC2007/, VOC2012/)"),
    RootKey("data.coco_root", lambda w, d: _source(w) == "real" and "coco" in d,
            "the COCO 2017 root (annotations/, train2017/, val2017/)"),
    RootKey("data.custom.root", lambda w, d: _source(w) == "custom",
            "your dataset's folder"),
)


def _value(wcfg: Mapping[str, Any], key: str) -> Any:
    node: Any = wcfg
    for part in key.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def needed_datasets(wcfg: Mapping[str, Any]) -> set[str]:
    """The manifest datasets (``voc0712``, ``coco``) the selected tables' experiments use."""
    from decoupled_rcnn.paths import REPO_ROOT
    from decoupled_rcnn.reproduction.manifest import load_manifest

    manifest = load_manifest(REPO_ROOT / wcfg["manifest"])
    return {e.dataset for e in manifest.experiments_for(wcfg["tables"])}


def check_dataset_roots(wcfg: Mapping[str, Any], datasets: Collection[str] | None = None,
                        keys: Sequence[RootKey] = ROOT_KEYS) -> None:
    """Fail if a dataset root the run reads is unset or not a directory.

    Args:
        wcfg: the validated workflow config.
        datasets: the manifest datasets of the selection (default: :func:`needed_datasets`).
        keys: the roots to consider.

    Raises:
        WorkflowConfigError: ``"<key>: ... does not exist ..."``, one line.
    """
    datasets = needed_datasets(wcfg) if datasets is None else datasets
    tables = ", ".join(wcfg.get("tables", []))
    for root in keys:
        if not root.needed(wcfg, datasets):
            continue
        value = _value(wcfg, root.key)
        why = f"data.source is {_source(wcfg)} and the selected tables ({tables}) read it"
        if value is None or not str(value).strip():
            raise WorkflowConfigError(f"{root.key}: not set; it must name {root.what} ({why})")
        path = Path(str(value)).expanduser()
        if not path.is_dir():
            state = "is not a directory" if path.exists() else "does not exist"
            raise WorkflowConfigError(f"{root.key}: {path} {state}; it must name {root.what} "
                                      f"({why})")


def schema_error_text(err: Any) -> str:
    """One line from a ``jsonschema.ValidationError``: the dotted key, then what is wrong."""
    key = ""
    for part in getattr(err, "absolute_path", []):
        key += f"[{part}]" if isinstance(part, int) else f".{part}" if key else str(part)
    key = key or "(top level)"
    return f"{key}: {' '.join(str(getattr(err, 'message', err)).split())}"
