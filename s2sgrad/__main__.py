"""`python -m s2sgrad ...` runs the command line (see s2sgrad.tools.cli)."""
import sys

from .tools.cli import main

sys.exit(main())
