"""``python -m models``: the headless CLI."""

import sys

from .cli.main import main

sys.exit(main())
