#!/usr/bin/python3
"""smtpclient.py - a scripted raw SMTP client for the integration tests.

It sends exactly the bytes it is told to (bare CR, bare LF, NUL, pipelined
commands in one segment) and prints the transcript ("C: ..." / "S: ...") on
stdout. Steps, in order:

  '>TEXT'    send TEXT; Python escapes are decoded (\\r \\n \\x00 ...)
  '>@FILE'   send the bytes of FILE unmodified
  '<'        read one complete reply (multi-line aware), expect nothing
  '<CODE'    read one reply and expect it to start with CODE ("250", "4", "554 5.7.1")
  '<!CODE'   read one reply and expect it NOT to start with CODE
  '*'        read everything until the peer closes (or the timeout)
  '~SECS'    sleep SECS (float)
  '@FILE'    wait until FILE exists (bounded by --timeout)
  '+FILE'    create FILE (a signal to the test script)

Exit 0 when every expectation matched, 1 otherwise, 2 on a connect error.
A closed connection makes later reads return "<closed>" (which matches no code).
"""
import argparse
import os
import socket
import sys
import time


def decode(s):
    return s.encode("latin-1").decode("unicode_escape").encode("latin-1")


def show(b):
    return b.decode("latin-1").encode("unicode_escape").decode("ascii")


class Conn:
    def __init__(self, sock, timeout):
        self.s = sock
        self.buf = b""
        self.closed = False
        self.timeout = timeout

    def _fill(self, deadline):
        if self.closed:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.s.settimeout(left)
        try:
            d = self.s.recv(65536)
        except socket.timeout:
            return False
        except OSError:
            d = b""
        if not d:
            self.closed = True
            return False
        self.buf += d
        return True

    def reply(self):
        """One reply: lines until one whose 4th char is a space. None on close/timeout."""
        deadline = time.monotonic() + self.timeout
        lines = []
        while True:
            while b"\n" not in self.buf:
                if not self._fill(deadline):
                    if self.buf and self.closed:
                        lines.append(self.buf)
                        self.buf = b""
                    return lines or None
            line, self.buf = self.buf.split(b"\n", 1)
            lines.append(line + b"\n")
            if len(line) < 4 or line[3:4] != b"-":
                return lines

    def drain(self):
        deadline = time.monotonic() + self.timeout
        while self._fill(deadline):
            pass
        out, self.buf = self.buf, b""
        return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--src", default=None, help="local address to bind (127.0.0.x)")
    ap.add_argument("--timeout", type=float, default=15.0)
    ap.add_argument("--no-banner", action="store_true",
                    help="do not read the 220 banner before the first step")
    ap.add_argument("steps", nargs="*")
    a = ap.parse_args()

    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if a.src:
        s.bind((a.src, 0))
    s.settimeout(a.timeout)
    try:
        s.connect((a.host, a.port))
    except OSError as e:
        print("E: connect: %s" % e)
        return 2
    c = Conn(s, a.timeout)
    ok = True
    steps = list(a.steps)
    if not a.no_banner:
        steps.insert(0, "<")
    for st in steps:
        if st.startswith(">"):
            data = open(st[2:], "rb").read() if st.startswith(">@") else decode(st[1:])
            try:
                s.sendall(data)
                print("C: " + show(data) if len(data) < 2000 else "C: <%d bytes>" % len(data))
            except OSError as e:
                print("C: <send failed: %s>" % e)
        elif st.startswith("<"):
            r = c.reply()
            text = b"".join(r) if r else b"<closed>" if c.closed else b"<timeout>"
            for line in (r or [text]):
                print("S: " + show(line.rstrip(b"\r\n")))
            want = st[1:]
            if want.startswith("!"):
                if text.startswith(want[1:].encode()):
                    print("X: unexpected reply (did not want %s)" % want[1:])
                    ok = False
            elif want and not text.startswith(want.encode()):
                print("X: expected %s" % want)
                ok = False
        elif st == "*":
            d = c.drain()
            for line in d.split(b"\n"):
                if line:
                    print("S: " + show(line.rstrip(b"\r")))
            print("S: <closed>" if c.closed else "S: <timeout>")
        elif st.startswith("~"):
            time.sleep(float(st[1:]))
        elif st.startswith("@"):
            deadline = time.monotonic() + a.timeout
            while not os.path.exists(st[1:]) and time.monotonic() < deadline:
                time.sleep(0.05)
            if not os.path.exists(st[1:]):
                print("X: timed out waiting for %s" % st[1:])
                ok = False
                break
        elif st.startswith("+"):
            open(st[1:], "w").close()
        else:
            print("E: bad step %r" % st)
            return 2
    s.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
