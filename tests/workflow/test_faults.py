"""Real SIGKILLs of the whole Snakemake run at every stage, each followed by what users are told.

One scenario on Table V's two experiments (12 training / 6 validation images at 96 px, the
tiny model, 8 iterations with a checkpoint every 2, serial trainings): the workflow is started
with ``make demo``'s profile, and every attempt is killed with SIGKILL of its whole process
group at the next fault point: during data preparation, inside a training before its first
checkpoint, between two checkpoints and while a checkpoint is being written, during an
evaluation and while its metrics file is being written, while a table and while the report
are being written. After each kill the test does what the README says (``snakemake
--unlock``, then the same command again) until a run completes, and checks that

* the interrupted training resumed from its newest complete checkpoint every time: each run of
  it (one ``vis_data/scalars.json`` per run, every iteration logged) starts at that
  checkpoint's iteration + 1, and none but the first starts at 1 once a checkpoint existed;
* a finished job's outputs (data, backbone, weights, ``train.json``, metrics, curves) keep
  their mtime and hash through every later kill and rerun;
* a file cut short by a kill is never read: the truncated checkpoint is set aside as
  ``*.pth.broken`` and not resumed from, half-written metrics, tables and report never reach
  their declared names;
* the final tables hold exactly the numbers of the final metrics files.

Points inside a write are deterministic: ``faults_site/sitecustomize.py`` (on ``PYTHONPATH``,
armed by ``DRCNN_FAULT_KILL_WRITING``) writes half of the named file and kills the group;
the others are polled from here (a log line, a folder appearing) and killed with
``os.killpg``. The figures are printed at the end (``Fault injection: ...``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
PROFILE = ROOT / "workflow" / "profiles" / "default"  # what `make demo` runs with
SITE = Path(__file__).resolve().parent / "faults_site"
TABLE_V = ("voc_r101_dec_c3_reg070_l100", "voc_r101_dec_c3_reg085_l100")
ITERS, INTERVAL = 8, 2
ATTEMPT_TIMEOUT_S = 300

pytestmark = [pytest.mark.slow, pytest.mark.workflow]


def _exp(experiment: str) -> str:
    return f"results/experiments/{experiment}/seed0"


@dataclass
class Fault:
    """One kill: a name, and either a file to die writing or a condition polled from here."""

    name: str
    writing: str | None = None  # a path substring: the sitecustomize kills mid-write
    when: Callable[[Scenario], bool] | None = None  # polled: os.killpg once true


@dataclass
class Kill:
    """What one kill left: the attempt's exit status and the partial files it made."""

    fault: str
    seconds: float
    returncode: int
    partial: list[str] = field(default_factory=list)  # temporary files left behind
    finished: int = 0  # outputs of finished jobs so far (each checked unchanged at the end)


