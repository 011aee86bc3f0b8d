"""Your own dataset (``data.source: custom``): a COCO json or a folder of VOC XML files.

The workflow config's ``data.custom`` says where the data is and in which format:

* ``format: coco``: ``train_ann`` / ``val_ann`` (COCO detection json) with the image folders
  ``train_images`` / ``val_images`` their ``file_name`` entries are relative to. The classes
  are the training json's ``categories`` in the order listed (what mmdet's ``CocoDataset``
  maps labels by); the validation json must list the same ids, names and order.
* ``format: voc``: ``annotations`` (a folder of ``<id>.xml``) and ``images`` (the image of
  ``<id>.xml`` is its ``<filename>`` when that file exists, else ``<id>`` with any of
  :data:`IMAGE_EXTENSIONS`). The split: ``train_split`` / ``val_split`` files of ids (one a
  line), or, without them, the stated rule: the ids sorted, every ``val_every``-th one
  (the ``val_every``-th, the ``2 * val_every``-th, ...) in val, the rest in train. The classes:
  ``classes`` when given, else the sorted set of every ``<object><name>``. Prepared once into
  COCO json (:func:`~decoupled_rcnn.datasets.custom_check.prepare_custom`, via
  :func:`~decoupled_rcnn.datasets.voc.voc_records_to_coco`), then read like COCO.

Relative paths are taken from ``root``. Difficult objects (VOC) become ``iscrowd=1`` and
crowd regions are ignored by training and scoring, as for the built-in datasets. Every
problem is a one-line :class:`~decoupled_rcnn.datasets.common.DatasetError` naming the file.
:func:`custom_classes` is cheap enough for DAG time (cached per file state).
"""

from __future__ import annotations

import functools
import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from decoupled_rcnn.datasets.common import DatasetError, load_json

__all__ = ["IMAGE_EXTENSIONS", "SPLITS", "CustomSource", "convert_custom_voc", "custom_classes",
           "custom_split_files", "find_image", "scan_voc_names", "voc_split_ids"]

#: Image file endings looked for beside a VOC XML without a usable ``<filename>``.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp")
SPLITS = ("train", "val")
_KEY = "data.custom"


@dataclass(frozen=True)
class CustomSource:
    """``data.custom`` of a workflow config, paths resolved against ``root``.

    Attributes:
        name: the dataset's name (shown in the report).
        format: ``coco`` or ``voc``.
        root: the folder relative paths are taken from.
        settings: the config section as given (after the schema's defaults).
    """

    name: str
    format: str
    root: Path
    settings: Mapping[str, Any]

    @classmethod
    def from_config(cls, custom: Mapping[str, Any]) -> CustomSource:
        """From ``wcfg["data"]["custom"]``.

        Raises:
            DatasetError: no ``root``, a missing root folder or an unknown format.
        """
        root = custom.get("root")
        if not root:
            raise DatasetError(None, f"{_KEY}.root is not set: set it to your dataset's folder")
        fmt = custom.get("format", "coco")
        if fmt not in ("coco", "voc"):
            raise DatasetError(None, f"{_KEY}.format must be coco or voc, not {fmt!r}")
        path = Path(root).expanduser()
        if not path.is_dir():
            raise DatasetError(path, f"custom dataset root not found (set {_KEY}.root)")
        return cls(str(custom.get("name") or "custom"), fmt, path, dict(custom))

    def path(self, key: str) -> Path:
        """The setting ``key`` as a path (relative ones under ``root``)."""
        return self.root / Path(str(self.settings[key])).expanduser()

    def optional(self, key: str) -> Path | None:
        value = self.settings.get(key)
        return None if value in (None, "") else self.path(key)


def _state(path: Path) -> tuple[str, int]:
    """A cache key part: the path and its modification time (0 when missing)."""
    try:
        return str(path), path.stat().st_mtime_ns
    except OSError:
        return str(path), 0


