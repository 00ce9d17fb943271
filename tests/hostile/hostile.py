#!/usr/bin/env python3
"""hostile.py: hostile requests for tests/hostile/hostile.test, on raw sockets so that every byte
is the test's own (python3 standard library only).

  hostile.py PORT CASE [ARG...]

Each SOAP case prints what a client sees, one `key=value` per line:
  http=413                    the HTTP status (0: the server closed without an answer)
  fault=Sender                the SOAP 1.2 fault code, if a fault
  subcode=...                 its subcode, if any
  reason=...                  the fault reason text (first 300 characters)
  status=Failure              the RegistryResponse / AdhocQueryResponse status, if any
  errors=CODE CODE            the IHE errorCode values, in order
  objects=N                   objects in a RegistryObjectList
  seconds=0.12                how long the answer took
Other cases print their own lines (see each function). The cases are listed in CASES below.
With HOSTILE_INTACT set, each case is followed by the `intact` check (see case_intact).
"""
import base64
import hashlib
import os
import re
import socket
import sys
import threading
import time
import uuid

SRCDIR = os.environ.get("CDAGATE_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
PATIENT = os.environ.get("HOSTILE_PATIENT", "PT-6001^^^&1.2.3.4.5.6.7&ISO")
# a second patient's document is stored too: no query about PATIENT may ever show it
OTHER_PATIENT = os.environ.get("HOSTILE_OTHER_PATIENT", "PT-6009^^^&1.2.3.4.5.6.7&ISO")
ITI41 = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
ITI18 = "urn:ihe:iti:2007:RegistryStoredQuery"
ITI43 = "urn:ihe:iti:2007:RetrieveDocumentSet"
REPOSITORY = "/xds/repository"
REGISTRY = "/xds/registry"
SOAP_CT = "application/soap+xml; charset=UTF-8"


# ---- raw HTTP --------------------------------------------------------------------------------
def connect(port, timeout=60):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def read_answer(s, timeout=60):
    """Reads one HTTP answer (Content-Length or until close): (status, headers, body)."""
    s.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        if b"\r\n\r\n" not in data:
            return 0, {}, data
        head, body = data.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        m = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
        status = int(m.group(1)) if m else 0
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        n = headers.get("content-length")
        if n is not None:
            while len(body) < int(n):
                chunk = s.recv(65536)
                if not chunk:
                    break
                body += chunk
        else:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                body += chunk
        return status, headers, body
    except (socket.timeout, ConnectionResetError, BrokenPipeError):
        return 0, {}, data


def request(port, path, content_type, body, extra=b"", method="POST", length=None, timeout=60):
    """One request on its own connection; the whole of it is written, even when the server
    answers early (a reset while writing is not an error: the answer is read afterwards)."""
    s = connect(port, timeout)
    head = ("%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n" % (method, path, port)).encode()
    if content_type is not None:
        head += b"Content-Type: " + content_type.encode() + b"\r\n"
    if body is not None or length is not None:
        head += b"Content-Length: %d\r\n" % (len(body) if length is None else length)
    head += extra + b"\r\n"
    t0 = time.monotonic()
    try:
        s.sendall(head + (body or b""))
    except (BrokenPipeError, ConnectionResetError):
        pass
    answer = read_answer(s, timeout)
    s.close()
    return answer + (time.monotonic() - t0,)


def text_of(xml, tag):
    m = re.search(r"<(?:[\w.-]+:)?%s\b[^>]*>(.*?)</(?:[\w.-]+:)?%s>" % (tag, tag), xml, re.S)
    return m.group(1) if m else None


def report(answer):
    status, headers, body, seconds = answer
    xml = body.decode("utf-8", "replace")
    print("http=%d" % status)
    if "Fault>" in xml:
        code = text_of(xml, "Code")
        if code is None and text_of(xml, "faultcode"):  # SOAP 1.1
            print("fault=%s" % re.sub(r".*:", "", text_of(xml, "faultcode").strip()))
            print("reason=%s" % re.sub(r"\s+", " ", text_of(xml, "faultstring") or "")[:300])
        if code:
            print("fault=%s" % re.sub(r".*:", "", (text_of(code, "Value") or "").strip()))
            sub = text_of(code, "Subcode")
            if sub:
                print("subcode=%s" % (text_of(sub, "Value") or "").strip())
            reason = text_of(xml, "Text") or text_of(xml, "Reason") or ""
            print("reason=%s" % re.sub(r"\s+", " ", reason)[:300])
    m = re.search(r'<(?:\w+:)?(?:RegistryResponse|AdhocQueryResponse|RetrieveDocumentSetResponse)\b[^>]*\bstatus="[^"]*:(\w+)"', xml)
    if m:
        print("status=%s" % m.group(1))
    print("errors=%s" % " ".join(re.findall(r'errorCode="([^"]*)"', xml)))
    if "RegistryObjectList" in xml:
        print("objects=%d" % len(re.findall(r"<(?:\w+:)?(?:ExtrinsicObject|RegistryPackage|Association|ObjectRef)\b", xml)))
    if status == 0:
        print("answer=%r" % body[:200])
    print("seconds=%.2f" % seconds)


# ---- messages --------------------------------------------------------------------------------
def envelope(action, body, prolog=""):
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n%s'
        '<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:wsa="http://www.w3.org/2005/08/addressing"><soap:Header>'
        '<wsa:Action soap:mustUnderstand="1">%s</wsa:Action>'
        "<wsa:MessageID>urn:uuid:%s</wsa:MessageID><wsa:To>http://127.0.0.1/</wsa:To>"
        "</soap:Header><soap:Body>%s</soap:Body></soap:Envelope>" % (prolog, action, uuid.uuid4(), body)
    ).encode("utf-8")


