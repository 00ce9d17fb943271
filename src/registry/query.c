/* query: the registry's stored queries (see query.h).
 *
 * Each stored query is a row of `queries`: its id, name, what it does (op) and its parameters;
 * each parameter a row of a parameter table: name, value type, required / multiple / AND-able,
 * and which part of a store filter it fills. Checking a request is generic (check_params);
 * each op then makes a few cg_store_find calls and collects the objects to return. */
#define _POSIX_C_SOURCE 200809L
#include "registry/query.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "ebrim/model.h"
#include "util/alloc.h"

#define MAX_VALUES 1000 /* values of one parameter (all its slots) */
#define MAX_VALUE_LEN 4096

#define CG_ASSOC_SNAPSHOT_OF "urn:ihe:iti:2010:AssociationType:IsSnapshotOf"
#define REFID_SLOT "urn:ihe:iti:xds:2013:referenceIdList"

/* ---- the definitions ------------------------------------------------------------------------ */

enum vtype { V_STRING, V_CODE, V_TIME, V_PATTERN };
enum { REQ = 1, MULTI = 2, ANDOR = 4 };

/* What a parameter fills. */
enum field {
    F_IGNORED, /* $homeCommunityId: the registry is its own community */
    F_PATIENT,
    F_DOC_STATUS,
    F_SS_STATUS,
    F_FOLDER_STATUS,
    F_DOC_TYPE,
    F_CODE, /* attr names the code */
    F_AUTHOR,
    F_CREATION_FROM,
    F_CREATION_TO,
    F_SSTART_FROM,
    F_SSTART_TO,
    F_SSTOP_FROM,
    F_SSTOP_TO,
    F_SUBMISSION_FROM,
    F_SUBMISSION_TO,
    F_UPDATE_FROM,
    F_UPDATE_TO,
    F_SOURCE_ID,
    F_REFID,
    F_UUID, /* an entryUUID (the object of a Get query) */
    F_UNIQUE_ID,
    F_ASSOC_TYPES,
    F_LID, /* a logical id: every version (ITI-57 Metadata Update) */
    F_COUNT
};

typedef struct pdef {
    const char *name;
    enum vtype type;
    unsigned flags;
    enum field field;
    const char *attr; /* F_CODE */
} pdef;

/* clang-format off */
#define DE_FILTERS(patient_flags)                                                                   \
    {"$XDSDocumentEntryPatientId", V_STRING, patient_flags, F_PATIENT, NULL},                       \
    {"$XDSDocumentEntryClassCode", V_CODE, MULTI, F_CODE, "classCode"},                             \
    {"$XDSDocumentEntryTypeCode", V_CODE, MULTI, F_CODE, "typeCode"},                               \
    {"$XDSDocumentEntryPracticeSettingCode", V_CODE, MULTI, F_CODE, "practiceSettingCode"},         \
    {"$XDSDocumentEntryCreationTimeFrom", V_TIME, 0, F_CREATION_FROM, NULL},                        \
    {"$XDSDocumentEntryCreationTimeTo", V_TIME, 0, F_CREATION_TO, NULL},                            \
    {"$XDSDocumentEntryServiceStartTimeFrom", V_TIME, 0, F_SSTART_FROM, NULL},                      \
    {"$XDSDocumentEntryServiceStartTimeTo", V_TIME, 0, F_SSTART_TO, NULL},                          \
    {"$XDSDocumentEntryServiceStopTimeFrom", V_TIME, 0, F_SSTOP_FROM, NULL},                        \
    {"$XDSDocumentEntryServiceStopTimeTo", V_TIME, 0, F_SSTOP_TO, NULL},                            \
    {"$XDSDocumentEntryHealthcareFacilityTypeCode", V_CODE, MULTI, F_CODE,                          \
     "healthcareFacilityTypeCode"},                                                                 \
    {"$XDSDocumentEntryEventCodeList", V_CODE, MULTI | ANDOR, F_CODE, "eventCodeList"},             \
    {"$XDSDocumentEntryConfidentialityCode", V_CODE, MULTI | ANDOR, F_CODE, "confidentialityCode"}, \
    {"$XDSDocumentEntryAuthorPerson", V_PATTERN, MULTI | ANDOR, F_AUTHOR, NULL},                    \
    {"$XDSDocumentEntryFormatCode", V_CODE, MULTI, F_CODE, "formatCode"},                           \
    {"$XDSDocumentEntryStatus", V_STRING, REQ | MULTI, F_DOC_STATUS, NULL},                         \
    {"$XDSDocumentEntryType", V_STRING, MULTI, F_DOC_TYPE, NULL}

static const pdef p_find_documents[] = {DE_FILTERS(REQ)};
static const pdef p_find_documents_mpq[] = {DE_FILTERS(MULTI)};
static const pdef p_find_by_refid[] = {
    DE_FILTERS(REQ),
    {"$XDSDocumentEntryReferenceIdList", V_STRING, REQ | MULTI, F_REFID, NULL},
    {"$homeCommunityId", V_STRING, 0, F_IGNORED, NULL},
};
static const pdef p_find_submission_sets[] = {
    {"$XDSSubmissionSetPatientId", V_STRING, REQ, F_PATIENT, NULL},
    {"$XDSSubmissionSetSourceId", V_STRING, MULTI, F_SOURCE_ID, NULL},
    {"$XDSSubmissionSetSubmissionTimeFrom", V_TIME, 0, F_SUBMISSION_FROM, NULL},
    {"$XDSSubmissionSetSubmissionTimeTo", V_TIME, 0, F_SUBMISSION_TO, NULL},
    {"$XDSSubmissionSetAuthorPerson", V_PATTERN, 0, F_AUTHOR, NULL},
    {"$XDSSubmissionSetContentType", V_CODE, MULTI, F_CODE, "contentTypeCode"},
    {"$XDSSubmissionSetStatus", V_STRING, REQ | MULTI, F_SS_STATUS, NULL},
};
#define FOLDER_FILTERS(patient_flags)                                                               \
    {"$XDSFolderPatientId", V_STRING, patient_flags, F_PATIENT, NULL},                              \
    {"$XDSFolderLastUpdateTimeFrom", V_TIME, 0, F_UPDATE_FROM, NULL},                               \
    {"$XDSFolderLastUpdateTimeTo", V_TIME, 0, F_UPDATE_TO, NULL},                                   \
    {"$XDSFolderCodeList", V_CODE, MULTI | ANDOR, F_CODE, "codeList"},                              \
    {"$XDSFolderStatus", V_STRING, REQ | MULTI, F_FOLDER_STATUS, NULL}
static const pdef p_find_folders[] = {FOLDER_FILTERS(REQ)};
static const pdef p_find_folders_mpq[] = {FOLDER_FILTERS(MULTI)};
#define CONTENT_FILTERS                                                                             \
    {"$XDSDocumentEntryFormatCode", V_CODE, MULTI, F_CODE, "formatCode"},                           \
    {"$XDSDocumentEntryConfidentialityCode", V_CODE, MULTI | ANDOR, F_CODE, "confidentialityCode"}, \
    {"$XDSDocumentEntryType", V_STRING, MULTI, F_DOC_TYPE, NULL},                                   \
    {"$homeCommunityId", V_STRING, 0, F_IGNORED, NULL}
