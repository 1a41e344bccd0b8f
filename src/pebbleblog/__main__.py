"""Allow ``python -m pebbleblog``."""

import sys

from pebbleblog.cli import main

sys.exit(main())
