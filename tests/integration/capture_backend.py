#!/usr/bin/python3
"""capture_backend.py - an SMTP backend for the integration tests that keeps
every byte it is sent.

For every accepted message it writes, in --dir:
  msg-<n>.eml   the DATA content exactly as received (after dot-unstuffing,
                line endings untouched: a bare CR or LF stays in the file)
  msg-<n>.env   the envelope: peer, helo, mail_from, one rcpt per line
and for every connection:
  conn-<n>.raw  every byte the peer sent on that connection, unmodified
A message file appears only once it is complete (written, then renamed), so a
test may count msg-*.eml at any time.

Usage: capture_backend.py --port PORT --dir DIR [--host 127.0.0.1]
                          [--data-reply "451 4.3.0 try later"]
"""
import argparse
import asyncio
import itertools
import os
import signal
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

_msg_seq = itertools.count(1)
_conn_seq = itertools.count(1)


def _atomic_write(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


class RawSMTP(SMTP):
    """aiosmtpd's SMTP that also writes the raw byte stream of the connection."""

    def __init__(self, *args, outdir, **kw):
        super().__init__(*args, **kw)
        self._raw = open(os.path.join(outdir, "conn-%d.raw" % next(_conn_seq)), "wb", buffering=0)

    def data_received(self, data):
        if not self._raw.closed:
            self._raw.write(data)
        super().data_received(data)

    def connection_lost(self, exc):
        self._raw.close()
        super().connection_lost(exc)


class Handler:
    def __init__(self, outdir, data_reply):
        self.outdir = outdir
        self.data_reply = data_reply

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply:
            return self.data_reply
        n = next(_msg_seq)
        base = os.path.join(self.outdir, "msg-%d" % n)
        env = "peer %s:%s\nhelo %s\nmail_from %s\n" % (
            session.peer[0], session.peer[1], session.host_name, envelope.mail_from)
        env += "".join("rcpt %s\n" % r for r in envelope.rcpt_tos)
        _atomic_write(base + ".env", env.encode())
        _atomic_write(base + ".eml", envelope.original_content)
        return "250 2.0.0 Ok: captured as msg-%d" % n


class RawController(Controller):
    def __init__(self, handler, outdir, **kw):
        self._outdir = outdir
        super().__init__(handler, **kw)

    def factory(self):
        return RawSMTP(self.handler, outdir=self._outdir, decode_data=False,
                       data_size_limit=64 * 1024 * 1024, enable_SMTPUTF8=True,
                       hostname="capture.test")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--data-reply", default=None)
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    ctl = RawController(Handler(a.dir, a.data_reply), a.dir, hostname=a.host, port=a.port,
                        ready_timeout=10)
    ctl.start()
    open(os.path.join(a.dir, "ready"), "w").close()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    try:
        while not stop:
            signal.pause()
    finally:
        ctl.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
