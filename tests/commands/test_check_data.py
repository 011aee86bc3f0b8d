"""``decoupled-rcnn check-data``: counts and problems of a custom dataset, without training."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from custom_testlib import make_voc_dataset, voc_custom  # noqa: E402

from decoupled_rcnn.cli import main  # noqa: E402


def _config(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "custom.yaml"
    path.write_text(yaml.safe_dump({"tables": ["V"], "data": data}))
    return path


def test_check_data_prints_counts_and_every_problem(tmp_path: Path, capsys):
    root = make_voc_dataset(tmp_path / "widgets")
    config = _config(tmp_path, {"source": "custom", "custom": voc_custom(root)})
    assert main(["check-data", str(config)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("dataset widgets (voc): 3 classes: bolt, nut, washer\n")
    assert "val: 2 images" in out and "per class: bolt 2, nut 2, washer 1" in out
    assert "problems: 0 (none)" in out
    (root / "Annotations" / "img02.xml").write_text("<annotation>")
    (root / "JPEGImages" / "img06.png").unlink()
    assert main(["check-data", str(config)]) == 1
    out = capsys.readouterr().out
    assert "problems: 2\n" in out
    assert f"  {root / 'Annotations' / 'img02.xml'}: malformed XML" in out
    assert f"  {root / 'Annotations' / 'img06.xml'}: annotation points at a missing image" in out


def test_check_data_refuses_a_config_without_custom_data(tmp_path: Path, capsys):
    assert main(["check-data", str(_config(tmp_path, {"source": "synthetic"}))]) == 2
    err = capsys.readouterr().err
    assert "data.source is 'synthetic'" in err and "\n" not in err.strip()


def test_check_data_prints_scale_schedule_and_time_estimate(tmp_path: Path, capsys):
    root = make_voc_dataset(tmp_path / "widgets")
    custom = voc_custom(root, epochs=60, min_iters=10, max_iters=500)
    config = tmp_path / "custom.yaml"
    config.write_text(yaml.safe_dump({"tables": ["V"], "seeds": 2, "data": {
        "source": "custom", "custom": custom}}))
    assert main(["check-data", str(config)]) == 0
    out = capsys.readouterr().out
    # 8 train images of longest side 96: native kept; 60 epochs x 8 / batch 4 = 120
    assert "data: 8 train images (median longest side 96 px)" in out
    assert "scale: input 96 px: native resolution kept" in out
    assert "schedule: 120 iterations per run (60 epochs x 8 train images / batch 4 = 120)" in out
    # Table V: 2 experiments x 2 seeds; 0.18 x (0.7 + 0.3 x (96/160)^2) x 120 x 4 = 69.8
    assert "time estimate: 4 training runs x 120 iterations at 96 px ~ 70 CPU-s" in out
    assert main(["plan", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("widgets: tables V: 2 training experiments x 2 seeds\n")
    assert "~ 70 CPU-s" in out
