"""Measured results beside the paper's: tables over seeds and verdicts on the paper's claims.

- :mod:`.tables`: cells (mean, spread, n, the paper's value) from declared metrics files;
- :mod:`.stats`: the paired t-test over seeds and Benjamini-Hochberg;
- :mod:`.decide`: the decision rules (directional, equivalence, cost ratios);
- :mod:`.claims`: each claim's statistic per seed, duplicates, the learnability gate, verdicts.
"""
