"""From a workflow config to what runs and where: composition, selection, layout, cost.

- :mod:`.workflow_config`, :mod:`.config_checks`: the workflow config as the Snakefile sees it;
- :mod:`.compose`, :mod:`.config_parts`: one path from (config, overrides) to a built model;
- :mod:`.selection`: which experiments, seeds and evaluations the chosen tables need;
- :mod:`.layout`: where every result file lives; :mod:`.recipe`: what a row ran;
- :mod:`.cost`: GPU-hour estimates for ``decoupled-rcnn plan``.
"""
