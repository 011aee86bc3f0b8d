"""The paper's qualitative figures, reproduced on the validation split (matplotlib, Agg).

* Fig. 4: the FPN baseline's and Decoupled R-CNN's (with cascaded regression) matched boxes
  side by side on the same images, ground truth drawn, each box labelled with its IoU;
* Fig. 5: the final model's detections at score >= 0.6, the worst images by matched IoU
  first.

Each ``make_*`` function writes the PNG and a small JSON beside it (what was chosen and
why, and the figure's one-sentence caption), which the report reads.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from decoupled_rcnn.provenance import write_json_atomic
from decoupled_rcnn.reproduction.figures.measured import save
from decoupled_rcnn.reproduction.figures.qualitative import (
    Coco,
    ImageMatch,
    choose_fig4_images,
    choose_fig5_images,
    load_coco,
    load_detections,
    match_all,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["FIG5_SCORE", "fig4_figure", "fig5_figure", "make_fig4", "make_fig5", "split_files"]

FIG5_SCORE = 0.6  # the paper's Fig. 5 threshold
GT_COLOR, FP_COLOR = "#2ca02c", "#d62728"
DETECTOR_COLORS = ("#ff7f0e", "#1f77b4")  # FPN, Decoupled R-CNN
PANEL_IN = 3.0
MAX_FP_DRAWN = 5


def split_files(cfg: Any) -> tuple[Path, Path]:
    """The test split's annotation file and image folder of a composed config."""
    dataset = cfg.test_dataloader.dataset
    root = Path(dataset.get("data_root") or ".")
    ann = Path(dataset.ann_file)
    prefix = (dataset.get("data_prefix") or {}).get("img", "")
    return (ann if ann.is_absolute() else root / ann,
            Path(prefix) if Path(prefix).is_absolute() else root / prefix)


def _image(coco: Coco, image_root: Path, image_id: int):
    from matplotlib.image import imread

    info = coco.images[image_id]
    path = image_root / info["file_name"]
    if path.is_file():
        return imread(path)
    import numpy as np

    return np.full((info["height"], info["width"], 3), 0.85)  # a grey panel says "no image"


def _box(ax: Axes, bbox: Sequence[float], color: str, *, ls: str = "-", lw: float = 1.6,
         text: str = "", above: bool = True) -> None:
    from matplotlib.patches import Rectangle

    x, y, w, h = bbox
    ax.add_patch(Rectangle((x, y), w, h, fill=False, ec=color, ls=ls, lw=lw))
    if text:
        ax.text(x, y if above else y + h, text, color="white", fontsize=6,
                va="bottom" if above else "top", ha="left",
                bbox={"fc": color, "ec": "none", "pad": 0.8, "alpha": 0.85})


def _panel(ax: Axes, coco: Coco, image_root: Path, image_id: int) -> None:
    ax.imshow(_image(coco, image_root, image_id))
    ax.set_xticks([])
    ax.set_yticks([])


def _draw_match(ax: Axes, coco: Coco, match: ImageMatch, color: str, *,
                unmatched: bool = False) -> None:
    """Ground truth (green; dashed: missed), matched detections with IoU, optionally FPs."""
    objects = coco.objects.get(match.image_id, [])
    for j, obj in enumerate(objects):
        _box(ax, obj["bbox"], GT_COLOR, ls="-" if j in match.matched else "--", lw=1.4)
    for _, (k, value) in sorted(match.matched.items()):
        det = match.shown[k]
        name = coco.categories.get(det["category_id"], str(det["category_id"]))
        label = f"{name} {det['score']:.2f} IoU {value:.2f}" if unmatched else f"IoU {value:.2f}"
        _box(ax, det["bbox"], color, text=label)
    if unmatched:
        for k in match.false_positives[:MAX_FP_DRAWN]:
            det = match.shown[k]
            name = coco.categories.get(det["category_id"], str(det["category_id"]))
            _box(ax, det["bbox"], FP_COLOR, ls=":", lw=1.2, text=f"{name} {det['score']:.2f}",
                 above=False)