static const pdef p_get_all[] = {
    {"$patientId", V_STRING, REQ, F_PATIENT, NULL},
    {"$XDSDocumentEntryStatus", V_STRING, REQ | MULTI, F_DOC_STATUS, NULL},
    {"$XDSSubmissionSetStatus", V_STRING, REQ | MULTI, F_SS_STATUS, NULL},
    {"$XDSFolderStatus", V_STRING, REQ | MULTI, F_FOLDER_STATUS, NULL},
    CONTENT_FILTERS,
};
static const pdef p_get_documents[] = {
    {"$XDSDocumentEntryEntryUUID", V_STRING, MULTI, F_UUID, NULL},
    {"$XDSDocumentEntryUniqueId", V_STRING, MULTI, F_UNIQUE_ID, NULL},
    {"$XDSDocumentEntryLogicalID", V_STRING, MULTI, F_LID, NULL},
    {"$homeCommunityId", V_STRING, 0, F_IGNORED, NULL},
};
static const pdef p_get_folders[] = {
    {"$XDSFolderEntryUUID", V_STRING, MULTI, F_UUID, NULL},
    {"$XDSFolderUniqueId", V_STRING, MULTI, F_UNIQUE_ID, NULL},
    {"$XDSFolderLogicalID", V_STRING, MULTI, F_LID, NULL},
    {"$homeCommunityId", V_STRING, 0, F_IGNORED, NULL},
};
static const pdef p_uuids[] = {
    {"$uuid", V_STRING, REQ | MULTI, F_UUID, NULL},
    {"$homeCommunityId", V_STRING, 0, F_IGNORED, NULL},
};
static const pdef p_ss_and_contents[] = {
    {"$XDSSubmissionSetEntryUUID", V_STRING, 0, F_UUID, NULL},
    {"$XDSSubmissionSetUniqueId", V_STRING, 0, F_UNIQUE_ID, NULL},
    CONTENT_FILTERS,
};
static const pdef p_folder_and_contents[] = {
    {"$XDSFolderEntryUUID", V_STRING, 0, F_UUID, NULL},
    {"$XDSFolderUniqueId", V_STRING, 0, F_UNIQUE_ID, NULL},
    CONTENT_FILTERS,
};
static const pdef p_folders_for_document[] = {
    {"$XDSDocumentEntryEntryUUID", V_STRING, 0, F_UUID, NULL},
    {"$XDSDocumentEntryUniqueId", V_STRING, 0, F_UNIQUE_ID, NULL},
    {"$homeCommunityId", V_STRING, 0, F_IGNORED, NULL},
};
static const pdef p_related[] = {
    {"$XDSDocumentEntryEntryUUID", V_STRING, 0, F_UUID, NULL},
    {"$XDSDocumentEntryUniqueId", V_STRING, 0, F_UNIQUE_ID, NULL},
    {"$AssociationTypes", V_STRING, REQ | MULTI, F_ASSOC_TYPES, NULL},
    {"$XDSDocumentEntryType", V_STRING, MULTI, F_DOC_TYPE, NULL},
    {"$homeCommunityId", V_STRING, 0, F_IGNORED, NULL},
};
/* clang-format on */

enum op {
    OP_FIND_DOCUMENTS,
    OP_FIND_SUBMISSION_SETS,
    OP_FIND_FOLDERS,
    OP_GET_ALL,
    OP_GET_DOCUMENTS,
    OP_GET_FOLDERS,
    OP_GET_ASSOCIATIONS,
    OP_GET_DOCUMENTS_AND_ASSOCIATIONS,
    OP_GET_SUBMISSION_SETS,
    OP_GET_SS_AND_CONTENTS,
    OP_GET_FOLDER_AND_CONTENTS,
    OP_GET_FOLDERS_FOR_DOCUMENT,
    OP_GET_RELATED_DOCUMENTS
};

typedef struct qdef {
    const char *id;
    const char *name;
    enum op op;
    const pdef *params;
    size_t nparams;
    int oneof; /* exactly one of the F_UUID / F_UNIQUE_ID parameters */
    int mpq;   /* ITI-51: only when multi_patient_queries is on; several patients allowed */
} qdef;

#define P(a) a, sizeof(a) / sizeof(a[0])
static const qdef queries[] = {
    {CG_SQ_FIND_DOCUMENTS, "FindDocuments", OP_FIND_DOCUMENTS, P(p_find_documents), 0, 0},
    {"urn:uuid:12941a89-e02e-4be5-967c-ce4bfc8fe492", "FindDocumentsByReferenceId",
     OP_FIND_DOCUMENTS, P(p_find_by_refid), 0, 0},
    {"urn:uuid:f26abbcb-ac74-4422-8a30-edb644bbc1a9", "FindSubmissionSets", OP_FIND_SUBMISSION_SETS,
     P(p_find_submission_sets), 0, 0},
    {"urn:uuid:958f3006-baad-4929-a4de-ff1114824431", "FindFolders", OP_FIND_FOLDERS,
     P(p_find_folders), 0, 0},
    {"urn:uuid:10b545ea-725c-446d-9b95-8aeb444eddf3", "GetAll", OP_GET_ALL, P(p_get_all), 0, 0},
    {CG_SQ_GET_DOCUMENTS, "GetDocuments", OP_GET_DOCUMENTS, P(p_get_documents), 1, 0},
    {"urn:uuid:5737b14c-8a1a-4539-b659-e03a34a5e1e4", "GetFolders", OP_GET_FOLDERS,
     P(p_get_folders), 1, 0},
    {"urn:uuid:a7ae438b-4bc2-4642-93e9-be891f7bb155", "GetAssociations", OP_GET_ASSOCIATIONS,
     P(p_uuids), 0, 0},
    {"urn:uuid:bab9529a-4a10-40b3-a01f-f68a615d247a", "GetDocumentsAndAssociations",
     OP_GET_DOCUMENTS_AND_ASSOCIATIONS, P(p_get_documents), 1, 0},
    {"urn:uuid:51224314-5390-4169-9b91-b1980040715a", "GetSubmissionSets", OP_GET_SUBMISSION_SETS,
     P(p_uuids), 0, 0},
    {CG_SQ_GET_SS_AND_CONTENTS, "GetSubmissionSetAndContents", OP_GET_SS_AND_CONTENTS,
     P(p_ss_and_contents), 1, 0},
    {"urn:uuid:b909a503-523d-4517-8acf-8e5834dfc4c7", "GetFolderAndContents",
     OP_GET_FOLDER_AND_CONTENTS, P(p_folder_and_contents), 1, 0},
    {"urn:uuid:10cae35a-c7f9-4cf5-b61e-fc3278ffb578", "GetFoldersForDocument",
     OP_GET_FOLDERS_FOR_DOCUMENT, P(p_folders_for_document), 1, 0},
    {"urn:uuid:d90e5407-b356-4d91-a89f-873917b4b0e6", "GetRelatedDocuments",
     OP_GET_RELATED_DOCUMENTS, P(p_related), 1, 0},
    {"urn:uuid:3d1bdb10-39a2-11de-89c2-2f44d94eaa9f", "FindDocumentsForMultiplePatients",
     OP_FIND_DOCUMENTS, P(p_find_documents_mpq), 0, 1},
    {"urn:uuid:50d3f5ac-39a2-11de-a1ca-b366239e58df", "FindFoldersForMultiplePatients",
     OP_FIND_FOLDERS, P(p_find_folders_mpq), 0, 1},
};
#undef P

