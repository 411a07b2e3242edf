"""Fault injection (tools/fault_injection.py): runs crashed inside checkpoint writes, row writes,
evaluations and steps, by SIGKILL, SIGTERM and SIGINT, then resumed, lose no metrics row.

Each scenario is two or three fresh processes (a few seconds each), two at a time; the longer
version with random points is ``benchmarks/bench_fault_injection.py``."""

import concurrent.futures
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import fault_injection  # noqa: E402

TRAIN_ARGS = ["--small", "--total-steps", "400", "--eval-period", "100",
              "--checkpoint-period", "100", "--eval-episodes", "2"]
SCENARIOS = {
    "kill -9 between the checkpoint's two renames": [("rename", 5, "KILL")],
    "kill -9 while the checkpoint's files are fsynced": [("fsync", 12, "KILL")],
    "kill -9 halfway through a row": [("row", 25, "KILL")],
    "SIGTERM inside an evaluation, SIGINT inside the replayed one": [
        ("evaluate", 2, "TERM"), ("evaluate", 1, "INT")],
    "SIGTERM inside a checkpoint write (deferred to its end)": [("fsync", 14, "TERM")],
    "SIGINT inside a row write (deferred)": [("row", 30, "INT")],
    "kill -9 mid-step, then kill -9 inside an evaluation": [
        ("act", 230, "KILL"), ("evaluate", 2, "KILL")],
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")

    def one(item):
        index, (name, faults) = item
        out = root / f"run{index}"
        counts = fault_injection.crash_and_resume(out, TRAIN_ARGS, faults)
        return name, (counts, fault_injection.check_run(out))

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        return dict(pool.map(one, enumerate(SCENARIOS.items())))


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_a_crashed_and_resumed_run_loses_no_row(outcomes, name):
    counts, report = outcomes[name]
    assert counts["crashes"] == len(SCENARIOS[name])  # every fault fired
    assert report["step"] == report["total_steps"] == 400
    assert fault_injection.rows_lost(report) == 0, report
    assert report["steps_in_order"]
