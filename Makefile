# adaspec developer commands. `make test` and `make demo` work from a clean clone: they create a virtual
# environment (unless one is active), install torch first (a CPU wheel here; override TORCH_SPEC, e.g.
# TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cu124"), then adaspec with its dev extras.

PYTHON ?= python3
TORCH_SPEC ?= torch==2.13.0
VENV ?= .venv

ifdef VIRTUAL_ENV
PY := $(VIRTUAL_ENV)/bin/python
else
PY := $(VENV)/bin/python
endif

STAMP := $(dir $(PY)).adaspec-installed

.PHONY: setup test lint demo study synthetic-demo fourier-demo bench bench-training bench-filterbanks bench-peers bench-onnx clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@if [ ! -x "$(PY)" ]; then $(PYTHON) -m venv $(VENV); fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@

lint: setup
	$(PY) -m ruff check src tests benchmarks examples

# One pytest-xdist worker per core, each running torch on one thread (tests/conftest.py).
test: setup lint
	$(PY) -m pytest -q -n auto

demo: setup
	$(PY) examples/instrument_demo.py --out demo_output

study: setup
	$(PY) examples/instrument_study.py --data data/instruments_v80 --out runs/compare-instruments_cpu

synthetic-demo: setup
	$(PY) examples/training_demo.py --out demo_output/synthetic

fourier-demo: setup
	$(PY) examples/fourier_demo.py --out demo_output

bench: setup
	$(PY) benchmarks/bench_fourier.py

bench-training: setup
	$(PY) benchmarks/bench_training.py

bench-onnx: setup
	$(PY) benchmarks/bench_onnx.py

# Peers that only the benchmarks time: SpeechBrain (its LEAF) without its torch / torchaudio requirements,
# which would replace the installed torch; hyperpyyaml and sentencepiece are what its import needs. pip then
# reports SpeechBrain's torchaudio and huggingface_hub requirements as unmet: expected, the benchmark needs neither.
bench-peers: setup
	$(PY) -m pip install --quiet --no-deps "speechbrain==1.1.2"
	$(PY) -m pip install --quiet hyperpyyaml sentencepiece

bench-filterbanks: setup bench-peers
	$(PY) benchmarks/bench_cqt.py
	$(PY) benchmarks/bench_cwt.py
	$(PY) benchmarks/bench_degram.py
	$(PY) benchmarks/bench_leaf.py

clean:
	rm -rf $(VENV) demo_output .pytest_cache .ruff_cache src/*.egg-info