def pnr_body(docuid, content, patient=PATIENT):
    """The project's ITI-41 fixture with @CONTENT@ replaced by content (text: base64 or an
    xop:Include)."""
    with open(os.path.join(SRCDIR, "tests", "fixtures", "xds", "pnr.xml"), encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"^<\?xml[^>]*>\s*", "", text)
    pat = patient.replace("&", "&amp;")
    return (text.replace("@PATIENT@", pat).replace("@DOCUID@", docuid)
            .replace("@SSUID@", docuid + ".1").replace("@CONTENT@", content))


def minimal_doc():
    with open(os.path.join(SRCDIR, "tests", "fixtures", "ccda", "minimal-header.xml"), "rb") as f:
        return f.read()


def xop(cid):
    return '<xop:Include href="cid:%s"/>' % cid


def mime(parts, boundary="MIMEBoundary_hostile", root_cid="root@hostile", nl=b"\r\n", close=True):
    """parts: [(content_id or None, content_type, bytes)], the first the root. Returns bytes."""
    out = []
    for cid, ctype, data in parts:
        out.append(b"--" + boundary.encode() + nl)
        out.append(b"Content-Type: " + ctype.encode() + nl)
        out.append(b"Content-Transfer-Encoding: binary" + nl)
        if cid is not None:
            out.append(b"Content-ID: <" + cid.encode() + b">" + nl)
        out.append(nl + data + nl)
    if close:
        out.append(b"--" + boundary.encode() + b"--" + nl)
    return b"".join(out)


def mtom_type(boundary="MIMEBoundary_hostile", root_cid="root@hostile"):
    return ('multipart/related; type="application/xop+xml"; boundary="%s"; start="<%s>"; '
            'start-info="application/soap+xml"; action="%s"' % (boundary, root_cid, ITI41))


ROOT_CT = 'application/xop+xml; charset=UTF-8; type="application/soap+xml"'


def pnr_mtom(docuid, doc=None, extra_parts=(), cid="doc1@hostile"):
    env = envelope(ITI41, pnr_body(docuid, xop(cid)))
    parts = [("root@hostile", ROOT_CT, env), (cid, "text/xml", doc if doc is not None else minimal_doc())]
    return mime(parts + list(extra_parts))


# ---- the cases -------------------------------------------------------------------------------
def case_xxe_file(port):
    """An external entity naming a local file, used in the body."""
    prolog = '<!DOCTYPE soap:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    body = ('<query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0">'
            "&xxe;</query:AdhocQueryRequest>")
    ans = request(port, REGISTRY, SOAP_CT, envelope(ITI18, body, prolog))
    report(ans)
    print("leaked=%d" % (b"root:" in ans[2]))