static const qdef *
query_find(const char *id)
{
    for (size_t i = 0; id && i < sizeof queries / sizeof queries[0]; i++)
        if (cg_ebrim_uuid_eq(id, queries[i].id))
            return &queries[i];
    return NULL;
}

const char *
cg_registry_query_name(const char *query_id)
{
    const qdef *q = query_find(query_id);
    return q ? q->name : NULL;
}

/* ---- values ---------------------------------------------------------------------------------- */

/* One parameter's values as given: groups (one per Slot; a value list is one group). */
typedef struct pval {
    const pdef *def;
    const char ***groups; /* each group a NULL-free array of values */
    size_t *ngroup;
    size_t count; /* groups */
    size_t total; /* values of all groups */
} pval;

typedef struct qctx {
    cg_pool *pool;
    cg_errlist *errs;
    const qdef *q;
    pval *vals; /* parallel to q->params */
    cg_store *store;
    const cg_registry_config *cfg;
    int leaf;
    /* the answer */
    cg_query_object *items;
    size_t count, cap;
    size_t *index, nindex; /* the items by uuid (have): open addressing, item number + 1 */
    int failed; /* a store failure (CG_EIO) */
    cg_store_list patients; /* the patient ids asked for, with their merges (patients_of) */
    int patients_done;
    /* $MetadataLevel (ITI-57 Metadata Update): 1 (the default) answers as XDS.b does, with the
     * latest version of each logical object and Approved associations of XDS.b types only;
     * 2 with every version, every association */
    int level;
} qctx;

static int
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Parses one rim:Value text into values: 'a' | ('a', 'b', ...) | an unquoted token (numbers).
 * Inside quotes '' is a quote. Returns the number of values, -1 with *why when malformed. */
static long
parse_value(cg_pool *pool, const char *text, const char ***out, size_t *n, size_t *cap,
            const char **why)
{
    const char *p = text;
    long got = 0;
    while (is_space(*p))
        p++;
    int list = *p == '(';
    if (list)
        p++;
    for (;;) {
        while (is_space(*p))
            p++;
        char *v;
        if (*p == '\'') {
            p++;
            size_t len = strlen(p);
            v = cg_pool_alloc(pool, len + 1);
            size_t k = 0;
            for (;;) {
                if (*p == '\0') {
                    *why = "a quoted value has no closing quote";
                    return -1;
                }
                if (*p == '\'' && p[1] == '\'') {
                    v[k++] = '\'';
                    p += 2;
                } else if (*p == '\'') {
                    p++;
                    break;
                } else {
                    v[k++] = *p++;
                }
            }
            v[k] = '\0';
        } else {
            const char *s = p;
            while (*p && *p != ',' && *p != ')' && *p != '\'' && !is_space(*p) && *p != '(')
                p++;
            if (p == s) {
                *why = list ? "an empty value in a list" : "no value";
                return -1;
            }
            v = cg_pool_strndup(pool, s, (size_t)(p - s));
        }
        if (strlen(v) > MAX_VALUE_LEN) {
            *why = "a value is longer than 4096 characters";
            return -1;
        }
        *out = cg_pool_grow(pool, *out, cap, *n + 1, sizeof(**out));
        (*out)[(*n)++] = v;
        got++;
        while (is_space(*p))
            p++;
        if (!list)
            break;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == ')') {
            p++;
            break;
        }
        *why = "a list of values must be ('a', 'b', ...)";
        return -1;
    }
    while (is_space(*p))
        p++;
    if (*p != '\0') {
        *why = list ? "text after the closing parenthesis" : "text after the value";
        return -1;
    }
    return got;
}

static void
bad_value(qctx *c, const pdef *d, const char *text, const char *why)
{
    cg_errlist_add(c->errs, CG_IHE_ERROR, CG_XDS_REGISTRY_ERROR, NULL,
                   "%s: parameter %s: malformed value \"%.200s\": %s", c->q->name, d->name, text,
                   why);
}

/* A value's form for its type: DTM digits for times, code^^^scheme for codes. */
static int
check_form(qctx *c, const pdef *d, const char *v)
{
    int64_t key;
    if (d->type == V_TIME && !cg_store_dtm_key(v, &key)) {
        bad_value(c, d, v, "a time is YYYY[MM[DD[hh[mm[ss]]]]] (UTC)");
        return 0;
    }
    if (d->type == V_CODE) {
        /* ITI TF-2a 3.18.4.1.2.3.4: code^^^codingScheme (the kit's senders also write
         * code^^codingScheme); a code without its scheme is the retired form: refused */
        const char *caret = strchr(v, '^');
        const char *scheme = caret;
        while (scheme && *scheme == '^')
            scheme++;
        if (caret == NULL || caret == v || *scheme == '\0' || strchr(scheme, '^')) {
            bad_value(c, d, v, "a coded value is code^^^codingScheme");
            return 0;
        }
    }
    if (*v == '\0' && d->type != V_PATTERN) {
        bad_value(c, d, v, "an empty value");
        return 0;
    }
    return 1;
}

/* $MetadataLevel: one value, 1 or 2 (any stored query takes it). */
static void
metadata_level(qctx *c, const cg_query_param *s)
{
    const char **vals = NULL;
    size_t n = 0, cap = 0;
    const char *why = NULL;
    for (size_t j = 0; j < s->nvalues && why == NULL; j++)
        if (parse_value(c->pool, s->values[j] ? s->values[j] : "", &vals, &n, &cap, &why) < 0)
            break;
    if (why == NULL && n == 1 && (strcmp(vals[0], "1") == 0 || strcmp(vals[0], "2") == 0)) {
        c->level = vals[0][0] - '0';
        return;
    }
    cg_errlist_add(c->errs, CG_IHE_ERROR, CG_XDS_REGISTRY_ERROR, NULL,
                   "%s: parameter $MetadataLevel takes one value, 1 (XDS.b) or 2 (Metadata "
                   "Update)%s%s",
                   c->q->name, why ? ": " : "", why ? why : "");
}

