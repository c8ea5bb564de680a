"""A DC server's services in the lab: one process answering its planned TCP and UDP ports.

Run inside the server's namespace (``ip netns exec gvs-<server> python -m govnet.verify.listener NAME tcp/443
udp/53 ...``).  TCP: accept, send ``govnet NAME PORT``, close.  UDP: answer each datagram with the same line.
Standard library only, so it runs anywhere the lab runs.
"""

from __future__ import annotations

import selectors
import signal
import socket
import sys


def serve(name: str, specs: list[str]) -> None:
    sel = selectors.DefaultSelector()
    for spec in specs:
        proto, port = spec.split("/")
        kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
        sock = socket.socket(socket.AF_INET, kind)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("0.0.0.0", int(port)))
        if proto == "tcp":
            sock.listen(64)
        sock.setblocking(False)
        sel.register(sock, selectors.EVENT_READ, (proto, int(port)))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        for key, _ in sel.select():
            proto, port = key.data
            sock = key.fileobj  # type: ignore[assignment]
            assert isinstance(sock, socket.socket)
            banner = f"govnet {name} {proto}/{port}\n".encode()
            try:
                if proto == "tcp":
                    conn, _ = sock.accept()
                    conn.settimeout(1)
                    conn.sendall(banner)
                    conn.close()
                else:
                    _, peer = sock.recvfrom(2048)
                    sock.sendto(banner, peer)
            except OSError:
                continue


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2:])
