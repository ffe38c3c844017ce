"""``python -m jstdp``: the ``jstdp`` command (see :mod:`jstdp.cli`)."""

import sys

from jstdp.cli import main

if __name__ == "__main__":
    sys.exit(main())
