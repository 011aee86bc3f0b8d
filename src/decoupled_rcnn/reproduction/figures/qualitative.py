"""Which detections match which objects, and which images the qualitative figures show.

The paper's Fig. 4 puts Faster R-CNN FPN's and Decoupled R-CNN's boxes on the same images
("our rectangle boxes more tightly bound the objects"), and Fig. 5 shows the final model's
detections at score >= 0.6. Both are reproduced on the validation split (test-dev has no
public labels to measure a box's IoU against):

* :func:`match_image` matches detections to ground truth the COCO way: in descending score
  order, each detection takes the unmatched same-class, non-crowd object it overlaps most,
  if that IoU is at least 0.5;
* :func:`choose_fig4_images` takes the images where the two detectors' mean matched IoU (over
  the objects both matched) differs most, then random others (fixed seed);
* :func:`choose_fig5_images` takes the images of lowest mean matched IoU (the worst cases),
  then random others.

:func:`fig4_pair` picks the two experiments from the selected tables' runs.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from decoupled_rcnn.reproduction.manifest import Evaluation

__all__ = ["FIG4_PAIRS", "Coco", "ImageMatch", "choose_fig4_images", "choose_fig5_images",
           "fig4_pair", "iou", "load_coco", "match_all", "match_image"]

#: (FPN baseline, Decoupled R-CNN with cascaded regression) of the same backbone, in the
#: order Fig. 4 prefers them: Table VII (VOC) R101, R50, then Table VIII (COCO) R101, R50.
FIG4_PAIRS = (("voc_r101_faster", "voc_r101_dec_c3_reg085_l050"),
              ("voc_r50_faster", "voc_r50_dec_c3"),
              ("coco1x_r101_faster", "coco1x_r101_dec_c3"),
              ("coco1x_r50_faster", "coco1x_r50_dec_c3"))
IOU_MATCH = 0.5


@dataclass(frozen=True)
class Coco:
    """Ground truth and detections of one split (COCO json), grouped by image id."""

    images: dict[int, dict[str, Any]]
    categories: dict[int, str]
    objects: dict[int, list[dict[str, Any]]]


def load_coco(ann_file: str | Path) -> Coco:
    """A COCO annotation file's images, category names and objects per image."""
    data = json.loads(Path(ann_file).read_text(encoding="utf-8"))
    objects: dict[int, list[dict[str, Any]]] = {img["id"]: [] for img in data["images"]}
    for ann in data.get("annotations", []):
        objects.setdefault(ann["image_id"], []).append(ann)
    return Coco(images={img["id"]: img for img in data["images"]},
                categories={c["id"]: c["name"] for c in data.get("categories", [])},
                objects=objects)


def load_detections(path: str | Path) -> dict[int, list[dict[str, Any]]]:
    """A detections file (COCO results json) grouped by image id."""
    grouped: dict[int, list[dict[str, Any]]] = {}
    for det in json.loads(Path(path).read_text(encoding="utf-8")):
        grouped.setdefault(det["image_id"], []).append(det)
    return grouped


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two ``[x, y, w, h]`` boxes (COCO convention, continuous coordinates)."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


@dataclass
class ImageMatch:
    """One image's detections matched to its objects.

    Attributes:
        image_id: the COCO image id.
        shown: the detections considered (score at least the threshold), best first.
        matched: object index -> (index into ``shown``, IoU).
        false_positives: indices into ``shown`` that matched no object.
    """

    image_id: int
    shown: list[dict[str, Any]]
    matched: dict[int, tuple[int, float]] = field(default_factory=dict)
    false_positives: list[int] = field(default_factory=list)

    @property
    def mean_iou(self) -> float | None:
        """Mean IoU of the matched detections (None: nothing matched)."""
        values = [v for _, v in self.matched.values()]
        return sum(values) / len(values) if values else None


def match_image(image_id: int, objects: Sequence[dict[str, Any]],
                detections: Sequence[dict[str, Any]], score_thr: float = 0.0,
                iou_thr: float = IOU_MATCH) -> ImageMatch:
    """Match one image's detections (score >= ``score_thr``) to its objects, COCO-style."""
    shown = sorted((d for d in detections if d["score"] >= score_thr),
                   key=lambda d: -d["score"])
    result = ImageMatch(image_id, shown)
    for k, det in enumerate(shown):
        best, best_iou = None, iou_thr
        for j, obj in enumerate(objects):
            if j in result.matched or obj.get("iscrowd") or \
                    obj["category_id"] != det["category_id"]:
                continue
            value = iou(obj["bbox"], det["bbox"])
            if value >= best_iou:
                best, best_iou = j, value
        if best is None:
            result.false_positives.append(k)
        else:
            result.matched[best] = (k, best_iou)
    return result


def match_all(coco: Coco, detections: dict[int, list[dict[str, Any]]],
              score_thr: float = 0.0) -> dict[int, ImageMatch]:
    """:func:`match_image` for every image of the split."""
    return {i: match_image(i, coco.objects.get(i, []), detections.get(i, []), score_thr)
            for i in coco.images}


def _fill_random(chosen: list[int], pool: Sequence[int], n: int, seed: int) -> list[int]:
    rest = sorted(set(pool) - set(chosen))
    return random.Random(seed).sample(rest, min(n, len(rest)))


def choose_fig4_images(a: dict[int, ImageMatch], b: dict[int, ImageMatch], n_top: int = 4,
                       n_random: int = 2, seed: int = 0) -> tuple[list[int], list[int],
                                                                  dict[int, float]]:
    """The images of Fig. 4: largest |mean IoU difference|, then random ones.

    The difference is ``b - a`` averaged over the objects both detectors matched, so a
    missed object does not count as a tight box.

    Returns:
        (top images, random images, image -> difference for images with common matches).
    """
    diffs: dict[int, float] = {}
    for image_id in sorted(set(a) & set(b)):
        common = set(a[image_id].matched) & set(b[image_id].matched)
        if common:
            diffs[image_id] = sum(b[image_id].matched[j][1] - a[image_id].matched[j][1]
                                  for j in common) / len(common)
    top = sorted(diffs, key=lambda i: (-abs(diffs[i]), i))[:n_top]
    # Images nobody matched anything on fill the top slots only when there are no others.
    extra = n_random + n_top - len(top)
    return top, _fill_random(top, sorted(set(a) & set(b)), extra, seed), diffs


def choose_fig5_images(matches: dict[int, ImageMatch], n_worst: int = 3, n_random: int = 3,
                       seed: int = 0) -> tuple[list[int], list[int]]:
    """The images of Fig. 5: the lowest mean matched IoU (worst cases), then random ones."""
    scored = {i: m.mean_iou for i, m in matches.items() if m.mean_iou is not None}
    worst = sorted(scored, key=lambda i: (scored[i], i))[:n_worst]
    extra = n_random + n_worst - len(worst)
    return worst, _fill_random(worst, sorted(matches), extra, seed)


def fig4_pair(evaluations: Sequence[Evaluation], run_of: Any,
              test: str = "default") -> tuple[Evaluation, Evaluation] | None:
    """The first pair of :data:`FIG4_PAIRS` whose two evaluations the selection runs.

    Args:
        evaluations: the selection's evaluations (training experiments only).
        run_of: experiment -> the experiment whose run it uses (``Selection.run_of``).
        test: the test setting both are scored under.
    """
    have = set(evaluations)
    for baseline, decoupled in FIG4_PAIRS:
        pair = (Evaluation(run_of(baseline), test), Evaluation(run_of(decoupled), test))
        if all(ev in have for ev in pair) and pair[0] != pair[1]:
            return pair
    return None
