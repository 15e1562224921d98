"""Entry point for ``python -m kplanediag``."""

from kplanediag.cli import main

main()
