# tests/conformance/soap.py: the runner's SOAP 1.2 client: WS-Addressing headers, plain or MTOM
# (multipart/related, application/xop+xml, xop:Include) requests over HTTP, and answers read back,
# MTOM or not, into a body element and its attachments. Does not own what is sent (engine.py).

import base64
import http.client
import re
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

SOAP12 = 'http://www.w3.org/2003/05/soap-envelope'
WSA = 'http://www.w3.org/2005/08/addressing'
XOP = 'http://www.w3.org/2004/08/xop/include'

ET.register_namespace('soap', SOAP12)
ET.register_namespace('wsa', WSA)
ET.register_namespace('xop', XOP)

TIMEOUT = 60  # seconds for one exchange


class SoapError(Exception):
    """The exchange itself failed: no connection, an HTTP error without a SOAP answer, a fault."""


class Answer:
    """A SOAP answer: the first element of the Body, attachments by Content-ID."""

    def __init__(self, body, parts):
        self.body = body
        self.parts = parts

    def content(self, elem):
        """The bytes an xdsb:Document element carries: its xop:Include's part, or inline base64."""
        inc = elem.find('{%s}Include' % XOP)
        if inc is not None:
            cid = urllib.parse.unquote(inc.get('href', '')[4:])
            if cid not in self.parts:
                raise SoapError('xop:Include names no MIME part: %s' % inc.get('href'))
            return self.parts[cid]
        return base64.b64decode(''.join((elem.text or '').split()))


def envelope(action, to, body):
    """A SOAP 1.2 envelope element with wsa:Action, wsa:MessageID, wsa:ReplyTo and wsa:To around body."""
    env = ET.Element('{%s}Envelope' % SOAP12)
    header = ET.SubElement(env, '{%s}Header' % SOAP12)
    act = ET.SubElement(header, '{%s}Action' % WSA)
    act.set('{%s}mustUnderstand' % SOAP12, '1')
    act.text = action
    ET.SubElement(header, '{%s}MessageID' % WSA).text = 'urn:uuid:' + str(uuid.uuid4())
    reply = ET.SubElement(header, '{%s}ReplyTo' % WSA)
    ET.SubElement(reply, '{%s}Address' % WSA).text = 'http://www.w3.org/2005/08/addressing/anonymous'
    ET.SubElement(header, '{%s}To' % WSA).text = to
    ET.SubElement(env, '{%s}Body' % SOAP12).append(body)
    return env


def mtom(env_bytes, action, attachments):
    """(content type, body bytes) of an MTOM message: the envelope as the root part, then each
    (content id, bytes) attachment."""
    boundary = 'MIMEBoundary_cdagate_conformance_' + uuid.uuid4().hex
    out = [b'--' + boundary.encode() + b'\r\n',
           b'Content-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"\r\n',
           b'Content-Transfer-Encoding: binary\r\nContent-ID: <root.message@cdagate.conformance>\r\n\r\n',
           env_bytes]
    for cid, data in attachments:
        out += [b'\r\n--' + boundary.encode() + b'\r\n',
                b'Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n',
                b'Content-ID: <' + cid.encode() + b'>\r\n\r\n', data]
    out.append(b'\r\n--' + boundary.encode() + b'--\r\n')
    ctype = ('multipart/related; type="application/xop+xml"; boundary="%s"; '
             'start="<root.message@cdagate.conformance>"; start-info="application/soap+xml"; '
             'action="%s"' % (boundary, action))
    return ctype, b''.join(out)


def split_multipart(ctype, data):
    """The parts of a multipart/related body: [(headers dict with lower-case names, bytes)]."""
    m = re.search(r'boundary="?([^";]+)"?', ctype, re.I)
    if not m:
        raise SoapError('multipart answer without a boundary: %s' % ctype)
    delim = b'--' + m.group(1).encode()
    parts = []
    for chunk in data.split(delim)[1:]:
        if chunk.startswith(b'--'):
            break
        chunk = chunk[2:] if chunk.startswith(b'\r\n') else chunk.lstrip(b'\n')
        head, sep, body = chunk.partition(b'\r\n\r\n')
        if not sep:
            head, sep, body = chunk.partition(b'\n\n')
        if body.endswith(b'\r\n'):
            body = body[:-2]
        elif body.endswith(b'\n'):
            body = body[:-1]
        headers = {}
        for line in re.split(rb'\r?\n', head):
            key, _, value = line.decode('latin-1').partition(':')
            if key.strip():
                headers[key.strip().lower()] = value.strip()
        parts.append((headers, body))
    return parts


def parse_answer(status, ctype, data):
    """An Answer from an HTTP answer; SoapError when it is not a SOAP 1.2 envelope or is a fault."""
    parts = {}
    root_bytes = data
    if ctype.lower().startswith('multipart/'):
        split = split_multipart(ctype, data)
        if not split:
            raise SoapError('empty multipart answer')
        start = re.search(r'start="?<?([^">;]+)>?"?', ctype)
        root_bytes = split[0][1]
        for headers, body in split:
            cid = headers.get('content-id', '').strip('<>')
            if start and cid == start.group(1):
                root_bytes = body
            parts[cid] = body
    try:
        env = ET.fromstring(root_bytes)
    except ET.ParseError as e:
        raise SoapError('HTTP %d, answer is not XML (%s): %r' % (status, e, data[:200]))
    body = env.find('{%s}Body' % SOAP12)
    if env.tag != '{%s}Envelope' % SOAP12 or body is None or len(body) == 0:
        raise SoapError('HTTP %d, answer is not a SOAP 1.2 envelope with a body' % status)
    if body[0].tag == '{%s}Fault' % SOAP12:
        reason = ' '.join(t.strip() for t in body[0].itertext() if t.strip())
        raise SoapError('SOAP fault (HTTP %d): %s' % (status, reason[:300]))
    return Answer(body[0], parts)


def call(url, action, body, attachments=None, use_mtom=False):
    """Sends body (an element) to url as a SOAP 1.2 request with that action; MTOM when use_mtom
    (attachments: [(content id, bytes)]). Returns an Answer."""
    env = ET.tostring(envelope(action, url, body), encoding='UTF-8', xml_declaration=True)
    if use_mtom:
        ctype, data = mtom(env, action, attachments or [])
    else:
        ctype, data = 'application/soap+xml; charset=UTF-8; action="%s"' % action, env
    return post(url, ctype, data)


def post(url, ctype, data):
    """POSTs data with that content type; returns the parsed Answer."""
    u = urllib.parse.urlsplit(url)
    if u.scheme != 'http':
        raise SoapError('only http:// servers are supported by this runner: %s' % url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=TIMEOUT)
    try:
        conn.request('POST', u.path or '/', body=data, headers={'Content-Type': ctype})
        resp = conn.getresponse()
        answer = resp.read()
        return parse_answer(resp.status, resp.getheader('Content-Type', ''), answer)
    except (OSError, http.client.HTTPException) as e:
        raise SoapError('POST %s: %s' % (url, e))
    finally:
        conn.close()
