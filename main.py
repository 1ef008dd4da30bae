"""The field app: `python main.py [--web] [--port N] [--data DIR]` does what `ntm-field app` does."""

import sys

from ntm_field.cli import main

raise SystemExit(main(["app", *sys.argv[1:]]))
