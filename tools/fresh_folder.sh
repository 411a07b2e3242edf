#!/usr/bin/env bash
# The notebooks open anywhere: notebooks 04, 05 and 06 run alone in an empty folder, against
# the package installed from a wheel into a fresh virtual environment (not editable, no
# checkout to walk up to). Their assets (the shipped agent, the study's committed runs) come
# through nh.assets.path, fetched from NOISY_NETS_REPO, here a file:// URL of this clone.
# Run by `make fresh-folder` (part of `make test`, so CI runs it) with CI=true budgets.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "fresh folder: building the wheel"
"$PYTHON" -m pip wheel --quiet --no-deps --wheel-dir "$WORK/dist" "$ROOT" >/dev/null
echo "fresh folder: installing it into a new virtual environment"
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install -qq --progress-bar off "$WORK"/dist/noisy_helpers-*.whl \
    "nbval>=0.11,<0.12" "pytest>=8,<10" "pytest-xdist>=3.5,<4" ipykernel
# The setup cell itself, for real: in another new environment without the package, it installs
# noisy_helpers from NOISY_NETS_REPO (file://), after which the package imports.
"$PYTHON" -m venv "$WORK/bare"
"$PYTHON" "$ROOT/tools/notebook_setup.py" --print-cell > "$WORK/setup_cell.py"
NOISY_NETS_REPO="file://$ROOT" "$WORK/bare/bin/python" "$WORK/setup_cell.py" 2>&1 | grep -v "is ignored: it is neither" || true
"$WORK/bare/bin/python" -c "import noisy_helpers as nh; print('fresh folder: the setup cell installed noisy_helpers', nh.__version__)"
rm -rf "$WORK/bare"

mkdir "$WORK/folder"
cp "$ROOT"/notebooks/04_*.ipynb "$ROOT"/notebooks/05_*.ipynb "$ROOT"/notebooks/06_*.ipynb "$WORK/folder/"
cd "$WORK/folder"
export CI=true NOISY_NETS_REPO="file://$ROOT" NOISY_NETS_CACHE="$WORK/cache"
# The package is the wheel's copy, and nh.assets finds no checkout around it.
"$WORK/venv/bin/python" - <<'EOF'
import noisy_helpers as nh
assert "/venv/" in nh.__file__, nh.__file__
assert nh.assets.checkout_root() is None, nh.assets.checkout_root()
print("fresh folder: noisy_helpers from", nh.__file__)
EOF
# XDIST (from the Makefile): the notebooks side by side, each on one pytest worker.
# shellcheck disable=SC2086
"$WORK/venv/bin/python" -m pytest -q -p no:cacheprovider ${XDIST:-} --nbval-lax --nbval-current-env ./*.ipynb
# Notebook 06 under CI=true trains its tiny study; its full budget copies the committed runs
# instead. That path, from this folder: the copy holds every run of the study's plan, each
# with the result of exactly that trial, so nh.run_trials reads all of them as done.
"$WORK/venv/bin/python" - <<'EOF'
import shutil
from pathlib import Path

import noisy_helpers as nh
from noisy_helpers import exploration
from noisy_helpers.experiments import _load_result  # run_trials' own "finished?" test

committed = nh.assets.path("benchmarks/results/exploration") / "runs"
shutil.copytree(committed, "runs/exploration")
trials = exploration.cartpole_trials(range(5), 50_000)
for trial in trials:
    assert _load_result(trial, Path("runs/exploration/cartpole", trial.name)) is not None, trial.name
print(f"fresh folder: the committed study copied from {committed}; its {len(trials)} CartPole runs are done")
EOF
