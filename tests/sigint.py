"""Start a child process that Ctrl-C (SIGINT) can reach, however the test run itself was started.

A shell without job control (a script, ``sh -c '... &'``, ``nohup``) starts a background command
with SIGINT *ignored*, and an ignored signal stays ignored across ``exec``: the Python child then
never installs its KeyboardInterrupt handler, the SIGINT a test sends does nothing, and the child
runs to the end (exit status 0 instead of 130). ``popen_interruptible`` makes SIGINT handled in
this process while the child is started, so the child begins with the default disposition.
"""

import signal
import subprocess
from typing import Any


def popen_interruptible(*args: Any, **kwargs: Any) -> "subprocess.Popen[Any]":
    """``subprocess.Popen(*args, **kwargs)`` with SIGINT not ignored in the child."""
    previous = signal.getsignal(signal.SIGINT)
    if previous == signal.SIG_IGN:
        # A handled signal is reset to the default at exec; an ignored one is not.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return subprocess.Popen(*args, **kwargs)
    finally:
        if previous == signal.SIG_IGN:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
