"""Load a workflow config as the Snakefile sees it: YAML, overrides, schema defaults.

The Snakefile reads ``configs/workflow/default.yaml`` (or ``--configfile``), merges
``--config`` overrides and validates against ``workflow/schemas/config.schema.yaml`` with
``snakemake.utils.validate``, which fills in every default. Commands that answer questions
about a run without running it (``recipe``, ``complexity --experiment``, ``tables``) load the
same config the same way, through the same function.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from decoupled_rcnn.paths import REPO_ROOT

__all__ = ["DEFAULT_WORKFLOW_CONFIG", "SCHEMA", "load_workflow_config"]

DEFAULT_WORKFLOW_CONFIG = REPO_ROOT / "configs" / "workflow" / "default.yaml"
SCHEMA = REPO_ROOT / "workflow" / "schemas" / "config.schema.yaml"


def load_workflow_config(path: str | Path | None = None,
                         overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The validated workflow config, with the schema's defaults filled in.

    Args:
        path: a workflow config YAML (default: ``configs/workflow/default.yaml``).
        overrides: nested values merged on top, like Snakemake's ``--config``.

    Raises:
        jsonschema.ValidationError: the config does not match the schema; its message is
            one line naming the key (``schedule.short.iters: -1 is less than the minimum of 1``).
    """
    import jsonschema
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import update_config, validate

    with open(path or DEFAULT_WORKFLOW_CONFIG, encoding="utf-8") as f:
        config = yaml.safe_load(f) or {}
    update_config(config, copy.deepcopy(dict(overrides or {})))  # as ``--config`` is merged

    from decoupled_rcnn.reproduction.plan.config_checks import schema_error_text

    try:
        validate(config, str(SCHEMA), set_default=True)  # what the Snakefile runs
    except WorkflowError as err:
        cause = err.__context__  # snakemake raises it while handling jsonschema's error
        if not isinstance(cause, jsonschema.ValidationError):
            raise
        raise jsonschema.ValidationError(schema_error_text(cause)) from None
    return config
