"""``python -m octodns_rancher`` runs the CLI."""

import sys

from .cli import main

sys.exit(main())
