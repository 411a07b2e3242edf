"""``python -m noisy_helpers``: see :mod:`noisy_helpers.cli`."""

import sys

from .cli import main

sys.exit(main())
