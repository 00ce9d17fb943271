#!/usr/bin/env python3
"""seeds.py OUTDIR SRCDIR [SHARED]: writes a seed corpus for each libFuzzer target into
OUTDIR/<target>/, at run time, from the project's own test fixtures and, when SHARED is there,
the shared C-CDA samples and the conformance kits' messages (read, never copied into the
repository). Seeds bigger than 256 KiB are left out; each target gets at most 300."""
import glob
import hashlib
import os
import sys

MAX_SEED = 256 << 10
MAX_SEEDS = 300
ENV_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" '
            'xmlns:wsa="http://www.w3.org/2005/08/addressing"><soap:Header>'
            '<wsa:Action soap:mustUnderstand="1">{action}</wsa:Action>'
            '<wsa:MessageID>urn:uuid:0f1e2d3c-4b5a-4697-8877-665544332211</wsa:MessageID>'
            '<wsa:To>http://localhost/</wsa:To></soap:Header><soap:Body>')
ENV_TAIL = '</soap:Body></soap:Envelope>'
ITI41 = 'urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b'
ITI42 = 'urn:ihe:iti:2007:RegisterDocumentSet-b'
ITI18 = 'urn:ihe:iti:2007:RegistryStoredQuery'


def read(path):
    try:
        with open(path, 'rb') as f:
            data = f.read(MAX_SEED + 1)
    except OSError:
        return None
    return data if len(data) <= MAX_SEED else None


class Corpus:
    def __init__(self, out, name):
        self.dir = os.path.join(out, name)
        os.makedirs(self.dir, exist_ok=True)
        self.n = 0

    def add(self, data):
        if data is None or self.n >= MAX_SEEDS:
            return
        if isinstance(data, str):
            data = data.encode('utf-8')
        name = hashlib.sha1(data).hexdigest()
        with open(os.path.join(self.dir, name), 'wb') as f:
            f.write(data)
        self.n += 1


def body_of(xml):
    """The XML without its declaration, to go inside a soap:Body."""
    text = xml.decode('utf-8', 'replace')
    if text.startswith('<?xml'):
        text = text[text.find('?>') + 2:]
    return text


def envelope(action, body):
    return ENV_HEAD.format(action=action) + body + ENV_TAIL


def mtom(envelope_text, parts, boundary='MIMEBoundary_seed', lf_only=False):
    nl = b'\n' if lf_only else b'\r\n'
    out = [b'--' + boundary.encode() + nl,
           b'Content-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"' + nl,
           b'Content-Transfer-Encoding: binary' + nl, b'Content-ID: <root@seed>' + nl + nl,
           envelope_text.encode('utf-8')]
    for cid, data in parts:
        out += [nl + b'--' + boundary.encode() + nl,
                b'Content-Type: text/xml' + nl,
                b'Content-Transfer-Encoding: binary' + nl,
                b'Content-ID: <' + cid.encode() + b'>' + nl + nl, data]
    out.append(nl + b'--' + boundary.encode() + b'--' + nl)
    ct = ('multipart/related; type="application/xop+xml"; boundary="%s"; start="<root@seed>"; '
          'start-info="application/soap+xml"' % boundary)
    return ct.encode() + b'\n' + b''.join(out)


