#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A loopback TCP relay that records every byte it forwards.

    tcp_tap.py LISTEN_PORT TARGET_PORT CAPTURE_FILE READY_FILE

Accepts connections on 127.0.0.1:LISTEN_PORT, relays each to
127.0.0.1:TARGET_PORT, and appends the bytes of both directions to
CAPTURE_FILE, so a test can check what crossed the wire without tcpdump
or root. Writes READY_FILE once listening. Runs until killed; each
connection lasts at most 60 s and the relay at most 120 s.
"""
import socket
import sys
import threading
import time

LIFETIME_S = 120


def pump(src, dst, cap, lock):
    src.settimeout(60)
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            with lock:
                cap.write(b)
                cap.flush()
            dst.sendall(b)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main():
    lport, tport, capture, ready = sys.argv[1:5]
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(lport)))
    ls.listen(16)
    ls.settimeout(1)
    lock = threading.Lock()
    cap = open(capture, "ab")
    with open(ready, "w") as f:
        f.write("ready\n")
    end = time.monotonic() + LIFETIME_S
    while time.monotonic() < end:
        try:
            c, _ = ls.accept()
        except socket.timeout:
            continue
        try:
            u = socket.create_connection(("127.0.0.1", int(tport)), timeout=5)
        except OSError:
            c.close()
            continue
        for a, b in ((c, u), (u, c)):
            threading.Thread(target=pump, args=(a, b, cap, lock),
                             daemon=True).start()


if __name__ == "__main__":
    main()
