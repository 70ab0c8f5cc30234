"""notlink.py: something that is not a link server listening on a host's
link endpoint, as an HTTP server or a transparent proxy would: it accepts
every connection, answers whatever it is sent with an HTTP 400, and
closes. Prints "connection N" for each, so a test can count the retries.

    notlink.py ADDRESS PORT
"""
import socket
import sys

REPLY = b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"


def main(address, port):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((address, int(port)))
    srv.listen()
    print("listening", flush=True)
    n = 0
    while True:
        conn, _ = srv.accept()
        n += 1
        print(f"connection {n}", flush=True)
        conn.settimeout(2)
        try:
            conn.recv(4096)
            conn.sendall(REPLY)
        except OSError:
            pass
        conn.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
