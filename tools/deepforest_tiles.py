"""Make the own-data acceptance dataset from the sample data the ``deepforest`` wheel ships.

DeepForest (weecology, MIT licence) ships hand-annotated aerial RGB images of tree crowns
(NEON sites YELL, OSBS, SOAP; class ``Tree``) with VOC XML annotations in
``deepforest/data/``. This script reads them straight from the wheel file (no install, no
network: get the wheel once with ``pip download --no-deps -d /tmp/df deepforest``), cuts the
annotated images into 400 x 400 px tiles (:mod:`decoupled_rcnn.datasets.voc_tiles`; boxes kept
when at least half of them is inside the tile) and writes a VOC-format dataset for
``data.custom`` (``format: voc``; the split: every 5th sorted tile id in val). Every box is
one class, ``Tree`` (SOAP_061's Alive / Dead crowns too, unless ``--keep-labels``)::

    python tools/deepforest_tiles.py /tmp/df/deepforest-2.1.0-py3-none-any.whl data/trees
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import zipfile
from pathlib import Path

import cv2
import numpy as np

from decoupled_rcnn.datasets.voc import parse_voc_xml
from decoupled_rcnn.datasets.voc_tiles import tile_image, write_voc_tiles

#: The annotated images of deepforest/data (every XML with its image).
IMAGES = ("2019_YELL_2_528000_4978000_image_crop2", "2019_YELL_2_541000_4977000_image_crop",
          "OSBS_029", "SOAP_061")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("wheel", help="deepforest-*.whl (pip download --no-deps deepforest)")
    parser.add_argument("out", help="dataset folder to write (Annotations/, JPEGImages/)")
    parser.add_argument("--tile", type=int, default=400)
    parser.add_argument("--min-visible", type=float, default=0.5)
    parser.add_argument("--keep-labels", action="store_true",
                        help="keep SOAP_061's Alive / Dead labels (default: every box is Tree)")
    args = parser.parse_args(argv)
    written = boxes = 0
    with zipfile.ZipFile(args.wheel) as wheel, tempfile.TemporaryDirectory() as tmp:
        for stem in IMAGES:
            xml = Path(tmp) / f"{stem}.xml"
            xml.write_bytes(wheel.read(f"deepforest/data/{stem}.xml"))
            record = parse_voc_xml(xml, None)
            raw = np.frombuffer(wheel.read(f"deepforest/data/{stem}.png"), np.uint8)
            pixels = cv2.imdecode(raw, cv2.IMREAD_COLOR)
            # VOC corners are 1-based: xmin - 1 is the 0-based left edge
            found = [(o.name if args.keep_labels else "Tree", o.xmin - 1, o.ymin - 1, o.xmax,
                      o.ymax) for o in record.objects]
            tiles = tile_image(stem.replace("_image_crop", ""), pixels, found, args.tile,
                               args.min_visible)
            write_voc_tiles(tiles, args.out)
            written += len(tiles)
            boxes += sum(len(t.boxes) for t in tiles)
            print(f"{stem}: {pixels.shape[1]}x{pixels.shape[0]} px, {len(found)} boxes -> "
                  f"{len(tiles)} tiles")
    print(f"{written} tiles, {boxes} boxes in {args.out} (licence: MIT, weecology/DeepForest)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
