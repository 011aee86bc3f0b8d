rule figures:
    input:
        cells=CELLS_CSV,
    output:
        figures=report(
            expand(FIGURE, name=FIGURES),
            caption="../report/figures.rst",
            category="Figures",
        ),
    params:
        out_dir=lambda wc, output: str(Path(output.figures[0]).parent) if output else "",
    conda:
        CONDA_ENV
    log:
        f"{RESULTS}/logs/figures.log",
    resources:
        mem_mb=1000,
    script:
        "../scripts/figures.py"
