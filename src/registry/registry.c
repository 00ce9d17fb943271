/* registry: the XDS Document Registry's submission path (see registry.h): rules, the checks that
 * need the store, amending the tree (entryUUIDs, references, status, versions), and one store
 * transaction with the store's conflicts mapped to IHE error codes. */
#define _POSIX_C_SOURCE 200809L
#include "registry/registry.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "registry/folder.h"
#include "registry/format.h"
#include "registry/rules.h"
#include "util/alloc.h"
#include "util/id.h"
#include "util/str.h"
#include "xml/parse.h"

struct cg_registry {
    cg_store *store;
    int check_patients;
    char *home_community_id;
    cg_registry_config cfg; /* home_community_id pointing at ours */
};

void
cg_registry_config_default(cg_registry_config *out)
{
    memset(out, 0, sizeof(*out));
    out->check_patients = 1;
    out->max_query_results = 1000;
}

cg_registry *
cg_registry_new(cg_store *store, const cg_registry_config *cfg)
{
    assert(store != NULL);
    cg_registry_config def;
    if (cfg == NULL) {
        cg_registry_config_default(&def);
        cfg = &def;
    }
    cg_registry *reg = cg_xcalloc(1, sizeof(*reg));
    reg->store = store;
    reg->check_patients = cfg->check_patients;
    reg->home_community_id = cfg->home_community_id ? cg_xstrdup(cfg->home_community_id) : NULL;
    reg->cfg = *cfg;
    reg->cfg.home_community_id = reg->home_community_id;
    return reg;
}

cg_store *
cg_registry_store(const cg_registry *reg)
{
    return reg->store;
}

const cg_registry_config *
cg_registry_config_of(const cg_registry *reg)
{
    return &reg->cfg;
}

void
cg_registry_free(cg_registry *reg)
{
    if (reg == NULL)
        return;
    free(reg->home_community_id);
    free(reg);
}

int
cg_registry_patient_id_check(const char *patient_id, char *why, size_t whylen)
{
    assert(patient_id != NULL);
    if (why != NULL && whylen > 0)
        why[0] = '\0';
    return cg_format_cx_why(patient_id, why, whylen) ? CG_OK : CG_EINVAL;
}

static int
is_xds_object(const cg_ebrim_object *o)
{
    return o->kind == CG_EBRIM_DOCUMENT_ENTRY || o->kind == CG_EBRIM_SUBMISSION_SET ||
           o->kind == CG_EBRIM_FOLDER;
}

static int
store_failed(cg_errlist *errs, const char *call, const cg_err *err)
{
    cg_rules_add(errs, CG_IHE_ERROR, CG_XDS_REGISTRY_ERROR, NULL,
                 "the registry could not use its store (%s: %s); nothing was registered", call,
                 err->msg[0] ? err->msg : cg_err_name(err->code));
    return CG_EIO;
}

/* ---- checks that need the store -------------------------------------------------------------- */

typedef struct pid_ref {
    const char *pid;
    size_t index;
} pid_ref;

static int
cmp_pid(const void *a, const void *b)
{
    const pid_ref *x = a, *y = b;
    int c = strcmp(x->pid, y->pid);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* XDSUnknownPatientId once per distinct well-formed patient id, naming its first object: for an
 * id merged into another (always), for an id never registered (when check_patients is on). */
static int
check_patients(cg_registry *reg, const cg_ebrim_submission *sub, cg_errlist *errs)
{
    pid_ref *refs = cg_pool_calloc(sub->pool, sub->count + 1, sizeof(*refs));
    size_t n = 0;
    for (size_t i = 0; i < sub->count; i++) {
        const cg_ebrim_object *o = &sub->objects[i];
        if (is_xds_object(o) && o->patient_id != NULL && cg_format_is_cx(o->patient_id))
            refs[n++] = (pid_ref){o->patient_id, i};
    }
    qsort(refs, n, sizeof(*refs), cmp_pid);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(refs[i].pid, refs[i - 1].pid) == 0)
            continue;
        int known = 0;
        char *merged_into = NULL;
        cg_err err;
        cg_err_init(&err);
        if (cg_store_patient_lookup(reg->store, refs[i].pid, &known, &merged_into, &err) != CG_OK)
            return store_failed(errs, "cg_store_patient_lookup", &err);
        const cg_ebrim_object *o = &sub->objects[refs[i].index];
        if (merged_into) /* ITI-8 A40: refused even when check_patients is off */
            cg_rules_add(errs, CG_IHE_ERROR, CG_XDS_UNKNOWN_PATIENT_ID, o,
                         "patientId \"%s\" was merged into \"%s\" by the patient identity "
                         "feed: submit for \"%s\"",
                         refs[i].pid, merged_into, merged_into);
        else if (!known && reg->check_patients)
            cg_rules_add(errs, CG_IHE_ERROR, CG_XDS_UNKNOWN_PATIENT_ID, o,
                         "patientId \"%s\" is not known to this registry (no patient identity "
                         "feed registered it)",
                         refs[i].pid);
        free(merged_into);
    }
    return CG_OK;
}

/* Standalone Classifications naming a urn:uuid outside the submission. */
static int
check_outside(cg_registry *reg, const cg_rules_result *res, cg_errlist *errs)
{
    for (size_t i = 0; i < res->noutside; i++) {
        const cg_ebrim_object *o = res->outside[i];
        char *xml = NULL;
        size_t len = 0;
        cg_err err;
        cg_err_init(&err);
        int rc = cg_store_object_xml(reg->store, o->classified_object, &xml, &len, &err);
        free(xml);
        if (rc == CG_ENOTFOUND)
            cg_rules_add(errs, CG_IHE_ERROR, CG_XDS_UNRESOLVED_REFERENCE, o,
                         "classifiedObject \"%s\" names neither an object of this submission "
                         "nor a registered object",
                         o->classified_object);
        else if (rc == CG_OK)
            cg_rules_add(errs, CG_IHE_ERROR, CG_XDS_REGISTRY_METADATA_ERROR, o,
                         "classifies the registered object %s; registered metadata changes "
                         "by a new version of the object (ITI-57 Update Document Set)",
                         o->classified_object);
        else
            return store_failed(errs, "cg_store_object_xml", &err);
    }
    return CG_OK;
}

/* ---- document relationships (RPLC, APND, XFRM, XFRM_RPLC, signs) ----------------------------- */

/* The registered object's XML with its status attribute set to `status`, in pool. */
static int
restatus(cg_pool *pool, const char *xml, size_t len, const char *status, const char **out,
         size_t *out_len, cg_err *err)
{
    cg_xml_limits limits;
    cg_xml_limits_default(&limits);
    xmlDocPtr doc = NULL;
    int rc = cg_xml_parse(&doc, xml, len, "(stored object)", &limits, err);
    if (rc != CG_OK)
        return rc;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlSetProp(root, BAD_CAST "status", BAD_CAST status);
    rc = cg_ebrim_object_xml(out, out_len, pool, root, NULL, 0);
    if (rc != CG_OK)
        cg_err_set(err, rc, "cannot serialise the stored object again");
    xmlFreeDoc(doc);
    return rc;
}

/* ITI-57: a DocumentEntry or Folder of the submission that is a new version of a registered
 * logical object, and an association the registry adds (a propagated membership). */
typedef struct mu_version {
    cg_ebrim_object *obj;
    const char *lid; /* NULL: an association of the submission whose status alone changes */
    const char *status;
    int version;
    int restatused; /* an UpdateAvailabilityStatus of the same submission set the status */
    int propagate;  /* AssociationPropagation (yes unless no) */
} mu_version;

typedef struct mu_extra {
    const char *source; /* a registered object, or NULL: source_obj */
    const cg_ebrim_object *source_obj;
    const char *target; /* a registered object, or NULL: target_obj */
    const cg_ebrim_object *target_obj;
} mu_extra;

typedef struct status_changes {
    cg_store_status_change *v;
    size_t n, cap;
    mu_version *ver; /* ITI-57 */
    size_t nver, ver_cap;
    mu_extra *extra;
    size_t nextra, extra_cap;
    /* Folder memberships a replacement carries over: folder i gets the new entry of
     * relationship carry[i] (ITI TF-3 4.2.2.2) */
    const char **folders;
    const cg_ebrim_object **carry;
    size_t ncarry, carry_cap, folders_cap;
} status_changes;

