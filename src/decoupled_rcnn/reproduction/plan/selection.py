"""What one workflow config runs: experiments (identical ones once), seeds, evaluations.

The manifest says which experiment each table row uses; the workflow config chooses the
tables, the seeds, the data and the model setting. Under the embedded default two manifest
experiments can compose to the very same run (a VOC row and a COCO row of one model, once
both datasets are the generated stand-in): :class:`Selection` trains such a run once, under
its first experiment id, and every other row that uses it is an *alias* the tables name.

Composing every experiment's config takes seconds, so the identities are cached under the
results folder, keyed by the bytes of the manifest and of every config file and by the parts
of the workflow config that change what is trained.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from decoupled_rcnn.paths import REPO_ROOT
from decoupled_rcnn.reproduction.manifest import Evaluation, Manifest, load_manifest
from decoupled_rcnn.reproduction.plan.layout import Layout

__all__ = ["Selection", "benchmark_experiments", "run_digests", "seeds_of", "select"]

_CACHE_VERSION = 2
_IDENTITY_KEYS = ("manifest", "seed", "seeds", "data", "model", "schedule")


def seeds_of(wcfg: Mapping[str, Any]) -> list[int]:
    """The training seeds: ``seed``, ``seed + 1``, ... (``seeds`` of them)."""
    return [int(wcfg["seed"]) + k for k in range(int(wcfg.get("seeds", 1)))]


@dataclass(frozen=True)
class Selection:
    """The runs of one workflow config.

    Attributes:
        manifest: the loaded manifest.
        tables: the selected tables, in the config's order.
        seeds: the training seeds of every experiment.
        experiments: experiments that train (one per distinct run), first use first.
        aliases: experiment id -> the experiment whose run it shares (only for aliases).
        evaluations: evaluations of the training experiments the tables need, each once.
        variants: tiny backbone variants to pre-train (empty unless the tiny setting
            starts from pre-trained backbones).
        pretrain_config: variant -> a config of that variant's backbone.
        variant_of: training experiment -> the tiny backbone variant it starts from.
    """

    manifest: Manifest
    tables: tuple[str, ...]
    seeds: tuple[int, ...]
    experiments: tuple[str, ...]
    aliases: Mapping[str, str] = field(default_factory=dict)
    evaluations: tuple[Evaluation, ...] = ()
    variants: tuple[str, ...] = ()
    pretrain_config: Mapping[str, str] = field(default_factory=dict)
    variant_of: Mapping[str, str] = field(default_factory=dict)

    def run_of(self, experiment: str) -> str:
        """The experiment whose run ``experiment`` uses (itself unless an alias)."""
        return self.aliases.get(experiment, experiment)

    def metrics_files(self, layout: Layout) -> list[str]:
        """Every metrics file the selected tables need (all seeds)."""
        return [str(layout.path("metrics", experiment=ev.experiment, seed=seed, test=ev.test))
                for ev in self.evaluations for seed in self.seeds]


def _fingerprint(wcfg: Mapping[str, Any]) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps({k: wcfg.get(k) for k in _IDENTITY_KEYS}, sort_keys=True,
                             default=str).encode())
    digest.update(str(_CACHE_VERSION).encode())
    if wcfg["data"]["source"] == "custom":  # the classes come from the data, not the config
        from decoupled_rcnn.datasets.custom import CustomSource, custom_classes

        classes = custom_classes(CustomSource.from_config(wcfg["data"].get("custom") or {}))
        digest.update(json.dumps(classes).encode())
    files = [REPO_ROOT / wcfg["manifest"], *sorted((REPO_ROOT / "configs").rglob("*.py")),
             *sorted((REPO_ROOT / "src" / "decoupled_rcnn" / "embedded").glob("*.py"))]
    for path in files:
        digest.update(path.as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _identities(wcfg: Mapping[str, Any], manifest: Manifest,
                experiments: list[str]) -> dict[str, dict[str, str]]:
    """Experiment id -> {"identity": run digest, "variant": tiny backbone variant or "",
    "tests": {test setting: digest of the test-time config under it}}."""
    from decoupled_rcnn.reproduction.plan.compose import (
        evaluation_identity,
        experiment_config,
        run_identity,
    )

    layout = Layout.from_config(wcfg)
    out = {}
    for exp in experiments:
        cfg = experiment_config(wcfg, exp, manifest=manifest)
        init = cfg.model.backbone.get("init_cfg") or {}
        variant = ""
        if wcfg["model"]["tiny"] and init.get("checkpoint"):
            variant = layout.parse("pretrain", init["checkpoint"])["variant"]
        tests = {t.id: evaluation_identity(cfg, t.overrides) for t in manifest.tests.values()}
        out[exp] = {"identity": run_identity(cfg), "variant": variant, "tests": tests}
    return out


def _cached_identities(wcfg: Mapping[str, Any], manifest: Manifest,
                       experiments: list[str]) -> dict[str, dict[str, str]]:
    """Identities of ``experiments``: from the cache when its key matches, else composed
    (only the missing ones) and added to it."""
    cache = Layout.from_config(wcfg).path("selection_cache")
    key = _fingerprint(wcfg)
    known: dict[str, dict[str, str]] = {}
    try:
        stored = json.loads(cache.read_text(encoding="utf-8"))
        if stored.get("key") == key:
            known = dict(stored["experiments"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    missing = [e for e in experiments if e not in known]
    if missing:
        known.update(_identities(wcfg, manifest, missing))
        try:
            from decoupled_rcnn.provenance import write_atomic  # torch: only when composing

            text = json.dumps({"key": key, "experiments": known}, indent=1).encode()
            write_atomic(cache, lambda f: f.write(text))
        except OSError:
            pass  # a read-only results folder only costs the next DAG build its seconds
    return {e: known[e] for e in experiments}


def run_digests(wcfg: Mapping[str, Any], selection: Selection) -> dict[str, dict[str, Any]]:
    """What defines each training experiment's runs, as digests (the rules' ``params:``).

    Composes every training experiment's config once (the same cached identities
    :func:`select` dedupes by), so Snakemake's params trigger reruns exactly the experiments
    whose composed config changed: a manifest override, a ``_base_`` file, a schedule key.

    Returns:
        Experiment id -> ``{"run": digest of what is trained, "tests": {test setting:
        digest of the test-time config under it}}``.
    """
    info = _cached_identities(wcfg, selection.manifest, list(selection.experiments))
    return {e: {"run": info[e]["identity"], "tests": dict(info[e]["tests"])}
            for e in selection.experiments}


def _tests_of(manifest: Manifest, tables: tuple[str, ...], experiment: str) -> list[str]:
    return [ev.test for ev in manifest.evaluations_for(list(tables))
            if ev.experiment == experiment]


def select(wcfg: Mapping[str, Any], manifest: Manifest | None = None, *,
           dedupe: bool = True) -> Selection:
    """The runs of ``wcfg`` (a validated workflow config).

    Args:
        wcfg: the workflow config.
        manifest: the loaded manifest (default: ``wcfg["manifest"]``).
        dedupe: train experiments that compose to the same run once (needs their configs;
            only on the stand-in or custom data or with the tiny setting, where that can
            happen).
    """
    manifest = manifest or load_manifest(REPO_ROOT / wcfg["manifest"])
    tables = tuple(wcfg["tables"])
    needed = [e.id for e in manifest.experiments_for(list(tables))]
    # On the paper's data with full models every manifest experiment is its own run (the
    # manifest refuses two ids with equal parameters), so nothing needs composing. On the
    # stand-in or your own data a VOC row and a COCO row of one model can be the same run.
    dedupe = dedupe and (wcfg["data"]["source"] in ("synthetic", "custom")
                         or wcfg["model"]["tiny"])
    info = _cached_identities(wcfg, manifest, needed) if dedupe else {}
    first: dict[str, str] = {}
    aliases: dict[str, str] = {}
    for exp in needed:
        identity = info[exp]["identity"] if info else exp
        run = first.get(identity)
        # An alias is evaluated with its run's config: only where every test setting it is
        # evaluated under gives the same test-time config as well.
        if run is not None and all(info[exp]["tests"][t] == info[run]["tests"][t]
                                   for t in _tests_of(manifest, tables, exp)):
            aliases[exp] = run
        elif run is None:
            first[identity] = exp
    runs = [e for e in needed if e not in aliases]
    evaluations = list(dict.fromkeys(
        Evaluation(aliases.get(ev.experiment, ev.experiment), ev.test)
        for ev in manifest.evaluations_for(list(tables))))
    pretrain: dict[str, str] = {}
    variant_of: dict[str, str] = {}
    for exp in runs:
        variant = info.get(exp, {}).get("variant", "") if info else ""
        if variant:
            pretrain.setdefault(variant, manifest.experiments[exp].config)
            variant_of[exp] = variant
    return Selection(manifest=manifest, tables=tables, seeds=tuple(seeds_of(wcfg)),
                     experiments=tuple(runs), aliases=aliases,
                     evaluations=tuple(evaluations), variants=tuple(pretrain),
                     pretrain_config=pretrain, variant_of=variant_of)


def benchmark_experiments(manifest: Manifest, tables: Sequence[str],
                          runs: Sequence[str] | None = None) -> list[str]:
    """Experiments of ``tables`` whose rows report speed, FLOPs or parameters.

    ``runs`` (the experiments that train) keeps only those: an alias's network is its run's.
    """
    found: dict[str, None] = {}
    for tid in tables:
        table = manifest.tables[tid]
        if any(manifest.metrics[c.metric].kind == "benchmark" for c in table.columns):
            found.update(dict.fromkeys(r.experiment for r in table.rows if r.experiment))
    return [e for e in found if runs is None or e in runs]
