"""The embedded default's stand-ins: the tiny model setting and its backbone pre-training.

The paper's backbones start from ImageNet weights; the embedded default (generated data, CPU)
has neither the data nor the time for that. :mod:`.tiny` shrinks any model config, and the
pre-training step plays the ImageNet weights' role for the tiny backbones.
"""