class Scenario:
    """One working directory, killed and restarted with the command users are told to run."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.config = workdir / "faults.yaml"
        self.config.write_text(yaml.safe_dump({
            "tables": ["V"], "results_dir": "results", "report": "reports/index.html",
            "data": {"source": "synthetic",
                     "synthetic": {"seed": 0, "num_train": 12, "num_val": 6, "size": 96}},
            "model": {"tiny": True, "pretrained": True, "pretrain": {"iters": 4}},
            "schedule": {"kind": "short",
                         "short": {"iters": ITERS, "lr": 0.01, "batch_size": 2,
                                   "warmup_iters": 1, "checkpoint_interval": INTERVAL}},
            # 2 threads per training on 2 cores: one training at a time, so one experiment
            # is finished while the other is killed.
            "resources": {"train": {"gpus": 0, "threads": 2, "mem_mb": 3000,
                                    "runtime_min": 60},
                          "evaluate": {"gpus": 0, "threads": 1, "mem_mb": 2000,
                                       "runtime_min": 30}},
        }))
        self.attempts = 0
        self.before: set[Path] = set()  # training runs that existed when this attempt began
        self.victim: str | None = None  # the experiment whose training is killed
        self.kills: list[Kill] = []
        self.seen: dict[str, tuple[int, str]] = {}  # finished output -> (mtime_ns, sha256)
        self.known_temporaries: set[str] = set()
        # (runs of the victim's training so far, newest complete checkpoint) at each kill
        self.resume_points: list[tuple[int, int]] = []

    def command(self, *extra: str) -> list[str]:
        return [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(self.workdir),
                "--configfile", str(self.config), "--profile", str(PROFILE), *extra]

    def env(self, writing: str | None = None) -> dict[str, str]:
        env = {**os.environ, "PYTHONUNBUFFERED": "1",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(SITE),
                                                           os.environ.get("PYTHONPATH")]))}
        env.pop("DRCNN_FAULT_KILL_WRITING", None)
        if writing:
            env["DRCNN_FAULT_KILL_WRITING"] = writing
        return env

    def start(self, writing: str | None = None) -> subprocess.Popen:
        self.attempts += 1
        self.before = {p for e in TABLE_V
                       for p in _run_dirs(self.workdir / _exp(e) / "train" / "work")}
        with open(self.workdir / f"attempt{self.attempts}.log", "w") as log:
            return subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                    env=self.env(writing), cwd=self.workdir,
                                    start_new_session=True)

    def new_log(self, experiment: str) -> str:
        """What this attempt's runs of ``experiment``'s training logged so far (mmengine's
        log of each run; Snakemake empties ``train.log`` when it starts the job again)."""
        work = self.workdir / _exp(experiment) / "train" / "work"
        return "".join(log.read_text(errors="replace") for run in _run_dirs(work)
                       if run not in self.before for log in run.glob("*.log"))

    def inject(self, fault: Fault) -> Kill:
        """Start an attempt and SIGKILL its process group at ``fault``; then ``--unlock``."""
        start = time.monotonic()
        proc = self.start(fault.writing)
        try:
            while proc.poll() is None:
                if fault.when is not None and fault.when(self):
                    os.killpg(proc.pid, signal.SIGKILL)
                    break
                if time.monotonic() - start > ATTEMPT_TIMEOUT_S:
                    raise AssertionError(f"{fault.name}: the fault point never came")
                time.sleep(0.02)
            returncode = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        seconds = time.monotonic() - start
        log = (self.workdir / f"attempt{self.attempts}.log").read_text()
        assert returncode == -signal.SIGKILL, (
            f"{fault.name}: the run was not killed (exit {returncode})\n{log[-3000:]}")
        _wait_group_gone(proc.pid)
        temporaries = {str(p.relative_to(self.workdir)) for p in self.temporaries()}
        kill = Kill(fault.name, round(seconds, 1), returncode,
                    partial=sorted(temporaries - self.known_temporaries))
        self.known_temporaries |= temporaries
        self.record_finished()
        kill.finished = len(self.seen)
        if self.victim:
            work = self.workdir / _exp(self.victim) / "train" / "work"
            self.resume_points.append((len(_runs(work)), _newest_complete(work)))
        self.kills.append(kill)
        unlock = subprocess.run(self.command("--unlock"), capture_output=True, text=True,
                                env=self.env(), cwd=self.workdir, timeout=120)
        assert unlock.returncode == 0, unlock.stderr[-2000:]
        return kill

    def finish(self) -> subprocess.CompletedProcess:
        """The last attempt: the same command, run to the end."""
        proc = self.start()
        proc.wait(timeout=ATTEMPT_TIMEOUT_S)
        log = (self.workdir / f"attempt{self.attempts}.log").read_text()
        return subprocess.CompletedProcess(proc.args, proc.returncode, log, "")

    def temporaries(self) -> list[Path]:
        return [p for p in self.workdir.rglob("*")
                if ".snakemake" not in p.parts and p.name.endswith(".tmp")]

    def outputs(self) -> list[Path]:
        """The declared outputs of every job (data, backbone, weights, metrics, tables ...)."""
        patterns = ("results/data/ready.json", "results/pretrain/*/backbone.*",
                    "results/experiments/*/seed0/train/model.pth",
                    "results/experiments/*/seed0/train/train.json",
                    "results/experiments/*/seed0/*/metrics.json",
                    "results/tables/*.csv", "reports/index.html", "reports/figures/**/*.png")
        return sorted(p for pattern in patterns for p in self.workdir.glob(pattern))

    def record_finished(self) -> None:
        """Remember every output of a job Snakemake considers finished, first time seen."""
        incomplete = _incomplete(self.workdir)
        for path in self.outputs():
            rel = str(path.relative_to(self.workdir))
            if rel not in incomplete and rel not in self.seen:
                self.seen[rel] = _stamp(path)

    def redone(self) -> list[str]:
        """Finished outputs whose mtime or content changed since they were first seen."""
        return [rel for rel, stamp in self.seen.items()
                if not (self.workdir / rel).is_file() or _stamp(self.workdir / rel) != stamp]


def _stamp(path: Path) -> tuple[int, str]:
    return path.stat().st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest()


def _incomplete(workdir: Path) -> set[str]:
    """The outputs Snakemake has marked incomplete (a job started and not finished)."""
    found = set()
    root = workdir / ".snakemake" / "incomplete"
    for dirpath, _, names in os.walk(root):
        for name in names:
            rel = Path(dirpath, name).relative_to(root)
            b64 = "".join(part.lstrip("@") for part in rel.parts)
            try:
                found.add(base64.urlsafe_b64decode(b64).decode())
            except ValueError:
                continue
    return found


def _group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group ``pgid``, from ``/proc``."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(stat.parent.name))
    return members


def _wait_group_gone(pgid: int, timeout: float = 20) -> None:
    """Every process of the killed group is gone (SIGKILL reaches them all at once)."""
    deadline = time.monotonic() + timeout
    while _group_members(pgid):
        if time.monotonic() > deadline:
            raise AssertionError(f"process group {pgid} lives on: {_group_members(pgid)}")
        time.sleep(0.1)


def _run_dirs(work: Path) -> list[Path]:
    """One timestamped folder per run of a training (mmengine's log, ``vis_data``)."""
    if not work.is_dir():
        return []
    return sorted(p for p in work.iterdir() if p.is_dir() and re.fullmatch(r"\d{8}_\d{6}",
                                                                           p.name))


def _runs(work: Path) -> list[list[int]]:
    """The iterations each run of a training logged, oldest run first."""
    runs = []
    for run in _run_dirs(work):
        scalars = run / "vis_data" / "scalars.json"
        lines = scalars.read_text().splitlines() if scalars.is_file() else []
        runs.append([json.loads(line)["iter"] for line in lines if line.strip()])
    return runs


def _newest_complete(work: Path) -> int:
    """The newest checkpoint iteration in ``work`` that is a whole file (0: none)."""
    best = 0
    for path in work.glob("iter_*.pth"):
        try:
            with zipfile.ZipFile(path):  # a cut-short file has no central directory
                best = max(best, int(path.stem.split("_")[1]))
        except (zipfile.BadZipFile, OSError):
            continue
    return best


def _victim_training(scenario: Scenario) -> bool:
    """An experiment has trained its first iteration and saved no checkpoint yet."""
    for experiment in TABLE_V:
        work = scenario.workdir / _exp(experiment) / "train" / "work"
        if (f"Iter(train) [1/{ITERS}]" in scenario.new_log(experiment)
                and not list(work.glob("iter_*.pth"))):
            scenario.victim = experiment
            return True
    return False


def _between_checkpoints(scenario: Scenario) -> bool:
    """The victim has saved iteration 4's checkpoint and trained iteration 5."""
    work = scenario.workdir / _exp(scenario.victim) / "train" / "work"
    return (f"Iter(train) [5/{ITERS}]" in scenario.new_log(scenario.victim)
            and (work / "last_checkpoint").is_file()
            and (work / "last_checkpoint").read_text().strip().endswith("iter_4.pth"))


def _evaluating(scenario: Scenario) -> bool:
    """An evaluation has built its runner (its work dir has a run folder) and not finished."""
    for experiment in TABLE_V:
        folder = scenario.workdir / _exp(experiment) / "default"
        if list(folder.glob("work/2*")) and not (folder / "metrics.json").exists():
            return True
    return False


def _check_tables(workdir: Path) -> int:
    """Every measured number in the tables is a final metrics file's value (x 100)."""
    runs = pd.read_csv(workdir / "results" / "tables" / "runs.csv")
    table = pd.read_csv(workdir / "results" / "tables" / "table_V.csv")
    checked = 0
    for rec in runs.itertuples():
        metrics = json.loads((workdir / _exp(rec.experiment) / "default" / "metrics.json")
                             .read_text())
        assert metrics["status"] == "ok"
        value = metrics["metrics"][rec.metric]
        assert math.isclose(rec.measured, round(value * 100, 10), abs_tol=1e-9), rec
        row = table[table["experiment"] == rec.experiment].iloc[0]
        assert math.isclose(row[f"{rec.column}_measured"], rec.measured, abs_tol=1e-9), rec
        assert row[f"{rec.column}_n"] == 1
        assert math.isclose(row[f"{rec.column}_ours_minus_paper"],
                            rec.measured - row[f"{rec.column}_paper"], abs_tol=1e-6)
        checked += 1
    return checked


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    scenario = Scenario(tmp_path_factory.mktemp("faults"))
    began = time.monotonic()
    faults = [
        Fault("prepare_data: writing the validation annotations",
              writing="/annotations/.val.json."),
        Fault("train: before the first checkpoint", when=_victim_training),
        Fault("train: between checkpoints 4 and 6", when=_between_checkpoints),
        Fault("train: while checkpoint 6 is written", writing="/work/iter_6.pth"),
        Fault("evaluate: during the test run", when=_evaluating),
        Fault("evaluate: while metrics.json is written", writing="metrics.json"),
        Fault("tables: while table_V.csv is written", writing="tables/.table_V.csv."),
        Fault("report: while index.html is written", writing="index.html"),
    ]
    for fault in faults:
        if fault.writing == "/work/iter_6.pth":  # the victim's, not the other training's
            fault.writing = f"{scenario.victim}/seed0/train/work/iter_6.pth"
        scenario.inject(fault)
        if fault.writing == "index.html":
            html = scenario.workdir / "reports" / "index.html"
            assert not html.exists() or html.read_text().rstrip().endswith("</html>"), (
                "a kill while the report was written left a half index.html")
        if fault.writing == "tables/.table_V.csv.":
            assert not (scenario.workdir / "results" / "tables" / "table_V.csv").exists()
    scenario.final = scenario.finish()
    scenario.wall_s = time.monotonic() - began
    return scenario


def test_the_rerun_after_the_last_kill_completes(scenario):
    assert scenario.final.returncode == 0, scenario.final.stdout[-4000:]
    assert len(scenario.kills) == 8
    html = (scenario.workdir / "reports" / "index.html").read_text()
    assert html.rstrip().endswith("</html>") and 'data-table="V"' in html
    dry = subprocess.run(scenario.command("-n"), capture_output=True, text=True,
                         env=scenario.env(), cwd=scenario.workdir, timeout=120)
    assert "Nothing to be done" in dry.stdout + dry.stderr, dry.stdout[-2000:]


def test_the_killed_training_resumed_from_its_newest_complete_checkpoint(scenario):
    victim = scenario.victim
    work = scenario.workdir / _exp(victim) / "train" / "work"
    runs = _runs(work)
    # Whatever the newest complete checkpoint was at a kill, the next run starts after it.
    expected_start = dict(scenario.resume_points)  # run index -> checkpoint (last kill wins)
    for index, run in enumerate(runs):
        assert run, f"run {index} of {victim} trained nothing: {runs}"
        assert run == list(range(run[0], run[-1] + 1)), runs
        if index:
            assert run[0] == expected_start[index] + 1, (index, runs, scenario.resume_points)
    assert runs[-1][-1] == ITERS
    assert all(run[0] > 1 for run in runs[2:]), f"a resumed run restarted at 1: {runs}"
    trained = sum(len(run) for run in runs)
    info = json.loads((work.parent / "train.json").read_text())
    assert info["iterations"] == ITERS
    assert info["resumed_from"].endswith(f"iter_{runs[-1][0] - 1}.pth"), info["resumed_from"]
    log = "".join(p.read_text() for run in _run_dirs(work) for p in run.glob("*.log"))
    resumed = [int(n) for n in re.findall(r"resumed epoch: \d+, iter: (\d+)", log)]
    assert resumed == [run[0] - 1 for run in runs if run[0] > 1], (resumed, runs)
    # Redone after the kills: only what the kills cut short (never a restart from 0).
    lost = sum(a[-1] - (b[0] - 1) for a, b in zip(runs, runs[1:]))
    assert trained == ITERS + lost, (trained, runs)
    other = next(e for e in TABLE_V if e != victim)
    assert _runs(scenario.workdir / _exp(other) / "train" / "work") == [
        list(range(1, ITERS + 1))]
    scenario.iterations = (trained, lost, runs)


def test_no_partial_file_is_trusted(scenario):
    work = scenario.workdir / _exp(scenario.victim) / "train" / "work"
    broken = sorted(p.name for p in work.glob("*.broken"))
    assert broken == ["iter_6.pth.broken"]
    info = json.loads((work.parent / "train.json").read_text())
    assert not info["resumed_from"].endswith("iter_6.pth")
    for path in scenario.outputs():  # every declared output is whole
        if path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".png":
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.read_bytes()[
                -8:] == b"IEND\xaeB`\x82", path
        elif path.suffix == ".pth":
            with zipfile.ZipFile(path) as zf:
                assert zf.testzip() is None, path
    assert _incomplete(scenario.workdir) == set()
    # What the kills left half-written was never read, and the next run removed it.
    assert any(kill.partial for kill in scenario.kills)
    assert scenario.temporaries() == []


def test_finished_jobs_are_not_redone(scenario):
    assert scenario.seen, "no job finished before a kill"
    assert scenario.redone() == []
    finished = set(scenario.seen)
    assert "results/data/ready.json" in finished
    assert any(p.endswith("train.json") for p in finished)  # a training finished and kept


def test_the_tables_hold_only_the_final_metrics(scenario):
    assert _check_tables(scenario.workdir) == 2 * 6  # 2 rows x AP, AP50 ... AP90


def test_zz_fault_figures(scenario, capsys):
    """Print the measured figures (docs/reliability.md quotes them)."""
    trained, lost, runs = getattr(scenario, "iterations", (None, None, None))
    set_aside = sorted(str(p.relative_to(scenario.workdir))
                       for p in scenario.workdir.rglob("*.broken"))
    left = sorted(str(p.relative_to(scenario.workdir)) for p in scenario.temporaries())
    lines = [f"Fault injection: {len(scenario.kills)} SIGKILLs of the whole Snakemake process "
             f"group, {scenario.attempts} runs of the same command, {scenario.wall_s:.0f} s"]
    for kill in scenario.kills:
        tail = "; left: " + ", ".join(Path(p).name for p in kill.partial) if kill.partial else ""
        lines.append(f"  killed {kill.fault}: {kill.seconds:.1f} s into the run, "
                     f"{kill.finished} finished outputs so far{tail}")
    trainings = len(list(scenario.workdir.glob("results/experiments/*/seed0/train/train.json")))
    evaluations = len(list(scenario.workdir.glob("results/experiments/*/seed0/*/metrics.json")))
    lines.append(f"  completed: {trainings} trainings, {evaluations} evaluations, tables and "
                 f"report (the last run's exit status {scenario.final.returncode})")
    lines.append(f"  finished outputs tracked across kills: {len(scenario.seen)}, "
                 f"redone: {len(scenario.redone())}")
    lines.append(f"  killed training ({scenario.victim}): runs {runs}, {trained} iterations "
                 f"trained for {ITERS} ({lost} cut short by kills)")
    made = sum(len(kill.partial) for kill in scenario.kills)
    lines.append(f"  set aside: {', '.join(set_aside) or 'none'}; half-written temporaries: "
                 f"{made} made by kills, never read, {len(left)} left after the last run")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    assert scenario.kills
