"""Breaking a copy of the manifest and reading the one-line error the parser gives.

(A plain module, not ``conftest``: see ``results_testlib``.)
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from decoupled_rcnn.reproduction.manifest import ManifestError, parse_manifest


def manifest_error(raw: dict, edit: Callable[[dict], object]) -> str:
    """The message of the :class:`ManifestError` that ``raw`` edited by ``edit`` raises
    (``raw`` itself is left as it was); the test fails if nothing is raised."""
    data = copy.deepcopy(raw)
    edit(data)
    with pytest.raises(ManifestError) as info:
        parse_manifest(data)
    return str(info.value)
