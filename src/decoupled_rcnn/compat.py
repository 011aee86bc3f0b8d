"""The one module that patches a third-party private function, each patch scoped.

Pinned versions: mmengine 0.10.7. A patch here is applied by a context manager for the calls
that need it and undone on exit; ``tests/test_compat.py`` fails when the pinned library's
behaviour that a patch relies on changes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["mmdet_bases_without_metafile_scan"]


@contextlib.contextmanager
def mmdet_bases_without_metafile_scan() -> Iterator[None]:
    """Resolve ``package::_base_/...`` config bases without reading the package's metafiles.

    mmengine 0.10.7 (``Config._get_cfg_path``) looks every ``package::path`` base up in all
    of the package's ``metafile.yml`` files (about 800 YAML documents for mmdet) through the
    private ``mmengine.config.config._get_external_cfg_path``, and falls back to
    ``<package>/.mim/configs/<path>`` on its ValueError, which it always gets for ``_base_``
    files ("base config does not have a metafile"). The scan costs ~0.4 s per base, most of
    composing a config. Inside this context the lookup raises that ValueError at once for
    ``_base_/`` paths, so mmengine takes its own fallback and finds the same file; other
    paths go to mmengine's lookup unchanged. mmengine has no public hook for this.
    """
    from mmengine.config import config as mm_config

    original = mm_config._get_external_cfg_path

    def lookup(package_path: str, cfg_file: str) -> str:
        if cfg_file.startswith("_base_/"):
            raise ValueError(f"{cfg_file} is a base config (no metafile entry)")
        return original(package_path, cfg_file)

    mm_config._get_external_cfg_path = lookup
    try:
        yield
    finally:
        mm_config._get_external_cfg_path = original
