# Two commands do everything:
#   make demo  sets everything up, trains the default Noisy Double DQN + PER agent on
#              CartPole-v1 and leaves the best agent, the last checkpoint, metrics.csv, plots,
#              a video of the best agent and a summary of its evaluations in runs/demo/
#   make test  sets everything up, runs the unit tests and every notebook under nbval
# Both create .venv if it is missing and install the package with its dev and cluster (Ray)
# extras.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

DEMO_STEPS ?= 50000
DEMO_DIR   := runs/demo

.PHONY: test demo unit notebooks fresh-folder bench bench-cartpole faults exploration lab slides clean-notebooks check-notebooks clean

test: check-notebooks unit notebooks fresh-folder

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the package metadata changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --progress-bar off -e ".[dev,cluster]"
	touch $(STAMP)

demo: $(STAMP)
	rm -rf $(DEMO_DIR)
	$(BIN)/python -m noisy_helpers train --env CartPole-v1 --total-steps $(DEMO_STEPS) --seed 0 --out $(DEMO_DIR)
	$(BIN)/python -m noisy_helpers plot --run $(DEMO_DIR)
	$(BIN)/python -m noisy_helpers evaluate --run $(DEMO_DIR) --which best --episodes 10 --video $(DEMO_DIR)/video.mp4
	@echo
	$(BIN)/python -m noisy_helpers summary --run $(DEMO_DIR)
	@echo
	@echo "Demo done. In $(DEMO_DIR)/:"
	@echo "  best/                the best agent (best evaluation, checked), the one the video plays"
	@echo "  checkpoint/          the last agent, with its replay (--which last; train --resume)"
	@echo "  metrics.csv          per-episode and per-evaluation metrics"
	@echo "  learning_curve.png   returns over training"
	@echo "  sigma.png            mean sigma of each noisy layer over training"
	@echo "  video.mp4            the best agent playing one episode"
	@echo "  tensorboard/         .venv/bin/tensorboard --logdir $(DEMO_DIR)/tensorboard"

# One pytest worker per core, at most 4 (pytest-xdist); a test file stays on one worker, so
# that its module-scoped fixtures (trained agents, crashed runs) are built once.
XDIST := -n auto --maxprocesses 4 --dist loadfile

unit: $(STAMP)
	$(BIN)/python -m pytest $(XDIST) tests/

# A notebook's cells run in order in one kernel: --dist loadfile keeps each notebook on one worker.
notebooks: $(STAMP)
	$(BIN)/python -m pytest $(XDIST) --nbval-lax --nbval-current-env notebooks/

# Notebooks 04, 05 and 06 alone in an empty folder, with the package from a wheel in a fresh
# virtual environment and their assets fetched from a file:// URL of this clone (CI budgets).
fresh-folder: $(STAMP)
	CI=true PYTHON=$(BIN)/python XDIST="$(XDIST)" bash tools/fresh_folder.sh

# Speed against the original notebook: replay (sum tree) and the training step; Atari: bytes
# per transition of the frame replay, and the training loop's throughput (against the code of
# f6dd260, taken from git history: needs a clone).
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_replay.py
	$(BIN)/python benchmarks/bench_training.py
	$(BIN)/python benchmarks/bench_frame_replay.py
	$(BIN)/python benchmarks/bench_atari_training.py

# CartPole learning on 20 held-out seeds, ours against Stable-Baselines3's DQN with the RL Zoo's
# settings (about an hour on 2 cores; finished seeds are kept in runs/bench_cartpole/).
bench-cartpole: $(STAMP)
	$(BIN)/python -m pip install --quiet --progress-bar off -e ".[peer]"
	$(BIN)/python benchmarks/bench_cartpole.py

# Training runs crashed at random points (kill -9, SIGTERM, SIGINT inside checkpoint writes,
# row writes and evaluations) and resumed: rows lost must be 0 (about 6 minutes on 2 cores).
faults: $(STAMP)
	$(BIN)/python benchmarks/bench_fault_injection.py --runs 40 --seed 0

# The exploration study behind notebook 06 (about 100 minutes on 2 cores; finished runs are kept
# in notebooks/runs/exploration/ and never recomputed).
exploration: $(STAMP)
	$(BIN)/python benchmarks/bench_exploration.py

# Open the notebooks in this environment.
lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

# Slides for teaching (reveal.js, one HTML file per notebook in build/slides/; nothing is run:
# the committed outputs are shown).
slides: $(STAMP)
	$(BIN)/python tools/make_slides.py notebooks/[0-9][0-9]_*.ipynb --out build/slides

# Strip execution counts and metadata noise from committed notebooks (outputs are kept).
clean-notebooks: $(STAMP)
	$(BIN)/python tools/clean_notebooks.py notebooks/*.ipynb

check-notebooks: $(STAMP)
	$(BIN)/python tools/clean_notebooks.py --check notebooks/*.ipynb

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis runs