/* Deprecates the registered DocumentEntry `row` in the submission (once). */
static int
deprecate(cg_pool *pool, status_changes *out, const cg_store_row *row, cg_errlist *errs)
{
    for (size_t k = 0; k < out->n; k++)
        if (strcmp(out->v[k].uuid, row->uuid) == 0)
            return CG_OK;
    out->v = cg_pool_grow(pool, out->v, &out->cap, out->n + 1, sizeof(*out->v));
    cg_store_status_change *c = &out->v[out->n];
    *c = (cg_store_status_change){.uuid = cg_pool_strdup(pool, row->uuid),
                                  .from = CG_STATUS_APPROVED,
                                  .to = CG_STATUS_DEPRECATED};
    cg_err err;
    cg_err_init(&err);
    if (restatus(pool, row->xml, row->xml_len, CG_STATUS_DEPRECATED, &c->xml, &c->xml_len,
                 &err) != CG_OK)
        return store_failed(errs, "the stored object", &err);
    out->n++;
    return CG_OK;
}

/* What replacing the registered DocumentEntry `target` by relationship `a` does besides
 * deprecating it: its Approved addenda and transformations (APND, XFRM to it) are deprecated
 * too, and the Folders holding it hold the replacement as well (ITI TF-3 4.2.2.2). */
static int
replace_effects(cg_registry *reg, cg_pool *pool, const cg_ebrim_object *a, const char *target,
                status_changes *out, cg_errlist *errs)
{
    const char *targets[] = {target};
    const char *types[] = {CG_ASSOC_APND, CG_ASSOC_XFRM, CG_ASSOC_HAS_MEMBER};
    cg_store_filter f = {.kinds = CG_STORE_KIND_ASSOC, .targets = {targets, 1},
                         .assoc_types = {types, 3}};
    cg_store_rows assocs = {0};
    cg_err err;
    cg_err_init(&err);
    if (cg_store_find(reg->store, &f, 0, 0, &assocs, &err) != CG_OK)
        return store_failed(errs, "cg_store_find", &err);
    int rc = CG_OK;
    for (size_t i = 0; rc == CG_OK && i < assocs.count; i++) {
        const cg_store_row *r = &assocs.items[i];
        int member = strcmp(r->assoc_type, CG_ASSOC_HAS_MEMBER) == 0;
        const char *uuids[] = {r->source};
        cg_store_filter g = {.kinds = member ? CG_STORE_KIND_FOLDER : CG_STORE_KIND_DOC,
                             .uuids = {uuids, 1}};
        cg_store_rows src = {0};
        if (cg_store_find(reg->store, &g, 1, !member, &src, &err) != CG_OK) {
            rc = store_failed(errs, "cg_store_find", &err);
        } else if (src.count == 1 && member) {
            out->folders = cg_pool_grow(pool, out->folders, &out->folders_cap, out->ncarry + 1,
                                        sizeof(*out->folders));
            out->carry = cg_pool_grow(pool, out->carry, &out->carry_cap, out->ncarry + 1,
                                      sizeof(*out->carry));
            out->folders[out->ncarry] = cg_pool_strdup(pool, r->source);
            out->carry[out->ncarry++] = a;
        } else if (src.count == 1 && src.items[0].status &&
                   strcmp(src.items[0].status, CG_STATUS_APPROVED) == 0) {
            rc = deprecate(pool, out, &src.items[0], errs);
        }
        cg_store_rows_dispose(&src);
    }
    cg_store_rows_dispose(&assocs);
    return rc;
}

/* Checks each relationship's target, a registered DocumentEntry: it exists, is Approved and
 * has the new entry's patient (ITI TF-3 4.2.2); the targets RPLC and XFRM_RPLC replace are
 * deprecated in the submission's transaction (their status and stored XML). */
static int
check_relationships(cg_registry *reg, const cg_ebrim_submission *sub, status_changes *out,
                    cg_errlist *errs)
{
    for (size_t i = 0; i < sub->count; i++) {
        const cg_ebrim_object *a = &sub->objects[i];
        if (a->kind != CG_EBRIM_ASSOCIATION || !cg_rules_is_relationship(a->assoc_type) ||
            cg_ebrim_find(sub, a->target) != NULL)
            continue;
        const cg_ebrim_object *src = cg_ebrim_find(sub, a->source);
        int replaces = cg_rules_is_replacement(a->assoc_type);
        const char *uuids[] = {a->target};
        cg_store_filter f = {.kinds = CG_STORE_KIND_DOC, .uuids = {uuids, 1}};
        cg_store_rows rows = {0};
        cg_err err;
        cg_err_init(&err);
        if (cg_store_find(reg->store, &f, 1, replaces, &rows, &err) != CG_OK)
            return store_failed(errs, "cg_store_find", &err);
        const cg_store_row *t = rows.count ? &rows.items[0] : NULL;
        int rc = CG_OK;
        if (t == NULL) {
            cg_rules_add(errs, CG_IHE_ERROR, CG_XDS_UNRESOLVED_REFERENCE, a,
                         "targetObject %s names no registered DocumentEntry", a->target);
        } else if (t->status == NULL || strcmp(t->status, CG_STATUS_APPROVED) != 0) {
            cg_rules_add(errs, CG_IHE_ERROR, CG_XDS_DEPRECATED_DOCUMENT, a,
                         "targetObject %s is %s: only an Approved DocumentEntry takes %s", a->target,
                         t->status ? t->status : "without status", a->assoc_type);
        } else if (src && src->patient_id && t->patient_id &&
                   strcmp(src->patient_id, t->patient_id) != 0) {
            cg_rules_add(errs, CG_IHE_ERROR, CG_XDS_PATIENT_ID_DOES_NOT_MATCH, a,
                         "DocumentEntry %s has patientId \"%s\" but targetObject %s has \"%s\"",
                         src->id, src->patient_id, a->target, t->patient_id);
        } else if (replaces) {
            int again = 0;
            for (size_t k = 0; k < out->n; k++)
                again |= strcmp(out->v[k].uuid, a->target) == 0;
            if (again)
                cg_rules_add(errs, CG_IHE_ERROR, CG_XDS_REGISTRY_METADATA_ERROR, a,
                             "targetObject %s is replaced twice in one submission", a->target);
            else if ((rc = deprecate(sub->pool, out, t, errs)) == CG_OK)
                rc = replace_effects(reg, sub->pool, a, a->target, out, errs);
        }
        cg_store_rows_dispose(&rows);
        if (rc != CG_OK)
            return rc;
    }
    return CG_OK;
}

/* ---- amending the tree ----------------------------------------------------------------------- */

static int
is_rim(xmlNodePtr n, const char *local)
{
    return n->type == XML_ELEMENT_NODE && n->ns != NULL &&
           xmlStrEqual(n->ns->href, BAD_CAST CG_NS_RIM) && xmlStrEqual(n->name, BAD_CAST local);
}

static const char *
new_uuid(cg_pool *pool)
{
    char u[CG_UUID_URN_LEN + 1];
    cg_id_uuid7_urn(u);
    return cg_pool_strdup(pool, u);
}

/* Rewrites the references of node and its descendants to entryUUIDs; nested Classifications and
 * ExternalIdentifiers get a UUID id and name their parent. */
static void
rewrite(const cg_ebrim_submission *sub, xmlNodePtr node)
{
    static const char *const refs[] = {"sourceObject", "targetObject", "classifiedObject",
                                       "registryObject"};
    for (size_t r = 0; r < sizeof(refs) / sizeof(refs[0]); r++) {
        xmlChar *v = xmlGetNoNsProp(node, BAD_CAST refs[r]);
        if (v == NULL)
            continue;
        const cg_ebrim_object *o = cg_ebrim_find(sub, (const char *)v);
        if (o != NULL && o->uuid != NULL && strcmp(o->uuid, (const char *)v) != 0)
            xmlSetProp(node, BAD_CAST refs[r], BAD_CAST o->uuid);
        xmlFree(v);
    }
    for (xmlNodePtr c = node->children; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        int cl = is_rim(c, "Classification");
        if (cl || is_rim(c, "ExternalIdentifier")) {
            xmlChar *id = xmlGetNoNsProp(c, BAD_CAST "id");
            if (id == NULL || !cg_id_is_uuid_urn((const char *)id))
                xmlSetProp(c, BAD_CAST "id", BAD_CAST new_uuid(sub->pool));
            xmlFree(id);
            const char *owner_attr = cl ? "classifiedObject" : "registryObject";
            xmlChar *parent_id = xmlGetNoNsProp(node, BAD_CAST "id");
            if (parent_id != NULL && !xmlHasNsProp(c, BAD_CAST owner_attr, NULL))
                xmlSetProp(c, BAD_CAST owner_attr, parent_id);
            xmlFree(parent_id);
        }
        rewrite(sub, c);
    }
}