class Listener:
    """A loopback socket that counts the connections made to it (an external DTD's URL)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.hits = 0
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
                self.hits += 1
                c.close()
            except socket.timeout:
                continue

    def close(self):
        time.sleep(0.3)
        self.stop = True
        self.thread.join()
        self.sock.close()


def case_dtd_external(port):
    """A DOCTYPE naming an external DTD on a loopback port, and an external parameter entity:
    the server must not fetch either (fetched=0)."""
    l = Listener()
    prolog = ('<!DOCTYPE soap:Envelope SYSTEM "http://127.0.0.1:%d/evil.dtd">' % l.port)
    ans = request(port, REGISTRY, SOAP_CT, envelope(ITI18, "<x/>", prolog))
    report(ans)
    prolog = ('<!DOCTYPE soap:Envelope [<!ENTITY %% ext SYSTEM "http://127.0.0.1:%d/p.dtd"> %%ext;]>' % l.port)
    ans2 = request(port, REGISTRY, SOAP_CT, envelope(ITI18, "<x/>", prolog))
    print("second_http=%d" % ans2[0])
    l.close()
    print("fetched=%d" % l.hits)


def case_laughs(port):
    """Billion laughs: ten levels of ten entity references."""
    ents = ['<!ENTITY lol "lol">']
    for i in range(1, 10):
        ents.append('<!ENTITY lol%d "%s">' % (i, ("&lol%s;" % ("" if i == 1 else i - 1)) * 10))
    prolog = "<!DOCTYPE soap:Envelope [%s]>" % "".join(ents)
    report(request(port, REGISTRY, SOAP_CT, envelope(ITI18, "<x>&lol9;</x>", prolog)))


def case_deep(port, depth="10000"):
    """Elements nested DEPTH deep inside the body."""
    n = int(depth)
    body = "<a>" * n + "</a>" * n
    report(request(port, REGISTRY, SOAP_CT, envelope(ITI18, body)))


def case_attrs(port, count="100000"):
    """One element with COUNT attributes (distinct names)."""
    n = int(count)
    attrs = " ".join('a%d="1"' % i for i in range(n))
    body = ('<query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" %s/>' % attrs)
    report(request(port, REGISTRY, SOAP_CT, envelope(ITI18, body)))


def case_attrs_dup(port, count="50000"):
    """COUNT namespace declarations and attributes in many namespaces on one element."""
    n = int(count)
    attrs = " ".join('xmlns:n%d="urn:x:%d" n%d:a="1"' % (i, i, i) for i in range(n))
    report(request(port, REGISTRY, SOAP_CT, envelope(ITI18, "<x %s/>" % attrs)))


def case_ns_scope(port, levels="100", per="100", elements="100000"):
    """LEVELS nested elements each declaring PER namespaces, then ELEMENTS elements whose prefix
    was declared outside all of them (libxml2 looks each up through every declaration)."""
    out = ['<r xmlns:q="urn:q">']
    for l in range(int(levels)):
        out.append("<e %s>" % " ".join('xmlns:n%d_%d="urn:%d:%d"' % (l, i, l, i) for i in range(int(per))))
    out.append("<q:a/>" * int(elements) + "</e>" * int(levels) + "</r>")
    report(request(port, REGISTRY, SOAP_CT, envelope(ITI18, "".join(out))))


def case_utf8(port, where="body"):
    """Bytes that are not UTF-8 (a lone continuation byte, an overlong '/', a surrogate) in the
    envelope (where=body) or in a metadata value of an otherwise good ITI-41 (where=metadata)."""
    if where == "body":
        env = envelope(ITI18, "<x>PLACE</x>").replace(b"PLACE", b"\x80\xc0\xaf\xed\xa0\x80")
    else:
        env = envelope(ITI41, pnr_body("1.2.3.4.5.6.7.66.1", base64.b64encode(minimal_doc()).decode()))
        env = env.replace(b"Discharge Summary", b"Discharge \xff\xfe Summary")
    report(request(port, REPOSITORY, SOAP_CT, env))


def case_oversize_envelope(port, size):
    """An envelope of SIZE bytes (a comment fills it)."""
    n = int(size)
    env = envelope(ITI18, "<x/>")
    pad = n - len(env) - 7
    env = env.replace(b"<x/>", b"<!--" + b"x" * pad + b"--><x/>")
    assert len(env) == n
    report(request(port, REGISTRY, SOAP_CT, env))


def case_oversize_attachment(port, size):
    """An ITI-41 whose one attachment is SIZE bytes."""
    n = int(size)
    doc = minimal_doc()
    doc = doc + b"<!--" + b"y" * (n - len(doc) - 7) + b"-->"
    assert len(doc) == n
    report(request(port, REPOSITORY, mtom_type(), pnr_mtom("1.2.3.4.5.6.7.66.2", doc)))


def case_claimed_length(port):
    """A Content-Length of 100 GB with a few bytes behind it: answered at once, not awaited."""
    report(request(port, REGISTRY, SOAP_CT, b"<x/>", length=100 << 30, timeout=20))


def case_truncated_mime(port):
    """A multipart body without its closing delimiter (Content-Length matches what is sent)."""
    body = pnr_mtom("1.2.3.4.5.6.7.66.3")
    cut = body.rindex(b"--MIMEBoundary_hostile--")
    report(request(port, REPOSITORY, mtom_type(), body[:cut]))


def case_truncated_part(port):
    """A multipart body cut half-way through the attachment."""
    body = pnr_mtom("1.2.3.4.5.6.7.66.4")
    report(request(port, REPOSITORY, mtom_type(), body[: len(body) - 300]))


def case_short_body(port):
    """Content-Length promises more than is sent, then the client closes its side."""
    body = pnr_mtom("1.2.3.4.5.6.7.66.5")
    s = connect(port, 30)
    head = ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
            % (REPOSITORY, mtom_type(), len(body) + 5000)).encode()
    t0 = time.monotonic()
    s.sendall(head + body)
    s.shutdown(socket.SHUT_WR)
    ans = read_answer(s, 30)
    s.close()
    report(ans + (time.monotonic() - t0,))


def case_no_boundary(port):
    """multipart/related without a boundary parameter."""
    ct = 'multipart/related; type="application/xop+xml"; start="<root@hostile>"'
    report(request(port, REPOSITORY, ct, pnr_mtom("1.2.3.4.5.6.7.66.6")))


def case_wrong_boundary(port):
    """The Content-Type names one boundary, the body uses another."""
    report(request(port, REPOSITORY, mtom_type("SomethingElse"), pnr_mtom("1.2.3.4.5.6.7.66.7")))


def case_boundary_too_long(port):
    """A boundary of 5,000 characters (RFC 2046 allows 70)."""
    b = "B" * 5000
    env = envelope(ITI41, pnr_body("1.2.3.4.5.6.7.66.8", xop("doc1@hostile")))
    body = mime([("root@hostile", ROOT_CT, env), ("doc1@hostile", "text/xml", minimal_doc())], boundary=b)
    report(request(port, REPOSITORY, mtom_type(b), body))


def case_dup_cid(port):
    """Two attachments with the same Content-ID."""
    extra = [("doc1@hostile", "text/xml", b"<other/>")]
    report(request(port, REPOSITORY, mtom_type(), pnr_mtom("1.2.3.4.5.6.7.66.9", extra_parts=extra)))


def case_cid_nothing(port):
    """An xop:Include whose cid: names no part of the message."""
    env = envelope(ITI41, pnr_body("1.2.3.4.5.6.7.66.10", xop("nothing@hostile")))
    body = mime([("root@hostile", ROOT_CT, env), ("doc1@hostile", "text/xml", minimal_doc())])
    report(request(port, REPOSITORY, mtom_type(), body))


def case_no_root(port):
    """start= names a root part that is not in the message."""
    report(request(port, REPOSITORY, mtom_type(root_cid="absent@hostile"), pnr_mtom("1.2.3.4.5.6.7.66.11")))


def case_ctype(port, which):
    """Wrong content types: text (text/plain), soap11 (a SOAP 1.1 envelope, text/xml), html-root (an
    MTOM message whose root part is an HTML page), none (no
    Content-Type at all), form (application/x-www-form-urlencoded)."""
    env = envelope(ITI18, "<x/>")
    if which == "text":
        report(request(port, REGISTRY, "text/plain", env))
    elif which == "soap11":
        env11 = (b'<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">'
                 b'<s:Body><x/></s:Body></s:Envelope>')
        report(request(port, REGISTRY, "text/xml; charset=UTF-8", env11, extra=b'SOAPAction: "%s"\r\n' % ITI18.encode()))
    elif which == "form":
        report(request(port, REGISTRY, "application/x-www-form-urlencoded", b"a=1&b=2"))
    elif which == "none":
        report(request(port, REGISTRY, None, env))
    elif which == "html-root":
        page = b"<html><body><script>alert(1)</script><p>not SOAP<br></body></html>"
        body = mime([("root@hostile", "text/html", page), ("doc1@hostile", "text/xml", minimal_doc())])
        report(request(port, REPOSITORY, mtom_type(), body))


# ---- stored queries with SQL in every parameter ------------------------------------------------
QUERIES = {
    # name: (id, {required params}, [other params])
    "FindDocuments": ("urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d",
                      {"$XDSDocumentEntryPatientId": "'%P'",
                       "$XDSDocumentEntryStatus": "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"},
                      ["$XDSDocumentEntryClassCode", "$XDSDocumentEntryTypeCode",
                       "$XDSDocumentEntryPracticeSettingCode", "$XDSDocumentEntryCreationTimeFrom",
                       "$XDSDocumentEntryCreationTimeTo", "$XDSDocumentEntryServiceStartTimeFrom",
                       "$XDSDocumentEntryServiceStartTimeTo", "$XDSDocumentEntryServiceStopTimeFrom",
                       "$XDSDocumentEntryServiceStopTimeTo", "$XDSDocumentEntryHealthcareFacilityTypeCode",
                       "$XDSDocumentEntryEventCodeList", "$XDSDocumentEntryConfidentialityCode",
                       "$XDSDocumentEntryAuthorPerson", "$XDSDocumentEntryFormatCode",
                       "$XDSDocumentEntryType"]),
    "FindDocumentsByReferenceId": ("urn:uuid:12941a89-e02e-4be5-967c-ce4bfc8fe492",
                                   {"$XDSDocumentEntryPatientId": "'%P'",
                                    "$XDSDocumentEntryStatus": "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')",
                                    "$XDSDocumentEntryReferenceIdList": "('ref-1^^^&1.2.3&ISO^urn:ihe:iti:xds:2013:order')"},
                                   []),
    "FindSubmissionSets": ("urn:uuid:f26abbcb-ac74-4422-8a30-edb644bbc1a9",
                           {"$XDSSubmissionSetPatientId": "'%P'",
                            "$XDSSubmissionSetStatus": "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"},
                           ["$XDSSubmissionSetSourceId", "$XDSSubmissionSetSubmissionTimeFrom",
                            "$XDSSubmissionSetSubmissionTimeTo", "$XDSSubmissionSetAuthorPerson",
                            "$XDSSubmissionSetContentType"]),
    "FindFolders": ("urn:uuid:958f3006-baad-4929-a4de-ff1114824431",
                    {"$XDSFolderPatientId": "'%P'",
                     "$XDSFolderStatus": "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"},
                    ["$XDSFolderLastUpdateTimeFrom", "$XDSFolderLastUpdateTimeTo", "$XDSFolderCodeList"]),
    "GetAll": ("urn:uuid:10b545ea-725c-446d-9b95-8aeb444eddf3",
               {"$patientId": "'%P'",
                "$XDSDocumentEntryStatus": "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')",
                "$XDSSubmissionSetStatus": "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')",
                "$XDSFolderStatus": "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"},
               ["$XDSDocumentEntryFormatCode", "$XDSDocumentEntryConfidentialityCode",
                "$XDSDocumentEntryType", "$homeCommunityId"]),
    "GetDocuments": ("urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4",
                     {"$XDSDocumentEntryUniqueId": "('1.2.3')"}, ["$homeCommunityId"]),
    "GetDocumentsByUUID": ("urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4",
                           {"$XDSDocumentEntryEntryUUID": "('urn:uuid:00000000-0000-4000-8000-000000000001')"}, []),
    "GetFolders": ("urn:uuid:5737b14c-8a1a-4539-b659-e03a34a5e1e4", {"$XDSFolderUniqueId": "('1.2.3')"}, []),
    "GetAssociations": ("urn:uuid:a7ae438b-4bc2-4642-93e9-be891f7bb155",
                        {"$uuid": "('urn:uuid:00000000-0000-4000-8000-000000000001')"}, ["$homeCommunityId"]),
    "GetDocumentsAndAssociations": ("urn:uuid:bab9529a-4a10-40b3-a01f-f68a615d247a",
                                    {"$XDSDocumentEntryUniqueId": "('1.2.3')"}, []),
    "GetSubmissionSets": ("urn:uuid:51224314-5390-4169-9b91-b1980040715a",
                          {"$uuid": "('urn:uuid:00000000-0000-4000-8000-000000000001')"}, []),
    "GetSubmissionSetAndContents": ("urn:uuid:e8e3cb2c-e39c-46b9-99e4-c12f57260b83",
                                    {"$XDSSubmissionSetUniqueId": "'1.2.3'"},
                                    ["$XDSDocumentEntryFormatCode", "$XDSDocumentEntryConfidentialityCode",
                                     "$XDSDocumentEntryType"]),
    "GetFolderAndContents": ("urn:uuid:b909a503-523d-4517-8acf-8e5834dfc4c7",
                             {"$XDSFolderUniqueId": "'1.2.3'"}, []),
    "GetFoldersForDocument": ("urn:uuid:10cae35a-c7f9-4cf5-b61e-fc3278ffb578",
                              {"$XDSDocumentEntryUniqueId": "'1.2.3'"}, []),
    "GetRelatedDocuments": ("urn:uuid:d90e5407-b356-4d91-a89f-873917b4b0e6",
                            {"$XDSDocumentEntryUniqueId": "'1.2.3'",
                             "$AssociationTypes": "('urn:ihe:iti:2007:AssociationType:RPLC')"},
                            ["$XDSDocumentEntryType"]),
}

# SQL inside a correctly quoted value (the registry must take it as data), SQL breaking out of
# the quotes (a malformed value), and SQL LIKE wildcards where they are not patterns.
PAYLOADS = [
    "'x'' OR ''1''=''1'",
    "('x''); DROP TABLE documents; --')",
    "'1'' UNION SELECT sql FROM sqlite_master --'",
    "x' OR 1=1 --",
    "'%'",
    "('%^^%')",
    "'\\'; DELETE FROM objects; --'",
]


def query_xml(qid, params, leaf=True):
    slots = "".join('<rim:Slot name="%s"><rim:ValueList><rim:Value>%s</rim:Value></rim:ValueList></rim:Slot>'
                    % (name, esc(value)) for name, value in params)
    return ('<query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" '
            'xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0">'
            '<query:ResponseOption returnType="%s" returnComposedObjects="true"/>'
            '<rim:AdhocQuery id="%s">%s</rim:AdhocQuery></query:AdhocQueryRequest>'
            % ("LeafClass" if leaf else "ObjectRef", qid, slots))


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def case_sql(port):
    """Every parameter of every stored query, one at a time, with each SQL payload. Prints one
    line per request: `sql NAME PARAM #PAYLOAD http=.. status=.. errors=.. objects=..`, then
    `sql_requests=N`."""
    n = 0
    for name, (qid, req, other) in QUERIES.items():
        for target in list(req) + other:
            for i, payload in enumerate(PAYLOADS):
                params = [(k, v.replace("%P", PATIENT)) for k, v in req.items() if k != target]
                params.append((target, payload))
                status, _, body, _ = request(port, REGISTRY, SOAP_CT, envelope(ITI18, query_xml(qid, params)))
                xml = body.decode("utf-8", "replace")
                st = re.search(r'AdhocQueryResponse\b[^>]*status="[^"]*:(\w+)"', xml)
                objs = len(re.findall(r"<(?:\w+:)?(?:ExtrinsicObject|RegistryPackage|Association)\b", xml))
                other = OTHER_PATIENT.split("^")[0] in xml
                print("sql %s %s #%d http=%d status=%s errors=%s objects=%d other=%d" % (
                    name, target, i, status, st.group(1) if st else "-",
                    ",".join(re.findall(r'errorCode="([^"]*)"', xml)) or "-", objs, other))
                n += 1
    print("sql_requests=%d" % n)


# ---- slow clients ----------------------------------------------------------------------------
def case_slowloris(port, conns="64", seconds="8"):
    """CONNS connections each send a request head one byte every 0.5 s for SECONDS seconds (the
    classic slowloris), plus as many sending a body one byte at a time. Meanwhile a normal client
    asks /health every 0.5 s on a new connection. Prints `served=N of M`, `slowest=S` (seconds),
    and `slow_closed=K` (slow connections the server closed before they were done)."""
    n, secs = int(conns), float(seconds)
    stop = time.monotonic() + secs
    closed = [0]
    lock = threading.Lock()

    def slow(kind):
        try:
            s = connect(port, 5)
        except OSError:
            with lock:
                closed[0] += 1
            return
        if kind == "head":
            data = b"POST /xds/registry HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10000
        else:
            data = (b"POST /xds/registry HTTP/1.1\r\nHost: x\r\nContent-Type: application/soap+xml\r\n"
                    b"Content-Length: 100000\r\n\r\n" + b"<" + b"a" * 99999)
        i = 0
        try:
            while time.monotonic() < stop and i < len(data):
                s.sendall(data[i:i + 1])
                i += 1
                time.sleep(0.5)
        except (BrokenPipeError, ConnectionResetError):
            with lock:
                closed[0] += 1
        s.close()

    threads = [threading.Thread(target=slow, args=("head" if i % 2 == 0 else "body",), daemon=True)
               for i in range(n)]
    for t in threads:
        t.start()
    time.sleep(1)
    served, asked, slowest = 0, 0, 0.0
    while time.monotonic() < stop - 0.5:
        asked += 1
        status, _, body, secs_taken = request(port, "/health", None, None, method="GET", timeout=10)
        if status == 200 and b'"status":"ok"' in body:
            served += 1
        slowest = max(slowest, secs_taken)
        time.sleep(0.5)
    for t in threads:
        t.join(10)
    print("served=%d of %d" % (served, asked))
    print("slowest=%.2f" % slowest)
    print("slow_closed=%d" % closed[0])


# ---- HL7 v2 over MLLP ------------------------------------------------------------------------
SB, EB, CR = b"\x0b", b"\x1c", b"\x0d"
MSH = b"MSH|^~\\&|HIS|HOSP|CDAGATE|HIE|20261125083000||ADT^A01^ADT_A01|%s|P|2.5\r"


def mllp_exchange(port, frames, timeout=10):
    """Sends each frame (bytes, already framed) on one connection and reads one answer per frame;
    prints `ack=CODE ERR=CODE` per answer, or `ack=none` when the connection closed first."""
    s = connect(port, timeout)
    s.settimeout(timeout)
    buf = b""
    for f in frames:
        s.sendall(f)
        while EB + CR not in buf:
            try:
                chunk = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                chunk = b""
            if not chunk:
                print("ack=none")
                s.close()
                return
            buf += chunk
        msg, buf = buf.split(EB + CR, 1)
        msg = msg[msg.find(SB) + 1:].decode("utf-8", "replace")
        segs = {l.split("|")[0]: l.split("|") for l in msg.split("\r") if l}
        msa = segs.get("MSA", ["", "-", "-"])
        err = segs.get("ERR", [])
        m = re.search(r"(?<![0-9.])(\d{3})(?=[\^&])", "|".join(err[1:]))
        code = m.group(1) if m else "-"
        print("ack=%s MSA2=%s ERR=%s" % (msa[1], msa[2] if len(msa) > 2 else "-", code))
    s.close()


def frame(b):
    return SB + b + EB + CR


def case_hl7(port, which):
    """Malformed HL7 v2 over MLLP; one frame each (see the table below)."""
    pid = b"PID|1||PT-9^^^&1.2.3.4.5.6.7&ISO||Doe^John\r"
    msgs = {
        "nul": MSH % b"NUL1" + b"PID|1||PT\x00-9^^^&1.2.3.4.5.6.7&ISO\r",
        "binary": bytes(range(1, 11)) + bytes(range(14, 28)) + b"\xff\xfe" * 50,
        "no-msh": b"PID|1||PT-9^^^&1.2.3.4.5.6.7&ISO\r",
        "bad-delims": b"MSH||||||||ADT^A01|BD1|P|2.5\r" + pid,
        "same-delims": b"MSH|||||HIS|HOSP|||20261125||ADT^A01|SD1|P|2.5\r" + pid,
        "segments": MSH % b"SEG1" + b"NTE|1|x\r" * 5000,
        "fields": MSH % b"FLD1" + b"PID" + b"|x" * 5000 + b"\r",
        "bad-segment-id": MSH % b"BSI1" + b"P\xc3\xa9D|1\r",
        "bad-escape": MSH % b"ESC1" + b"PID|1||\\Xzz\\\\X\\\\E^^^&1.2.3.4.5.6.7&ISO||\\\r",
        "utf8": MSH % b"U8-1" + b"PID|1||PT-9^^^&1.2.3.4.5.6.7&ISO||D\xff\xfe^J\xc0\xaf\r",
        "nested-sb": MSH % b"NSB1" + SB + pid,
        "huge-field": MSH % b"HUG1" + b"PID|1||" + b"9" * 500000 + b"^^^&1.2.3.4.5.6.7&ISO\r",
    }
    mllp_exchange(int(port), [frame(msgs[which])])


def case_hl7_good(port, control="GOOD1", patient="PT-6002"):
    msg = (MSH % control.encode() + b"EVN|A01|20261125083000\r" +
           b"PID|1||" + patient.encode() + b"^^^&1.2.3.4.5.6.7&ISO||Doe^John||19700101|M\r")
    mllp_exchange(int(port), [frame(msg)])


# ---- what a normal client sees afterwards ----------------------------------------------------
def case_good_submit(port, docuid, content="mtom", patient=None):
    """A normal ITI-41 (MTOM, the minimal C-CDA document with a uniqueId comment so each
    document differs); prints the report and `sha256=` of the submitted document."""
    doc = minimal_doc() + ("<!-- %s -->" % docuid).encode()
    if content == "mtom":
        env = envelope(ITI41, pnr_body(docuid, xop("doc1@hostile"), patient or PATIENT))
        ans = request(port, REPOSITORY, mtom_type(),
                      mime([("root@hostile", ROOT_CT, env), ("doc1@hostile", "text/xml", doc)]))
    else:
        env = envelope(ITI41, pnr_body(docuid, base64.b64encode(doc).decode(), patient or PATIENT))
        ans = request(port, REPOSITORY, SOAP_CT, env)
    report(ans)
    print("sha256=%s" % hashlib.sha256(doc).hexdigest())


def case_retrieve(port, repo, *uids):
    """ITI-43 for the uniqueIds; prints `doc UID sha256` per document returned, then the report."""
    reqs = "".join("<xdsb:DocumentRequest><xdsb:RepositoryUniqueId>%s</xdsb:RepositoryUniqueId>"
                   "<xdsb:DocumentUniqueId>%s</xdsb:DocumentUniqueId></xdsb:DocumentRequest>" % (repo, u)
                   for u in uids)
    body = '<xdsb:RetrieveDocumentSetRequest xmlns:xdsb="urn:ihe:iti:xds-b:2007">%s</xdsb:RetrieveDocumentSetRequest>' % reqs
    ans = request(port, REPOSITORY, SOAP_CT, envelope(ITI43, body))
    for uid, h in sorted(retrieved(ans[1], ans[2]).items()):
        print("doc %s %s" % (uid, h))
    report(ans)


def case_find(port, patient=PATIENT):
    """FindDocuments (ObjectRef) for the patient: prints the report (objects=N)."""
    params = [("$XDSDocumentEntryPatientId", "'%s'" % patient),
              ("$XDSDocumentEntryStatus", "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')")]
    report(request(port, REGISTRY, SOAP_CT,
                   envelope(ITI18, query_xml(QUERIES["FindDocuments"][0], params, leaf=False))))


CASES = {
    "xxe-file": case_xxe_file, "dtd-external": case_dtd_external, "laughs": case_laughs,
    "deep": case_deep, "attrs": case_attrs, "attrs-ns": case_attrs_dup, "ns-scope": case_ns_scope,
    "utf8": case_utf8,
    "oversize-envelope": case_oversize_envelope, "oversize-attachment": case_oversize_attachment,
    "claimed-length": case_claimed_length, "truncated-mime": case_truncated_mime,
    "truncated-part": case_truncated_part, "short-body": case_short_body,
    "no-boundary": case_no_boundary, "wrong-boundary": case_wrong_boundary,
    "long-boundary": case_boundary_too_long, "dup-cid": case_dup_cid, "cid-nothing": case_cid_nothing,
    "no-root": case_no_root, "ctype": case_ctype, "sql": case_sql, "slowloris": case_slowloris,
    "hl7": case_hl7, "hl7-good": case_hl7_good, "good-submit": case_good_submit,
    "retrieve": case_retrieve, "find": case_find,
}



def case_intact(port, repo, state):
    """What a normal client sees after a hostile request, on new connections: an ITI-41 of a new
    document succeeds (its uniqueId and SHA-256 are added to the STATE file, lines `UID SHA256`),
    ITI-18 FindDocuments finds exactly the documents in STATE, and ITI-43 returns each of them
    with its SHA-256. Prints `intact=1`, or `intact=0` and what differed."""
    with open(state) as f:
        known = [l.split() for l in f if l.strip()]
    uid = "1.2.3.4.5.6.7.70.%d.%d" % (os.getpid(), len(known) + 1)
    doc = minimal_doc() + ("<!-- %s -->" % uid).encode()
    problems = []
    ans = request(port, REPOSITORY, mtom_type(), pnr_mtom(uid, doc))
    if ans[0] == 200 and b"ResponseStatusType:Success" in ans[2]:
        known.append([uid, hashlib.sha256(doc).hexdigest()])
        with open(state, "a") as f:
            f.write("%s %s\n" % tuple(known[-1]))
    else:
        problems.append("ITI-41 of a new document: HTTP %d %r" % (ans[0], ans[2][-300:]))
    params = [("$XDSDocumentEntryPatientId", "'%s'" % PATIENT),
              ("$XDSDocumentEntryStatus", "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')")]
    ans = request(port, REGISTRY, SOAP_CT, envelope(ITI18, query_xml(QUERIES["FindDocuments"][0], params, leaf=False)))
    found = len(re.findall(r"<(?:\w+:)?ObjectRef\b", ans[2].decode("utf-8", "replace")))
    if found != len(known):
        problems.append("ITI-18 FindDocuments: %d entries, %d expected" % (found, len(known)))
    reqs = "".join("<xdsb:DocumentRequest><xdsb:RepositoryUniqueId>%s</xdsb:RepositoryUniqueId>"
                   "<xdsb:DocumentUniqueId>%s</xdsb:DocumentUniqueId></xdsb:DocumentRequest>" % (repo, u)
                   for u, _ in known)
    body = ('<xdsb:RetrieveDocumentSetRequest xmlns:xdsb="urn:ihe:iti:xds-b:2007">%s'
            '</xdsb:RetrieveDocumentSetRequest>' % reqs)
    status, headers, raw, _ = request(port, REPOSITORY, SOAP_CT, envelope(ITI43, body))
    got = retrieved(headers, raw)
    for u, h in known:
        if got.get(u) != h:
            problems.append("ITI-43 %s: sha256 %s, %s expected" % (u, got.get(u), h))
    print("intact=%d" % (not problems))
    for p in problems[:5]:
        print("problem: %s" % p)


def retrieved(headers, raw):
    """{uniqueId: sha256} of the documents of an ITI-43 answer (MTOM or inline)."""
    from urllib.parse import unquote
    parts = {}
    m = re.search(r'boundary="?([^";]+)"?', headers.get("content-type", ""))
    if m:
        for p in raw.split(b"--" + m.group(1).encode()):
            if b"\r\n\r\n" not in p:
                continue
            h, data = p.split(b"\r\n\r\n", 1)
            cid = re.search(rb"Content-ID:\s*<([^>]+)>", h, re.I)
            if cid:
                parts[cid.group(1).decode()] = data[:-2] if data.endswith(b"\r\n") else data
    out = {}
    xml = raw.decode("utf-8", "replace")
    for dr in re.findall(r"<(?:[\w.-]+:)?DocumentResponse>(.*?)</(?:[\w.-]+:)?DocumentResponse>", xml, re.S):
        uid = (text_of(dr, "DocumentUniqueId") or "").strip()
        inc = re.search(r'href="cid:([^"]+)"', dr)
        data = parts.get(unquote(inc.group(1)), b"") if inc else base64.b64decode(text_of(dr, "Document") or "")
        out[uid] = hashlib.sha256(data).hexdigest()
    return out


CASES["intact"] = case_intact

if __name__ == "__main__":
    CASES[sys.argv[2]](int(sys.argv[1]), *sys.argv[3:])
    # HOSTILE_INTACT="HTTP_PORT REPOSITORY_ID STATE_FILE": then the `intact` case, in the same
    # process (a Python start costs more than most cases)
    if os.environ.get("HOSTILE_INTACT"):
        sys.stdout.flush()
        port, repo, state = os.environ["HOSTILE_INTACT"].split()
        case_intact(int(port), repo, state)
