/* fuzz_soap: the SOAP 1.2 envelope (transport/envelope, through xml/parse) and the ebRIM
 * metadata of a submission (ebrim/model) with the XDS metadata rules (registry/rules).
 * Input: the bytes of a SOAP envelope. When its body is an lcm:SubmitObjectsRequest, or an
 * ITI-41 ProvideAndRegisterDocumentSetRequest holding one, its objects are read and every rule
 * is checked, as ITI-41 and ITI-42 do before anything is stored. */
#define _POSIX_C_SOURCE 200809L
#include <string.h>

#include "ebrim/errlist.h"
#include "ebrim/model.h"
#include "fuzz.h"
#include "registry/rules.h"
#include "transport/envelope.h"

static int
is_el(xmlNodePtr n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cg_fuzz_init();
    cg_pool *pool = cg_pool_new(0);
    cg_xml_limits lim;
    cg_xml_limits_default(&lim);
    lim.max_bytes = 1 << 20;
    cg_envelope env;
    cg_err err;
    cg_err_init(&err);
    if (cg_envelope_read(&env, pool, (const char *)data, size, &lim, &err) == CG_OK && env.body) {
        xmlNodePtr sor = env.body;
        if (is_el(sor, "ProvideAndRegisterDocumentSetRequest"))
            for (sor = sor->children; sor && !is_el(sor, "SubmitObjectsRequest"); sor = sor->next)
                ;
        if (is_el(sor, "SubmitObjectsRequest")) {
            cg_errlist errs;
            cg_errlist_init(&errs, pool);
            cg_ebrim_submission sub;
            if (cg_ebrim_parse_submission(&sub, sor, pool, &errs) == CG_OK) {
                cg_rules_result res;
                cg_rules_check(&res, &sub, &errs);
            }
            (void)cg_errlist_status(&errs, 0);
            xmlDocPtr answer = cg_ebrim_registry_response(pool, &errs, 0);
            (void)answer; /* the pool frees it */
        }
    }
    cg_pool_free(pool);
    return 0;
}
