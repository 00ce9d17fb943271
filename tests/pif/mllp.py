#!/usr/bin/env python3
"""mllp.py: a small MLLP client for tests/pif/feed.test (python3 standard library only).

  mllp.py PORT send MSG...   one connection; each MSG (segments separated by newlines) framed,
                             sent, its acknowledgement printed (segments on lines), then "--"
  mllp.py PORT burst MSG...  every frame in one write, then each acknowledgement as above
  mllp.py PORT trickle MSG   one frame sent a few bytes at a time, then its acknowledgement
  mllp.py PORT raw TEXT      TEXT (Python escapes: \\x0b, \\r ...) sent as it is; prints any
                             answer, then "closed" when the server closed the connection or
                             "open" when it still was open after 3 seconds
  mllp.py PORT big N MSG     MSG followed by a filler segment, N bytes in all, in one frame
  mllp.py PORT slow SECONDS  a frame begun and never ended; prints "closed after N s" when the
                             server closes it within SECONDS, "open" otherwise
  mllp.py PORT many N        N connections opened and held; prints how many the server kept
"""
import socket
import sys
import time

SB, EB, CR = b"\x0b", b"\x1c", b"\x0d"


def frame(msg):
    return SB + msg.replace("\n", "\r").encode("utf-8") + EB + CR


def read_ack(s, timeout=10):
    s.settimeout(timeout)
    data = b""
    while EB + CR not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise SystemExit("connection closed before the acknowledgement: %r" % data)
        data += chunk
    body = data[data.index(SB) + 1 : data.index(EB)]
    print(body.decode("utf-8", "replace").replace("\r", "\n").rstrip("\n"))
    print("--")
    return data[data.index(EB) + 2 :]


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def main():
    port, mode, args = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    s = connect(port)
    if mode == "send":
        for m in args:
            s.sendall(frame(m))
            read_ack(s)
    elif mode == "burst":
        s.sendall(b"".join(frame(m) for m in args))
        s.settimeout(10)
        data = b""
        while data.count(EB + CR) < len(args):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        for part in data.split(EB + CR)[: len(args)]:
            print(part[part.index(SB) + 1 :].decode().replace("\r", "\n").rstrip("\n"))
            print("--")
    elif mode == "trickle":
        f = frame(args[0])
        for i in range(0, len(f), 7):
            s.sendall(f[i : i + 7])
            time.sleep(0.01)
        read_ack(s)
    elif mode == "raw":
        s.sendall(args[0].encode("latin-1").decode("unicode_escape").encode("latin-1"))
        s.settimeout(3)
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    if out:
                        print(out.decode("utf-8", "replace").replace("\r", "\n"))
                    print("closed")
                    return
                out += chunk
        except socket.timeout:
            if out:
                print(out.decode("utf-8", "replace").replace("\r", "\n"))
            print("open")
    elif mode == "big":
        n, m = int(args[0]), args[1].replace("\n", "\r").rstrip("\r").encode() + CR
        filler = b"NTE|1||" + b"x" * max(0, n - len(m) - 8) + b"\r"
        s.sendall(SB + m + filler[: n - len(m)] + EB + CR)
        read_ack(s, timeout=20)
    elif mode == "slow":
        s.sendall(SB + b"MSH|^~\\&|A|B|||||ADT^A01|SLOW|P|2.5\r")
        t0 = time.time()
        s.settimeout(float(args[0]))
        try:
            while s.recv(4096):
                pass
            print("closed after %d s" % round(time.time() - t0))
        except socket.timeout:
            print("open")
    elif mode == "many":
        conns = [s] + [connect(port) for _ in range(int(args[0]) - 1)]
        time.sleep(0.5)
        kept = 0
        for c in conns:
            c.settimeout(0.5)
            try:
                kept += 1 if c.recv(1) != b"" else 0
            except socket.timeout:
                kept += 1  # still open, nothing to read
            except OSError:
                pass
        print(kept)
    s.close()


main()
