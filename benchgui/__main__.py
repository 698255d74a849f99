"""``python -m benchgui`` is the same as the ``benchgui`` command."""

import sys

from benchgui.cli import main

sys.exit(main())
