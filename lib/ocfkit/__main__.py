"""``python3 -m ocfkit`` is the ``ocfkit`` command."""

import sys

from ocfkit.cli import main

sys.exit(main())
