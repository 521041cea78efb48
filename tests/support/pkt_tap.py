#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Records the TCP payload that crosses one interface, to or from a port.

    pkt_tap.py IFACE PORT CAPTURE_FILE READY_FILE [SECONDS]

A packet socket (AF_PACKET, needs root; tcpdump is not needed) bound to
IFACE sees every frame in both directions. For each IPv4 TCP segment with
PORT as its source or destination port, the payload is appended to
CAPTURE_FILE. Writes READY_FILE once the socket is bound, and a summary
line "frames=N segments=S payload_bytes=B" to stdout when it stops: on
SIGTERM, or after SECONDS (default 60), so a forgotten tap cannot stay.
Run it inside a network namespace with "ip netns exec NS pkt_tap.py ...":
the tests in tests/multihost watch the master's eth0 this way.
"""
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800


def tcp_payload(frame, port):
    """The frame's TCP payload when it is IPv4/TCP to or from port."""
    if len(frame) < 14 + 20 or struct.unpack("!H", frame[12:14])[0] != ETH_P_IP:
        return None
    ip = frame[14:]
    ihl = (ip[0] & 0x0F) * 4
    if ip[0] >> 4 != 4 or ip[9] != socket.IPPROTO_TCP or len(ip) < ihl + 20:
        return None
    total = struct.unpack("!H", ip[2:4])[0]
    tcp = ip[ihl:total]
    sport, dport = struct.unpack("!HH", tcp[0:4])
    if port not in (sport, dport):
        return None
    return tcp[(tcp[12] >> 4) * 4 :]


def main():
    iface, port, capture, ready = sys.argv[1:5]
    port = int(port)
    lifetime = float(sys.argv[5]) if len(sys.argv) > 5 else 60.0
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    s.settimeout(0.2)
    frames = segments = nbytes = 0
    end = time.monotonic() + lifetime
    with open(capture, "ab") as cap:
        with open(ready, "w") as r:
            r.write("ready\n")
        while not stop and time.monotonic() < end:
            try:
                frame = s.recv(262144)
            except socket.timeout:
                continue
            except InterruptedError:
                continue
            frames += 1
            p = tcp_payload(frame, port)
            if p is None:
                continue
            segments += 1
            if p:
                nbytes += len(p)
                cap.write(p)
                cap.flush()
    print("frames=%d segments=%d payload_bytes=%d" % (frames, segments, nbytes))


if __name__ == "__main__":
    main()
