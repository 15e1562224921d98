"""``python -m lab.scale``: the scale clusters' command line (lab/scale/cli.py)."""

import sys

from lab.scale.cli import main

sys.exit(main())
