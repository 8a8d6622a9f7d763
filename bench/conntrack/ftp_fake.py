#!/usr/bin/env python3
"""Minimal FTP control peers for ftp_expect_facts.sh: enough protocol for the
kernel's FTP helper to create expectations (it parses PORT and 227 replies).

server             listen on 21; answer PASV with 227 (port 10000), PORT with 200
client DIR         connect to 203.0.113.2:21, USER, PORT 198,51,100,2,200,10, wait
                   for DIR/end, QUIT
listen ADDR PORT   accept one data connection for 5 s, print who connected
connect ADDR PORT  open a data connection, print the outcome
"""
import os
import socket
import sys
import time


def server():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 21))
    s.listen(4)
    while True:
        c, _ = s.accept()
        c.sendall(b"220 fake\r\n")
        for line in c.makefile("rb"):
            text = line.decode(errors="replace").strip()
            if text.startswith("PASV"):
                c.sendall(b"227 Entering Passive Mode (203,0,113,2,39,16)\r\n")
            elif text.startswith("QUIT"):
                c.sendall(b"221 bye\r\n")
                break
            else:
                c.sendall(b"200 ok\r\n")
        c.close()


def client(d):
    c = socket.create_connection(("203.0.113.2", 21), timeout=5)
    f = c.makefile("rb")
    f.readline()
    # The helper ignores a PORT that is the first command of the connection
    # (measured); real clients log in first.
    c.sendall(b"USER anonymous\r\n")
    f.readline()
    c.sendall(b"PORT 198,51,100,2,200,10\r\n")
    print(f.readline().decode().strip(), flush=True)
    deadline = time.time() + 30
    while not os.path.exists(os.path.join(d, "end")) and time.time() < deadline:
        time.sleep(0.05)
    c.sendall(b"QUIT\r\n")


def listen(addr, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the previous run's TIME_WAIT
    s.bind((addr, port))
    s.listen(1)
    s.settimeout(5)
    try:
        _, peer = s.accept()
        print("data connection from", peer[0], flush=True)
    except OSError:
        print("no data connection", flush=True)


def connect(addr, port):
    try:
        socket.create_connection((addr, port), timeout=3)
        print("connected", flush=True)
    except OSError as e:
        print("connect failed:", type(e).__name__, flush=True)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "server":
        server()
    elif cmd == "client":
        client(sys.argv[2])
    elif cmd == "listen":
        listen(sys.argv[2], int(sys.argv[3]))
    else:
        connect(sys.argv[2], int(sys.argv[3]))
