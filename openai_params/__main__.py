"""``python -m openai_params``: the command line (see :mod:`openai_params.cli`)."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
