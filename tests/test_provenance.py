"""A full disk or an unwritable results folder: a clear error, the previous file intact."""

from __future__ import annotations

import errno
import json
import os

import pytest
import torch

from decoupled_rcnn import provenance
from decoupled_rcnn.provenance import ResultWriteError, write_json_atomic
from decoupled_rcnn.reproduction.run.runs import save_weights


class _FullDisk:
    """A file that takes ``room`` bytes, then fails like a full disk (ENOSPC) mid-write."""

    def __init__(self, f, room: int) -> None:
        self._f, self.room = f, room

    def write(self, data) -> int:
        if len(data) > self.room:
            self._f.write(data[: self.room])
            self._f.flush()
            self.room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self._f.write(data)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


@pytest.fixture()
def full_disk(monkeypatch):
    """The disk fills after 64 bytes of whatever file is written next."""
    real = os.fdopen
    monkeypatch.setattr(provenance.os, "fdopen",
                        lambda fd, *a, **k: _FullDisk(real(fd, *a, **k), 64))


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_a_full_disk_while_writing_metrics_keeps_the_previous_file(tmp_path, full_disk):
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"status": "ok", "metrics": {"AP": 0.5}}))
    before = metrics.read_bytes()
    with pytest.raises(ResultWriteError) as err:
        write_json_atomic({"status": "ok", "metrics": {"AP": 0.6, "pad": "x" * 500}}, metrics)
    message = str(err.value)
    assert message == (f"{metrics}: cannot write: No space left on device "
                       "(the previous file is unchanged)")
    assert err.value.errno == errno.ENOSPC
    assert metrics.read_bytes() == before and _leftovers(tmp_path) == []


def test_a_full_disk_while_saving_the_final_checkpoint_keeps_the_previous_one(tmp_path,
                                                                            monkeypatch):
    checkpoint = tmp_path / "model.pth"
    model = torch.nn.Linear(8, 4)
    save_weights(model, {"iter": 2}, checkpoint)
    before = checkpoint.read_bytes()
    real = os.fdopen
    monkeypatch.setattr(provenance.os, "fdopen",
                        lambda fd, *a, **k: _FullDisk(real(fd, *a, **k), 100))
    with pytest.raises(ResultWriteError, match=rf"^{checkpoint}: cannot write: No space left on "
                       r"device \(the previous file is unchanged\)$"):
        save_weights(torch.nn.Linear(8, 4), {"iter": 4}, checkpoint)
    assert checkpoint.read_bytes() == before and _leftovers(tmp_path) == []
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    assert state["meta"] == {"iter": 2}


def test_a_results_dir_that_cannot_be_created_is_named(tmp_path):
    blocker = tmp_path / "results"
    blocker.write_text("a file where the results folder should be")
    target = blocker / "experiments" / "x" / "metrics.json"
    with pytest.raises(ResultWriteError) as err:
        write_json_atomic({"status": "ok"}, target)
    message = str(err.value)
    assert message.startswith(f"{target}: cannot write: Not a directory"), message
    assert "\n" not in message and blocker.read_text().startswith("a file")


def test_an_unwritable_folder_is_named(tmp_path, monkeypatch):
    """Running as root, chmod does not stop writes: fail the temporary file's creation."""
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(tmp_path))

    monkeypatch.setattr(provenance.tempfile, "mkstemp", refuse)
    with pytest.raises(ResultWriteError, match=rf"^{tmp_path / 'train.json'}: cannot write: "
                       rf"Permission denied \({tmp_path}\)$"):
        write_json_atomic({"status": "ok"}, tmp_path / "train.json")


def test_an_atomic_write_gets_the_mode_a_plain_open_would(tmp_path):
    from decoupled_rcnn.provenance import write_json_atomic

    plain = tmp_path / "plain.json"
    plain.write_text("{}")
    written = write_json_atomic({"a": 1}, tmp_path / "atomic.json")
    assert written.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777


def test_remove_temporaries_takes_only_what_killed_writers_leave(tmp_path):
    from decoupled_rcnn.provenance import remove_temporaries

    results = tmp_path / "results"
    kept = [results / "tables" / "table_V.csv", results / ".cache" / "selection.json",
            results / "x" / "model.pth", tmp_path / "reports" / "index.html"]
    left = [results / "tables" / ".table_V.csv.k2j4d9s1.tmp",
            results / "x" / ".metrics.json.abc.tmp", tmp_path / "reports" / ".index.html.q.tmp"]
    for path in kept + left:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    folder = results / "data" / ".synthetic.u8.tmp"  # a generated dataset cut short
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "0001.png").write_text("x")
    deep = tmp_path / "reports" / "sub" / ".deep.tmp"
    deep.parent.mkdir()
    deep.write_text("x")

    removed = remove_temporaries(results) + remove_temporaries(tmp_path / "reports",
                                                               recursive=False)
    assert sorted(removed) == sorted([*left, folder])
    assert all(p.exists() for p in kept) and deep.exists() and not folder.exists()
