"""Run the command-line interface with ``python -m dwa_rater``."""

from __future__ import annotations

from dwa_rater.cli.main import main

if __name__ == "__main__":
    main()
