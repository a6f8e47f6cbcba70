"""Run the demo's Radicale so that it dies with MendCRM, however MendCRM dies.

``python -m mendcrm.demo.child PARENT_PID RADICALE_ARGS…`` runs Radicale's own command line in
this process after two guards:

- the parent holds the write end of our stdin; a thread here waits for EOF (the parent exited,
  was killed, or closed it on purpose) and then sends this process SIGTERM, which Radicale
  handles as a clean shutdown;
- on Linux, ``PR_SET_PDEATHSIG`` has the kernel send SIGTERM when the parent dies, should the
  pipe be held open by something else.

Either alone would do in the common case; together a SIGKILLed ``mendcrm demo`` never leaves a
server listening on the user's loopback.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent_pid: int) -> None:
    """Given the parent's pid, arrange for SIGTERM when it goes; exit now if it already has."""
    if sys.platform.startswith("linux"):
        libc_name = ctypes.util.find_library("c")
        if libc_name:
            libc = ctypes.CDLL(libc_name, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    # The parent may have died before prctl took effect: we were re-parented already.
    if os.getppid() != parent_pid:
        os._exit(0)

    def watch_stdin() -> None:
        try:
            while os.read(0, 4096):
                pass
        except OSError:
            pass
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch_stdin, name="parent-watch", daemon=True).start()


def main(argv: list[str]) -> None:
    """Given ``[PARENT_PID, *radicale_args]``, guard this process and run Radicale."""
    die_with_parent(int(argv[0]))
    from radicale.__main__ import run

    sys.argv = ["radicale", *argv[1:]]
    run()


if __name__ == "__main__":
    main(sys.argv[1:])
