"""Structural checks shared by the manifest's parsers: every problem is appended to ``errors``.

Each check names where the problem is (``where``: table, row, claim, key), so that a manifest
with several mistakes is reported in one :class:`~.model.ManifestError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_ID = re.compile(r"^[a-z][a-z0-9_]*$")


def unknown_keys(entry: Mapping, allowed: set[str], where: str, errors: list[str]) -> None:
    for key in entry:
        if key not in allowed:
            errors.append(f"{where}: unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")


def require(entry: Mapping, keys: tuple[str, ...], where: str, errors: list[str]) -> bool:
    missing = [k for k in keys if k not in entry]
    for key in missing:
        errors.append(f"{where}: missing required key {key!r}")
    return not missing


def check_id(ident: Any, where: str, errors: list[str]) -> bool:
    if not isinstance(ident, str) or not _ID.match(ident):
        errors.append(f"{where}: id {ident!r} must match {_ID.pattern} (it names files)")
        return False
    return True
