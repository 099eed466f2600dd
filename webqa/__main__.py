"""``python -m webqa`` is the ``webqa`` console script."""

import sys

from .cli import main

sys.exit(main())