static void
now_dtm(char out[15])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 15, "%Y%m%d%H%M%S", &tm);
}

static void
amend(cg_ebrim_submission *sub, const cg_rules_result *res)
{
    for (size_t i = 0; i < sub->count; i++)
        if (sub->objects[i].uuid == NULL)
            sub->objects[i].uuid = new_uuid(sub->pool);
    char now[15];
    now_dtm(now);
    for (size_t i = 0; i < sub->count; i++) {
        cg_ebrim_object *o = &sub->objects[i];
        xmlSetProp(o->node, BAD_CAST "id", BAD_CAST o->uuid);
        rewrite(sub, o->node);
        if (o->kind == CG_EBRIM_CLASSIFICATION)
            continue;
        /* the rules allow a lid only equal to the id: a first version */
        xmlSetProp(o->node, BAD_CAST "lid", BAD_CAST o->uuid);
        xmlSetProp(o->node, BAD_CAST "status", BAD_CAST CG_STATUS_APPROVED);
        if (cg_ebrim_child(o->node, "VersionInfo", NULL) == NULL) {
            xmlNodePtr vi = xmlNewDocNode(o->node->doc, o->node->ns, BAD_CAST "VersionInfo", NULL);
            xmlNewProp(vi, BAD_CAST "versionName", BAD_CAST "1");
            cg_ebrim_insert(o->node, vi);
        }
        const cg_rules_object *info = &res->objects[i];
        for (size_t d = 0; d < info->ndropped; d++)
            cg_ebrim_slot_remove(o, info->dropped[d]);
        if (o->kind == CG_EBRIM_FOLDER)
            cg_ebrim_slot_set(o, "lastUpdateTime", now);
    }
}

/* ---- registering ----------------------------------------------------------------------------- */

typedef struct build {
    cg_pool *pool;
    cg_store_code *codes;
    size_t ncodes;
    size_t codes_cap;
    const char **authors;
    size_t nauthors;
    size_t authors_cap;
} build;

static void
collect_codes(build *b, const cg_ebrim_object *o, const cg_rules_object *info)
{
    b->codes = NULL;
    b->ncodes = b->codes_cap = 0;
    b->authors = NULL;
    b->nauthors = b->authors_cap = 0;
    for (size_t k = 0; k < info->nclassifications; k++) {
        xmlNodePtr cl = info->classifications[k];
        const cg_rules_scheme *sch =
            cg_rules_scheme_find(o->kind, cg_ebrim_attr(b->pool, cl, "classificationScheme"));
        if (sch == NULL)
            continue;
        if (sch->coded) {
            b->codes =
                cg_pool_grow(b->pool, b->codes, &b->codes_cap, b->ncodes + 1, sizeof(*b->codes));
            cg_store_code *code = &b->codes[b->ncodes++];
            code->attr = sch->attr;
            code->code = cg_ebrim_attr(b->pool, cl, "nodeRepresentation");
            code->scheme = cg_pool_strdup(b->pool, cg_ebrim_node_slot_value(cl, "codingScheme"));
        } else {
            const char *person = cg_ebrim_node_slot_value(cl, "authorPerson");
            if (person == NULL)
                continue;
            b->authors = cg_pool_grow(b->pool, b->authors, &b->authors_cap, b->nauthors + 1,
                                      sizeof(*b->authors));
            b->authors[b->nauthors++] = cg_pool_strdup(b->pool, person);
        }
    }
}

static const char *
slot(cg_pool *pool, const cg_ebrim_object *o, const char *name)
{
    return cg_pool_strdup(pool, cg_ebrim_slot_value(o, name));
}

static const char *
endpoint(const cg_ebrim_submission *sub, const char *ref)
{
    const cg_ebrim_object *o = cg_ebrim_find(sub, ref);
    return o ? o->uuid : ref;
}

/* The submission as the store takes it: one object per DocumentEntry, SubmissionSet, Folder and
 * Association, and the association ends that lie outside it. */
static int
build_submission(cg_store_submission *out, const cg_ebrim_submission *sub,
                 const cg_rules_result *res, cg_errlist *errs)
{
    cg_pool *pool = sub->pool;
    cg_store_object *objs = cg_pool_calloc(pool, sub->count + 1, sizeof(*objs));
    const char **refs = cg_pool_calloc(pool, 2 * sub->count + 1, sizeof(*refs));
    size_t nobj = 0, nrefs = 0;
    build b = {.pool = pool};
    for (size_t i = 0; i < sub->count; i++) {
        const cg_ebrim_object *o = &sub->objects[i];
        const cg_rules_object *info = &res->objects[i];
        if (o->kind == CG_EBRIM_CLASSIFICATION)
            continue;
        cg_store_object *so = &objs[nobj++];
        so->uuid = o->uuid;
        so->lid = o->uuid;
        so->version = 1;
        so->status = CG_STATUS_APPROVED;
        so->size = -1;
        collect_codes(&b, o, info);
        so->codes = b.codes;
        so->ncodes = b.ncodes;
        so->author_persons = b.authors;
        so->nauthor_persons = b.nauthors;
        switch (o->kind) {
        case CG_EBRIM_DOCUMENT_ENTRY: {
            so->kind = CG_OBJ_DOCUMENT_ENTRY;
            so->object_type = o->object_type;
            so->mime_type = o->mime_type;
            so->hash = slot(pool, o, "hash");
            const char *size = cg_ebrim_slot_value(o, "size");
            so->size = size ? strtoll(size, NULL, 10) : -1;
            so->repository_id = slot(pool, o, "repositoryUniqueId");
            so->creation_time = slot(pool, o, "creationTime");
            so->service_start = slot(pool, o, "serviceStartTime");
            so->service_stop = slot(pool, o, "serviceStopTime");
            break;
        }
        case CG_EBRIM_SUBMISSION_SET:
            so->kind = CG_OBJ_SUBMISSION_SET;
            so->submission_time = slot(pool, o, "submissionTime");
            so->source_id = cg_ebrim_external_id(pool, o->node, CG_UUID_SS_SOURCE_ID);
            break;
        case CG_EBRIM_FOLDER:
            so->kind = CG_OBJ_FOLDER;
            so->last_update_time = slot(pool, o, "lastUpdateTime");
            break;
        case CG_EBRIM_ASSOCIATION:
            so->kind = CG_OBJ_ASSOCIATION;
            so->assoc_type = o->assoc_type;
            so->source = endpoint(sub, o->source);
            so->target = endpoint(sub, o->target);
            if (cg_ebrim_find(sub, o->source) == NULL)
                refs[nrefs++] = o->source;
            if (cg_ebrim_find(sub, o->target) == NULL)
                refs[nrefs++] = o->target;
            break;
        case CG_EBRIM_CLASSIFICATION: break;
        }
        if (is_xds_object(o)) {
            so->patient_id = o->patient_id;
            so->unique_id = o->unique_id;
        }
        if (cg_ebrim_object_xml(&so->xml, &so->xml_len, pool, o->node, info->fold, info->nfold) !=
            CG_OK) {
            cg_rules_add(errs, CG_IHE_ERROR, CG_XDS_REGISTRY_ERROR, o,
                         "cg_ebrim_object_xml could not serialize it; nothing was registered");
            return CG_EIO;
        }
    }
    if (nrefs > 1) {
        qsort(refs, nrefs, sizeof(*refs), cg_str_ptr_cmp);
        size_t u = 1;
        for (size_t i = 1; i < nrefs; i++)
            if (strcmp(refs[i], refs[u - 1]) != 0)
                refs[u++] = refs[i];
        nrefs = u;
    }
    memset(out, 0, sizeof(*out));
    out->objects = objs;
    out->nobjects = nobj;
    out->references = refs;
    out->nreferences = nrefs;
    return CG_OK;
}

