"""`python -m s2sgrad ...` runs the command line (see s2sgrad.cli)."""
import sys

from .cli import main

sys.exit(main())
