"""Measurement: model size and FLOPs (:mod:`.complexity`), speed (:mod:`.benchmark`)."""