def _coco_categories(ann_file: Path) -> list[tuple[Any, str]]:
    doc = load_json(ann_file)
    cats = doc.get("categories") if isinstance(doc, dict) else None
    if not isinstance(cats, list):
        raise DatasetError(ann_file, "malformed COCO json: 'categories' is missing or not a list")
    found = []
    for cat in cats:
        if not isinstance(cat, dict) or "id" not in cat or not str(cat.get("name", "")).strip():
            raise DatasetError(ann_file, "a category lacks 'id' or 'name'")
        found.append((cat["id"], str(cat["name"])))
    if not found:
        raise DatasetError(ann_file, "empty class list: the json has no categories")
    names = [n for _, n in found]
    if len(set(names)) != len(names) or len({i for i, _ in found}) != len(found):
        raise DatasetError(ann_file, "duplicate category id or name")
    return found


@functools.lru_cache(maxsize=16)
def _coco_classes(train: tuple[str, int], val: tuple[str, int]) -> tuple[str, ...]:
    train_cats = _coco_categories(Path(train[0]))
    if Path(val[0]) != Path(train[0]):
        val_cats = _coco_categories(Path(val[0]))
        if val_cats != train_cats:
            raise DatasetError(val[0], f"categories differ from {train[0]}'s (the same ids, "
                                       "names and order are needed)")
    return tuple(name for _, name in train_cats)


def scan_voc_names(ann_dir: Path, problems: list[str] | None = None) -> tuple[str, ...]:
    """The sorted set of ``<object><name>`` in every XML of ``ann_dir``.

    Args:
        problems: collect unreadable files here and go on (None: raise at the first).

    Raises:
        DatasetError: a missing folder, an unreadable XML (without ``problems``), or no name.
    """
    if not ann_dir.is_dir():
        raise DatasetError(ann_dir, f"annotation folder not found (set {_KEY}.annotations)")
    names = set()
    for xml in sorted(ann_dir.glob("*.xml")):
        try:
            try:
                root = ET.parse(xml).getroot()
            except ET.ParseError as err:
                raise DatasetError(xml, f"malformed XML: {err}") from err
            except OSError as err:
                raise DatasetError(xml, f"unreadable: {err.strerror or err}") from err
        except DatasetError as err:
            if problems is None:
                raise
            problems.append(str(err))
            continue
        names.update((n.text or "").strip() for n in root.findall("object/name"))
    names.discard("")
    if not names:
        raise DatasetError(ann_dir, "empty class list: no <object><name> in any XML file "
                                    f"(or give {_KEY}.classes)")
    return tuple(sorted(names))


@functools.lru_cache(maxsize=16)
def _voc_names(folder: str, state: tuple[int, int]) -> tuple[str, ...]:
    return scan_voc_names(Path(folder))


def xml_state(ann_dir: Path) -> tuple[int, int]:
    """Number of XML files and their newest modification time: the class scan's cache key."""
    times = [p.stat().st_mtime_ns for p in ann_dir.glob("*.xml")] if ann_dir.is_dir() else []
    return len(times), max(times, default=0)


def custom_classes(source: CustomSource) -> tuple[str, ...]:
    """The class names of a custom dataset, in label order.

    Raises:
        DatasetError: unreadable annotations, or an empty class list.
    """
    given = source.settings.get("classes")
    if source.format == "coco":
        classes = _coco_classes(_state(source.path("train_ann")), _state(source.path("val_ann")))
        if given is not None and list(given) != list(classes):
            raise DatasetError(source.path("train_ann"), f"categories {list(classes)} differ "
                                                         f"from {_KEY}.classes {list(given)}")
        return classes
    if given is not None:
        names = [str(n).strip() for n in given]
        if not names or not all(names):
            raise DatasetError(None, f"{_KEY}.classes: empty class list (or an empty name)")
        if len(set(names)) != len(names):
            raise DatasetError(None, f"{_KEY}.classes names a class twice")
        return tuple(names)
    ann_dir = source.path("annotations")
    return _voc_names(str(ann_dir), xml_state(ann_dir))


def _read_split(list_file: Path) -> list[str]:
    if not list_file.is_file():
        raise DatasetError(list_file, "split file not found")
    try:
        lines = list_file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise DatasetError(list_file, f"unreadable: {err}") from err
    ids = [line.split()[0] for line in lines if line.strip()]
    if not ids:
        raise DatasetError(list_file, "empty split: the file names no images")
    if len(set(ids)) != len(ids):
        raise DatasetError(list_file, "the split file names an image twice")
    return ids


