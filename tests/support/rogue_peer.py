#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A hostile or broken peer for the master's control port (tests only).

Speaks nng's SP-over-TCP framing by hand (8-byte header "\\0SP\\0" + the
16-bit protocol id + 2 zero bytes, then each message as a 64-bit big-endian
length + payload; a REQ message starts with a 4-byte request id whose high
bit is set) and a tiny msgpack encoder, so that it needs nothing beyond the
Python standard library.

    rogue_peer.py PORT MODE [ARGS...]

Modes (each prints one line "RESULT <word> <detail>" and exits 0 when the
master behaved as it must, 1 otherwise):

  noise       random bytes instead of the SP header: the master closes
  garbage     SP header, then messages with random bodies: each is answered
              with REJECT or the connection is closed, never anything else
  oversized   a frame that claims 9 MiB (above PROTO_MAX_MSG): closed
  unauth      valid HEARTBEAT and BATCH before any handshake: REJECT
  wrongtoken  HELLO, then AUTH with a proof made from a wrong token:
              CHALLENGE, then REJECT
  rehello NAME HOST PID
              HELLO claiming a live agent's identity on a new pipe, a
              second HELLO, then a wrong AUTH: CHALLENGE x2, then REJECT
  flood N     N garbage messages pipelined without reading any reply: the
              master must stay responsive (tested by the caller)
  version     a HELLO with v=2: REJECT "protocol version 2 not supported
              (want 1)"
  unknownid TOKENFILE
              a full handshake with the right token, then a HEARTBEAT, a
              BATCH and a GOODBYE naming another agent id than the one the
              WELCOME gave: each REJECT (naming the id), then a HEARTBEAT
              with the right id is answered normally (the pipe still works)
