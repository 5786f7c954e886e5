"""Drives an interactive program through a pseudo-terminal, like a person would.

usage: pty_drive.py SCRIPT_JSON -- PROGRAM ARGS...
SCRIPT_JSON is a list of [expected_text, text_to_send]: wait until the output contains the
expected text (after everything matched so far), then type the text. Prints the transcript
on stdout and exits with the program's exit status. A hung program fails after 30 s.
"""
import json
import os
import pty
import select
import sys
import time


def main() -> int:
    sep = sys.argv.index("--")
    steps = json.loads(sys.argv[1])
    argv = sys.argv[sep + 1 :]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    transcript = b""
    matched = 0
    deadline = time.monotonic() + 30

    def read_some() -> bool:
        nonlocal transcript
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return False
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            return False
        if not chunk:
            return False
        transcript += chunk
        return True

    for expected, send in steps:
        needle = expected.encode()
        while transcript.find(needle, matched) < 0:
            if time.monotonic() > deadline or not read_some():
                sys.stdout.write(transcript.decode(errors="replace"))
                sys.stderr.write(f"\npty_drive: never saw {expected!r}\n")
                os.kill(pid, 9)
                return 99
        matched = transcript.find(needle, matched) + len(needle)
        os.write(fd, send.encode())
    while read_some():
        pass
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(transcript.decode(errors="replace"))
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
