"""A second process that holds a run folder's lock (``run_folder.claim_run_folder``), for the
tests of one writer at a time in test_run_folder.py, test_training.py and test_cli.py."""

import contextlib
import subprocess
import sys

_HOLD = """
import sys, time
from noisy_helpers.run_folder import claim_run_folder
with claim_run_folder(sys.argv[1], "resume", resume=True):
    print("held", flush=True)
    time.sleep(120)
"""


@contextlib.contextmanager
def held_by_another_process(run):
    """While the block runs, another Python process holds ``run`` (a run folder), as a run
    resumed there would; it is killed when the block ends."""
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(run)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield run
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
