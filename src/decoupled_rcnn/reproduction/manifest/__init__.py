"""The paper as data: every table's rows, the paper's values, experiments and claims.

- :mod:`.model`: the frozen dataclasses (:class:`Manifest`, :class:`Table`, ...);
- :mod:`.claim_types`: :class:`Claim` and the decision procedure's constants;
- :mod:`.parse`: reading and validating ``configs/paper/manifest.yaml`` (:func:`load_manifest`);
- :mod:`.claims`: the ``claims:`` section; :mod:`.checks`: the structural checks both share.

The names below are the package's public API; they are defined in the modules above.
"""

from decoupled_rcnn.reproduction.manifest.claim_types import (
    COST_EXPECTS,
    COST_LARGE,
    COST_LOWER,
    COST_SMALL,
    EQUIVALENT,
    EXPECTS,
    POSITIVE,
    Claim,
    ClaimTerm,
    Decision,
    slope,
)
from decoupled_rcnn.reproduction.manifest.model import (
    DEFAULT_MANIFEST,
    DEFAULT_TEST,
    NOT_AVAILABLE,
    Column,
    Evaluation,
    Experiment,
    Manifest,
    ManifestError,
    Metric,
    Row,
    Schedule,
    Table,
    TestSetting,
    cfg_options,
)
from decoupled_rcnn.reproduction.manifest.parse import load_manifest, parse_manifest

__all__ = [
    "COST_EXPECTS", "COST_LARGE", "COST_LOWER", "COST_SMALL", "DEFAULT_MANIFEST",
    "DEFAULT_TEST", "EQUIVALENT", "EXPECTS", "NOT_AVAILABLE", "POSITIVE",
    "Claim", "ClaimTerm", "Column", "Decision", "Evaluation", "Experiment", "Manifest",
    "ManifestError", "Metric", "Row", "Schedule", "Table", "TestSetting", "cfg_options",
    "load_manifest", "parse_manifest", "slope",
]
