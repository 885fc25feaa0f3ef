"""Stopping the main thread when someone cancels the run: a KeyboardInterrupt, always.

A real SIGINT aimed at the main thread interrupts blocking system calls, so it is
used when Python handles SIGINT. A script started with `&` from a non-interactive
shell (or under `nohup` from one) inherits SIGINT *ignored*: there, neither a
SIGINT nor `_thread.interrupt_main()` does anything, and the run would show
Canceled while the script goes on. Then the exception is raised in the main
thread directly (CPython's PyThreadState_SetAsyncExc), which it sees at its next
bytecode: a loop that logs, computes or sleeps briefly stops at once.
"""

from __future__ import annotations

import _thread
import ctypes
import logging
import signal
import threading

logger = logging.getLogger("runs.sdk")


def interrupt_main() -> None:
    """Raise KeyboardInterrupt in the main thread, whatever SIGINT's disposition."""
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler) and hasattr(signal, "pthread_kill"):
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
    elif handler in (signal.SIG_IGN, None):
        raise_in_main(KeyboardInterrupt)
    else:
        _thread.interrupt_main()


def raise_in_main(exc_type: type[BaseException]) -> bool:
    """Raise `exc_type` in the main thread at its next bytecode; False if it could not."""
    ident = threading.main_thread().ident
    if ident is None or ident == threading.get_ident():
        return False
    try:
        set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
    except AttributeError:  # not CPython
        logger.error("cannot interrupt the main thread here: SIGINT is ignored")
        return False
    done = set_async_exc(ctypes.c_ulong(ident), ctypes.py_object(exc_type))
    return done == 1
