"""Start one command and report its wall time and its own peak memory, from a small process.

Run: ``python -S bench/spawn.py RESULT_FILE COMMAND [ARGS...]`` (standard library only, no
site-packages, so this process stays small). Writes ``{"wall": s, "maxrss_kb": n, "status": n}``
to RESULT_FILE; the command inherits stdin, stdout and stderr.

Why a go-between: Linux carries a process's peak RSS across fork and exec, so a child started
directly by the bench (which holds generated calendars, well over 100 MiB) would report the
bench's size, not its own. Started from here it can only inherit this process's ~10 MiB, less
than any Python contender needs by itself.
"""

import json
import os
import sys
import time


def main() -> None:
    result_file, command = sys.argv[1], sys.argv[2:]
    began = time.perf_counter()
    pid = os.posix_spawnp(command[0], command, os.environ)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - began
    with open(result_file, "w") as out:
        json.dump(
            {
                "wall": wall,
                "maxrss_kb": usage.ru_maxrss,
                "status": os.waitstatus_to_exitcode(status),
            },
            out,
        )


if __name__ == "__main__":
    main()
