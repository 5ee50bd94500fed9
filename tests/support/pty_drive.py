#!/usr/bin/env python3
"""Runs a command on a pseudo-terminal (stdin, stdout and stderr all the pty, as an operator's
shell would) and drives it: each --expect waits for text in its output, each --send types a
line, each --key types keys without Enter. Writes everything the command printed to --transcript and exits with its exit code
(124 when an --expect was not seen in time, after killing the command).

  pty_drive.py --transcript FILE [--timeout S] [--expect TEXT | --send LINE | --key KEYS]... -- CMD ARGS...
"""
import argparse
import os
import pty
import select
import signal
import sys
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--transcript", required=True)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--expect", action="append", dest="script", type=lambda t: ("expect", t))
    parser.add_argument("--send", action="append", dest="script", type=lambda t: ("send", t))
    parser.add_argument("--key", action="append", dest="script", type=lambda t: ("key", t))
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(command[0], command)
    output = b""
    seen = 0  # the part of the output an earlier --expect already matched

    def read_some(wait):
        nonlocal output
        ready, _, _ = select.select([fd], [], [], wait)
        if not ready:
            return True
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return False
        if not chunk:
            return False
        output += chunk
        return True

    status = 0
    for action, text in args.script or []:
        if action in ("send", "key"):  # a line, or keys without Enter (Ctrl-C)
            os.write(fd, text.encode() + (b"\n" if action == "send" else b""))
            continue
        deadline = time.monotonic() + args.timeout
        while text.encode() not in output[seen:]:
            if time.monotonic() > deadline or not read_some(0.1):
                break
        found = output.find(text.encode(), seen)
        if found < 0:
            os.kill(pid, signal.SIGKILL)
            status = 124
            break
        seen = found + len(text)
    deadline = time.monotonic() + args.timeout
    while True:
        alive = read_some(0.1)
        done, code = os.waitpid(pid, os.WNOHANG)
        if done:
            while read_some(0.05):
                pass
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            _, code = os.waitpid(pid, 0)
            status = status or 124
            break
        if not alive:
            time.sleep(0.05)
    with open(args.transcript, "wb") as out:
        out.write(output)
    if status:
        sys.exit(status)
    sys.exit(os.waitstatus_to_exitcode(code))


if __name__ == "__main__":
    main()
