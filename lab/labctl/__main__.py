"""``python -m lab.labctl``: the lab's command line (lab/labctl/cli.py)."""

import sys

from lab.labctl.cli import main

sys.exit(main())