/* Checks the request's slots against the query's parameters and fills c->vals. */
static int
check_params(qctx *c, const cg_query_request *req)
{
    const qdef *q = c->q;
    size_t before = c->errs->errors;
    c->vals = cg_pool_calloc(c->pool, q->nparams, sizeof(*c->vals));
    for (size_t k = 0; k < q->nparams; k++)
        c->vals[k].def = &q->params[k];
    for (size_t i = 0; i < req->nparams; i++) {
        const cg_query_param *s = &req->params[i];
        pval *pv = NULL;
        for (size_t k = 0; k < q->nparams && s->name; k++)
            if (strcmp(q->params[k].name, s->name) == 0)
                pv = &c->vals[k];
        if (pv == NULL && s->name && strcmp(s->name, "$MetadataLevel") == 0) {
            metadata_level(c, s);
            continue;
        }
        if (pv == NULL) {
            /* ITI TF-2a 3.18.4.1.3: parameters a query does not define are ignored, but the
             * sender should know: a warning, the query still answered */
            cg_errlist_add(c->errs, CG_IHE_WARNING, CG_XDS_REGISTRY_ERROR, NULL,
                           "%s has no parameter %s: ignored", q->name,
                           s->name ? s->name : "(unnamed)");
            continue;
        }
        const pdef *d = pv->def;
        if (pv->count > 0 && !(d->flags & ANDOR)) {
            cg_errlist_add(c->errs, CG_IHE_ERROR, CG_XDS_SQ_PARAM_NUMBER, NULL,
                           "%s: parameter %s is given in more than one Slot; only "
                           "$XDSDocumentEntryEventCodeList, ConfidentialityCode, AuthorPerson "
                           "and $XDSFolderCodeList may repeat (AND)",
                           q->name, d->name);
            continue;
        }
        const char **vals = NULL;
        size_t n = 0, cap = 0;
        int ok = 1;
        for (size_t j = 0; j < s->nvalues && ok; j++) {
            const char *why = NULL;
            if (parse_value(c->pool, s->values[j] ? s->values[j] : "", &vals, &n, &cap, &why) < 0) {
                bad_value(c, d, s->values[j] ? s->values[j] : "", why);
                ok = 0;
            }
        }
        if (!ok)
            continue;
        if (n == 0) {
            cg_errlist_add(c->errs, CG_IHE_ERROR, CG_XDS_SQ_MISSING_PARAM, NULL,
                           "%s: parameter %s has no value", q->name, d->name);
            continue;
        }
        if (n > 1 && !(d->flags & MULTI)) {
            cg_errlist_add(c->errs, CG_IHE_ERROR, CG_XDS_SQ_PARAM_NUMBER, NULL,
                           "%s: parameter %s takes one value, not %zu", q->name, d->name, n);
            continue;
        }
        if (pv->total + n > MAX_VALUES) {
            cg_errlist_add(c->errs, CG_IHE_ERROR, CG_XDS_SQ_PARAM_NUMBER, NULL,
                           "%s: parameter %s has more than %d values", q->name, d->name,
                           MAX_VALUES);
            continue;
        }
        for (size_t j = 0; j < n && ok; j++)
            ok = check_form(c, d, vals[j]);
        if (!ok)
            continue;
        size_t gcap = pv->count;
        pv->groups = cg_pool_grow(c->pool, pv->groups, &gcap, pv->count + 1, sizeof(*pv->groups));
        gcap = pv->count;
        pv->ngroup = cg_pool_grow(c->pool, pv->ngroup, &gcap, pv->count + 1, sizeof(*pv->ngroup));
        pv->groups[pv->count] = vals;
        pv->ngroup[pv->count] = n;
        pv->count++;
        pv->total += n;
    }
    const pval *uuid = NULL, *uid = NULL, *lid = NULL;
    for (size_t k = 0; k < q->nparams; k++) {
        const pval *pv = &c->vals[k];
        if ((pv->def->flags & REQ) && pv->count == 0 &&
            !cg_errlist_has_code(c->errs, CG_XDS_SQ_MISSING_PARAM))
            cg_errlist_add(c->errs, CG_IHE_ERROR, CG_XDS_SQ_MISSING_PARAM, NULL,
                           "%s: the required parameter %s is missing", q->name, pv->def->name);
        if (pv->def->field == F_UUID)
            uuid = pv;
        if (pv->def->field == F_UNIQUE_ID)
            uid = pv;
        if (pv->def->field == F_LID)
            lid = pv;
    }
    size_t nlid = lid ? lid->count : 0;
    if (q->oneof && uuid && uid) {
        if (uuid->count == 0 && uid->count == 0 && nlid == 0)
            cg_errlist_add(c->errs, CG_IHE_ERROR, CG_XDS_SQ_MISSING_PARAM, NULL,
                           "%s needs %s or %s%s%s", q->name, uuid->def->name, uid->def->name,
                           lid ? " or " : "", lid ? lid->def->name : "");
        else if ((uuid->count > 0) + (uid->count > 0) + (nlid > 0) > 1 && lid)
            cg_errlist_add(c->errs, CG_IHE_ERROR, CG_XDS_SQ_PARAM_NUMBER, NULL,
                           "%s takes one of %s, %s and %s", q->name, uuid->def->name,
                           uid->def->name, lid->def->name);
        else if (uuid->count > 0 && uid->count > 0)
            cg_errlist_add(c->errs, CG_IHE_ERROR, CG_XDS_SQ_PARAM_NUMBER, NULL,
                           "%s takes %s or %s, not both", q->name, uuid->def->name, uid->def->name);
    }
    /* ITI-51 FindDocumentsForMultiplePatients (ITI TF-2a 3.51.4.1.2.3): a query that names no
     * class, event or facility code would sweep the registry; at least one of them is needed */
    if (q->mpq && q->op == OP_FIND_DOCUMENTS) {
        int coded = 0;
        for (size_t k = 0; k < q->nparams; k++) {
            const pval *pv = &c->vals[k];
            if (pv->count > 0 && pv->def->attr &&
                (strcmp(pv->def->attr, "classCode") == 0 ||
                 strcmp(pv->def->attr, "eventCodeList") == 0 ||
                 strcmp(pv->def->attr, "healthcareFacilityTypeCode") == 0))
                coded = 1;
        }
        if (!coded)
            cg_errlist_add(c->errs, CG_IHE_ERROR, CG_XDS_SQ_MISSING_PARAM, NULL,
                           "%s needs at least one of $XDSDocumentEntryClassCode, "
                           "$XDSDocumentEntryEventCodeList, "
                           "$XDSDocumentEntryHealthcareFacilityTypeCode",
                           q->name);
    }
    return c->errs->errors == before;
}

static const pval *
val_of(const qctx *c, enum field f, const char *attr)
{
    for (size_t k = 0; k < c->q->nparams; k++) {
        const pval *pv = &c->vals[k];
        if (pv->def->field == f && pv->count > 0 &&
            (attr == NULL || (pv->def->attr && strcmp(pv->def->attr, attr) == 0)))
            return pv;
    }
    return NULL;
}

static cg_store_list
list_of(const qctx *c, enum field f)
{
    const pval *pv = val_of(c, f, NULL);
    if (pv == NULL)
        return (cg_store_list){NULL, 0};
    return (cg_store_list){pv->groups[0], pv->ngroup[0]};
}

static void
time_bound(const qctx *c, enum field f, int *has, int64_t *key)
{
    const pval *pv = val_of(c, f, NULL);
    if (pv && cg_store_dtm_key(pv->groups[0][0], key))
        *has = 1;
}

