"""`python -m runs.sdk`: the `studio` command."""

import sys

from runs.sdk.cli import main

sys.exit(main())