def voc_split_ids(source: CustomSource) -> dict[str, list[str]]:
    """``{"train": ids, "val": ids}`` of a VOC-format custom dataset (split files or rule).

    Raises:
        DatasetError: a missing or empty split file or annotation folder, or a rule that
            leaves a split empty.
    """
    files = {s: source.optional(f"{s}_split") for s in SPLITS}
    if all(files.values()):
        return {s: _read_split(f) for s, f in files.items()}  # type: ignore[arg-type]
    if any(files.values()):
        raise DatasetError(None, f"{_KEY}: give both train_split and val_split, or neither "
                                 "(then every val_every-th sorted id is in val)")
    ann_dir = source.path("annotations")
    if not ann_dir.is_dir():
        raise DatasetError(ann_dir, f"annotation folder not found (set {_KEY}.annotations)")
    ids = sorted(p.stem for p in ann_dir.glob("*.xml"))
    every = int(source.settings.get("val_every", 5))
    split = {"train": [i for k, i in enumerate(ids) if (k + 1) % every],
             "val": [i for k, i in enumerate(ids) if (k + 1) % every == 0]}
    for name, found in split.items():
        if not found:
            raise DatasetError(ann_dir, f"empty {name} split: {len(ids)} XML files with "
                                        f"val_every {every}")
    return split


def find_image(images: Path, listing: frozenset[str], image_id: str,
               filename: str | None) -> str | None:
    """The image file of one VOC record (its ``<filename>``, else ``<id>.<ext>``), or None."""
    if filename and Path(filename).name in listing:
        return Path(filename).name
    for ext in IMAGE_EXTENSIONS:
        for candidate in (image_id + ext, image_id + ext.upper()):
            if candidate in listing:
                return candidate
    return None


def _listing(folder: Path) -> frozenset[str]:
    if not folder.is_dir():
        raise DatasetError(folder, f"image folder not found (set {_KEY}.images)")
    return frozenset(os.listdir(folder))


def custom_split_files(source: CustomSource, out_dir: str | os.PathLike) -> dict[str,
                                                                               tuple[Path, Path]]:
    """``split -> (COCO json, image folder)`` training and evaluation read.

    VOC: the json :func:`~decoupled_rcnn.datasets.custom_check.prepare_custom` writes under
    ``out_dir``; COCO: the given files.
    """
    if source.format == "coco":
        return {s: (source.path(f"{s}_ann"), source.path(f"{s}_images")) for s in SPLITS}
    return {s: (Path(out_dir) / f"{s}.json", source.path("images")) for s in SPLITS}


def convert_custom_voc(source: CustomSource, classes: Sequence[str],
                       out_dir: str | os.PathLike, problems: list[str] | None = None) -> None:
    """Convert the VOC-format splits to COCO json ``<out_dir>/<split>.json``.

    Args:
        source: a ``format: voc`` source.
        classes: the class names in label order.
        out_dir: where the json files go.
        problems: None: raise at the first bad file; a list: append each bad file's one-line
            error, leave that file out and go on (``decoupled-rcnn check-data``).

    Raises:
        DatasetError: unreadable XML, a bad box, an unknown class, a missing image (only
            without ``problems``).
    """
    from decoupled_rcnn.datasets.voc import parse_voc_xml, voc_records_to_coco

    images = source.path("images")
    listing = _listing(images)
    for split, ids in voc_split_ids(source).items():
        entries = []
        for image_id in ids:
            xml = source.path("annotations") / f"{image_id}.xml"
            try:
                record = parse_voc_xml(xml, classes, reject_inverted=True)
                found = find_image(images, listing, image_id, record.filename)
                if found is None:
                    raise DatasetError(xml, f"annotation points at a missing image: no "
                                            f"{record.filename or image_id + '.*'} in {images}")
            except DatasetError as err:
                if problems is None:
                    raise
                problems.append(str(err))
                continue
            entries.append((xml, found, record))
        voc_records_to_coco(entries, Path(out_dir) / f"{split}.json", classes,
                            description=f"{source.name} {split}", where=source.root)
