"""`python -m hack.controlplane build|up|down|status|env`, from the repository root."""

import sys

from hack.controlplane.cli import main

sys.exit(main())
