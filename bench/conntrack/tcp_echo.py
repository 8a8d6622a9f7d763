#!/usr/bin/env python3
"""TCP echo server and controlled client for tcp_window_facts.sh.

server PORT                     echo every connection (threads), forever
client HOST PORT DIR NBYTES     connect, exchange 100 bytes, print "port N", wait
                                for DIR/go, echo NBYTES ("result ok|short|fail"),
                                wait for DIR/end, then: DIR/rst -> close with RST
"""
import os
import socket
import struct
import sys
import threading
import time


def wait_for(path, limit=30.0):
    deadline = time.time() + limit
    while not os.path.exists(path) and time.time() < deadline:
        time.sleep(0.02)


def server(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(16)

    def echo(c):
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
        except OSError:
            pass
        c.close()

    while True:
        c, _ = s.accept()
        threading.Thread(target=echo, args=(c,), daemon=True).start()


def client(host, port, d, nbytes):
    c = socket.create_connection((host, port), timeout=10)
    print("port", c.getsockname()[1], flush=True)
    c.sendall(b"x" * 100)
    got = 0
    while got < 100:
        got += len(c.recv(65536))
    wait_for(os.path.join(d, "go"))
    data = os.urandom(nbytes)
    t0 = time.time()
    c.settimeout(8)
    sender = threading.Thread(target=lambda: c.sendall(data), daemon=True)
    got = 0
    try:
        sender.start()
        while got < nbytes:
            chunk = c.recv(1 << 20)
            if not chunk:
                break
            got += len(chunk)
        print("result", "ok" if got == nbytes else "short", got, "%.3fs" % (time.time() - t0), flush=True)
    except OSError as e:
        print("result fail", type(e).__name__, got, "%.3fs" % (time.time() - t0), flush=True)
    wait_for(os.path.join(d, "end"))
    if os.path.exists(os.path.join(d, "rst")):
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(int(sys.argv[2]))
    else:
        client(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]))
