# Two commands set up a fresh machine: `make demo` and `make test` (each creates .venv and fetches the
# data its tests need when missing).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# The torch build this machine ships on disk; override on a GPU box, e.g. TORCH_SPEC="torch torchvision".
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
DEMO_OUT ?= results/demo
# Fashion-MNIST, the dataset of the CPU-scale experiments: Debian's package where apt works, else
# torchvision's download into data/ (both places are where empirical.datasets looks). --reinstall:
# the package may be recorded as installed while its files are not there (a fresh mount, a clean-up).
FMNIST_DEBIAN := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
FMNIST_LOCAL  := data/FashionMNIST/raw/train-images-idx3-ubyte.gz

.PHONY: venv data lint demo test bench docs clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_SPEC)
	$(PY) -m pip install -q -e '.[test,bench]'
	touch $@

data: venv
	@if [ -f $(FMNIST_DEBIAN) ] || [ -f $(FMNIST_LOCAL) ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	   { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --reinstall dataset-fashion-mnist; } \
	   && [ -f $(FMNIST_DEBIAN) ]; then exit 0; fi; \
	echo "Fashion-MNIST: Debian's package is out of reach; downloading it into data/ with torchvision"; \
	$(PY) -c "import torchvision; torchvision.datasets.FashionMNIST('data', train=True, download=True)"

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Figure 14 of the paper on the toy: a 12 x 12 x 3 grid of n x B x seed, then its heatmap.
demo: venv
	$(VENV)/bin/benign toy grid --out $(DEMO_OUT)/fig14
	$(VENV)/bin/benign plot $(DEMO_OUT)/fig14/grid.nc --out $(DEMO_OUT)
	@echo "results: $(DEMO_OUT)/fig14/grid.nc   pictures: $(DEMO_OUT)/fig14.png, $(DEMO_OUT)/fig14-collapse.png"

# The benchmarks are not tests: they run in `make bench`.
test: venv lint data
	$(PY) -m pytest -q -p no:cacheprovider --hypothesis-profile=ci --ignore=tests/benchmarks

# The peers (FAISS, Kornia: the `bench` extra, which the venv installs) run beside the project.
bench: venv
	$(PY) -m pytest -q tests/benchmarks --benchmark-only --benchmark-columns=min,median,mean,rounds

# The number tables of README.md and docs/*.md, regenerated from the shipped result files in
# docs/results (the test suite fails where a page and its file disagree).
docs: venv
	$(VENV)/bin/benign docs

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .benchmarks
