"""Figures: the paper's values and only the measured points, per table and per sweep."""

from __future__ import annotations

import pytest

from decoupled_rcnn.reproduction.figures import (
    ap_vs_iou_figure,
    iou_columns,
    make_figures,
    save,
    sweep_figure,
)


def test_which_tables_get_which_figures(manifest, cells, tmp_path):
    figures = make_figures(manifest, cells, tmp_path)
    expected = {f"table_{t}_ap_vs_iou" for t in ("I", "III", "IV", "V", "VI", "VII", "VIII")}
    expected |= {"table_III_sweep", "table_IV_sweep", "table_VI_sweep"}
    assert set(figures) == expected
    for path in figures.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
    assert iou_columns(manifest.tables["IX"]) == ["AP50"]  # AP75 is no 10-point threshold


def test_ap_vs_iou_draws_paper_and_only_measured_points(manifest, cells):
    fig = ap_vs_iou_figure(manifest, "III", cells)
    lines = fig.axes[0].lines
    paper, ours = lines[6], lines[7]  # row 4 (NMS_reg 0.85): 4th pair of lines
    assert list(paper.get_xdata()) == [50, 60, 70, 80, 90]
    assert list(paper.get_ydata()) == [81.9, 77.9, 68.8, 53.1, 21.9]
    assert list(ours.get_ydata()) == pytest.approx([80.6, 76.3, 67.8, 52.1, 20.8])  # 2 seeds
    assert len(lines[1].get_xdata()) == 0  # row 1 failed: nothing drawn, no zeros
    assert "not measured" in lines[1].get_label()


def test_sweeps_put_the_swept_value_on_x(manifest, cells):
    fig = sweep_figure(manifest, "VI", cells)
    assert [ax.get_xlabel() for ax in fig.axes] == ["λ"] * 3
    paper = fig.axes[0].lines[0]
    assert list(paper.get_xdata()) == [0.25, 0.5, 0.75, 1.0]
    assert list(paper.get_ydata()) == [58.0, 59.0, 58.6, 58.7]
    assert len(fig.axes[0].lines) == 1  # nothing measured for Table VI
    fig = sweep_figure(manifest, "IV", cells)
    ours = fig.axes[2].lines[1]  # AP90: stage 1 measured (shared with Table III)
    assert list(ours.get_xdata()) == [1.0] and list(ours.get_ydata()) == pytest.approx([20.8])
    with pytest.raises(ValueError, match="Table VII declares no sweep"):
        sweep_figure(manifest, "VII", cells)


def test_png_is_byte_stable(manifest, cells, tmp_path):
    a = save(sweep_figure(manifest, "III", cells), tmp_path / "a.png").read_bytes()
    b = save(sweep_figure(manifest, "III", cells), tmp_path / "b.png").read_bytes()
    assert a == b
