#!/usr/bin/env python3
"""Prints N distinct free TCP ports on 127.0.0.1, one a line.

Binds port 0 N times (all sockets open at once, so the ports differ), reads
the ports the kernel chose, and closes the sockets. Another process could
take a port between this close and the server's bind: the race is tiny on
a benchmark machine, and the server then fails to start loudly (EADDRINUSE)
rather than measuring the wrong thing. Servers that can bind port 0
themselves (the gateway) do so instead.

Usage: free_ports.py N
"""

import socket
import sys


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        for s in sockets:
            print(s.getsockname()[1])
    finally:
        for s in sockets:
            s.close()


if __name__ == "__main__":
    main()
