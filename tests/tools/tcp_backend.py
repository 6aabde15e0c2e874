#!/usr/bin/env python3
"""A TCP backend for tests: echo, or server-first with a banner.

  --mode echo    echoes bytes; when the client half-closes, sends "bye" and closes
  --mode banner  sends "220 ready\\r\\n" on connect (like SMTP), then echoes

Binds --host (default 127.0.0.1; an IPv6 literal works too) on --port (0: any
free port) and prints "listening on <port>".
"""
import argparse
import socket
import sys
import threading


def serve(conn, mode):
    with conn:
        if mode == "banner":
            conn.sendall(b"220 ready\r\n")
        while True:
            try:
                data = conn.recv(65536)
            except ConnectionResetError:
                return
            if not data:
                break
            conn.sendall(data)
        try:
            conn.sendall(b"bye")
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--mode", choices=["echo", "banner"], default="echo")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    server = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((args.host, args.port))
    server.listen(128)
    print(f"listening on {server.getsockname()[1]}", flush=True)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=serve, args=(conn, args.mode), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
