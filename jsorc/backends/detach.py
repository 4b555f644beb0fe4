"""Start a command detached from its parent, print its pid, and exit.

The command runs in its own session and is re-parented to init once this launcher
exits, so it outlives the worker that asked for it and never lingers as that
worker's zombie. Usage: `python -m jsorc.backends.detach LOGFILE -- CMD...`.
"""

import subprocess
import sys


def main(argv: list[str]) -> int:
    log_path, separator, *command = argv
    if separator != "--" or not command:
        print("usage: python -m jsorc.backends.detach LOGFILE -- CMD...", file=sys.stderr)
        return 2
    with open(log_path, "ab") as log:
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    print(child.pid, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
