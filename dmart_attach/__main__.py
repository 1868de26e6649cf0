"""`python -m dmart_attach` runs the command line."""

import sys

from dmart_attach.cli import main

sys.exit(main())
