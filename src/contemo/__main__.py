"""`python -m contemo` is the `contemo` command."""

import sys

from contemo.cli import main

sys.exit(main())
