"""Load a workflow config as the Snakefile sees it: YAML, overrides, schema defaults.

The Snakefile reads ``configs/workflow/default.yaml`` (or ``--configfile``), merges
``--config`` overrides and validates against ``workflow/schemas/config.schema.yaml``, which
fills in every default. Commands that answer questions about a run without running it
(``recipe``, ``complexity --experiment``, ``tables``) load the same config the same way.
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


def _merge(base: dict, extra: Mapping) -> dict:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


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
    with open(path or DEFAULT_WORKFLOW_CONFIG, encoding="utf-8") as f:
        config = yaml.safe_load(f) or {}
    _merge(config, overrides or {})
    with open(SCHEMA, encoding="utf-8") as f:
        schema = yaml.safe_load(f)
    import jsonschema

    from decoupled_rcnn.reproduction.plan.config_checks import schema_error_text

    try:
        _validator(schema)(schema).validate(config)
    except jsonschema.ValidationError as err:
        raise jsonschema.ValidationError(schema_error_text(err)) from None
    return config


def _validator(schema: Mapping[str, Any]):
    """A jsonschema validator that fills in each property's default, as Snakemake's does."""
    import jsonschema

    base = jsonschema.validators.validator_for(schema)

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub:
                    instance.setdefault(name, copy.deepcopy(sub["default"]))
        yield from base.VALIDATORS["properties"](validator, properties, instance, schema)

    return jsonschema.validators.extend(base, {"properties": set_defaults})
