"""The reproduction machinery: manifest -> composed experiments -> runs -> tables -> report.

- :mod:`.manifest`: every table's rows, the experiment each uses and the paper's values;
- :mod:`.compose`: one path from (config file, overrides, workflow config) to a built model;
- :mod:`.layout`: where every result file lives;
- :mod:`.runs` and :mod:`.pipeline`: what the workflow's rules do;
- :mod:`.tables`, :mod:`.figures`: measured beside the paper's values.
"""
