"""``python -m kquant_gui`` runs the command line."""

import sys

from .cli import main

sys.exit(main())
