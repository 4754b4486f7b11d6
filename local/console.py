"""What the terminal of ``make run`` shows: the banner, the stack's own lines (start, stop,
progress, failures) and, only with LISOLOO_LOCAL_VERBOSE=1, everything else (each request,
the handlers' INFO logs, their metrics, the SAM translator's notices)."""

from __future__ import annotations

import logging
import sys
import warnings
from typing import IO, Any

# Libraries whose warnings say nothing to someone running the stack (the SAM translator's
# "Feature 'normalized_open_api_version' not available in Feature Toggle Config", moto's server).
_CHATTY_LIBRARIES = ("samtranslator", "werkzeug")


def configure_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))
    local_logger = logging.getLogger("local")
    local_logger.addHandler(handler)
    local_logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    # Not via the root logger: Powertools' loggers propagate and would print every line twice.
    local_logger.propagate = False
    quiet_libraries(verbose)
    # Metrics are disabled locally (POWERTOOLS_METRICS_DISABLED), so every flush would warn.
    warnings.filterwarnings("ignore", message="No application metrics to publish")


def quiet_libraries(verbose: bool = False) -> None:
    for library in _CHATTY_LIBRARIES:
        logging.getLogger(library).setLevel(logging.INFO if verbose else logging.ERROR)


class FunctionOutput:
    """Standard output once the banner is out: what the functions print there (Powertools'
    metrics, as EMF JSON; in Lambda it goes to CloudWatch) goes to stderr when verbose, and
    nowhere otherwise."""

    def __init__(self, verbose: bool, to: IO[str] | None = None) -> None:
        self._to = (to or sys.__stderr__) if verbose else None

    def write(self, text: str) -> int:
        if self._to is not None:
            self._to.write(text)
        return len(text)

    def flush(self) -> None:
        if self._to is not None:
            self._to.flush()

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        return getattr(sys.__stdout__, name)
