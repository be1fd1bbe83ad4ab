"""Worker processes of :func:`observatoire.core.workers.run_groups`: what a signal does to them."""

from __future__ import annotations

import signal

from observatoire.cli import _interrupt, _interrupt_on_sigterm
from observatoire.core.workers import run_groups


def _dispositions() -> tuple[object, object, object]:
    return tuple(signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT))


def test_a_worker_dies_on_sigterm_even_under_the_stages_interrupt_handler():
    """A stage turns SIGTERM into KeyboardInterrupt to clean up; its forked workers must not
    (stopped while writing a large result, one hung the stage for ever): SIGTERM and SIGHUP end
    them, SIGINT is the stage's to handle."""
    previous = _interrupt_on_sigterm()
    try:
        got = run_groups({"a": _dispositions, "b": _dispositions}, workers=2)
        assert signal.getsignal(signal.SIGTERM) is _interrupt  # the stage's own, untouched
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    expected = (signal.SIG_DFL, signal.SIG_DFL, signal.SIG_IGN)
    assert got == {"a": expected, "b": expected}
