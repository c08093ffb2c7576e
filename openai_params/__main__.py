"""``python -m openai_params``: the command line (see :mod:`openai_params.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
