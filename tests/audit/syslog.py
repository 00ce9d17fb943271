#!/usr/bin/env python3
"""tests/audit/syslog.py: the audit record repository of tests/audit/syslog.test, and its count.

  syslog.py tls PORTFILE OUT CERT KEY [CLIENT_CA]   RFC 5425 receiver on 127.0.0.1 (port 0: any,
                                                    written to PORTFILE; or the port PORTFILE holds)
  syslog.py udp PORTFILE OUT                        RFC 5426 receiver, each datagram kept framed
  syslog.py check EXPECT OUT...                     the records in the OUT files, in order
  syslog.py lines FILE                              a file sink's lines, framed like the others

Every byte received is appended to OUT at once (a receiver killed with SIGKILL keeps what it
read). `check` reads the files in the order given, each as a stream of `LEN SP MSG` frames (a
frame cut by the receiver's death at the end of a file is ignored), and checks that every
message is an RFC 5424 message with MSGID IHE+RFC-3881, a meta sequenceId and a well-formed
DICOM AuditMessage; that the sequenceIds seen for the first time come one after the other from
1 (nothing lost, nothing out of order); that there are EXPECT distinct records (at least EXPECT
with EXPECT given as N+); and prints one summary line: records, duplicates, and the number of
records per EventTypeCode and outcome.
"""
import os
import re
import socket
import ssl
import sys
import threading
import xml.etree.ElementTree as ET

HEADER = re.compile(
    rb'^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) \[meta sequenceId="(\d+)"\] \xef\xbb\xbf')


def bind(kind, portfile):
    port = 0
    if os.path.exists(portfile) and os.path.getsize(portfile) > 0:
        port = int(open(portfile).read().strip())
    s = socket.socket(socket.AF_INET, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    os.replace(portfile + ".tmp", portfile)
    return s


def serve_tls(portfile, out, cert, key, client_ca=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    if client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(client_ca)
    s = bind(socket.SOCK_STREAM, portfile)
    s.listen(8)
    sink = open(out, "ab", buffering=0)
    lock = threading.Lock()

    def one(conn):
        try:
            t = ctx.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError) as e:
            with open(out + ".refused", "a") as f:
                f.write("%s\n" % e)
            conn.close()
            return
        while True:
            try:
                data = t.recv(65536)
            except (ssl.SSLError, OSError):
                break
            if not data:
                break
            with lock:
                sink.write(data)
        t.close()

    while True:
        conn, _ = s.accept()
        threading.Thread(target=one, args=(conn,), daemon=True).start()


def serve_udp(portfile, out):
    s = bind(socket.SOCK_DGRAM, portfile)
    sink = open(out, "ab", buffering=0)
    while True:
        data, _ = s.recvfrom(70000)
        sink.write(b"%d %s" % (len(data), data))


def frames(data):
    at = 0
    while at < len(data):
        sp = data.find(b" ", at, at + 12)
        if sp < 0:
            return
        n = int(data[at:sp])
        if sp + 1 + n > len(data):
            return  # cut by the receiver's death
        yield data[sp + 1:sp + 1 + n]
        at = sp + 1 + n
        while at < len(data) and data[at:at + 1] == b"\n":
            at += 1


def check(expect, files):
    seen = {}
    dups = 0
    last = 0
    per = {}
    for path in files:
        data = open(path, "rb").read() if os.path.exists(path) else b""
        for msg in frames(data):
            m = HEADER.match(msg)
            if not m:
                sys.exit("FAIL: not an RFC 5424 audit message: %r" % msg[:120])
            if m.group(1) != b"85" or m.group(6) != b"IHE+RFC-3881":
                sys.exit("FAIL: PRI %s MSGID %s" % (m.group(1), m.group(6)))
            seq = int(m.group(7))
            try:
                root = ET.fromstring(msg[m.end():])
            except ET.ParseError as e:
                sys.exit("FAIL: record %d is not well-formed XML: %s" % (seq, e))
            if root.tag != "AuditMessage":
                sys.exit("FAIL: record %d is <%s>" % (seq, root.tag))
            if seq in seen:
                dups += 1
                if seen[seq] != msg:
                    sys.exit("FAIL: record %d arrived twice with different content" % seq)
                continue
            if seq != last + 1:
                sys.exit("FAIL: record %d came after %d: %s" %
                         (seq, last, "out of order" if seq <= last else "records lost"))
            seen[seq] = msg
            last = seq
            ev = root.find("EventIdentification")
            t = ev.find("EventTypeCode")
            key = "%s/%s" % (t.get("csd-code") if t is not None else ev.find("EventID").get("originalText"),
                             ev.get("EventOutcomeIndicator"))
            per[key] = per.get(key, 0) + 1
    summary = " ".join("%s=%d" % kv for kv in sorted(per.items()))
    print("records=%d duplicates=%d %s" % (len(seen), dups, summary))
    if expect.endswith("+"):
        ok = len(seen) >= int(expect[:-1])
    else:
        ok = len(seen) == int(expect)
    if not ok:
        sys.exit("FAIL: %d records, expected %s" % (len(seen), expect))


def lines(path):
    for line in open(path, "rb").read().split(b"\n"):
        if line:
            sys.stdout.buffer.write(b"%d %s" % (len(line), line))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "tls":
        serve_tls(*sys.argv[2:])
    elif cmd == "udp":
        serve_udp(*sys.argv[2:])
    elif cmd == "check":
        check(sys.argv[2], sys.argv[3:])
    elif cmd == "lines":
        lines(sys.argv[2])
    else:
        sys.exit("usage: see the docstring")
