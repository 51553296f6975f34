"""``python -m models``: the headless CLI."""

import sys

from .io.cli import main

sys.exit(main())
