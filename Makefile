# Entry points. Each target creates .venv on first use (see tools/setup_env.py) and reuses it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.setup-done

.PHONY: setup test test-fast test-cluster demo lint clean-venv

# A set-up for another device kind (done on the login node's CPU, or another GPU model) is
# redone here: the stamp records the kind (tools/setup_env.py --stamp-current).
ifneq ($(shell $(PYTHON) tools/setup_env.py --stamp-current $(STAMP) && echo yes),yes)
.PHONY: $(STAMP)
endif

$(STAMP): pyproject.toml tools/setup_env.py
	$(PYTHON) tools/setup_env.py --venv $(VENV)
	touch $@

setup: $(STAMP)  ## create or update .venv (first time ~15 min: mmcv compiles)

test: $(STAMP)  ## the test suite (CI runs exactly this)
	$(VENV)/bin/python -m pytest

# The inner loop: every test not marked slow, workflow (runs Snakemake) or browser.
test-fast: $(STAMP)  ## the quick tests (markers in pyproject.toml)
	$(VENV)/bin/python -m pytest -m "not slow and not workflow and not browser"

# The Slurm profile on a one-node Slurm started on this machine (tools/local_slurm.sh; apt-get
# installs slurm-wlm and munge when missing, needs root); stops Slurm again. About 4 minutes.
test-cluster: $(STAMP)
	DECOUPLED_RCNN_CLUSTER_TEST=1 $(VENV)/bin/python -m pytest tests/workflow/test_slurm_cluster.py

CORES ?= 2

demo: $(STAMP)  ## every table on the embedded default (generated data, tiny models, CPU)
	$(VENV)/bin/decoupled-rcnn check-install --quiet
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/snakemake --cores $(CORES) \
		--profile workflow/profiles/default
	@echo "Report: $(CURDIR)/reports/index.html"

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests tools workflow

clean-venv:
	rm -rf $(VENV)
