"""`python -m runs.sdk` is the `studio` command."""

import sys

from runs.sdk.cli import main

sys.exit(main())
