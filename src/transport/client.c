/* client: outbound SOAP 1.2 / MTOM over one gSOAP connection (see client.h). */
#define _GNU_SOURCE
#include "transport/client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "transport/envelope.h"
#include "transport/mime.h"
#include "transport/wire.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/id.h"

#define CLIENT_MAX_ENVELOPE ((size_t)256 << 20)
#define CLIENT_MAX_PART ((size_t)1 << 30)
#define CLIENT_MAX_PARTS 10000
#define CLIENT_MAX_HEADER ((size_t)64 << 10)

struct cg_client {
    struct soap *soap;
    cg_wire wire;
    char *url;
};

int cg_client_new(cg_client **out, const char *url, const cg_client_tls *tls, int timeout_s,
                  cg_err *err)
{
    *out = NULL;
    int https = strncasecmp(url, "https://", 8) == 0;
    if (!https && strncasecmp(url, "http://", 7) != 0)
        return cg_err_set(err, CG_EINVAL, "URL \"%s\" is not http:// or https://", url);
    cg_client *c = cg_xcalloc(1, sizeof(*c));
    c->url = cg_xstrdup(url);
    c->soap = soap_new1(SOAP_IO_KEEPALIVE);
    struct soap *soap = c->soap;
    cg_wire_attach(soap, &c->wire, CLIENT_MAX_HEADER);
    c->wire.owner = c;
    int t = timeout_s > 0 ? timeout_s : 30;
    soap->connect_timeout = t;
    soap->recv_timeout = t;
    soap->send_timeout = t;
    soap->recv_maxlength = 0; /* bounded by the limits of cg_wire_read */
    if (https) {
        unsigned short flags = SOAP_SSL_REQUIRE_SERVER_AUTHENTICATION | SOAP_TLSv1_2 | SOAP_TLSv1_3;
        if (tls && tls->skip_host_check)
            flags |= SOAP_SSL_SKIP_HOST_CHECK;
        if (tls && tls->ca)
            flags |= SOAP_SSL_NO_DEFAULT_CA_PATH;
        if (soap_ssl_client_context(soap, flags, NULL, NULL, tls ? tls->ca : NULL, NULL, NULL)) {
            const char *s = soap_fault_string(soap);
            int rc = cg_err_set(err, CG_EINVAL, "soap_ssl_client_context: %s", s ? s : "failed");
            cg_client_free(c);
            return rc;
        }
        if (tls && tls->cert) {
            if (tls->key_password)
                SSL_CTX_set_default_passwd_cb_userdata(soap->ctx,
                                                       (void *)(uintptr_t)tls->key_password);
            int rc = CG_OK;
            if (SSL_CTX_use_certificate_chain_file(soap->ctx, tls->cert) != 1)
                rc = cg_wire_tls_error(err, "SSL_CTX_use_certificate_chain_file(client cert)");
            else if (SSL_CTX_use_PrivateKey_file(soap->ctx, tls->key ? tls->key : tls->cert,
                                                 SSL_FILETYPE_PEM) != 1)
                rc = cg_wire_tls_error(err, "SSL_CTX_use_PrivateKey_file(client key)");
            if (rc != CG_OK) {
                cg_client_free(c);
                return rc;
            }
        }
    }
    *out = c;
    return CG_OK;
}

void cg_client_free(cg_client *c)
{
    if (!c)
        return;
    soap_destroy(c->soap);
    soap_end(c->soap);
    soap_free(c->soap);
    free(c->url);
    free(c);
}

int cg_client_call(cg_client *c, cg_pool *pool, const char *action, xmlDocPtr body,
                   const cg_out_part *parts, size_t nparts, int mtom, cg_client_answer *out,
                   cg_err *err)
{
    struct soap *soap = c->soap;
    memset(out, 0, sizeof(*out));
    soap_destroy(soap);
    soap_end(soap);
    cg_wire_reset(&c->wire);
    char msgid[CG_UUID_URN_LEN + 1];
    cg_id_uuid_urn(msgid);
    cg_buf head, xml;
    cg_buf_init(&head, (size_t)1 << 20);
    cg_buf_init(&xml, (size_t)-1);
    int rc = cg_envelope_put_header(&head, action, msgid, NULL, c->url);
    if (rc == CG_OK)
        rc = cg_envelope_put_body(&xml, body, NULL);
    if (rc != CG_OK) {
        cg_buf_dispose(&head);
        cg_buf_dispose(&xml);
        return cg_err_set(err, CG_EINVAL, "the request could not be serialised");
    }
    cg_wire_out o = {0};
    o.header_xml = head.data;
    o.body_xml = xml.data;
    o.parts = parts;
    o.nparts = nparts;
    o.mtom = mtom;
    int sent = cg_wire_send(soap, &o, c->url, action);
    cg_buf_dispose(&head);
    cg_buf_dispose(&xml);
    if (sent != SOAP_OK) {
        const char *s = soap_fault_string(soap);
        const char *d = soap_fault_detail(soap);
        rc = cg_err_set(err, CG_EIO, "POST %s: %s%s%s", c->url, s ? s : "send failed",
                        d ? ": " : "", d ? d : "");
        soap_closesock(soap);
        return rc;
    }
    int r = soap_begin_recv(soap);
    int status = soap->status;
    if (r != SOAP_OK && !(r >= 100 && r < 600) && r != SOAP_FAULT) {
        const char *s = soap_fault_string(soap);
        rc = cg_err_set(err, CG_EIO, "reading the answer from %s: %s (%d)", c->url,
                        s ? s : "failed", r);
        soap_closesock(soap);
        return rc;
    }
    out->http_status = status >= 100 && status < 600 ? status : (r >= 100 && r < 600 ? r : 200);
    out->content_type = cg_pool_strdup(pool, c->wire.content_type);
    cg_wire_limits lim = {CLIENT_MAX_ENVELOPE, CLIENT_MAX_PART, CLIENT_MAX_PARTS, CLIENT_MAX_HEADER};
    cg_wire_message msg;
    rc = cg_wire_read(soap, pool, &lim, &msg, err);
    if (rc != CG_OK) {
        soap_closesock(soap);
        return rc;
    }
    if (!soap->keep_alive)
        soap_closesock(soap);
    char *media = cg_mime_type(pool, c->wire.content_type);
    if (!media || (strcmp(media, "application/soap+xml") != 0 &&
                   strcmp(media, "multipart/related") != 0 && strcmp(media, "text/xml") != 0)) {
        out->text = msg.envelope;
        out->text_len = msg.envelope_len;
        return CG_OK;
    }
    cg_envelope env;
    cg_xml_limits xl;
    cg_xml_limits_default(&xl);
    xl.max_bytes = CLIENT_MAX_ENVELOPE;
    rc = cg_envelope_read(&env, pool, msg.envelope, msg.envelope_len, &xl, err);
    if (rc != CG_OK)
        return rc;
    out->envelope = env.doc;
    out->body = env.body;
    out->action = env.action;
    out->relates_to = env.relates_to;
    out->message_id = env.message_id;
    out->parts = msg.parts;
    out->nparts = msg.nparts;
    if (env.version_mismatch) {
        /* a SOAP 1.1 answer: only its fault matters here */
        out->fault = 1;
        out->fault_code = "VersionMismatch";
        return CG_OK;
    }
    out->fault = env.is_fault;
    out->fault_code = env.fault_code;
    out->fault_subcode = env.fault_subcode;
    out->fault_reason = env.fault_reason;
    return CG_OK;
}
