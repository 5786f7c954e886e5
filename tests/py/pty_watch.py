"""Runs a program on a pseudo-terminal and relays it, for tests that drive it step by step.

usage: pty_watch.py [--tell-reads] -- PROGRAM ARGS...
Everything the program writes to the terminal is copied to stdout as it arrives (line endings
as the terminal sends them, `\r\n`). Lines read on stdin are typed into the terminal; the end
of stdin types nothing (a person who stops typing does not press Ctrl-D). Exits with the
program's exit status once it has exited, or with 99 if it is still running after 60 s
(a safety net for a hung program, which is then killed).

With --tell-reads, the first time a thread of the program blocks reading the terminal, a line
`[pty_watch: the program reads the keyboard]` is added to stdout, so that a test can act while
a read is pending, as it is while a person looks at the screen (Linux: /proc/PID/task/*/syscall).
"""
import glob
import os
import pty
import select
import sys
import time

READING = b"\r\n[pty_watch: the program reads the keyboard]\r\n"
# The number of the read(2) system call.
READ_SYSCALL = {"x86_64": "0", "aarch64": "63"}.get(os.uname().machine)


def reads_the_terminal(pid: int) -> bool:
    """Whether a thread of `pid` is blocked in read(0, ...)."""
    for task in glob.glob(f"/proc/{pid}/task/*/syscall"):
        try:
            fields = open(task).read().split()
        except OSError:
            continue
        if len(fields) > 1 and fields[0] == READ_SYSCALL and int(fields[1], 16) == 0:
            return True
    return False


def main() -> int:
    sep = sys.argv.index("--")
    argv = sys.argv[sep + 1 :]
    tell_reads = "--tell-reads" in sys.argv[1:sep]
    if tell_reads and READ_SYSCALL is None:
        sys.stderr.write(f"pty_watch: cannot see reads on {os.uname().machine}\n")
        return 98
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    deadline = time.monotonic() + 60
    stdin = sys.stdin.fileno()
    watched = [fd, stdin]
    out = sys.stdout.buffer
    told_reading = not tell_reads
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            sys.stderr.write("pty_watch: the program was still running after 60 s\n")
            return 99
        # While a read is awaited, look at the program every 10 ms.
        wait = remaining if told_reading else min(remaining, 0.01)
        ready, _, _ = select.select(watched, [], [], wait)
        if not ready and not told_reading and reads_the_terminal(pid):
            told_reading = True
            out.write(READING)
            out.flush()
        if stdin in ready:
            line = os.read(stdin, 4096)
            if line:
                os.write(fd, line.replace(b"\n", b"\r"))
            else:
                watched.remove(stdin)
        if fd in ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                # EIO: every holder of the terminal closed it, i.e. the program is gone.
                chunk = b""
            if not chunk:
                break
            out.write(chunk)
            out.flush()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
