"""`python -m server.cli` runs the stepback command line."""

import sys

from server.cli import main

sys.exit(main())
