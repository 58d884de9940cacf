"""The ``dwa-rater`` command: mounts one sub-app or command per group, turns errors into messages.

Each ``dwa_rater.cli.<group>`` module exposes ``register(app)``; this module holds no logic.
"""

from __future__ import annotations

import importlib
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from dwa_rater import __version__
from dwa_rater.errors import DwaRaterError

from .logs import configure_logging

app = typer.Typer(
    name="dwa-rater",
    help="Rate work activities for LLM exposure, review contested ones, build indices.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Command-group modules, mounted in this order.
COMMAND_GROUPS: tuple[str, ...] = (
    "rate",
    "providers",
    "batches",
    "ratings",
    "agree",
    "calibrate",
    "estimate",
    "onet",
    "indices",
    "crosswalk",
    "postings",
    "review",
    "study",
    "data",
    "benchmark",
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"dwa-rater {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose", "-v", count=True, help="More log output on stderr (-v info, -vv debug)."
        ),
    ] = 0,
    log_file: Annotated[
        Path | None,
        typer.Option("--log-file", help="Append a detailed, timestamped log to this file."),
    ] = None,
) -> None:
    """Rate work activities for LLM exposure, review contested ones, build indices."""
    configure_logging(verbose, log_file)


for _group in COMMAND_GROUPS:
    importlib.import_module(f"dwa_rater.cli.{_group}").register(app)


def _terminate(signum: int, frame: object) -> None:
    # SIGTERM unwinds like Ctrl-C, so that the embedded model server and other children are
    # stopped by their context managers instead of being orphaned.
    raise KeyboardInterrupt


def _is_usage_error(exc: BaseException) -> bool:
    """True for click's and typer's usage exceptions (unknown option, missing argument, ...).

    typer before 0.22 raises ``click.exceptions.ClickException``; later releases raise their
    vendored ``typer._click`` copies. Both carry ``show()`` and an integer ``exit_code``, so the
    test is by shape rather than by one module's class.
    """
    return callable(getattr(exc, "show", None)) and isinstance(getattr(exc, "exit_code", None), int)


def main() -> None:
    """Entry point: run the app; a ``DwaRaterError`` becomes ``error: ...`` and exit code 2."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        # Outside standalone mode typer returns the exit code of ``typer.Exit`` (and 130 for a
        # KeyboardInterrupt) instead of exiting: pass it on.
        code = app(standalone_mode=False)
    except DwaRaterError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        typer.echo("interrupted; finished ratings are kept", err=True)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:
        if _is_usage_error(exc):
            exc.show()  # type: ignore[attr-defined]  # usage line, hint, message
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]  # 2 for usage errors
        raise
    if isinstance(code, int) and code:
        if code == 130:
            typer.echo("interrupted; finished ratings are kept", err=True)
        sys.exit(code)