def _summary(match: ImageMatch, coco: Coco) -> str:
    n = len([o for o in coco.objects.get(match.image_id, []) if not o.get("iscrowd")])
    mean = match.mean_iou
    return (f"{len(match.matched)}/{n} matched" +
            (f", mean IoU {mean:.2f}" if mean is not None else ""))


def _grid(rows: int, cols: int, coco: Coco, ids: Sequence[int]) -> tuple[Figure, Any]:
    from matplotlib.figure import Figure

    aspect = max((coco.images[i]["height"] / coco.images[i]["width"] for i in ids), default=1)
    fig = Figure(figsize=(PANEL_IN * cols, PANEL_IN * aspect * rows + 0.6), layout="constrained")
    return fig, fig.subplots(rows, cols, squeeze=False)


def fig4_figure(coco: Coco, image_root: Path, matches: Sequence[Mapping[int, ImageMatch]],
                names: Sequence[str], images: Sequence[tuple[int, str]],
                pairs_per_row: int = 2) -> Figure:
    """Two detectors' matched boxes side by side, ``pairs_per_row`` images per row.

    Args:
        coco: the split's ground truth.
        image_root: the split's image folder.
        matches: per detector, :func:`~decoupled_rcnn.reproduction.figures.qualitative.match_all`.
        names: the detectors' names (panel titles).
        images: (image id, why it was chosen), in reading order.
        pairs_per_row: images per row (each takes one panel per detector).
    """
    cols = len(names) * pairs_per_row
    fig, axes = _grid(max(math.ceil(len(images) / pairs_per_row), 1), cols, coco,
                      [i for i, _ in images])
    for ax in axes.flat:
        ax.axis("off")
    for k, (image_id, why) in enumerate(images):
        for c, name in enumerate(names):
            ax = axes[k // pairs_per_row][(k % pairs_per_row) * len(names) + c]
            ax.axis("on")
            _panel(ax, coco, image_root, image_id)
            match = matches[c][image_id]
            _draw_match(ax, coco, match, DETECTOR_COLORS[c % 2])
            ax.set_title(f"{name}\n{_summary(match, coco)}", fontsize=7,
                         color=DETECTOR_COLORS[c % 2])
            if c == 0:
                ax.set_ylabel(f"{k + 1}. image {image_id}\n{why}", fontsize=7)
    if not images:
        axes[0][0].text(0.5, 0.5, "no validation images", ha="center")
    fig.suptitle("Fig. 4 (reproduced): green = ground truth (dashed: missed), "
                 "detections labelled with their IoU", fontsize=8)
    return fig


def fig5_figure(coco: Coco, image_root: Path, matches: Mapping[int, ImageMatch],
                images: Sequence[tuple[int, str]], title: str, cols: int = 3) -> Figure:
    """One model's detections (matched with IoU; false positives dotted red) on a grid."""
    rows = max(math.ceil(len(images) / cols), 1)
    fig, axes = _grid(rows, cols, coco, [i for i, _ in images])
    for k, ax in enumerate(axes.flat):
        if k >= len(images):
            ax.axis("off")
            continue
        image_id, why = images[k]
        _panel(ax, coco, image_root, image_id)
        match = matches[image_id]
        _draw_match(ax, coco, match, DETECTOR_COLORS[1], unmatched=True)
        ax.set_title(f"image {image_id} ({why}): {_summary(match, coco)}", fontsize=7)
    fig.suptitle(title, fontsize=8)
    return fig


def make_fig4(ann_file: str | Path, image_root: str | Path,
              detections: Sequence[str | Path], names: Sequence[str], out: str | Path,
              info: str | Path, *, experiments: Sequence[str] = (), n_top: int = 4,
              n_random: int = 2, seed: int = 0) -> dict[str, Any]:
    """Fig. 4 for two detectors' detection files on one split; writes ``out`` and ``info``.

    ``names`` title the columns; ``experiments`` (their ids) go into the caption.

    Matching uses every detection in the files (COCO-style, in score order, IoU >= 0.5), so
    each object shows the box the COCO evaluation credits to it.
    """
    coco = load_coco(ann_file)
    matches = [match_all(coco, load_detections(p)) for p in detections]
    top, rand, diffs = choose_fig4_images(matches[0], matches[1], n_top, n_random, seed)
    rows = [(i, f"Δ mean IoU {diffs[i]:+.3f}") for i in top]
    rows += [(i, "random") for i in rand]
    save(fig4_figure(coco, Path(image_root), matches, names, rows), out)
    means = [_mean_matched(m) for m in matches]
    who = [f"{n} ({e})" for n, e in zip(names, experiments)] if experiments else list(names)
    caption = (f"Ground truth (green) and the matched boxes of {who[0]} (left) and "
               f"{who[1]} (right) on {len(rows)} validation images, each box labelled "
               f"with its IoU (mean matched IoU over the split: {_fmt(means[0])} vs "
               f"{_fmt(means[1])}); rows 1-{len(top)} are the images where the two "
               f"detectors' mean IoU over the objects both matched differs most, the other "
               f"{len(rand)} are random (seed {seed}).") if top else (
        f"Ground truth (green) and the matched boxes of {who[0]} (left) and {who[1]} "
        f"(right) on {len(rows)} random validation images (seed {seed}): no object was "
        f"matched by both detectors, so no image could be chosen by IoU difference.")
    record = {"figure": "fig4", "caption": caption, "detectors": list(names),
              "experiments": list(experiments),
              "detections": [str(p) for p in detections], "ground_truth": str(ann_file),
              "images": [{"image_id": i, "why": w} for i, w in rows],
              "mean_matched_iou": dict(zip(names, means)), "seed": seed}
    write_json_atomic(record, info)
    return record


def _mean_matched(matches: Mapping[int, ImageMatch]) -> float | None:
    values = [v for m in matches.values() for _, v in m.matched.values()]
    return sum(values) / len(values) if values else None


def _fmt(value: float | None) -> str:
    return "none matched" if value is None else f"{value:.3f}"


def make_fig5(ann_file: str | Path, image_root: str | Path, detections: str | Path,
              name: str, out: str | Path, info: str | Path, *,
              score_thr: float = FIG5_SCORE, n_worst: int = 3, n_random: int = 3,
              seed: int = 0) -> dict[str, Any]:
    """Fig. 5: one model's detections at ``score_thr``, the worst images by matched IoU first.

    Where no detection of the split reaches ``score_thr`` (a briefly trained stand-in model),
    the figure shows every detection's match at any score instead, and says so.
    """
    coco = load_coco(ann_file)
    dets = load_detections(detections)
    best = max((d["score"] for ds in dets.values() for d in ds), default=0.0)
    used = score_thr if best >= score_thr else 0.0
    matches = match_all(coco, dets, used)
    worst, rand = choose_fig5_images(matches, n_worst, n_random, seed)
    rows = [(i, "worst") for i in worst] + [(i, "random") for i in rand]
    where = (f"at score ≥ {score_thr}" if used else
             f"at any score (none reaches {score_thr}; highest {best:.2f})")
    title = (f"Fig. 5 (reproduced): {name} {where}; blue: matched (IoU), "
             f"dotted red: false positive, dashed green: missed")
    save(fig5_figure(coco, Path(image_root), matches, rows, title), out)
    legend = (f"(blue: matched, with class, score and IoU; dotted red: false positives, at "
              f"most {MAX_FP_DRAWN} per image; dashed green: missed objects)")
    chosen = (f"the first {len(worst)} are the images of lowest mean matched IoU, the other "
              f"{len(rand)} are random (seed {seed})" if worst else
              f"all random (seed {seed}), as no detection matched an object")
    caption = (f"Detections of the final model {name} {where} on {len(rows)} validation "
               f"images {legend}: {chosen}; the paper shows COCO test-dev, which has no "
               f"public labels to match against.")
    record = {"figure": "fig5", "caption": caption, "model": name,
              "detections": str(detections), "ground_truth": str(ann_file),
              "score_thr": score_thr, "score_thr_used": used, "max_score": best,
              "images": [{"image_id": i, "why": w} for i, w in rows],
              "mean_matched_iou": _mean_matched(matches), "seed": seed}
    write_json_atomic(record, info)
    return record
