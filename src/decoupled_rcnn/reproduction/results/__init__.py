"""Measured results beside the paper's: tables over seeds and verdicts on the paper's claims.

- :mod:`.tables`: cells (mean, spread, n, the paper's value) from declared metrics files;
- :mod:`.claims`: the decision procedure over seeds for each of the paper's claims.
"""
