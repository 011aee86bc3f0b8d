"""Subcommands of ``decoupled-rcnn``: one module each, discovered by :mod:`decoupled_rcnn.cli`."""
