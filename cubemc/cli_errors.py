"""One line on stderr and a non-zero exit status for every ordinary error of a command line.

Shared by ``python -m cubemc``, ``init.py``, ``project.py`` and ``dashboard.py`` so that each
reports bad input, damaged files, full or read-only disks and Ctrl-C alike:

====  ======================================================================================
2     an error the user can fix (bad argument, damaged or foreign file, disk full, read-only)
75    refused: another process works on the same job (try again later)
130   interrupted (Ctrl-C); the message says how to continue
====  ======================================================================================
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable

from .errors import DeviceError, EngineSelectionError, InputError
from .files import describe_os_error

EXIT_ERROR = 2
EXIT_BUSY = 75
EXIT_INTERRUPTED = 130
#: exceptions whose message is meant for users
USER_ERRORS = (InputError, DeviceError, EngineSelectionError)


def one_line(message) -> str:
    """The text of `message` (an exception or a string) on one line."""
    return " ".join(str(message).split())


def print_error(prog: str, message, *, label: str = "error") -> None:
    print(f"{prog}: {label}: {one_line(message)}", file=sys.stderr, flush=True)


class OneLineArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``name: error: ... (see --help)``), status 2;
    `error_prog` is the name in that line (default: `prog`)."""

    def __init__(self, *args, error_prog: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.error_prog = error_prog or self.prog

    def error(self, message):
        self.exit(EXIT_ERROR, f"{self.error_prog}: error: {one_line(message)} (see --help)\n")


def one_line_warnings(prog: str) -> None:
    """Show Python warnings (e.g. a well range <= 1) as ``prog: warning: ...`` on one line."""

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"{prog}: warning: {one_line(message)}", file=file or sys.stderr, flush=True)

    warnings.showwarning = show


def run_reporting_errors(
    prog: str,
    main: Callable[[], int | None],
    *,
    user_errors=(),
    os_hint: str = "",
    interrupted_hint: str = "",
) -> int:
    """Run `main` and turn ordinary errors into one line on stderr and an exit status.

    `user_errors` are reported with their message; OSError (missing or read-only directory,
    full disk, permission) with the file and the reason, followed by `os_hint`; Ctrl-C as
    ``interrupted`` followed by `interrupted_hint`.  Anything else is a bug and keeps its
    traceback.  Hints may be callables (evaluated only when needed).
    """
    try:
        return main() or 0
    except KeyboardInterrupt:
        return _report_interrupt(prog, interrupted_hint)
    except (*USER_ERRORS, *user_errors) as err:
        print_error(prog, err)
        return EXIT_ERROR
    except OSError as err:
        hint = os_hint() if callable(os_hint) else os_hint
        print_error(prog, describe_os_error(err) + (f"; {hint}" if hint else ""))
        return EXIT_ERROR
    except Exception as err:
        if caused_by_interrupt(err):
            return _report_interrupt(prog, interrupted_hint)
        raise


def _report_interrupt(prog, interrupted_hint) -> int:
    hint = interrupted_hint() if callable(interrupted_hint) else interrupted_hint
    print(f"{prog}: interrupted" + (f"; {one_line(hint)}" if hint else ""), file=sys.stderr, flush=True)
    return EXIT_INTERRUPTED


def caused_by_interrupt(err: BaseException) -> bool:
    """Whether a Ctrl-C is behind `err`: numba turns a KeyboardInterrupt that arrives while it
    loads a kernel from its cache into a SystemError chained to it (seen in CI)."""
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, KeyboardInterrupt):
            return True
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return False
