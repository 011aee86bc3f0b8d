"""The reproduction machinery: manifest -> composed experiments -> runs -> results -> report.

- :mod:`.manifest`: the paper as data (tables, rows, the paper's values, experiments, claims);
- :mod:`.plan`: composition of configs, the selection of runs, the results layout, cost;
- :mod:`.run`: training and evaluation runs (resume, torchrun, failure records);
- :mod:`.results`: tables over seeds and the claims' verdicts;
- :mod:`.figures`: plots, training curves, Fig. 4 and Fig. 5;
- :mod:`.pipeline`, :mod:`.pipeline_figures`: what each workflow rule does, one function each.
"""
