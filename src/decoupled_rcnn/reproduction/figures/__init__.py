"""Figures: measured results as plots, training curves, and the paper's Fig. 4 and Fig. 5.

- :mod:`.measured`: AP vs IoU threshold and sweeps, beside the paper's values;
- :mod:`.curves`: loss terms and per-stage sample counts from mmengine's scalar logs;
- :mod:`.qualitative`, :mod:`.detections`: which images Fig. 4/5 show, and drawing them.
"""
