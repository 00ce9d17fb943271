// An independent SOAP client against cdagate: node-soap (npm `soap`) loads the repository's
// WSDL from the running server, sends ITI-41 as MTOM with the document as an attachment, then
// ITI-43 and reads the MTOM answer. Prints one "ok"/"FAIL" line per check; exits 1 on failure.
// Usage: node nodesoap.js URL DOCUMENT PATIENT DOCUID REPOSITORYID TEMPLATE
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const soap = require('soap');

const [url, docPath, patient, docUid, repoId, templatePath] = process.argv.slice(2);
const doc = fs.readFileSync(docPath);
let failed = 0;
function check(name, ok, detail) {
    console.log((ok ? 'ok   - ' : 'FAIL - ') + name + (ok || !detail ? '' : ': ' + detail));
    if (!ok) failed++;
}
const WSA = 'http://www.w3.org/2005/08/addressing';
function addressing(client, action) {
    client.clearSoapHeaders();
    client.addSoapHeader(`<wsa:Action xmlns:wsa="${WSA}">${action}</wsa:Action>`);
    client.addSoapHeader(`<wsa:MessageID xmlns:wsa="${WSA}">urn:uuid:${crypto.randomUUID()}</wsa:MessageID>`);
    client.addSoapHeader(`<wsa:To xmlns:wsa="${WSA}">${url}/xds/repository</wsa:To>`);
}

(async () => {
    const client = await soap.createClientAsync(url + '/xds/repository?wsdl', {
        forceSoap12Headers: true,
        parseReponseAttachments: true,
    });
    const ops = JSON.stringify(client.describe());
    check('the WSDL loads and describes ITI-41 and ITI-43',
        ops.includes('ProvideAndRegisterDocumentSet') && ops.includes('RetrieveDocumentSet'), ops);

    const body = fs.readFileSync(templatePath, 'utf8')
        .replace(/^<\?xml[^>]*>\s*/, '').replace(/<!--[\s\S]*?-->\s*/, '')
        .replace(/@PATIENT@/g, patient.replace(/&/g, '&amp;')).replace(/@DOCUID@/g, docUid)
        .replace(/@SSUID@/g, docUid + '.1')
        .replace('@CONTENT@', '<xop:Include href="cid:doc1@nodesoap"/>');
    // node-soap writes the operation's element (from our WSDL) itself: hand it the content, with
    // the namespaces the outer element declared moved onto its children.
    const inner = body.replace(/^<xdsb:ProvideAndRegisterDocumentSetRequest[^>]*>/, '')
        .replace(/<\/xdsb:ProvideAndRegisterDocumentSetRequest>\s*$/, '')
        .replace('<lcm:SubmitObjectsRequest>', '<lcm:SubmitObjectsRequest ' +
            'xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" ' +
            'xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0">')
        .replace('<xdsb:Document ', '<xdsb:Document xmlns:xop="http://www.w3.org/2004/08/xop/include" ');
    const service = Object.keys(client.describe())[0];
    const port = Object.keys(client.describe()[service])[0];
    const ops41 = Object.keys(client.describe()[service][port]);
    const pnr = ops41.find((o) => /ProvideAndRegister/.test(o));
    const retrieve = ops41.find((o) => /Retrieve/.test(o));
    // the operation's method, by WSDL service, port and operation name (ours contain '-')
    const call = (op, args, opts) => new Promise((resolve) => {
        client[service][port][op](args, (err, result) => resolve([result, err]), opts);
    });
    addressing(client, 'urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b');
    const [r41] = await call(pnr, { $xml: inner }, {
        forceMTOM: true,
        attachments: [{ mimetype: 'text/xml', contentId: 'doc1@nodesoap', name: 'doc.xml', body: doc }],
    });
    const xml41 = client.lastResponse || '';
    check('ITI-41 from node-soap (MTOM, start-info text/xml) succeeds',
        /ResponseStatusType:Success/.test(xml41), xml41.slice(xml41.indexOf('Body'), xml41.indexOf('Body') + 1500) || JSON.stringify(r41));

    const req = `<xdsb:DocumentRequest>` +
        `<xdsb:RepositoryUniqueId>${repoId}</xdsb:RepositoryUniqueId>` +
        `<xdsb:DocumentUniqueId>${docUid}</xdsb:DocumentUniqueId></xdsb:DocumentRequest>`;
    addressing(client, 'urn:ihe:iti:2007:RetrieveDocumentSet');
    await call(retrieve, { $xml: req });
    const xml43 = client.lastResponse || '';
    check('ITI-43 from node-soap succeeds', /ResponseStatusType:Success/.test(xml43), xml43.slice(xml43.indexOf('Body'), xml43.indexOf('Body') + 900));
    const parts = (client.lastResponseAttachments && client.lastResponseAttachments.parts) || [];
    const got = parts.length ? Buffer.from(parts[0].body) : Buffer.alloc(0);
    check('node-soap reads the MTOM attachment: the bytes submitted', got.equals(doc),
        `${parts.length} parts, ${got.length} bytes vs ${doc.length}`);
    process.exit(failed ? 1 : 0);
})().catch((e) => {
    console.log('FAIL - node-soap: ' + (e && e.stack || e));
    process.exit(1);
});
