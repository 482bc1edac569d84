# paperwire — make targets for a fresh machine (Debian, Python 3.11, 2 cores).
# `make up` installs and runs the main job; `make test` installs and runs every test.

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SHARED ?= ../shared/data
HF_DIR ?= $(SHARED)/hf-daily-papers
HOST   ?= 127.0.0.1
PORT   ?= 8000
export HF_HUB_OFFLINE ?= 1
# Benchmarks print wide tables: give rich room when the output is not a terminal.
BENCH  := COLUMNS=200 $(BIN)/paperwire bench
KATEX  := paperwire/web/static/vendor/katex

.PHONY: install up serve test test-fast lint format bench bench-backends browsers latex node clean

# The ONNX export of the bundled embedding model (~30 s once; then an "up to date" check):
# the default embedding backend. Written to $PAPERWIRE_MODELS_DIR or ~/.cache/paperwire/models.
install: $(VENV)/.installed $(KATEX)/.installed
	$(BIN)/paperwire model export

# KaTeX (math in comments, titles and abstracts), pinned in package.json/package-lock.json,
# served from our own origin: `npm ci` here, then the files pages load are copied under
# static/vendor/ (not committed). Without npm the pages still work: math shows as TeX.
$(KATEX)/.installed: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error && \
	  rm -rf $(KATEX) && mkdir -p $(KATEX)/fonts $(KATEX)/contrib && \
	  cp node_modules/katex/dist/katex.min.js node_modules/katex/dist/katex.min.css $(KATEX)/ && \
	  cp node_modules/katex/dist/contrib/auto-render.min.js $(KATEX)/contrib/ && \
	  cp node_modules/katex/dist/fonts/*.woff2 $(KATEX)/fonts/ && \
	  cp node_modules/katex/LICENSE $(KATEX)/ && touch $@; \
	else echo "npm not found: KaTeX not installed, math shows as TeX source"; fi

# torch first, pinned to the CPU wheel: any other spec would pull a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml setup.py paperwire/text/_scan.c paperwire/index/_int8.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	@$(BIN)/python -c 'import paperwire.text._scan' 2>/dev/null || echo "note: the snippets' C loops (paperwire/text/_scan.c) were not compiled (no C compiler or Python headers): search works, its snippets slower; make test will fail its checks of them"
	@$(BIN)/python -c 'import paperwire.index._int8' 2>/dev/null || echo "note: the int8 bounds' product in C (paperwire/index/_int8.c) was not compiled: semantic search works, its product runs in ONNX Runtime; make test will fail its checks of it"
	touch $@

# Debian's Chromium for the browser tests (Playwright's own download is not used).
browsers:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; }

# npm (Debian's) for KaTeX, so that the tests see math rendered as readers with JS do.
node:
	@command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq npm; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq npm; fi; }

# pdflatex + bibtex (Debian's texlive-latex-base, ~110 MB, no recommends) for the test that
# compiles the BibTeX export of the whole corpus.
latex:
	@command -v pdflatex >/dev/null 2>&1 && command -v bibtex >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
	    apt-get install -y -qq --no-install-recommends texlive-latex-base; \
	  else sudo apt-get update -qq && \
	    sudo apt-get install -y -qq --no-install-recommends texlive-latex-base; fi; }

up: install
	$(BIN)/paperwire up --offline-dir $(HF_DIR) --host $(HOST) --port $(PORT)

serve: install
	$(BIN)/paperwire serve --host $(HOST) --port $(PORT)

# Twice: every test on SQLite + the embedded index, then the tests that depend on the
# store or index backend (marker `backend`, see tests/conftest.py) on PostgreSQL + Milvus Lite.
test: node install browsers latex
	PAPERWIRE_TEST_BACKEND=sqlite-embedded $(BIN)/pytest -q -n 2 --dist loadfile
	PAPERWIRE_TEST_BACKEND=pg-milvus $(BIN)/pytest -q -n 2 --dist loadfile -m backend

test-fast: install
	$(BIN)/pytest -q -m "not browser and not slow"

lint: install
	$(BIN)/ruff check paperwire tests
	$(BIN)/ruff format --check paperwire tests
	$(BIN)/mypy paperwire
	$(BIN)/lint-imports --no-logo

format: install
	$(BIN)/ruff format paperwire tests
	$(BIN)/ruff check --fix paperwire tests

# Every benchmark of docs/benchmarks.md, one after another (~1 h on 2 cores; the latency
# builds are kept in ~/.cache/paperwire/bench and reused). Tables print and land in
# bench/results/. Run on a quiet machine: they time things.
bench: install
	mkdir -p bench/results
	$(BENCH) relevance -c scifact --fusion rrf --stripped --out bench/results/relevance-scifact.json
	$(BENCH) relevance -c cacm --fusion rrf --stripped --out bench/results/relevance-cacm.json
	$(BENCH) relevance -c cacm --similar --out bench/results/similar-cacm.json
	$(BENCH) relevance -c scifact --similar --out bench/results/similar-scifact.json
	$(BENCH) floor -c scifact -c cacm -c hf -c 74k --out bench/results/floor.json
	$(BENCH) known-item --out bench/results/known-item.json
	$(BENCH) sorted --out bench/results/sorted.json
	$(BENCH) embed --out bench/results/embed.json
	$(BENCH) latency --out bench/results/latency.json
	$(BENCH) ingest-search

# SQLite + embedded vs PostgreSQL + Milvus (milvus-lite 2.5: a local Milvus server) on the
# 74,728 arXiv papers (~15 min; the first run embeds their titles, ~5 min more).
bench-backends: install
	$(BENCH) backends

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .grimp_cache test-results
	rm -f paperwire/text/_scan.*.so paperwire/index/_int8.*.so
