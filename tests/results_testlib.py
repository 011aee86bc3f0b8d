"""The fixed result files of tests/data/results, read as the workflow's rules read them.

(A plain module, not ``conftest``: several folders have a conftest, so ``from conftest
import ...`` could pick up the wrong one.)
"""

from __future__ import annotations

from pathlib import Path

#: Small fixed result files in the results layout (some measured, others missing or failed).
FIXTURE_RESULTS = Path(__file__).parent / "data" / "results"


def fixture_layout():
    """The results layout of the fixture files (a report beside them, never written)."""
    from decoupled_rcnn.reproduction.plan.layout import Layout

    return Layout(FIXTURE_RESULTS, FIXTURE_RESULTS / "report" / "index.html")


def fixture_files() -> tuple[list[Path], list[Path]]:
    """The fixture's metrics and benchmark files, as a rule would declare them."""
    root = FIXTURE_RESULTS / "experiments"
    return sorted(root.glob("*/seed*/*/metrics.json")), sorted(root.glob("*/benchmark.json"))


def fixture_results():
    """:class:`~decoupled_rcnn.reproduction.results.read.Results` of the fixture files."""
    from decoupled_rcnn.reproduction.results.read import read_results

    metrics, benches = fixture_files()
    return read_results(fixture_layout(), metrics, benches)
