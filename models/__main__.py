"""``python -m models``: the headless CLI."""

import sys

from models.cli import main

sys.exit(main())
