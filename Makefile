# Two commands set up a fresh machine: `make demo` and `make test` (each creates .venv if missing).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# The torch build this machine ships on disk; override on a GPU box, e.g. TORCH_SPEC="torch torchvision".
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
DEMO_OUT ?= results/demo

.PHONY: venv demo test bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_SPEC)
	$(PY) -m pip install -q -e '.[test]'
	touch $@

# Figure 14 of the paper on the toy: a 12 x 12 x 3 grid of n x B x seed, then its heatmap.
demo: venv
	$(VENV)/bin/benign toy grid --out $(DEMO_OUT)/fig14.nc
	$(VENV)/bin/benign plot $(DEMO_OUT)/fig14.nc --out $(DEMO_OUT)/fig14.png
	@echo "results: $(DEMO_OUT)/fig14.nc   pictures: $(DEMO_OUT)/fig14.png, $(DEMO_OUT)/fig14-collapse.png"

# Benchmarks run once each, untimed (--benchmark-disable), so that they are tested too.
test: venv
	$(PY) -m pytest -q -p no:cacheprovider --hypothesis-profile=ci --benchmark-disable

bench: venv
	$(PY) -m pytest -q tests/benchmarks --benchmark-only --benchmark-columns=min,median,mean,rounds

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .benchmarks
