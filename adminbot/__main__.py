"""`python -m adminbot` is the same as the `adminbot` console script."""

import sys

from adminbot.cli import main

sys.exit(main())
