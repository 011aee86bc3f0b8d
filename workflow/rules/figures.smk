rule figures:
    input:
        cells=path_of("cells"),
    output:
        figures=report(all_figures(), caption="../report/figures.rst", category="Figures"),
    conda:
        CONDA_ENV
    log:
        LAYOUT.path("log", name="figures"),
    resources:
        mem_mb=1000,
    script:
        "../scripts/figures.py"