/* The id a patient id stands for now: the surviving id when the patient identity feed merged it
 * (ITI-8), else itself. NULL with c->failed set when the store cannot be read. */
static const char *
surviving(qctx *c, const char *pid)
{
    int known = 0;
    char *into = NULL;
    cg_err err;
    cg_err_init(&err);
    if (cg_store_patient_lookup(c->store, pid, &known, &into, &err) != CG_OK) {
        cg_errlist_add(c->errs, CG_IHE_ERROR, CG_XDS_REGISTRY_ERROR, NULL,
                       "%s: the registry could not be read: %s", c->q->name, err.msg);
        c->failed = 1;
        return NULL;
    }
    const char *out = into ? cg_pool_strdup(c->pool, into) : pid;
    free(into);
    return out;
}

typedef struct family_ctx {
    qctx *c;
    const char **v;
    size_t n, cap;
} family_ctx;

static int
add_family(void *ctx, const char *id, int surviving)
{
    family_ctx *m = ctx;
    (void)surviving;
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->v[i], id) == 0)
            return 0;
    m->v = cg_pool_grow(m->c->pool, m->v, &m->cap, m->n + 1, sizeof(*m->v));
    m->v[m->n++] = cg_pool_strdup(m->c->pool, id);
    return 0;
}

/* The patient ids a query's $...PatientId stands for: each id as the patient it is now (a
 * subsumed id as its surviving one) and every id merged into that one, so documents registered
 * before an A40 merge are found under the surviving id (ITI-8 for XDS registries). */
static cg_store_list
patients_of(qctx *c)
{
    if (c->patients_done)
        return c->patients;
    c->patients_done = 1;
    cg_store_list asked = list_of(c, F_PATIENT);
    family_ctx m = {c, NULL, 0, 0};
    for (size_t i = 0; i < asked.n; i++) {
        cg_err err;
        cg_err_init(&err);
        if (cg_store_patient_family(c->store, asked.v[i], add_family, &m, &err) != CG_OK) {
            cg_errlist_add(c->errs, CG_IHE_ERROR, CG_XDS_REGISTRY_ERROR, NULL,
                           "%s: the registry could not be read: %s", c->q->name, err.msg);
            c->failed = 1;
            return c->patients = asked;
        }
    }
    return c->patients = m.n ? (cg_store_list){m.v, m.n} : asked;
}

/* The filter parts that parameters give: patients, statuses, types, codes, authors, times. */
static void
fill_filter(qctx *c, cg_store_filter *f, enum field status)
{
    f->patient_ids = patients_of(c);
    f->statuses = list_of(c, status);
    f->source_ids = list_of(c, F_SOURCE_ID);
    struct {
        enum field from, to;
        cg_store_time_range *r;
    } times[] = {{F_CREATION_FROM, F_CREATION_TO, &f->creation},
                 {F_SSTART_FROM, F_SSTART_TO, &f->service_start},
                 {F_SSTOP_FROM, F_SSTOP_TO, &f->service_stop},
                 {F_SUBMISSION_FROM, F_SUBMISSION_TO, &f->submission},
                 {F_UPDATE_FROM, F_UPDATE_TO, &f->last_update}};
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        time_bound(c, times[i].from, &times[i].r->has_from, &times[i].r->from);
        time_bound(c, times[i].to, &times[i].r->has_to, &times[i].r->to);
    }
    size_t ncodes = 0, nauthors = 0;
    for (size_t k = 0; k < c->q->nparams; k++) {
        if (c->vals[k].def->field == F_CODE)
            ncodes += c->vals[k].count;
        if (c->vals[k].def->field == F_AUTHOR)
            nauthors += c->vals[k].count;
    }
    cg_store_code_group *codes = cg_pool_calloc(c->pool, ncodes + 1, sizeof(*codes));
    cg_store_pattern_group *authors = cg_pool_calloc(c->pool, nauthors + 1, sizeof(*authors));
    for (size_t k = 0; k < c->q->nparams; k++) {
        const pval *pv = &c->vals[k];
        for (size_t g = 0; g < pv->count; g++) {
            if (pv->def->field == F_AUTHOR) {
                authors[f->nauthors++] = (cg_store_pattern_group){pv->groups[g], pv->ngroup[g]};
                continue;
            }
            if (pv->def->field != F_CODE)
                continue;
            size_t n = pv->ngroup[g];
            const char **cv = cg_pool_calloc(c->pool, n, sizeof(*cv));
            const char **sv = cg_pool_calloc(c->pool, n, sizeof(*sv));
            for (size_t i = 0; i < n; i++) {
                const char *v = pv->groups[g][i];
                const char *caret = strchr(v, '^');
                if (caret == NULL) {
                    cv[i] = v;
                    continue;
                }
                cv[i] = cg_pool_strndup(c->pool, v, (size_t)(caret - v));
                while (*caret == '^')
                    caret++;
                sv[i] = caret;
            }
            codes[f->ncodes++] = (cg_store_code_group){pv->def->attr, cv, sv, n};
        }
    }
    f->codes = codes;
    f->authors = authors;
}

/* DocumentEntry filters of Find and *AndContents queries: type (stable when not given). */
static void
doc_types(qctx *c, cg_store_filter *f)
{
    static const char *const stable[] = {CG_UUID_STABLE_DOCUMENT};
    f->object_types = list_of(c, F_DOC_TYPE);
    if (f->object_types.n == 0)
        f->object_types = (cg_store_list){stable, 1};
}

/* ---- the answer ------------------------------------------------------------------------------ */

