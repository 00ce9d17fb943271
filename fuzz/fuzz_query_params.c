/* fuzz_query_params: the ITI-18/ITI-51 stored queries' parameters: the AdhocQueryRequest slots
 * (svc/query), the parameter rules and value syntax of registry/query (quoted strings, ('a','b')
 * lists, code^^^scheme, DTM bounds, author patterns) and the store find they turn into, on an
 * empty registry; then the answer is written as the transport writes it.
 * Input: the bytes of a SOAP envelope whose body is a query:AdhocQueryRequest. */
#define _POSIX_C_SOURCE 200809L
#include "fuzz.h"
#include "svc/query.h"
#include "svc/xds.h"
#include "transport/envelope.h"
#include "util/buf.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cg_fuzz_init();
    static cg_xds xds;
    if (xds.registry == NULL) {
        xds.registry = cg_fuzz_registry();
        xds.home_community_id = "urn:oid:1.2.3.4.5";
    }
    cg_pool *pool = cg_pool_new(0);
    cg_xml_limits lim;
    cg_xml_limits_default(&lim);
    lim.max_bytes = 1 << 20;
    cg_envelope env;
    cg_err err;
    cg_err_init(&err);
    if (cg_envelope_read(&env, pool, (const char *)data, size, &lim, &err) == CG_OK && env.body) {
        cg_request_limits rl = {.max_envelope = 1 << 20,
                                .max_part = 1 << 20,
                                .max_parts = 8,
                                .max_depth = lim.max_depth};
        cg_request req = {.pool = pool,
                          .path = "/xds/registry",
                          .action =
                              env.action && env.action[0] == 'u' ? env.action : CG_ACTION_ITI18,
                          .envelope = env.doc,
                          .body = env.body,
                          .peer_addr = "127.0.0.1:1",
                          .limits = &rl};
        cg_response resp = {0};
        cg_svc_iti18(&xds, &req, &resp);
        if (resp.body) {
            cg_buf out;
            cg_buf_init(&out, 64 << 20);
            size_t splice_at;
            cg_envelope_put_body(&out, resp.body, resp.nsplice ? &splice_at : NULL);
            for (size_t i = 0; i < resp.nsplice; i++) /* the pieces the transport writes */
                cg_buf_append(&out, resp.splice[i].text, resp.splice[i].len);
            cg_buf_dispose(&out);
        }
    }
    cg_pool_free(pool);
    return 0;
}