def main():
    out, src = sys.argv[1], sys.argv[2]
    shared = sys.argv[3] if len(sys.argv) > 3 else ''
    have_shared = shared and os.path.isdir(os.path.join(shared, 'conformance'))
    fx = os.path.join(src, 'tests', 'fixtures')
    mime, soap, query = Corpus(out, 'fuzz_mime'), Corpus(out, 'fuzz_soap'), Corpus(out, 'fuzz_query_params')
    hl7, render = Corpus(out, 'fuzz_hl7v2'), Corpus(out, 'fuzz_render')

    # C-CDA documents: the project's fixtures, then the shared samples
    cda = sorted(glob.glob(os.path.join(fx, 'ccda', '*.xml')) + glob.glob(os.path.join(fx, 'render', '*.xml')))
    if shared:
        cda += sorted(glob.glob(os.path.join(shared, 'cda', 'samples', '**', '*.xml'), recursive=True))
    for p in cda:
        render.add(read(p))

    # SOAP bodies: the project's ITI-41 fixture, the conformance kits' metadata and queries
    pnr = read(os.path.join(fx, 'xds', 'pnr.xml'))
    if pnr:
        text = body_of(pnr).replace('@PATIENT@', 'PT-1^^^&amp;1.2.3&amp;ISO').replace(
            '@DOCUID@', '1.2.3.4').replace('@SSUID@', '1.2.3.5').replace('@CONTENT@', 'PENsaW5pY2FsRG9jdW1lbnQvPg==')
        soap.add(envelope(ITI41, text))
        xop = text.replace('PENsaW5pY2FsRG9jdW1lbnQvPg==',
                           '<xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:doc1@seed"/>')
        doc = read(os.path.join(fx, 'ccda', 'minimal-header.xml')) or b'<ClinicalDocument/>'
        mime.add(mtom(envelope(ITI41, xop), [('doc1@seed', doc)]))
        mime.add(mtom(envelope(ITI41, xop), [('doc1@seed', doc)], lf_only=True))
        mime.add(mtom(envelope(ITI41, xop), [('doc1@seed', doc), ('doc2@seed', b'--x\r\n')], boundary='b'))
    for p in sorted(glob.glob(os.path.join(fx, 'ebrim', '*.xml')) + glob.glob(os.path.join(fx, 'registry', '*.xml'))):
        d = read(p)
        if d:
            soap.add(envelope(ITI42, body_of(d)))
    if have_shared:
        conf = os.path.join(shared, 'conformance')
        for p in sorted(glob.glob(os.path.join(conf, '**', '*.xml'), recursive=True)):
            d = read(p)
            if not d:
                continue
            if d.startswith(b'--'):  # a MIME skeleton
                first = d.split(b'\n', 1)[0].strip()[2:].decode('latin-1')
                mime.add(('multipart/related; type="application/xop+xml"; boundary="%s"' % first).encode() + b'\n' + d)
                continue
            if b'Envelope' in d[:2000]:
                (query if b'AdhocQueryRequest' in d else soap).add(d)
            elif b'SubmitObjectsRequest' in d[:4000]:
                soap.add(envelope(ITI42, body_of(d)))
            elif b'ProvideAndRegisterDocumentSetRequest' in d[:4000]:
                soap.add(envelope(ITI41, body_of(d)))
            elif b'AdhocQueryRequest' in d[:4000]:
                query.add(envelope(ITI18, body_of(d)))
    # a query of every parameter shape, for when the kits are not there
    query.add(envelope(ITI18, (
        '<query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" '
        'xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0">'
        '<query:ResponseOption returnType="LeafClass" returnComposedObjects="true"/>'
        '<rim:AdhocQuery id="urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d">'
        '<rim:Slot name="$XDSDocumentEntryPatientId"><rim:ValueList><rim:Value>\'PT-1^^^&amp;1.2.3&amp;ISO\'</rim:Value></rim:ValueList></rim:Slot>'
        '<rim:Slot name="$XDSDocumentEntryStatus"><rim:ValueList><rim:Value>(\'urn:oasis:names:tc:ebxml-regrep:StatusType:Approved\')</rim:Value></rim:ValueList></rim:Slot>'
        '<rim:Slot name="$XDSDocumentEntryClassCode"><rim:ValueList><rim:Value>(\'34133-9^^2.16.840.1.113883.6.1\',\'x^^y\')</rim:Value></rim:ValueList></rim:Slot>'
        '<rim:Slot name="$XDSDocumentEntryCreationTimeFrom"><rim:ValueList><rim:Value>200412252300</rim:Value></rim:ValueList></rim:Slot>'
        '<rim:Slot name="$XDSDocumentEntryAuthorPerson"><rim:ValueList><rim:Value>\'%Smith%\'</rim:Value></rim:ValueList></rim:Slot>'
        '</rim:AdhocQuery></query:AdhocQueryRequest>')))

    # HL7 v2 ADT messages as a hospital's interface engine sends them
    msh = 'MSH|^~\\&|HIS|GENERAL-HOSP|CDAGATE|HIE|20261125083000||ADT^%s|CTL-%s|P|%s\r'
    pid = 'PID|1||PT-7^^^&1.2.3.4.5&ISO~MRN-9^^^HOSP^MR||Doe^Jane^Q\\T\\A||19700101|F|||1 Main St^^Town^ST^12345\r'
    for ev, ver in (('A01', '2.5'), ('A04', '2.3.1'), ('A05', '2.5'), ('A08', '2.5.1')):
        hl7.add(msh % (ev, ev, ver) + 'EVN|%s|20261125083000\r' % ev + pid + 'PV1|1|I\r')
    hl7.add(msh % ('A40^ADT_A39', 'A40', '2.5') + 'EVN|A40|20261125083000\r' + pid +
            'MRG|PT-8^^^&1.2.3.4.5&ISO\r')
    hl7.add('MSH|#$%*@|A|B|||||ADT$A01|X|P|2.5\nPID|1||a$$$@1.2@ISO\n')
    hl7.add(msh % ('A01', 'ESC', '2.5') + 'PID|1||P\\X41\\\\E\\\\F\\^^^&1.2&ISO\r')
    for name, c in (('fuzz_mime', mime), ('fuzz_soap', soap), ('fuzz_query_params', query),
                    ('fuzz_hl7v2', hl7), ('fuzz_render', render)):
        print('%s: %d seeds' % (name, c.n))


if __name__ == '__main__':
    main()
