"""Figures: the paper's values and only the measured points, per table and per sweep."""

from __future__ import annotations

import pytest

from decoupled_rcnn.reproduction.figures.measured import (
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


# --- Fig. 4 / Fig. 5: matching detections to objects, choosing images -----------------------

def _obj(i, image, box, cat=1, crowd=0):
    return {"id": i, "image_id": image, "category_id": cat, "bbox": box, "iscrowd": crowd}


def _det(image, box, score, cat=1):
    return {"image_id": image, "category_id": cat, "bbox": box, "score": score}


def test_iou_of_xywh_boxes():
    from decoupled_rcnn.reproduction.figures.qualitative import iou

    assert iou([0, 0, 10, 10], [0, 0, 10, 10]) == 1.0
    assert iou([0, 0, 10, 10], [5, 0, 10, 10]) == pytest.approx(50 / 150)
    assert iou([0, 0, 10, 10], [20, 20, 5, 5]) == 0.0


def test_matching_is_coco_style():
    from decoupled_rcnn.reproduction.figures.qualitative import match_image

    objects = [_obj(1, 1, [0, 0, 10, 10]), _obj(2, 1, [30, 30, 10, 10]),
               _obj(3, 1, [60, 60, 10, 10], crowd=1)]
    dets = [_det(1, [1, 0, 10, 10], 0.5),        # IoU 0.82 with object 0, but lower score
            _det(1, [0, 0, 10, 10], 0.9),        # takes object 0 first (score order)
            _det(1, [30, 30, 10, 10], 0.8, cat=2),  # right place, wrong class: FP
            _det(1, [60, 60, 10, 10], 0.7),      # only a crowd box there: FP
            _det(1, [0, 0, 10, 10], 0.1)]        # below the threshold: not considered
    match = match_image(1, objects, dets, score_thr=0.2)
    assert [d["score"] for d in match.shown] == [0.9, 0.8, 0.7, 0.5]
    assert match.matched == {0: (0, 1.0)}
    assert match.false_positives == [1, 2, 3]
    assert match.mean_iou == 1.0


def _matches(coco_objects, dets):
    from decoupled_rcnn.reproduction.figures.qualitative import Coco, match_all

    images = {i: {"id": i, "width": 100, "height": 100, "file_name": f"{i}.png"}
              for i in coco_objects}
    return match_all(Coco(images, {1: "square"}, coco_objects), dets)


def test_fig4_takes_the_largest_iou_differences_then_random_images():
    from decoupled_rcnn.reproduction.figures.qualitative import choose_fig4_images

    objects = {i: [_obj(i, i, [0, 0, 20, 20])] for i in range(1, 9)}
    shift = {1: 1, 2: 6, 3: 3, 4: 5, 5: 0, 6: 2, 7: 4, 8: 2}  # baseline's shift per image
    fpn = _matches(objects, {i: [_det(i, [s, 0, 20, 20], 0.9)] for i, s in shift.items()})
    dec = _matches(objects, {i: [_det(i, [0, 0, 20, 20], 0.9)] for i in objects})
    top, rand, diffs = choose_fig4_images(fpn, dec, n_top=3, n_random=2, seed=0)
    assert top == [2, 4, 7]  # shifted 6, 5 and 4 px: the largest IoU gains of the decoupled
    assert diffs[2] > diffs[4] > diffs[7] > 0 and diffs[5] == 0
    assert len(rand) == 2 and not set(rand) & set(top)
    assert choose_fig4_images(fpn, dec, 3, 2, seed=0)[1] == rand  # fixed seed: same images


def test_fig5_takes_the_worst_matched_images_first():
    from decoupled_rcnn.reproduction.figures.qualitative import choose_fig5_images

    objects = {i: [_obj(i, i, [0, 0, 20, 20])] for i in range(1, 6)}
    dets = {i: [_det(i, [i, 0, 20, 20], 0.9)] for i in range(1, 5)}  # image 5: nothing
    worst, rand = choose_fig5_images(_matches(objects, dets), n_worst=2, n_random=2)
    assert worst == [4, 3]
    assert len(rand) == 2 and not set(rand) & {3, 4}


def test_fig4_pair_comes_from_the_selected_runs():
    from decoupled_rcnn.reproduction.figures.qualitative import fig4_pair
    from decoupled_rcnn.reproduction.manifest import Evaluation

    evs = [Evaluation("voc_r50_faster", "default"), Evaluation("voc_r50_dec_c3", "default"),
           Evaluation("coco1x_r101_faster", "default")]
    assert fig4_pair(evs, lambda e: e) == (evs[0], evs[1])
    # An alias counts as its run; a missing partner means no pair at all.
    aliases = {"voc_r101_faster": "coco1x_r101_faster",
               "voc_r101_dec_c3_reg085_l050": "voc_r50_dec_c3"}
    assert fig4_pair(evs, lambda e: aliases.get(e, e)) == (evs[2], evs[1])
    assert fig4_pair(evs[:1], lambda e: e) is None


def test_fig4_and_fig5_files(tiny_coco, tmp_path):
    import json

    from decoupled_rcnn.reproduction.figures.detections import make_fig4, make_fig5

    ann = tiny_coco.root / tiny_coco.ann_file
    objects = tiny_coco.annotations["annotations"]
    paths = []
    for name, shift, score in (("fpn", 4, 0.9), ("dec", 1, 0.3)):
        dets = [_det(o["image_id"], [o["bbox"][0] + shift, *o["bbox"][1:]], score,
                     o["category_id"]) for o in objects]
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps(dets))
    images = tiny_coco.root / tiny_coco.img_prefix
    info = make_fig4(ann, images, paths, ["FPN", "Decoupled"], tmp_path / "f4.png",
                     tmp_path / "f4.json", experiments=["a", "b"], n_top=4, n_random=2)
    assert (tmp_path / "f4.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((tmp_path / "f4.json").read_text()) == info
    assert [i["why"].startswith("Δ mean IoU +") for i in info["images"]] == [True] * 4 + [
        False] * 2
    fpn, dec = info["mean_matched_iou"].values()
    assert dec > fpn and "FPN (a) (left)" in info["caption"]
    kept = make_fig5(ann, images, paths[0], "a", tmp_path / "f5.png", tmp_path / "f5.json")
    assert kept["score_thr_used"] == 0.6 and "at score ≥ 0.6" in kept["caption"]
    assert [i["why"] for i in kept["images"]][:3] == ["worst"] * 3
    low = make_fig5(ann, images, paths[1], "b", tmp_path / "f5b.png", tmp_path / "f5b.json")
    assert low["score_thr_used"] == 0.0 and "none reaches 0.6; highest 0.30" in low["caption"]


# --- training curves -------------------------------------------------------------------------

def _scalars(path, records):
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def test_scalars_of_a_resumed_run_join_in_iteration_order(tmp_path):
    from decoupled_rcnn.reproduction.figures.curves import read_scalars

    _scalars(tmp_path / "20260101_000000" / "vis_data" / "scalars.json",
             [{"loss": 3.0, "iter": 10, "step": 10}, {"loss": 2.0, "iter": 20, "step": 20}])
    later = tmp_path / "20260101_010000" / "vis_data" / "scalars.json"
    _scalars(later, [{"loss": 1.9, "iter": 20, "step": 20}, {"loss": 1.0, "iter": 30}])
    with later.open("a") as f:
        f.write('{"loss": 0.5, "it')  # cut by a kill
    assert {k: v["loss"] for k, v in read_scalars(tmp_path).items()} == {10: 3.0, 20: 1.9,
                                                                          30: 1.0}
    assert read_scalars(tmp_path / "nothing") == {}


def test_curve_keys_and_figure(tmp_path):
    import json

    from decoupled_rcnn.reproduction.figures.curves import count_keys, loss_keys, make_curves

    keys = ["loss", "s1.loss_bbox", "loss_rpn_cls", "s0.loss_cls", "s0.acc", "s0.num_pos_reg",
            "s0.num_reg", "lr", "loss_cls"]
    assert loss_keys(keys) == ["loss_rpn_cls", "loss_cls", "s0.loss_cls", "s1.loss_bbox",
                               "loss"]
    assert count_keys(keys) == ["s0.num_pos_reg", "s0.num_reg"]
    work = tmp_path / "work"
    _scalars(work / "20260101_000000" / "vis_data" / "scalars.json",
             [{"loss": 2.0 / i, "s0.loss_cls": 1.0 / i, "s0.num_reg": 128.0, "iter": 10 * i}
              for i in range(1, 5)])
    info = tmp_path / "train.json"
    info.write_text(json.dumps({"work_dir": str(work)}))
    out = make_curves("exp", {0: info}, tmp_path / "curves" / "exp.png")
    assert out.read_bytes()[:4] == b"\x89PNG" and out.stat().st_size > 5000
