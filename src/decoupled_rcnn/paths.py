"""Where the repository's data lives (configs, manifest), relative to the installed package."""

from pathlib import Path

#: The repository root: ``configs/`` and the manifest are resolved against it.
REPO_ROOT = Path(__file__).resolve().parents[2]
