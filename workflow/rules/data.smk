rule prepare_data:
    output:
        ready=path_of("data_ready"),
    conda:
        CONDA_ENV
    log:
        LAYOUT.path("log", name="prepare_data"),
    benchmark:
        LAYOUT.path("rule_benchmark", name="prepare_data"),
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../scripts/prepare_data.py"