/* Objects of the submission by a key (uniqueId, entryUUID, or an association end outside the
 * submission), sorted: the store may report a conflict for every object of a large submission. */
typedef struct keyed {
    const char *key;
    size_t order;
    const cg_ebrim_object *obj;
    const char *what; /* for association ends: "sourceObject" or "targetObject" */
} keyed;

typedef struct key_index {
    keyed *items;
    size_t n;
    size_t cap;
} key_index;

static void
key_add(cg_pool *pool, key_index *ix, const char *key, const cg_ebrim_object *o, const char *what)
{
    if (key == NULL)
        return;
    ix->items = cg_pool_grow(pool, ix->items, &ix->cap, ix->n + 1, sizeof(*ix->items));
    ix->items[ix->n] = (keyed){key, ix->n, o, what};
    ix->n++;
}

static int
cmp_keyed(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

/* The first entry whose key is `key`, or ix->n. */
static size_t
key_first(const key_index *ix, const char *key)
{
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(ix->items[mid].key, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ix->n && strcmp(ix->items[lo].key, key) == 0 ? lo : ix->n;
}

typedef struct conflict_ctx {
    key_index unique_ids; /* DocumentEntries, SubmissionSets, Folders */
    key_index uuids;      /* every object the store was given */
    key_index outside;    /* association ends outside the submission */
} conflict_ctx;

static void
conflict_index(conflict_ctx *cx, const cg_ebrim_submission *sub)
{
    memset(cx, 0, sizeof(*cx));
    for (size_t i = 0; i < sub->count; i++) {
        const cg_ebrim_object *o = &sub->objects[i];
        if (o->kind == CG_EBRIM_CLASSIFICATION)
            continue;
        key_add(sub->pool, &cx->uuids, o->uuid, o, NULL);
        if (is_xds_object(o))
            key_add(sub->pool, &cx->unique_ids, o->unique_id, o, NULL);
        if (o->kind == CG_EBRIM_ASSOCIATION) {
            if (cg_ebrim_find(sub, o->source) == NULL)
                key_add(sub->pool, &cx->outside, o->source, o, "sourceObject");
            if (cg_ebrim_find(sub, o->target) == NULL)
                key_add(sub->pool, &cx->outside, o->target, o, "targetObject");
        }
    }
    key_index *all[] = {&cx->unique_ids, &cx->uuids, &cx->outside};
    for (size_t k = 0; k < 3; k++)
        if (all[k]->n > 1)
            qsort(all[k]->items, all[k]->n, sizeof(*all[k]->items), cmp_keyed);
}

/* XDSNonIdenticalHash for a DocumentEntry whose uniqueId is registered with another hash,
 * XDSDuplicateUniqueIdInRegistry otherwise. */
static void
conflict_unique_id(const conflict_ctx *cx, const cg_store_conflict *cf, cg_errlist *errs)
{
    const key_index *ix = &cx->unique_ids;
    size_t k = key_first(ix, cf->id);
    if (k == ix->n)
        cg_rules_add(errs, CG_IHE_ERROR, CG_XDS_DUPLICATE_UNIQUE_ID_IN_REGISTRY, NULL,
                     "uniqueId \"%s\" is already registered", cf->id);
    for (; k < ix->n && strcmp(ix->items[k].key, cf->id) == 0; k++) {
        const cg_ebrim_object *o = ix->items[k].obj;
        const char *hash =
            o->kind == CG_EBRIM_DOCUMENT_ENTRY ? cg_ebrim_slot_value(o, "hash") : NULL;
        if (hash != NULL && cf->existing_kind == CG_OBJ_DOCUMENT_ENTRY &&
            cf->existing_hash[0] != '\0' && strcasecmp(hash, cf->existing_hash) != 0)
            cg_rules_add(errs, CG_IHE_ERROR, CG_XDS_NON_IDENTICAL_HASH, o,
                         "uniqueId \"%s\" is registered with hash %s; this document's hash is %s",
                         cf->id, cf->existing_hash, hash);
        else
            cg_rules_add(errs, CG_IHE_ERROR, CG_XDS_DUPLICATE_UNIQUE_ID_IN_REGISTRY, o,
                         "uniqueId \"%s\" is already registered (by a %s)", cf->id,
                         cg_store_kind_name(cf->existing_kind));
    }
}

static void
conflict_missing(const conflict_ctx *cx, const cg_store_conflict *cf, cg_errlist *errs)
{
    const key_index *ix = &cx->outside;
    size_t k = key_first(ix, cf->id);
    if (k == ix->n)
        cg_rules_add(errs, CG_IHE_ERROR, CG_XDS_UNRESOLVED_REFERENCE, NULL,
                     "\"%s\" names neither an object of this submission nor a registered object",
                     cf->id);
    for (; k < ix->n && strcmp(ix->items[k].key, cf->id) == 0; k++)
        cg_rules_add(errs, CG_IHE_ERROR, CG_XDS_UNRESOLVED_REFERENCE, ix->items[k].obj,
                     "%s \"%s\" names neither an object of this submission nor a registered "
                     "object",
                     ix->items[k].what, cf->id);
}

static void
conflict_uuid(const conflict_ctx *cx, const cg_store_conflict *cf, cg_errlist *errs)
{
    size_t k = key_first(&cx->uuids, cf->id);
    cg_rules_add(errs, CG_IHE_ERROR, CG_XDS_REGISTRY_METADATA_ERROR,
                 k < cx->uuids.n ? cx->uuids.items[k].obj : NULL,
                 "entryUUID %s is already registered (by a %s)", cf->id,
                 cg_store_kind_name(cf->existing_kind));
}

/* The replacement's HasMember associations from the Folders that held the original. */
static void
carry_folders(const cg_ebrim_submission *sub, const status_changes *changes,
              cg_store_submission *ssub)
{
    cg_pool *pool = sub->pool;
    size_t n = ssub->nobjects + changes->ncarry;
    cg_store_object *objs = cg_pool_alloc(pool, n * sizeof(*objs));
    memcpy(objs, ssub->objects, ssub->nobjects * sizeof(*objs));
    for (size_t i = 0; i < changes->ncarry; i++) {
        cg_store_object *o = &objs[ssub->nobjects + i];
        const char *uuid = new_uuid(pool);
        const char *doc = endpoint(sub, changes->carry[i]->source);
        char *xml = cg_pool_printf(
            pool,
            "<rim:Association xmlns:rim=\"" CG_NS_RIM "\" id=\"%s\" lid=\"%s\" "
            "objectType=\"urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Association\" "
            "associationType=\"" CG_ASSOC_HAS_MEMBER "\" sourceObject=\"%s\" targetObject=\"%s\" "
            "status=\"" CG_STATUS_APPROVED "\"><rim:VersionInfo versionName=\"1\"/></rim:Association>",
            uuid, uuid, changes->folders[i], doc);
        *o = (cg_store_object){.kind = CG_OBJ_ASSOCIATION,
                               .uuid = uuid,
                               .lid = uuid,
                               .version = 1,
                               .status = CG_STATUS_APPROVED,
                               .size = -1,
                               .assoc_type = CG_ASSOC_HAS_MEMBER,
                               .source = changes->folders[i],
                               .target = doc,
                               .xml = xml,
                               .xml_len = strlen(xml)};
    }
    ssub->objects = objs;
    ssub->nobjects = n;
}

/* ---- Folder lastUpdateTime (ITI TF-3 4.1.1: the registry keeps it) -------------------------- */

/* The registered Folders whose contents this submission changes: those a HasMember association
 * of the submission files something in, and those a replacement is carried over to. */
static int
folders_touched(cg_registry *reg, const cg_ebrim_submission *sub, const status_changes *changes,
                cg_registry_folder_updates *out, cg_errlist *errs)
{
    char now[15];
    now_dtm(now);
    int rc = CG_OK;
    for (size_t i = 0; rc == CG_OK && i < sub->count; i++) {
        const cg_ebrim_object *a = &sub->objects[i];
        if (a->kind == CG_EBRIM_ASSOCIATION && a->assoc_type && a->source &&
            strcmp(a->assoc_type, CG_ASSOC_HAS_MEMBER) == 0 && cg_ebrim_find(sub, a->source) == NULL)
            rc = cg_registry_folder_touch(reg->store, sub->pool, a->source, now, out, errs);
    }
    for (size_t i = 0; rc == CG_OK && i < changes->ncarry; i++)
        rc = cg_registry_folder_touch(reg->store, sub->pool, changes->folders[i], now, out, errs);
    return rc;
}
static void mu_store_versions(const cg_ebrim_submission *sub, const status_changes *changes,
                              cg_store_submission *ssub);

static int
commit(cg_registry *reg, const cg_ebrim_submission *sub, const cg_rules_result *res,
       const status_changes *changes, const cg_store_document *docs, size_t ndocs,
       cg_errlist *errs)
{
    cg_store_submission ssub;
    int rc = build_submission(&ssub, sub, res, errs);
    if (rc != CG_OK)
        return rc;
    ssub.documents = docs;
    ssub.ndocuments = ndocs;
    ssub.status_changes = changes->v;
    ssub.nstatus_changes = changes->n;
    if (changes->ncarry > 0)
        carry_folders(sub, changes, &ssub);
    cg_registry_folder_updates touched = {0};
    if ((rc = folders_touched(reg, sub, changes, &touched, errs)) != CG_OK)
        return rc;
    ssub.folder_updates = touched.v;
    ssub.nfolder_updates = touched.n;
    if (changes->nver > 0 || changes->nextra > 0)
        mu_store_versions(sub, changes, &ssub);
    cg_store_conflicts conflicts = {0};
    cg_err err;
    cg_err_init(&err);
    rc = cg_store_submit(reg->store, &ssub, &conflicts, &err);
    if (rc == CG_EINVAL && conflicts.count > 0) {
        conflict_ctx cx;
        conflict_index(&cx, sub);
        for (size_t i = 0; i < conflicts.count; i++) {
            const cg_store_conflict *cf = &conflicts.items[i];
            switch (cf->kind) {
            case CG_CONFLICT_UNIQUE_ID: conflict_unique_id(&cx, cf, errs); break;
            case CG_CONFLICT_UUID: conflict_uuid(&cx, cf, errs); break;
            case CG_CONFLICT_MISSING: conflict_missing(&cx, cf, errs); break;
            case CG_CONFLICT_STATUS:
                cg_rules_add(errs, CG_IHE_ERROR, CG_XDS_DEPRECATED_DOCUMENT, NULL,
                             "DocumentEntry %s was deprecated meanwhile: it cannot be replaced "
                             "again",
                             cf->id);
                break;
            case CG_CONFLICT_REFERENCED:
            case CG_CONFLICT_UNREFERENCED: break; /* deletions only (registry/delete.c) */
            }
        }
        rc = CG_OK;
    } else if (rc != CG_OK) {
        rc = store_failed(errs, "cg_store_submit", &err);
    }
    cg_store_conflicts_dispose(&conflicts);
    return rc;
}

int
cg_registry_submit(cg_registry *reg, cg_ebrim_submission *sub, const cg_store_document *docs,
                   size_t ndocs, cg_errlist *errs)
{
    assert(reg != NULL && sub != NULL && errs != NULL);
    assert(docs != NULL || ndocs == 0);
    cg_rules_result res;
    cg_rules_check(&res, sub, errs);
    int rc = CG_OK;
    if ((rc = check_patients(reg, sub, errs)) != CG_OK)
        return rc;
    if ((rc = check_outside(reg, &res, errs)) != CG_OK)
        return rc;
    status_changes changes = {0};
    if (errs->errors == 0 && (rc = check_relationships(reg, sub, &changes, errs)) != CG_OK)
        return rc;
    if (errs->errors > 0)
        return CG_OK;
    amend(sub, &res);
    return commit(reg, sub, &res, &changes, docs, ndocs, errs);
}

/* ---- ITI-57 Update Document Set -------------------------------------------------------------- */

#define MU_ERROR CG_XDS_METADATA_UPDATE_ERROR
#define MU_OPERATION CG_XDS_METADATA_UPDATE_OPERATION_ERROR

/* The version number of a stored object's XML (its VersionInfo versionName; 1 when absent). */
static int
stored_version(const char *xml, size_t len)
{
    static const char key[] = "versionName=\"";
    const char *vi = xml ? strstr(xml, "VersionInfo") : NULL;
    const char *p = vi ? strstr(vi, key) : NULL;
    if (p == NULL || (size_t)(p - xml) >= len)
        return 1;
    long v = strtol(p + sizeof(key) - 1, NULL, 10);
    return v > 0 && v < 1000000 ? (int)v : 1;
}

/* A positive version number as a slot gives it, or 0. */
static int
version_value(const char *s)
{
    if (s == NULL || *s == '\0' || strlen(s) > 6)
        return 0;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    return (int)strtol(s, NULL, 10);
}

/* Every version of the logical object lid, in registration order (the last is the latest). */
static int
mu_versions(cg_registry *reg, const char *lid, cg_store_rows *rows, cg_errlist *errs)
{
    const char *lids[] = {lid};
    cg_store_filter f = {.kinds = CG_STORE_KIND_DOC | CG_STORE_KIND_FOLDER, .lids = {lids, 1}};
    cg_err err;
    cg_err_init(&err);
    if (cg_store_find(reg->store, &f, 0, 1, rows, &err) != CG_OK)
        return store_failed(errs, "cg_store_find", &err);
    return CG_OK;
}

/* The registered object with that entryUUID (rows->count 0 when none). */
static int
mu_object(cg_registry *reg, const char *uuid, cg_store_rows *rows, cg_errlist *errs)
{
    const char *uuids[] = {uuid};
    cg_store_filter f = {.uuids = {uuids, 1}};
    cg_err err;
    cg_err_init(&err);
    if (cg_store_find(reg->store, &f, 1, 1, rows, &err) != CG_OK)
        return store_failed(errs, "cg_store_find", &err);
    return CG_OK;
}

/* The HasMember association from the SubmissionSet to o, in the submission. */
static const cg_ebrim_object *
mu_membership(const cg_ebrim_submission *sub, const cg_ebrim_object *ss, const cg_ebrim_object *o)
{
    for (size_t i = 0; ss && i < sub->count; i++) {
        const cg_ebrim_object *a = &sub->objects[i];
        if (a->kind == CG_EBRIM_ASSOCIATION && a->assoc_type && a->source && a->target &&
            strcmp(a->assoc_type, CG_ASSOC_HAS_MEMBER) == 0 && strcmp(a->source, ss->id) == 0 &&
            strcmp(a->target, o->id) == 0)
            return a;
    }
    return NULL;
}

static void
mu_extra_add(cg_pool *pool, status_changes *out, mu_extra e)
{
    out->extra = cg_pool_grow(pool, out->extra, &out->extra_cap, out->nextra + 1,
                              sizeof(*out->extra));
    out->extra[out->nextra++] = e;
}

/* Association propagation (ITI TF-2b 3.57.4.1.3.3.1.3): the Folders holding the previous
 * version of a DocumentEntry hold the new one; a Folder's new version holds the DocumentEntries
 * its previous version held. */
static int
mu_propagate(cg_registry *reg, cg_pool *pool, const cg_ebrim_object *o, const cg_store_row *prev,
             status_changes *out, cg_errlist *errs)
{
    int folder = o->kind == CG_EBRIM_FOLDER;
    const char *ends[] = {prev->uuid};
    const char *types[] = {CG_ASSOC_HAS_MEMBER};
    const char *approved[] = {CG_STATUS_APPROVED};
    cg_store_filter f = {.kinds = CG_STORE_KIND_ASSOC, .assoc_types = {types, 1},
                         .statuses = {approved, 1}};
    if (folder)
        f.sources = (cg_store_list){ends, 1};
    else
        f.targets = (cg_store_list){ends, 1};
    cg_store_rows as = {0};
    cg_err err;
    cg_err_init(&err);
    if (cg_store_find(reg->store, &f, 0, 0, &as, &err) != CG_OK)
        return store_failed(errs, "cg_store_find", &err);
    int rc = CG_OK;
    for (size_t i = 0; rc == CG_OK && i < as.count; i++) {
        const char *other = folder ? as.items[i].target : as.items[i].source;
        const char *uuids[] = {other};
        /* the latest versions only: an older version keeps the memberships it had */
        cg_store_filter g = {.kinds = folder ? CG_STORE_KIND_DOC : CG_STORE_KIND_FOLDER,
                             .uuids = {uuids, 1},
                             .latest_only = 1};
        cg_store_rows r = {0};
        if (cg_store_find(reg->store, &g, 1, 0, &r, &err) != CG_OK)
            rc = store_failed(errs, "cg_store_find", &err);
        else if (r.count == 1 && folder)
            mu_extra_add(pool, out, (mu_extra){.source_obj = o,
                                               .target = cg_pool_strdup(pool, other)});
        else if (r.count == 1)
            mu_extra_add(pool, out, (mu_extra){.source = cg_pool_strdup(pool, other),
                                               .target_obj = o});
        cg_store_rows_dispose(&r);
    }
    cg_store_rows_dispose(&as);
    return rc;
}

/* A new version of a DocumentEntry or Folder (ITI TF-2b 3.57.4.1.3.3.1 and .2): its lid names a
 * registered logical object of the same kind, the HasMember from the SubmissionSet says which
 * version it follows (PreviousVersion, the latest), the uniqueId stays. The new version takes
 * the previous one's status; an Approved previous version is deprecated. */
static int
mu_new_version(cg_registry *reg, cg_ebrim_submission *sub, const cg_ebrim_object *ss,
               cg_ebrim_object *o, status_changes *out, cg_errlist *errs)
{
    cg_pool *pool = sub->pool;
    const char *kind = cg_ebrim_kind_name(o->kind);
    if (o->lid == NULL || strcmp(o->lid, o->id) == 0 || !cg_id_is_uuid_urn(o->lid)) {
        cg_rules_add(errs, CG_IHE_ERROR, MU_ERROR, o,
                     "has no lid naming a registered %s: ITI-57 submits new versions of "
                     "registered objects only (a first version is registered with ITI-42)",
                     kind);
        return CG_OK;
    }
    for (size_t k = 0; k < out->nver; k++)
        if (strcmp(out->ver[k].lid, o->lid) == 0) {
            cg_rules_add(errs, CG_IHE_ERROR, MU_ERROR, o,
                         "is a second new version of %s in this submission; one update per "
                         "logical object",
                         o->lid);
            return CG_OK;
        }
    const cg_ebrim_object *hm = mu_membership(sub, ss, o);
    if (hm == NULL)
        return CG_OK; /* the rules report it */
    const char **vals;
    size_t n = cg_ebrim_node_slot_values(hm->node, "PreviousVersion", pool, &vals);
    int previous = n == 1 ? version_value(vals[0]) : 0;
    if (previous == 0) {
        cg_rules_add(errs, CG_IHE_ERROR, MU_ERROR, hm,
                     "HasMember to the new version %s needs the slot PreviousVersion with one "
                     "value, the version number it follows",
                     o->id);
        return CG_OK;
    }
    int propagate = 1;
    n = cg_ebrim_node_slot_values(hm->node, "AssociationPropagation", pool, &vals);
    if (cg_ebrim_slot_count(hm->node, "AssociationPropagation") > 0) {
        if (n == 1 && strcasecmp(vals[0], "yes") == 0) {
            propagate = 1;
        } else if (n == 1 && strcasecmp(vals[0], "no") == 0) {
            propagate = 0;
        } else {
            cg_rules_add(errs, CG_IHE_ERROR, MU_ERROR, hm,
                         "slot AssociationPropagation takes one value, yes or no");
            return CG_OK;
        }
    }
    cg_store_rows rows = {0};
    int rc = mu_versions(reg, o->lid, &rows, errs);
    if (rc != CG_OK)
        return rc;
    const cg_store_row *latest = rows.count ? &rows.items[rows.count - 1] : NULL;
    int kind_ok = latest && ((o->kind == CG_EBRIM_DOCUMENT_ENTRY &&
                              latest->kind == CG_OBJ_DOCUMENT_ENTRY) ||
                             (o->kind == CG_EBRIM_FOLDER && latest->kind == CG_OBJ_FOLDER));
    int latest_version = latest ? stored_version(latest->xml, latest->xml_len) : 0;
    if (latest == NULL) {
        cg_rules_add(errs, CG_IHE_ERROR, CG_XDS_METADATA_VERSION_ERROR, o,
                     "lid %s names no registered %s: there is no previous version to update",
                     o->lid, kind);
    } else if (!kind_ok) {
        cg_rules_add(errs, CG_IHE_ERROR, MU_ERROR, o,
                     "lid %s names a registered %s, not a %s", o->lid,
                     cg_store_kind_name(latest->kind), kind);
    } else if (previous != latest_version) {
        cg_rules_add(errs, CG_IHE_ERROR, CG_XDS_METADATA_VERSION_ERROR, o,
                     "PreviousVersion is %d but the latest version of %s is %d", previous,
                     o->lid, latest_version);
    } else if (o->unique_id && latest->unique_id && strcmp(o->unique_id, latest->unique_id)) {
        cg_rules_add(errs, CG_IHE_ERROR, MU_ERROR, o,
                     "uniqueId \"%s\" differs from the uniqueId \"%s\" of %s: a new version "
                     "keeps the uniqueId",
                     o->unique_id, latest->unique_id, o->lid);
    } else {
        out->ver = cg_pool_grow(pool, out->ver, &out->ver_cap, out->nver + 1, sizeof(*out->ver));
        const char *status = latest->status ? latest->status : CG_STATUS_APPROVED;
        out->ver[out->nver++] = (mu_version){o, cg_pool_strdup(pool, o->lid),
                                             cg_pool_strdup(pool, status), latest_version + 1, 0,
                                             propagate};
        if (strcmp(status, CG_STATUS_APPROVED) == 0)
            rc = deprecate(pool, out, latest, errs);
        if (rc == CG_OK && propagate)
            rc = mu_propagate(reg, pool, o, latest, out, errs);
    }
    cg_store_rows_dispose(&rows);
    return rc;
}

static int
is_status(const char *s)
{
    return s && (strcmp(s, CG_STATUS_APPROVED) == 0 || strcmp(s, CG_STATUS_DEPRECATED) == 0);
}

/* UpdateAvailabilityStatus of an object of the same submission (ITI TF-2b 3.57.4.1.3.1): a new
 * version, whose OriginalStatus is the status it takes, or an association (Approved). */
static int
mu_status_inside(cg_pool *pool, const cg_ebrim_object *a, cg_ebrim_object *t, const char *from,
                 const char *to, status_changes *out, cg_errlist *errs)
{
    mu_version *v = NULL;
    for (size_t k = 0; k < out->nver; k++)
        if (out->ver[k].obj == t)
            v = &out->ver[k];
    if (t->kind == CG_EBRIM_SUBMISSION_SET) {
        cg_rules_add(errs, CG_IHE_ERROR, MU_OPERATION, a,
                     "targetObject %s is a SubmissionSet, whose status does not change", t->id);
    } else if (v != NULL && v->restatused) {
        cg_rules_add(errs, CG_IHE_ERROR, MU_ERROR, a,
                     "targetObject %s is changed twice by this submission", t->id);
    } else if (v != NULL) {
        if (strcmp(v->status, from) != 0)
            cg_rules_add(errs, CG_IHE_ERROR, MU_ERROR, a,
                         "OriginalStatus is %s but the new version %s takes the status %s of "
                         "the version it follows",
                         from, t->id, v->status);
        v->status = cg_pool_strdup(pool, to);
        v->restatused = 1;
    } else if (t->kind == CG_EBRIM_ASSOCIATION) {
        if (strcmp(from, CG_STATUS_APPROVED) != 0) {
            cg_rules_add(errs, CG_IHE_ERROR, MU_ERROR, a,
                         "OriginalStatus is %s but association %s of this submission is "
                         "registered Approved",
                         from, t->id);
            return CG_OK;
        }
        out->ver = cg_pool_grow(pool, out->ver, &out->ver_cap, out->nver + 1, sizeof(*out->ver));
        out->ver[out->nver++] = (mu_version){t, NULL, cg_pool_strdup(pool, to), 0, 1, 0};
    }
    /* a DocumentEntry or Folder without a version: its own errors are reported */
    return CG_OK;
}

/* UpdateAvailabilityStatus (ITI TF-2b 3.57.4.1.3.3.3): from the SubmissionSet to a registered
 * DocumentEntry, Folder or Association (the latest version), OriginalStatus its status now,
 * NewStatus the other one. */
static int
mu_status(cg_registry *reg, cg_ebrim_submission *sub, const cg_ebrim_object *ss,
          const cg_ebrim_object *a, status_changes *out, cg_errlist *errs)
{
    cg_pool *pool = sub->pool;
    if (ss == NULL || a->source == NULL || strcmp(a->source, ss->id) != 0) {
        cg_rules_add(errs, CG_IHE_ERROR, MU_OPERATION, a,
                     "UpdateAvailabilityStatus must come from the SubmissionSet of the "
                     "submission");
        return CG_OK;
    }
    for (xmlNodePtr sl = cg_ebrim_child(a->node, "Slot", NULL); sl;
         sl = cg_ebrim_child(a->node, "Slot", sl)) {
        const char *name = cg_ebrim_attr(pool, sl, "name");
        if (name == NULL || (strcmp(name, "OriginalStatus") && strcmp(name, "NewStatus"))) {
            cg_rules_add(errs, CG_IHE_ERROR, MU_OPERATION, a,
                         "UpdateAvailabilityStatus takes the slots OriginalStatus and "
                         "NewStatus only, not \"%s\"",
                         name ? name : "");
            return CG_OK;
        }
    }
    const char **from, **to;
    size_t nfrom = cg_ebrim_node_slot_values(a->node, "OriginalStatus", pool, &from);
    size_t nto = cg_ebrim_node_slot_values(a->node, "NewStatus", pool, &to);
    if (nfrom != 1 || nto != 1 || !is_status(from[0]) || !is_status(to[0])) {
        cg_rules_add(errs, CG_IHE_ERROR, MU_OPERATION, a,
                     "UpdateAvailabilityStatus needs one OriginalStatus and one NewStatus, "
                     "each " CG_STATUS_APPROVED " or " CG_STATUS_DEPRECATED);
        return CG_OK;
    }
    if (strcmp(from[0], to[0]) == 0) {
        cg_rules_add(errs, CG_IHE_ERROR, MU_OPERATION, a,
                     "OriginalStatus and NewStatus are both %s: nothing to change", to[0]);
        return CG_OK;
    }
    cg_ebrim_object *inside = cg_ebrim_find(sub, a->target);
    if (inside != NULL)
        return mu_status_inside(pool, a, inside, from[0], to[0], out, errs);
    cg_store_rows rows = {0}, versions = {0};
    int rc = mu_object(reg, a->target, &rows, errs);
    const cg_store_row *t = rows.count ? &rows.items[0] : NULL;
    if (rc != CG_OK) {
        /* reported */
    } else if (t == NULL) {
        cg_rules_add(errs, CG_IHE_ERROR, CG_XDS_UNRESOLVED_REFERENCE, a,
                     "targetObject %s names no registered object", a->target);
    } else if (t->kind == CG_OBJ_SUBMISSION_SET) {
        cg_rules_add(errs, CG_IHE_ERROR, MU_OPERATION, a,
                     "targetObject %s is a SubmissionSet, whose status does not change",
                     a->target);
    } else if (t->kind != CG_OBJ_ASSOCIATION &&
               (rc = mu_versions(reg, t->lid, &versions, errs)) != CG_OK) {
        /* reported */
    } else if (t->kind != CG_OBJ_ASSOCIATION && versions.count > 0 &&
               strcmp(versions.items[versions.count - 1].uuid, t->uuid) != 0) {
        cg_rules_add(errs, CG_IHE_ERROR, MU_OPERATION, a,
                     "targetObject %s is not the latest version of %s: only the latest "
                     "version's status changes",
                     a->target, t->lid);
    } else if (t->status == NULL || strcmp(t->status, from[0]) != 0) {
        cg_rules_add(errs, CG_IHE_ERROR, MU_OPERATION, a,
                     "OriginalStatus is %s but targetObject %s is %s", from[0], a->target,
                     t->status ? t->status : "without status");
    } else {
        int again = 0;
        for (size_t k = 0; k < out->n; k++)
            again |= strcmp(out->v[k].uuid, t->uuid) == 0;
        for (size_t k = 0; k < out->nver; k++)
            again |= t->lid && strcmp(out->ver[k].lid, t->lid) == 0;
        if (again) {
            cg_rules_add(errs, CG_IHE_ERROR, MU_ERROR, a,
                         "targetObject %s is changed twice by this submission", a->target);
        } else {
            out->v = cg_pool_grow(pool, out->v, &out->cap, out->n + 1, sizeof(*out->v));
            cg_store_status_change *c = &out->v[out->n];
            *c = (cg_store_status_change){.uuid = cg_pool_strdup(pool, t->uuid),
                                          .from = cg_pool_strdup(pool, from[0]),
                                          .to = cg_pool_strdup(pool, to[0])};
            cg_err err;
            cg_err_init(&err);
            if (restatus(pool, t->xml, t->xml_len, to[0], &c->xml, &c->xml_len, &err) != CG_OK)
                rc = store_failed(errs, "the stored object", &err);
            else
                out->n++;
        }
    }
    cg_store_rows_dispose(&versions);
    cg_store_rows_dispose(&rows);
    return rc;
}

/* SubmitAssociation (ITI TF-2b 3.57.4.1.3.3.4): from the SubmissionSet to an Association of the
 * submission: a Folder's HasMember to a DocumentEntry or a relationship between DocumentEntries.
 * Each end is registered (Approved) or a new version of this submission that does not propagate
 * associations; both ends have the same patient; the association is not registered already. */
static int
mu_submit_association(cg_registry *reg, cg_ebrim_submission *sub, const cg_ebrim_object *ss,
                      const cg_ebrim_object *a, const status_changes *out, cg_errlist *errs)
{
    const cg_ebrim_object *t = cg_ebrim_find(sub, a->target);
    if (ss == NULL || a->source == NULL || strcmp(a->source, ss->id) != 0 || t == NULL ||
        t->kind != CG_EBRIM_ASSOCIATION) {
        cg_rules_add(errs, CG_IHE_ERROR, MU_OPERATION, a,
                     "SubmitAssociation goes from the SubmissionSet to an Association of this "
                     "submission");
        return CG_OK;
    }
    if (t->source == NULL || t->target == NULL || t->assoc_type == NULL)
        return CG_OK; /* the rules report it */
    int member = strcmp(t->assoc_type, CG_ASSOC_HAS_MEMBER) == 0;
    if (!member && !cg_rules_is_relationship(t->assoc_type)) {
        cg_rules_add(errs, CG_IHE_ERROR, MU_OPERATION, t,
                     "SubmitAssociation submits a Folder's HasMember or a relationship "
                     "(RPLC, APND, XFRM, XFRM_RPLC, signs), not %s",
                     t->assoc_type);
        return CG_OK;
    }
    const char *ends[2] = {t->source, t->target};
    const char *patients[2] = {NULL, NULL};
    int registered = 0;
    cg_store_rows rows[2] = {{0}, {0}};
    int rc = CG_OK;
    for (int e = 0; e < 2 && rc == CG_OK; e++) {
        const char *what = e ? "targetObject" : "sourceObject";
        cg_obj_kind want = e == 0 && member ? CG_OBJ_FOLDER : CG_OBJ_DOCUMENT_ENTRY;
        const cg_ebrim_object *inside = cg_ebrim_find(sub, ends[e]);
        if (inside != NULL) {
            const mu_version *v = NULL;
            for (size_t k = 0; k < out->nver; k++)
                if (out->ver[k].obj == inside && out->ver[k].lid != NULL)
                    v = &out->ver[k];
            if (v == NULL) {
                rc = CG_EINVAL; /* not a new version: the rules or its own checks report it */
            } else if (v->propagate) {
                cg_rules_add(errs, CG_IHE_ERROR, MU_OPERATION, t,
                             "%s %s is a new version that propagates the associations of the "
                             "version it follows (AssociationPropagation): a SubmitAssociation "
                             "to it needs AssociationPropagation no",
                             what, inside->id);
                rc = CG_EINVAL;
            }
            patients[e] = inside->patient_id;
            continue;
        }
        if ((rc = mu_object(reg, ends[e], &rows[e], errs)) != CG_OK)
            break;
        const cg_store_row *found = rows[e].count ? &rows[e].items[0] : NULL;
        if (found == NULL) {
            cg_rules_add(errs, CG_IHE_ERROR, CG_XDS_UNRESOLVED_REFERENCE, t,
                         "%s %s names no registered object", what, ends[e]);
            rc = CG_EINVAL;
        } else if (found->kind != want) {
            cg_rules_add(errs, CG_IHE_ERROR, MU_OPERATION, t, "%s %s is a %s, not a %s", what,
                         ends[e], cg_store_kind_name(found->kind), cg_store_kind_name(want));
            rc = CG_EINVAL;
        } else if (found->status == NULL || strcmp(found->status, CG_STATUS_APPROVED) != 0) {
            cg_rules_add(errs, CG_IHE_ERROR, MU_OPERATION, t,
                         "%s %s is not Approved: only Approved objects are associated", what,
                         ends[e]);
            rc = CG_EINVAL;
        } else {
            patients[e] = found->patient_id;
            registered++;
        }
    }
    if (rc == CG_OK && patients[0] && patients[1] && strcmp(patients[0], patients[1]) != 0) {
        cg_rules_add(errs, CG_IHE_ERROR, CG_XDS_PATIENT_ID_RECONCILIATION_ERROR, t,
                     "sourceObject %s has patientId \"%s\" but targetObject %s has \"%s\"",
                     ends[0], patients[0], ends[1], patients[1]);
        rc = CG_EINVAL;
    }
    if (rc == CG_OK && registered == 2) {
        const char *src[] = {ends[0]}, *dst[] = {ends[1]}, *types[] = {t->assoc_type};
        const char *approved[] = {CG_STATUS_APPROVED};
        cg_store_filter f = {.kinds = CG_STORE_KIND_ASSOC, .sources = {src, 1},
                             .targets = {dst, 1}, .assoc_types = {types, 1},
                             .statuses = {approved, 1}};
        cg_store_rows dup = {0};
        cg_err err;
        cg_err_init(&err);
        if (cg_store_find(reg->store, &f, 1, 0, &dup, &err) != CG_OK)
            rc = store_failed(errs, "cg_store_find", &err);
        else if (dup.count > 0)
            cg_rules_add(errs, CG_IHE_ERROR, MU_OPERATION, t,
                         "%s from %s to %s is registered already (%s)", t->assoc_type, ends[0],
                         ends[1], dup.items[0].uuid);
        cg_store_rows_dispose(&dup);
    }
    cg_store_rows_dispose(&rows[0]);
    cg_store_rows_dispose(&rows[1]);
    return rc == CG_EINVAL ? CG_OK : rc;
}

/* Every operation of the submission checked against the store. */
static int
mu_check(cg_registry *reg, cg_ebrim_submission *sub, const cg_rules_result *res,
         status_changes *out, cg_errlist *errs)
{
    const cg_ebrim_object *ss = res->submission_set;
    size_t ops = 0;
    int rc = CG_OK;
    for (size_t i = 0; rc == CG_OK && i < sub->count; i++) {
        cg_ebrim_object *o = &sub->objects[i];
        if (o->kind == CG_EBRIM_DOCUMENT_ENTRY || o->kind == CG_EBRIM_FOLDER) {
            ops++;
            rc = mu_new_version(reg, sub, ss, o, out, errs);
        }
    }
    for (size_t i = 0; rc == CG_OK && i < sub->count; i++) {
        const cg_ebrim_object *a = &sub->objects[i];
        if (a->kind != CG_EBRIM_ASSOCIATION || a->assoc_type == NULL)
            continue;
        if (strcmp(a->assoc_type, CG_ASSOC_UPDATE_STATUS) == 0) {
            ops++;
            rc = mu_status(reg, sub, ss, a, out, errs);
        } else if (strcmp(a->assoc_type, CG_ASSOC_SUBMIT_ASSOCIATION) == 0) {
            ops++;
            rc = mu_submit_association(reg, sub, ss, a, out, errs);
        }
    }
    if (rc == CG_OK && ops == 0)
        cg_rules_add(errs, CG_IHE_ERROR, MU_ERROR, NULL,
                     "the submission holds no update: a new version of a DocumentEntry or "
                     "Folder, an UpdateAvailabilityStatus or a SubmitAssociation");
    return rc;
}

/* The new versions' lid, status and VersionInfo in the tree (after amend, which made every
 * object a first version). */
static void
mu_amend(const status_changes *changes)
{
    for (size_t k = 0; k < changes->nver; k++) {
        const mu_version *v = &changes->ver[k];
        xmlNodePtr node = v->obj->node;
        xmlSetProp(node, BAD_CAST "status", BAD_CAST v->status);
        if (v->lid == NULL)
            continue;
        xmlSetProp(node, BAD_CAST "lid", BAD_CAST v->lid);
        xmlNodePtr vi = cg_ebrim_child(node, "VersionInfo", NULL);
        char num[16];
        snprintf(num, sizeof(num), "%d", v->version);
        if (vi != NULL)
            xmlSetProp(vi, BAD_CAST "versionName", BAD_CAST num);
    }
}

/* The store's objects for the new versions (lid, version, status) and the propagated
 * associations. */
static void
mu_store_versions(const cg_ebrim_submission *sub, const status_changes *changes,
                  cg_store_submission *ssub)
{
    cg_pool *pool = sub->pool;
    size_t n = ssub->nobjects + changes->nextra;
    cg_store_object *objs = cg_pool_alloc(pool, (n + 1) * sizeof(*objs));
    memcpy(objs, ssub->objects, ssub->nobjects * sizeof(*objs));
    for (size_t i = 0; i < ssub->nobjects; i++)
        for (size_t k = 0; k < changes->nver; k++)
            if (strcmp(objs[i].uuid, changes->ver[k].obj->uuid) == 0) {
                objs[i].status = changes->ver[k].status;
                if (changes->ver[k].lid == NULL)
                    continue;
                objs[i].lid = changes->ver[k].lid;
                objs[i].version = changes->ver[k].version;
            }
    for (size_t i = 0; i < changes->nextra; i++) {
        const mu_extra *e = &changes->extra[i];
        cg_store_object *o = &objs[ssub->nobjects + i];
        const char *uuid = new_uuid(pool);
        const char *src = e->source ? e->source : e->source_obj->uuid;
        const char *dst = e->target ? e->target : e->target_obj->uuid;
        char *xml = cg_pool_printf(
            pool,
            "<rim:Association xmlns:rim=\"" CG_NS_RIM "\" id=\"%s\" lid=\"%s\" "
            "objectType=\"urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Association\" "
            "associationType=\"" CG_ASSOC_HAS_MEMBER "\" sourceObject=\"%s\" targetObject=\"%s\" "
            "status=\"" CG_STATUS_APPROVED "\"><rim:VersionInfo versionName=\"1\"/></rim:Association>",
            uuid, uuid, src, dst);
        *o = (cg_store_object){.kind = CG_OBJ_ASSOCIATION,
                               .uuid = uuid,
                               .lid = uuid,
                               .version = 1,
                               .status = CG_STATUS_APPROVED,
                               .size = -1,
                               .assoc_type = CG_ASSOC_HAS_MEMBER,
                               .source = src,
                               .target = dst,
                               .xml = xml,
                               .xml_len = strlen(xml)};
    }
    ssub->objects = objs;
    ssub->nobjects = n;
}

int
cg_registry_update(cg_registry *reg, cg_ebrim_submission *sub, cg_errlist *errs)
{
    assert(reg != NULL && sub != NULL && errs != NULL);
    cg_rules_result res;
    cg_rules_check_update(&res, sub, errs);
    int rc;
    if ((rc = check_patients(reg, sub, errs)) != CG_OK)
        return rc;
    if ((rc = check_outside(reg, &res, errs)) != CG_OK)
        return rc;
    status_changes changes = {0};
    if ((rc = mu_check(reg, sub, &res, &changes, errs)) != CG_OK)
        return rc;
    if (errs->errors > 0)
        return CG_OK;
    amend(sub, &res);
    mu_amend(&changes);
    return commit(reg, sub, &res, &changes, NULL, 0, errs);
}
