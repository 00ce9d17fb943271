/* folder: a registered Folder's lastUpdateTime advanced (see folder.h). */
#define _POSIX_C_SOURCE 200809L
#include "registry/folder.h"

#include <assert.h>
#include <string.h>

#include "ebrim/model.h"
#include "xml/parse.h"

static int
failed(cg_errlist *errs, const char *call, const cg_err *err)
{
    cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_REGISTRY_ERROR, NULL,
                   "the registry could not use its store (%s: %s); nothing was changed", call,
                   err->msg[0] ? err->msg : cg_err_name(err->code));
    return CG_EIO;
}

int
cg_registry_folder_touch(cg_store *store, cg_pool *pool, const char *uuid, const char *now,
                         cg_registry_folder_updates *out, cg_errlist *errs)
{
    assert(store && pool && uuid && now && out && errs);
    for (size_t k = 0; k < out->n; k++)
        if (strcmp(out->v[k].uuid, uuid) == 0)
            return CG_OK;
    const char *uuids[] = {uuid};
    cg_store_filter f = {.kinds = CG_STORE_KIND_FOLDER, .uuids = {uuids, 1}};
    cg_store_rows rows = {0};
    cg_err err;
    cg_err_init(&err);
    if (cg_store_find(store, &f, 1, 1, &rows, &err) != CG_OK)
        return failed(errs, "cg_store_find", &err);
    int rc = CG_OK;
    if (rows.count == 1) {
        cg_xml_limits limits;
        cg_xml_limits_default(&limits);
        xmlDocPtr doc = NULL;
        const cg_store_row *r = &rows.items[0];
        rc = cg_xml_parse(&doc, r->xml, r->xml_len, "(stored folder)", &limits, &err);
        const char *xml = NULL;
        size_t len = 0;
        if (rc == CG_OK) {
            xmlNodePtr root = xmlDocGetRootElement(doc);
            cg_ebrim_node_slot_set(root, "lastUpdateTime", now);
            rc = cg_ebrim_object_xml(&xml, &len, pool, root, NULL, 0);
            if (rc != CG_OK)
                cg_err_set(&err, rc, "cannot serialise the stored folder again");
        }
        xmlFreeDoc(doc);
        if (rc != CG_OK) {
            rc = failed(errs, "the stored folder", &err);
        } else {
            out->v = cg_pool_grow(pool, out->v, &out->cap, out->n + 1, sizeof(*out->v));
            out->v[out->n++] =
                (cg_store_folder_update){.uuid = cg_pool_strdup(pool, uuid),
                                         .last_update_time = cg_pool_strdup(pool, now),
                                         .xml = xml,
                                         .xml_len = len};
        }
    }
    cg_store_rows_dispose(&rows);
    return rc;
}