static size_t
uuid_hash(const char *s)
{
    size_t h = 14695981039346656037u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

/* The index slot of uuid: its item's, or the empty one where it would go. */
static size_t *
slot_of(const qctx *c, const char *uuid)
{
    size_t mask = c->nindex - 1, i = uuid_hash(uuid) & mask;
    while (c->index[i] && strcmp(c->items[c->index[i] - 1].uuid, uuid) != 0)
        i = (i + 1) & mask;
    return &c->index[i];
}

static int
have(const qctx *c, const char *uuid)
{
    return c->nindex && *slot_of(c, uuid) != 0;
}

/* Makes room for one more item in the index: at most half full. */
static void
index_grow(qctx *c)
{
    if ((c->count + 1) * 2 <= c->nindex)
        return;
    c->nindex = c->nindex ? c->nindex * 2 : 64;
    c->index = cg_pool_calloc(c->pool, c->nindex, sizeof(*c->index));
    for (size_t i = 0; i < c->count; i++)
        *slot_of(c, c->items[i].uuid) = i + 1;
}

/* Association types of Metadata Update alone: not shown at $MetadataLevel 1. */
static int
mu_only(const qctx *c, const cg_store_row *r)
{
    return c->level < 2 && r->assoc_type &&
           (strcmp(r->assoc_type, CG_ASSOC_UPDATE_STATUS) == 0 ||
            strcmp(r->assoc_type, CG_ASSOC_SUBMIT_ASSOCIATION) == 0);
}

static void
add_row(qctx *c, cg_store_row *r)
{
    if (have(c, r->uuid) || mu_only(c, r))
        return;
    index_grow(c);
    c->items = cg_pool_grow(c->pool, c->items, &c->cap, c->count + 1, sizeof(*c->items));
    cg_query_object *o = &c->items[c->count++];
    o->kind = r->kind;
    o->uuid = cg_pool_strdup(c->pool, r->uuid);
    *slot_of(c, o->uuid) = c->count;
    if (r->xml) {
        /* the pool takes the stored text as it is: no copy */
        cg_pool_cleanup(c->pool, free, r->xml);
        o->xml = r->xml;
        o->xml_len = r->xml_len;
        r->xml = NULL;
    }
}

/* A store find; CG_OK, or CG_EIO with an XDSRegistryError added. */
static int
find(qctx *c, const cg_store_filter *f, int with_xml, cg_store_rows *out)
{
    static const char *const approved[] = {CG_STATUS_APPROVED};
    cg_store_filter g = *f;
    if (c->level < 2) {
        if (g.kinds == CG_STORE_KIND_ASSOC && g.statuses.n == 0)
            g.statuses = (cg_store_list){approved, 1};
        /* An Approved object is always the latest version of its logical object: a new version
         * deprecates the Approved one it follows, and only the latest version's status may
         * change. So when Approved alone is asked for (the common FindDocuments), the store
         * need not test each row for a later version. */
        g.latest_only = !(g.statuses.n == 1 && strcmp(g.statuses.v[0], CG_STATUS_APPROVED) == 0);
    }
    /* more than max_query_results is an error (below), whichever objects they are */
    g.limit_any = 1;
    f = &g;
    cg_err err;
    cg_err_init(&err);
    int rc = cg_store_find(c->store, f, c->cfg->max_query_results, with_xml && c->leaf, out, &err);
    if (rc != CG_OK) {
        if (rc == CG_ETOOBIG) {
            cg_errlist_add(c->errs, CG_IHE_ERROR, CG_XDS_TOO_MANY_RESULTS, NULL, "%s: %s",
                           c->q->name, err.msg);
            return CG_EINVAL;
        }
        cg_errlist_add(c->errs, CG_IHE_ERROR, CG_XDS_REGISTRY_ERROR, NULL,
                       "%s: the registry could not be read: %s", c->q->name, err.msg);
        c->failed = 1;
        return CG_EIO;
    }
    if (c->cfg->max_query_results > 0 && out->count > c->cfg->max_query_results) {
        cg_errlist_add(c->errs, CG_IHE_ERROR, CG_XDS_TOO_MANY_RESULTS, NULL,
                       "%s matches more than %zu objects (registry.max_query_results); narrow "
                       "the query",
                       c->q->name, c->cfg->max_query_results);
        return CG_EINVAL;
    }
    return CG_OK;
}

static void
add_rows(qctx *c, cg_store_rows *rows)
{
    for (size_t i = 0; i < rows->count; i++)
        add_row(c, &rows->items[i]);
}

/* uuids of rows (borrowed from rows) as a list in the pool; which: 0 uuid, 1 source, 2 target. */
static cg_store_list
ids_of(qctx *c, const cg_store_rows *rows, int which)
{
    const char **v = cg_pool_calloc(c->pool, rows->count + 1, sizeof(*v));
    size_t n = 0;
    for (size_t i = 0; i < rows->count; i++) {
        const cg_store_row *r = &rows->items[i];
        v[n++] = which == 0 ? r->uuid : which == 1 ? r->source : r->target;
    }
    return (cg_store_list){v, n};
}

/* The object(s) a Get query names: by entryUUID or uniqueId, of the kinds given. */
static int
named(qctx *c, unsigned kinds, int with_xml, cg_store_rows *out)
{
    cg_store_filter f = {0};
    f.kinds = kinds;
    f.uuids = list_of(c, F_UUID);
    f.unique_ids = list_of(c, F_UNIQUE_ID);
    f.lids = list_of(c, F_LID);
    return find(c, &f, with_xml, out);
}

/* HasMember (or other) associations from or to the given objects. */
static int
assocs(qctx *c, const cg_store_list *sources, const cg_store_list *targets,
       const cg_store_list *types, int with_xml, cg_store_rows *out)
{
    static const char *const has_member[] = {CG_ASSOC_HAS_MEMBER};
    cg_store_filter f = {0};
    f.kinds = CG_STORE_KIND_ASSOC;
    if (sources)
        f.sources = *sources;
    if (targets)
        f.targets = *targets;
    f.assoc_types = types ? *types : (cg_store_list){has_member, 1};
    if ((sources && sources->n == 0) || (targets && targets->n == 0))
        return CG_OK;
    return find(c, &f, with_xml, out);
}

/* Associations of rows whose both ends are in the answer. */
static void
add_linking(qctx *c, cg_store_rows *as)
{
    for (size_t i = 0; i < as->count; i++)
        if (have(c, as->items[i].source) && have(c, as->items[i].target))
            add_row(c, &as->items[i]);
}

/* FindDocumentsByReferenceId: each referenceIdList value, exactly, among the entry's values. */
static int
has_reference_id(const cg_store_row *r, const cg_store_list *wanted)
{
    if (r->xml == NULL)
        return 0;
    int found = 0;
    xmlDocPtr doc = xmlReadMemory(r->xml, (int)r->xml_len, NULL, NULL, XML_PARSE_NONET);
    if (doc == NULL)
        return 0;
    cg_pool *pool = cg_pool_new(0);
    const char **vals = NULL;
    size_t n = cg_ebrim_node_slot_values(xmlDocGetRootElement(doc), REFID_SLOT, pool, &vals);
    for (size_t i = 0; i < n && !found; i++)
        for (size_t j = 0; j < wanted->n && !found; j++)
            found = strcmp(vals[i], wanted->v[j]) == 0;
    cg_pool_free(pool);
    xmlFreeDoc(doc);
    return found;
}

/* The text a value has inside stored XML (libxml2 escapes &, < and >). */
static const char *
xml_escaped(cg_pool *pool, const char *v)
{
    size_t n = 0;
    for (const char *p = v; *p; p++)
        n += *p == '&' ? 5 : (*p == '<' || *p == '>') ? 4 : 1;
    char *out = cg_pool_alloc(pool, n + 1), *o = out;
    for (const char *p = v; *p; p++) {
        const char *rep = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : NULL;
        if (rep) {
            memcpy(o, rep, strlen(rep));
            o += strlen(rep);
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

static int
op_find(qctx *c, unsigned kind, enum field status)
{
    cg_store_filter f = {0};
    f.kinds = kind;
    fill_filter(c, &f, status);
    if (kind == CG_STORE_KIND_DOC)
        doc_types(c, &f);
    cg_store_list refs = list_of(c, F_REFID);
    int rc = CG_OK;
    if (refs.n == 0) {
        cg_store_rows rows = {0};
        if ((rc = find(c, &f, 1, &rows)) == CG_OK)
            add_rows(c, &rows);
        cg_store_rows_dispose(&rows);
        return rc;
    }
    /* referenceIdList is not an indexed column: the patient's entries holding the text, then
     * an exact check of their slot values */
    for (size_t i = 0; i < refs.n && rc == CG_OK; i++) {
        const char *needle = xml_escaped(c->pool, refs.v[i]);
        f.xml_contains = (cg_store_list){&needle, 1};
        cg_store_rows rows = {0};
        cg_err err;
        cg_err_init(&err);
        if (cg_store_find(c->store, &f, c->cfg->max_query_results, 1, &rows, &err) != CG_OK) {
            cg_errlist_add(c->errs, CG_IHE_ERROR, CG_XDS_REGISTRY_ERROR, NULL,
                           "%s: the registry could not be read: %s", c->q->name, err.msg);
            c->failed = 1;
            rc = CG_EIO;
        }
        for (size_t k = 0; k < rows.count; k++) {
            cg_store_row *r = &rows.items[k];
            if (!has_reference_id(r, &refs))
                continue;
            if (!c->leaf) {
                free(r->xml);
                r->xml = NULL;
            }
            add_row(c, r);
        }
        cg_store_rows_dispose(&rows);
    }
    return rc;
}

static int
op_get_all(qctx *c)
{
    int rc;
    cg_store_filter f = {0};
    cg_store_rows docs = {0}, sets = {0}, folders = {0}, as = {0};
    f.kinds = CG_STORE_KIND_DOC;
    fill_filter(c, &f, F_DOC_STATUS);
    doc_types(c, &f);
    if ((rc = find(c, &f, 1, &docs)) != CG_OK)
        goto done;
    cg_store_filter g = {0};
    g.kinds = CG_STORE_KIND_SS;
    g.patient_ids = patients_of(c);
    g.statuses = list_of(c, F_SS_STATUS);
    if ((rc = find(c, &g, 1, &sets)) != CG_OK)
        goto done;
    g.kinds = CG_STORE_KIND_FOLDER;
    g.statuses = list_of(c, F_FOLDER_STATUS);
    if ((rc = find(c, &g, 1, &folders)) != CG_OK)
        goto done;
    add_rows(c, &sets);
    add_rows(c, &docs);
    add_rows(c, &folders);
    /* every association between objects of the answer: those from its SubmissionSets and
     * Folders (HasMember), and those between its DocumentEntries (RPLC, XFRM, ...) */
    cg_store_filter a = {0};
    a.kinds = CG_STORE_KIND_ASSOC;
    cg_store_list ends = {0};
    const char **v = cg_pool_calloc(c->pool, c->count + 1, sizeof(*v));
    for (size_t i = 0; i < c->count; i++)
        v[i] = c->items[i].uuid;
    ends = (cg_store_list){v, c->count};
    a.sources = ends;
    if (ends.n && (rc = find(c, &a, 1, &as)) == CG_OK)
        add_linking(c, &as);
done:
    cg_store_rows_dispose(&as);
    cg_store_rows_dispose(&folders);
    cg_store_rows_dispose(&sets);
    cg_store_rows_dispose(&docs);
    return rc;
}

/* GetSubmissionSetAndContents, GetFolderAndContents: the container, its members that pass the
 * DocumentEntry filters (and, for a SubmissionSet, its Folders), the associations linking them. */
static int
op_contents(qctx *c, unsigned container)
{
    int rc;
    cg_store_rows box = {0}, members = {0}, docs = {0}, folders = {0}, inner = {0};
    if ((rc = named(c, container, 1, &box)) != CG_OK || box.count == 0)
        goto done;
    cg_store_list boxes = ids_of(c, &box, 0);
    if ((rc = assocs(c, &boxes, NULL, NULL, 1, &members)) != CG_OK)
        goto done;
    cg_store_list targets = ids_of(c, &members, 2);
    add_rows(c, &box);
    if (targets.n > 0) {
        cg_store_filter f = {0};
        f.kinds = CG_STORE_KIND_DOC;
        f.uuids = targets;
        fill_filter(c, &f, F_IGNORED);
        f.statuses = (cg_store_list){0};
        doc_types(c, &f);
        if ((rc = find(c, &f, 1, &docs)) != CG_OK)
            goto done;
        add_rows(c, &docs);
        if (container == CG_STORE_KIND_SS) {
            cg_store_filter g = {0};
            g.kinds = CG_STORE_KIND_FOLDER;
            g.uuids = targets;
            if ((rc = find(c, &g, 1, &folders)) != CG_OK)
                goto done;
            add_rows(c, &folders);
            /* the Folder-to-DocumentEntry associations this SubmissionSet carries */
            g.kinds = CG_STORE_KIND_ASSOC;
            if ((rc = find(c, &g, 1, &inner)) != CG_OK)
                goto done;
            add_linking(c, &inner);
        }
    }
    add_linking(c, &members);
done:
    cg_store_rows_dispose(&inner);
    cg_store_rows_dispose(&folders);
    cg_store_rows_dispose(&docs);
    cg_store_rows_dispose(&members);
    cg_store_rows_dispose(&box);
    return rc;
}

static int
op_run(qctx *c)
{
    int rc = CG_OK;
    cg_store_rows a = {0}, b = {0}, d = {0};
    switch (c->q->op) {
    case OP_FIND_DOCUMENTS: return op_find(c, CG_STORE_KIND_DOC, F_DOC_STATUS);
    case OP_FIND_SUBMISSION_SETS: return op_find(c, CG_STORE_KIND_SS, F_SS_STATUS);
    case OP_FIND_FOLDERS: return op_find(c, CG_STORE_KIND_FOLDER, F_FOLDER_STATUS);
    case OP_GET_ALL: return op_get_all(c);
    case OP_GET_DOCUMENTS:
    case OP_GET_FOLDERS:
        if ((rc = named(c, c->q->op == OP_GET_DOCUMENTS ? CG_STORE_KIND_DOC : CG_STORE_KIND_FOLDER,
                        1, &a)) == CG_OK)
            add_rows(c, &a);
        break;
    case OP_GET_ASSOCIATIONS: {
        cg_store_filter f = {0};
        f.kinds = CG_STORE_KIND_ASSOC;
        f.ends = list_of(c, F_UUID);
        if ((rc = find(c, &f, 1, &a)) == CG_OK)
            add_rows(c, &a);
        break;
    }
    case OP_GET_DOCUMENTS_AND_ASSOCIATIONS: {
        if ((rc = named(c, CG_STORE_KIND_DOC, 1, &d)) != CG_OK || d.count == 0)
            break;
        add_rows(c, &d);
        cg_store_filter f = {0};
        f.kinds = CG_STORE_KIND_ASSOC;
        f.ends = ids_of(c, &d, 0);
        if ((rc = find(c, &f, 1, &a)) == CG_OK)
            add_rows(c, &a);
        break;
    }
    case OP_GET_SUBMISSION_SETS: {
        cg_store_list objs = list_of(c, F_UUID);
        if ((rc = assocs(c, NULL, &objs, NULL, 1, &a)) != CG_OK || a.count == 0)
            break;
        cg_store_filter f = {0};
        f.kinds = CG_STORE_KIND_SS;
        f.uuids = ids_of(c, &a, 1);
        if ((rc = find(c, &f, 1, &b)) != CG_OK)
            break;
        add_rows(c, &b);
        for (size_t i = 0; i < a.count; i++)
            if (have(c, a.items[i].source))
                add_row(c, &a.items[i]);
        break;
    }
    case OP_GET_SS_AND_CONTENTS: return op_contents(c, CG_STORE_KIND_SS);
    case OP_GET_FOLDER_AND_CONTENTS: return op_contents(c, CG_STORE_KIND_FOLDER);
    case OP_GET_FOLDERS_FOR_DOCUMENT: {
        if ((rc = named(c, CG_STORE_KIND_DOC, 0, &d)) != CG_OK || d.count == 0)
            break;
        cg_store_list doc = ids_of(c, &d, 0);
        if ((rc = assocs(c, NULL, &doc, NULL, 0, &a)) != CG_OK || a.count == 0)
            break;
        cg_store_filter f = {0};
        f.kinds = CG_STORE_KIND_FOLDER;
        f.uuids = ids_of(c, &a, 1);
        if ((rc = find(c, &f, 1, &b)) == CG_OK)
            add_rows(c, &b);
        break;
    }
    case OP_GET_RELATED_DOCUMENTS: {
        if ((rc = named(c, CG_STORE_KIND_DOC, 1, &d)) != CG_OK || d.count == 0)
            break;
        cg_store_filter f = {0};
        f.kinds = CG_STORE_KIND_ASSOC;
        f.ends = ids_of(c, &d, 0);
        f.assoc_types = list_of(c, F_ASSOC_TYPES);
        if ((rc = find(c, &f, 1, &a)) != CG_OK || a.count == 0)
            break;
        /* the other end of each association */
        const char **v = cg_pool_calloc(c->pool, a.count + 1, sizeof(*v));
        for (size_t i = 0; i < a.count; i++)
            v[i] = strcmp(a.items[i].source, d.items[0].uuid) == 0 ? a.items[i].target
                                                                   : a.items[i].source;
        cg_store_filter g = {0};
        g.kinds = CG_STORE_KIND_DOC;
        g.uuids = (cg_store_list){v, a.count};
        g.object_types = list_of(c, F_DOC_TYPE);
        if ((rc = find(c, &g, 1, &b)) != CG_OK || b.count == 0)
            break;
        add_rows(c, &d);
        add_rows(c, &b);
        add_linking(c, &a);
        break;
    }
    }
    cg_store_rows_dispose(&d);
    cg_store_rows_dispose(&b);
    cg_store_rows_dispose(&a);
    return rc;
}

/* Get queries answer for one patient (ITI TF-2a 3.18.4.1.2.3.6): the patients of the answer's
 * objects, read from the store. */
static int
single_patient(qctx *c)
{
    if (c->count < 2)
        return 1;
    const char **v = cg_pool_calloc(c->pool, c->count, sizeof(*v));
    for (size_t i = 0; i < c->count; i++)
        v[i] = c->items[i].uuid;
    cg_store_filter f = {0};
    f.kinds = CG_STORE_KIND_DOC | CG_STORE_KIND_SS | CG_STORE_KIND_FOLDER;
    f.uuids = (cg_store_list){v, c->count};
    cg_store_rows rows = {0};
    int ok = 1;
    cg_err err;
    cg_err_init(&err);
    if (cg_store_find(c->store, &f, 0, 0, &rows, &err) != CG_OK) {
        cg_errlist_add(c->errs, CG_IHE_ERROR, CG_XDS_REGISTRY_ERROR, NULL,
                       "%s: the registry could not be read: %s", c->q->name, err.msg);
        c->failed = 1;
        ok = 0;
    }
    /* ids merged into one another are one patient; the first row's id, or the id looked up
     * last, needs no look-up again */
    const char *raw0 = ok && rows.count ? rows.items[0].patient_id : NULL;
    const char *p0 = raw0 ? surviving(c, raw0) : NULL;
    const char *raw = raw0, *now = p0;
    for (size_t i = 1; ok && p0 && i < rows.count; i++) {
        const char *ri = rows.items[i].patient_id;
        if (ri == NULL || strcmp(ri, raw0) == 0)
            continue;
        if (strcmp(ri, raw) != 0) {
            raw = ri;
            now = surviving(c, ri);
        }
        if (now && strcmp(p0, now) != 0) {
            cg_errlist_add(c->errs, CG_IHE_ERROR, CG_XDS_RESULT_NOT_SINGLE_PATIENT, NULL,
                           "%s: the objects asked for belong to more than one patient (%s, %s)",
                           c->q->name, p0, now);
            ok = 0;
        }
    }
    cg_store_rows_dispose(&rows);
    return ok;
}

int
cg_registry_query(cg_registry *reg, const cg_query_request *req, cg_pool *pool,
                  cg_query_result *out, cg_errlist *errs)
{
    assert(reg != NULL && req != NULL && pool != NULL && out != NULL && errs != NULL);
    memset(out, 0, sizeof(*out));
    qctx c = {.pool = pool,
              .errs = errs,
              .store = cg_registry_store(reg),
              .cfg = cg_registry_config_of(reg),
              .leaf = req->leaf_class,
              .level = 1};
    c.q = query_find(req->query_id);
    if (c.q == NULL || (c.q->mpq && !c.cfg->multi_patient_queries)) {
        cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_UNKNOWN_STORED_QUERY, NULL,
                       c.q ? "%s (ITI-51) is not enabled on this registry "
                             "(registry.multi_patient_queries)"
                           : "%s is not a stored query this registry knows",
                       c.q             ? c.q->name
                       : req->query_id ? req->query_id
                                       : "(no id)");
        return CG_OK;
    }
    if (!check_params(&c, req))
        return CG_OK;
    /* the query's reads see one snapshot (a submission committed between two of them cannot
     * give half of itself); if it cannot be had, each read stands alone and reports its error */
    cg_err err;
    cg_err_init(&err);
    (void)cg_store_read_begin(c.store, &err);
    op_run(&c);
    if (!c.failed && errs->errors == 0 && c.cfg->max_query_results > 0 &&
        c.count > c.cfg->max_query_results)
        cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_TOO_MANY_RESULTS, NULL,
                       "%s: %zu objects match, more than %zu (registry.max_query_results)",
                       c.q->name, c.count, c.cfg->max_query_results);
    /* LeafClass only: ObjectRefs carry no patient (21002 asks for both versions of an entry
     * whose patient an ITI-57 update changed) */
    if (!c.failed && errs->errors == 0 && !c.q->mpq && c.q->op >= OP_GET_DOCUMENTS && c.leaf)
        single_patient(&c);
    cg_store_read_end(c.store);
    if (c.failed)
        return CG_EIO;
    if (errs->errors == 0) {
        out->items = c.items;
        out->count = c.count;
    }
    return CG_OK;
}
