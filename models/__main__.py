"""``python -m models``: the headless CLI."""

import sys

from models.io.cli import main

sys.exit(main())
