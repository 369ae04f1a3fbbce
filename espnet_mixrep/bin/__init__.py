"""Command lines: thin wrappers over core, the methods, stages and recipes (the
only modules with ``__main__``), and ESPnet's own mains run after our classes
are registered."""

from __future__ import annotations

import functools
import sys
from typing import Callable, TypeVar

from espnet_mixrep.core.datadir import DataDirError

Main = TypeVar("Main", bound=Callable[..., None])


def exit_on_user_error(main: Main) -> Main:
    """A bad corpus, data dir or option value (DataDirError) ends the command with
    ``ERROR: <message>`` on stderr and exit status 1, not a traceback."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except DataDirError as err:
            print(f"ERROR: {err}", file=sys.stderr)
            raise SystemExit(1) from None

    return wrapper  # type: ignore[return-value]
