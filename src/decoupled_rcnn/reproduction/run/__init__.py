"""Training and evaluation runs: resume, several processes, non-finite losses, failure records.

- :mod:`.runs`: one training or evaluation of one experiment and seed;
- :mod:`.distributed`: torchrun for several GPUs or CPU processes;
- :mod:`.finite_loss`, :mod:`.failures`: stop at a NaN loss; record why a run failed.
"""