"""
import hashlib
import hmac
import os
import socket
import struct
import sys

REQ, REP = 0x30, 0x31
T_HELLO, T_CHALLENGE, T_AUTH, T_REJECT, T_HEARTBEAT, T_BATCH = 1, 2, 3, 5, 6, 10
T_WELCOME, T_GOODBYE = 4, 12


# --- msgpack, just enough ---------------------------------------------------

def mp(x):
    if isinstance(x, bool):
        return b"\xc3" if x else b"\xc2"
    if isinstance(x, int):
        if 0 <= x < 128:
            return bytes([x])
        if 0 <= x < 1 << 32:
            return b"\xce" + struct.pack(">I", x)
        return b"\xcf" + struct.pack(">Q", x)
    if isinstance(x, str):
        b = x.encode()
        if len(b) < 32:
            return bytes([0xA0 | len(b)]) + b
        return b"\xd9" + bytes([len(b)]) + b
    if isinstance(x, (bytes, bytearray)):
        return b"\xc4" + bytes([len(x)]) + bytes(x)
    if isinstance(x, list):
        return bytes([0x90 | len(x)]) + b"".join(mp(e) for e in x)
    if isinstance(x, dict):
        out = bytes([0x80 | len(x)])
        for k, v in x.items():
            out += mp(k) + mp(v)
        return out
    raise TypeError(x)


def msg_type(body):
    """The "t" of a decoded reply map (only fixmap + str keys + uint)."""
    if not body or body[0] & 0xF0 != 0x80:
        return None
    i = body.find(b"\xa1t")
    if i < 0 or i + 2 >= len(body):
        return None
    return body[i + 2]


def str_field(body, key):
    """The str value of KEY in a reply map (fixstr or str8 only)."""
    k = bytes([0xA0 | len(key)]) + key.encode()
    i = body.find(k)
    if i < 0:
        return None
    i += len(k)
    if body[i] & 0xE0 == 0xA0:
        n, i = body[i] & 0x1F, i + 1
    elif body[i] == 0xD9:
        n, i = body[i + 1], i + 2
    else:
        return None
    return body[i:i + n].decode(errors="replace")


def uint_field(body, key):
    """The uint value of KEY in a reply map (fixint, uint8/16/32)."""
    k = bytes([0xA0 | len(key)]) + key.encode()
    i = body.find(k)
    if i < 0:
        return None
    i += len(k)
    b = body[i]
    if b < 0x80:
        return b
    size = {0xCC: 1, 0xCD: 2, 0xCE: 4}.get(b)
    return None if size is None else int.from_bytes(body[i + 1:i + 1 + size], "big")


# --- SP over TCP -------------------------------------------------------------

class Peer:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.rid = 0x80000001

    def handshake(self):
        self.s.sendall(b"\x00SP\x00" + struct.pack(">H", REQ) + b"\x00\x00")
        h = self._read(8)
        return h is not None and h[:4] == b"\x00SP\x00" and \
            struct.unpack(">H", h[4:6])[0] == REP

    def _read(self, n):
        d = b""
        while len(d) < n:
            try:
                c = self.s.recv(n - len(d))
            except (ConnectionResetError, socket.timeout):
                return None
            if not c:
                return None
            d += c
        return d

    def send(self, body):
        p = struct.pack(">I", self.rid) + body
        self.rid = 0x80000000 | ((self.rid + 1) & 0x7FFFFFFF)
        try:
            self.s.sendall(struct.pack(">Q", len(p)) + p)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def recv(self):
        """The reply body (request id stripped), or None when closed."""
        h = self._read(8)
        if h is None:
            return None
        n = struct.unpack(">Q", h)[0]
        d = self._read(n)
        return None if d is None or len(d) < 4 else d[4:]

    def closed(self):
        """True when the master closed the connection (EOF within 5 s);
        whatever it sent before (its SP header) is skipped."""
        try:
            while self.s.recv(4096) != b"":
                pass
            return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False


def env(t, **kw):
    m = {"v": 1, "t": t, "ts": 12345}
    m.update(kw)
    return mp(m)


def hello(name="rogue", host="rogue-host", pid=4242, nonce=None):
    return env(T_HELLO, name=name, host=host, pid=pid, thr=1,
               nonce=nonce or os.urandom(16))


def result(ok, word, detail=""):
    print("RESULT %s %s %s" % ("ok" if ok else "FAIL", word, detail))
    sys.exit(0 if ok else 1)


def main():
    port, mode, args = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    p = Peer(port)
    if mode == "noise":
        p.s.sendall(os.urandom(64))
        result(p.closed(), "noise", "connection closed")
    if not p.handshake():
        result(False, mode, "no SP handshake from the master")
    if mode == "garbage":
        seen = []
        for _ in range(8):
            body = os.urandom(1 + os.urandom(1)[0])
            if not p.send(body):
                seen.append("closed")
                break
            r = p.recv()
            if r is None:
                seen.append("closed")
                break
            seen.append("reject" if msg_type(r) == T_REJECT else "other")
        result("other" not in seen, "garbage", ",".join(seen))
    if mode == "oversized":
        p.s.sendall(struct.pack(">Q", 9 * 1024 * 1024) + b"\x80\x00\x00\x01")
        try:
            p.s.sendall(b"\x81" * 65536)
        except (BrokenPipeError, ConnectionResetError):
            pass
        result(p.closed(), "oversized", "connection closed")
    if mode == "unauth":
        seen = []
        hb = env(T_HEARTBEAT, id=1, st=2, users=1, infl=0, acked=0, text="")
        op = {"n": 0, "e": 0, "bs": 0, "br": 0, "lat": [], "svc": [],
              "err": []}
        batch = env(T_BATCH, id=1, seq=1, iv=0, users=1, ops=[op] * 7)  # one per enum op (OP_COUNT)
        for body in (hb, batch):
            p.send(body)
            r = p.recv()
            seen.append("closed" if r is None else
                        "reject" if msg_type(r) == T_REJECT else "other")
        result(seen == ["reject", "reject"], "unauth", ",".join(seen))
    if mode in ("wrongtoken", "rehello"):
        seen = []
        ident = {}
        if mode == "rehello":
            ident = {"name": args[0], "host": args[1], "pid": int(args[2])}
        n_hello = 2 if mode == "rehello" else 1
        nonce_a = os.urandom(16)
        nonce_m = None
        for _ in range(n_hello):
            p.send(hello(nonce=nonce_a, **ident))
            r = p.recv()
            if r is None or msg_type(r) != T_CHALLENGE:
                seen.append("closed" if r is None else "other")
                result(False, mode, ",".join(seen))
            seen.append("challenge")
            i = r.find(b"\xa5nonce\xc4\x10")
            nonce_m = r[i + 8:i + 24]
        proof = hmac.new(b"not-the-token", b"kato-stress/1 agent" + nonce_m +
                         nonce_a, hashlib.sha256).digest()
        p.send(env(T_AUTH, proof=proof))
        r = p.recv()
        seen.append("closed" if r is None else
                    "reject" if msg_type(r) == T_REJECT else "other")
        result(seen[-1] == "reject", mode, ",".join(seen))
    if mode == "version":
        m = {"v": 2, "t": T_HELLO, "ts": 12345, "name": "rogue-v2",
             "host": "rogue-host", "pid": 4242, "thr": 1,
             "nonce": os.urandom(16)}
        p.send(mp(m))
        r = p.recv()
        if r is None:
            result(False, mode, "closed without a reply")
        why = str_field(r, "why") or ""
        result(msg_type(r) == T_REJECT and
               why == "protocol version 2 not supported (want 1)",
               mode, "why=%r" % why)
    if mode == "unknownid":
        with open(args[0], "rb") as f:
            token = f.read().rstrip()
        nonce_a = os.urandom(16)
        p.send(hello(name="rogue-id", nonce=nonce_a))
        r = p.recv()
        if r is None or msg_type(r) != T_CHALLENGE:
            result(False, mode, "no CHALLENGE")
        i = r.find(b"\xa5nonce\xc4\x10")
        nonce_m = r[i + 8:i + 24]
        proof = hmac.new(token, b"kato-stress/1 agent" + nonce_m + nonce_a,
                         hashlib.sha256).digest()
        p.send(env(T_AUTH, proof=proof))
        r = p.recv()
        if r is None or msg_type(r) != T_WELCOME:
            result(False, mode, "no WELCOME")
        own = uint_field(r, "id")
        other = own + 1000
        op = {"n": 0, "e": 0, "bs": 0, "br": 0, "lat": [], "svc": [],
              "err": []}
        msgs = [
            env(T_HEARTBEAT, id=other, st=0, users=0, infl=0, acked=0,
                text=""),
            env(T_BATCH, id=other, seq=1, iv=0, users=1, ops=[op] * 7),
            env(T_GOODBYE, id=other, last=1, req=[0] * 7, err=[0] * 7),
        ]
        seen = []
        for body in msgs:
            p.send(body)
            r = p.recv()
            if r is None:
                seen.append("closed")
                break
            why = str_field(r, "why") or ""
            seen.append("reject" if msg_type(r) == T_REJECT and
                        ("unknown agent id %d" % other) in why else
                        "other(%s)" % why)
        p.send(env(T_HEARTBEAT, id=own, st=0, users=0, infl=0, acked=0,
                   text=""))
        r = p.recv()
        seen.append("closed" if r is None else
                    "reject" if msg_type(r) == T_REJECT else "answered")
        result(seen == ["reject"] * 3 + ["answered"], mode,
               "id=%d claimed=%d %s" % (own, other, ",".join(seen)))
    if mode == "flood":
        n = int(args[0]) if args else 1000
        sent = 0
        p.s.settimeout(2)
        for _ in range(n):
            if not p.send(os.urandom(24)):
                break
            sent += 1
        result(True, "flood", "sent=%d" % sent)
    result(False, mode, "unknown mode")


if __name__ == "__main__":
    main()
