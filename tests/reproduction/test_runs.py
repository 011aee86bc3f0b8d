"""Choosing the checkpoint to resume from after an interrupted run."""

from __future__ import annotations

import pickle

import pytest
import torch

from decoupled_rcnn.reproduction.runs import last_good_checkpoint


def _save(path, iteration):
    torch.save({"state_dict": {"w": torch.full((2,), float(iteration))},
                "meta": {"iter": iteration}}, path)


def test_newest_complete_checkpoint_wins_and_truncated_ones_are_set_aside(tmp_path):
    _save(tmp_path / "iter_2.pth", 2)
    _save(tmp_path / "iter_10.pth", 10)  # numeric order, not lexical: 10 > 2
    (tmp_path / "iter_12.pth").write_bytes((tmp_path / "iter_10.pth").read_bytes()[:500])
    assert last_good_checkpoint(tmp_path) == tmp_path / "iter_10.pth"
    assert (tmp_path / "iter_12.pth.broken").exists()
    assert not (tmp_path / "iter_12.pth").exists()


def test_no_checkpoint_means_start_fresh(tmp_path):
    assert last_good_checkpoint(tmp_path) is None


def test_a_refused_checkpoint_is_an_error_not_a_skip(tmp_path):
    torch.save({"state_dict": {}, "meta": {"x": __import__("datetime").date(2020, 1, 1)}},
               tmp_path / "iter_4.pth")
    with pytest.raises(pickle.UnpicklingError):
        last_good_checkpoint(tmp_path)
    assert (tmp_path / "iter_4.pth").exists()
