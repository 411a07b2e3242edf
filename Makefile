# One command sets everything up and checks everything: `make test`.
# It creates .venv if it is missing, installs the package with its dev extras,
# runs the unit tests and then runs every notebook under nbval.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test unit notebooks bench lab clean-notebooks check-notebooks clean

test: check-notebooks unit notebooks

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the package metadata changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --progress-bar off -e ".[dev]"
	touch $(STAMP)

unit: $(STAMP)
	$(BIN)/python -m pytest tests/

notebooks: $(STAMP)
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env notebooks/

# Speed of the sum tree / replay against the original notebook's pure-Python tree.
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_replay.py

# Open the notebooks in this environment.
lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

# Strip execution counts and metadata noise from committed notebooks (outputs are kept).
clean-notebooks: $(STAMP)
	$(BIN)/python tools/clean_notebooks.py notebooks/*.ipynb

check-notebooks: $(STAMP)
	$(BIN)/python tools/clean_notebooks.py --check notebooks/*.ipynb

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
