/* rules: the XDS metadata rules of a Register Document Set-b submission (see rules.h).
 * Every check runs and reports; none stops at the first failure. */
#define _POSIX_C_SOURCE 200809L
#include "registry/rules.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "registry/format.h"
#include "util/id.h"
#include "util/str.h"

#define DE CG_EBRIM_DOCUMENT_ENTRY
#define SS CG_EBRIM_SUBMISSION_SET
#define FOL CG_EBRIM_FOLDER
/* a table reads best as one */
/* clang-format off */
static const cg_rules_scheme schemes[] = {
    /* kind, classificationScheme, attribute, min, max (0: any), coded */
    {DE,  "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a", "classCode",                  1, 1, 1},
    {DE,  "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f", "confidentialityCode",        1, 0, 1},
    {DE,  "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d", "formatCode",                 1, 1, 1},
    {DE,  "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1", "healthcareFacilityTypeCode", 1, 1, 1},
    {DE,  "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead", "practiceSettingCode",        1, 1, 1},
    {DE,  "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983", "typeCode",                   1, 1, 1},
    {DE,  "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4", "eventCodeList",              0, 0, 1},
    {DE,  "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d", "author",                     0, 0, 0},
    {SS,  "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500", "contentTypeCode",            1, 1, 1},
    {SS,  "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d", "author",                     0, 0, 0},
    {FOL, "urn:uuid:1ba97051-7806-41a8-a48b-8fce7af683c5", "codeList",                   1, 0, 1},
};
/* clang-format on */
#undef DE
#undef SS
#undef FOL
#define NSCHEMES (sizeof(schemes) / sizeof(schemes[0]))

const cg_rules_scheme *
cg_rules_scheme_find(cg_ebrim_kind kind, const char *uuid)
{
    for (size_t i = 0; i < NSCHEMES; i++)
        if (schemes[i].kind == kind && cg_ebrim_uuid_eq(uuid, schemes[i].uuid))
            return &schemes[i];
    return NULL;
}

/* Slots XDS defines, per object type (ITI TF-3 4.2.3). */
enum { OPTIONAL = 0, REQUIRED = 1, REQUIRED_STABLE = 2, NOT_ON_DEMAND = 4 };

typedef struct slot_rule {
    const char *name;
    int single; /* takes one value */
    int use;    /* REQUIRED, REQUIRED_STABLE, NOT_ON_DEMAND */
    int (*format)(const char *);
    const char *shape; /* "is not <shape>" */
} slot_rule;

static const slot_rule de_slots[] = {
    {"creationTime", 1, REQUIRED_STABLE, cg_format_is_dtm, "a DTM"},
    {"languageCode", 1, REQUIRED, cg_format_is_language, "an RFC 5646 language tag"},
    {"sourcePatientId", 1, REQUIRED, cg_format_is_cx_light, "a CX patient id (ID^^^AUTHORITY)"},
    {"hash", 1, REQUIRED_STABLE | NOT_ON_DEMAND, cg_format_is_sha1,
     "a SHA-1 (40 hexadecimal digits)"},
    {"size", 1, REQUIRED_STABLE | NOT_ON_DEMAND, cg_format_is_size, "a size in bytes"},
    {"repositoryUniqueId", 1, REQUIRED, cg_id_is_oid, "an OID"},
    {"serviceStartTime", 1, OPTIONAL, cg_format_is_dtm, "a DTM"},
    {"serviceStopTime", 1, OPTIONAL, cg_format_is_dtm, "a DTM"},
    {"legalAuthenticator", 1, OPTIONAL, NULL, NULL},
    {"URI", 1, OPTIONAL, NULL, NULL},
    {"sourcePatientInfo", 0, OPTIONAL, NULL, NULL},
    {"documentAvailability", 1, OPTIONAL, NULL, NULL},
    {"urn:ihe:iti:xds:2013:referenceIdList", 0, OPTIONAL, NULL, NULL},
};
static const slot_rule ss_slots[] = {
    {"submissionTime", 1, REQUIRED, cg_format_is_dtm, "a DTM"},
    {"intendedRecipient", 0, OPTIONAL, NULL, NULL},
};
static const slot_rule folder_slots[] = {
    {"lastUpdateTime", 1, OPTIONAL, NULL, NULL}, /* the registry sets it */
};

/* Lifecycle association types this registry does not take yet (Metadata Update and On-Demand
 * snapshots); RPLC, APND, XFRM, XFRM_RPLC and signs are taken (cg_rules_is_relationship). */
static const char *const lifecycle_types[] = {
    "urn:ihe:iti:2010:AssociationType:IsSnapshotOf",
    "urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus",
    "urn:ihe:iti:2010:AssociationType:SubmitAssociation",
};

int
cg_rules_is_relationship(const char *assoc_type)
{
    static const char *const types[] = {CG_ASSOC_RPLC, CG_ASSOC_APND, CG_ASSOC_XFRM,
                                        CG_ASSOC_XFRM_RPLC, CG_ASSOC_SIGNS};
    for (size_t i = 0; assoc_type && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(assoc_type, types[i]) == 0)
            return 1;
    return 0;
}

int
cg_rules_is_replacement(const char *assoc_type)
{
    return assoc_type &&
           (strcmp(assoc_type, CG_ASSOC_RPLC) == 0 || strcmp(assoc_type, CG_ASSOC_XFRM_RPLC) == 0);
}

typedef struct rules_ctx {
    const cg_ebrim_submission *sub;
    cg_errlist *errs;
    cg_pool *pool;
    cg_rules_result *res;
    int update; /* ITI-57: new versions, UpdateAvailabilityStatus and SubmitAssociation */
} rules_ctx;

static void message(char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
message(char *out, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cg_format_message(out, size, fmt, ap);
    va_end(ap);
}

void
cg_rules_add(cg_errlist *errs, cg_ihe_severity sev, const char *code, const cg_ebrim_object *o,
             const char *fmt, ...)
{
    char msg[640], id[160], all[900];
    va_list ap;
    va_start(ap, fmt);
    cg_format_message(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (o == NULL) {
        cg_errlist_add(errs, sev, code, NULL, "%s", msg);
        return;
    }
    message(id, sizeof(id), "%s", o->id);
    message(all, sizeof(all), "%s %s: %s", cg_ebrim_kind_name(o->kind), id, msg);
    cg_errlist_add(errs, sev, code, id, "%s", all);
}

static void fail(rules_ctx *c, const char *code, const cg_ebrim_object *o, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void
fail(rules_ctx *c, const char *code, const cg_ebrim_object *o, const char *fmt, ...)
{
    char msg[640];
    va_list ap;
    va_start(ap, fmt);
    cg_format_message(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cg_rules_add(c->errs, CG_IHE_ERROR, code, o, "%s", msg);
}

static void warn(rules_ctx *c, const char *code, const cg_ebrim_object *o, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void
warn(rules_ctx *c, const char *code, const cg_ebrim_object *o, const char *fmt, ...)
{
    char msg[640];
    va_list ap;
    va_start(ap, fmt);
    cg_format_message(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cg_rules_add(c->errs, CG_IHE_WARNING, code, o, "%s", msg);
}

#define MD CG_XDS_REGISTRY_METADATA_ERROR

static int
is_xds_object(const cg_ebrim_object *o)
{
    return o->kind == CG_EBRIM_DOCUMENT_ENTRY || o->kind == CG_EBRIM_SUBMISSION_SET ||
           o->kind == CG_EBRIM_FOLDER;
}

static void
push_node(cg_pool *pool, xmlNodePtr **arr, size_t *n, size_t *cap, xmlNodePtr node)
{
    *arr = cg_pool_grow(pool, *arr, cap, *n + 1, sizeof(**arr));
    (*arr)[(*n)++] = node;
}

static const char *
or_empty(const char *s)
{
    return s ? s : "";
}

/* ---- ids ------------------------------------------------------------------------------------- */

static void
check_ids(rules_ctx *c)
{
    const cg_ebrim_submission *sub = c->sub;
    size_t nss = 0;
    for (size_t i = 0; i < sub->count; i++) {
        const cg_ebrim_object *o = &sub->objects[i];
        const cg_ebrim_object *first = cg_ebrim_find(sub, o->id);
        if (first != NULL && first != o)
            fail(c, MD, o, "id \"%s\" is already the id of %s %s", o->id,
                 cg_ebrim_kind_name(first->kind), first->id);
        if (strncasecmp(o->id, "urn:uuid:", 9) == 0 && !cg_id_is_uuid_urn(o->id))
            fail(c, MD, o, "id \"%s\" is not a well-formed urn:uuid", o->id);
        if (o->lid != NULL && o->kind != CG_EBRIM_CLASSIFICATION && strcmp(o->lid, o->id) != 0 &&
            !c->update)
            fail(c, MD, o,
                 "lid \"%s\" differs from its id: a first version's lid is its entryUUID "
                 "(new versions are ITI-57 Update Document Set)",
                 o->lid);
        if (o->kind == CG_EBRIM_SUBMISSION_SET) {
            if (++nss == 1)
                c->res->submission_set = (cg_ebrim_object *)o;
            else
                fail(c, MD, o, "is a second SubmissionSet; a submission has exactly one");
        }
    }
    if (nss == 0)
        fail(c, MD, NULL,
             "the submission has no SubmissionSet (a RegistryPackage classified by "
             "classificationNode " CG_UUID_SUBMISSION_SET ")");
    if (nss > 1)
        c->res->submission_set = NULL;
}

/* ---- classifications ------------------------------------------------------------------------- */

static void
collect_classifications(rules_ctx *c)
{
    const cg_ebrim_submission *sub = c->sub;
    for (size_t i = 0; i < sub->count; i++) {
        const cg_ebrim_object *o = &sub->objects[i];
        cg_rules_object *info = &c->res->objects[i];
        if (!is_xds_object(o))
            continue;
        for (xmlNodePtr cl = cg_ebrim_child(o->node, "Classification", NULL); cl != NULL;
             cl = cg_ebrim_child(o->node, "Classification", cl)) {
            const char *co = cg_ebrim_attr(c->pool, cl, "classifiedObject");
            if (co != NULL && strcmp(co, o->id) != 0)
                fail(c, MD, o, "Classification %s classifies \"%s\", not the object it is in",
                     or_empty(cg_ebrim_attr(c->pool, cl, "id")), co);
            push_node(c->pool, &info->classifications, &info->nclassifications,
                      &info->classifications_cap, cl);
        }
        for (xmlNodePtr ei = cg_ebrim_child(o->node, "ExternalIdentifier", NULL); ei != NULL;
             ei = cg_ebrim_child(o->node, "ExternalIdentifier", ei)) {
            const char *ro = cg_ebrim_attr(c->pool, ei, "registryObject");
            if (ro != NULL && strcmp(ro, o->id) != 0)
                fail(c, MD, o,
                     "ExternalIdentifier %s names registryObject \"%s\", not the object "
                     "it is in",
                     or_empty(cg_ebrim_attr(c->pool, ei, "id")), ro);
        }
    }
    for (size_t i = 0; i < sub->count; i++) {
        const cg_ebrim_object *o = &sub->objects[i];
        if (o->kind != CG_EBRIM_CLASSIFICATION)
            continue;
        if (o->classified_object == NULL || *o->classified_object == '\0') {
            fail(c, MD, o, "has no classifiedObject");
            continue;
        }
        cg_ebrim_object *t = cg_ebrim_find(sub, o->classified_object);
        if (t == NULL) {
            if (cg_id_is_uuid_urn(o->classified_object)) {
                c->res->outside = cg_pool_grow(c->pool, c->res->outside, &c->res->outside_cap,
                                               c->res->noutside + 1, sizeof(*c->res->outside));
                c->res->outside[c->res->noutside++] = (cg_ebrim_object *)o;
            } else {
                fail(c, CG_XDS_UNRESOLVED_REFERENCE, o,
                     "classifiedObject \"%s\" names no object of this submission and is not a "
                     "urn:uuid",
                     o->classified_object);
            }
            continue;
        }
        if (!is_xds_object(t)) {
            fail(c, MD, o,
                 "classifies %s %s; XDS classifies DocumentEntries, SubmissionSets and Folders",
                 cg_ebrim_kind_name(t->kind), t->id);
            continue;
        }
        const char *scheme = cg_ebrim_attr(c->pool, o->node, "classificationScheme");
        const char *node = o->classification_node;
        if (node != NULL && *node != '\0') {
            int ss = cg_ebrim_uuid_eq(node, CG_UUID_SUBMISSION_SET);
            int fol = cg_ebrim_uuid_eq(node, CG_UUID_FOLDER);
            if (!ss && !fol)
                fail(c, MD, o, "classificationNode \"%s\" is not one XDS defines", node);
            else if ((ss && t->kind != CG_EBRIM_SUBMISSION_SET) ||
                     (fol && t->kind != CG_EBRIM_FOLDER))
                fail(c, MD, o, "marks %s %s as a %s, but only a RegistryPackage can be one",
                     cg_ebrim_kind_name(t->kind), t->id, ss ? "SubmissionSet" : "Folder");
        } else if (scheme == NULL || *scheme == '\0') {
            fail(c, MD, o, "has neither classificationScheme nor classificationNode");
        }
        cg_rules_object *info = &c->res->objects[t - sub->objects];
        push_node(c->pool, &info->classifications, &info->nclassifications,
                  &info->classifications_cap, o->node);
        push_node(c->pool, &info->fold, &info->nfold, &info->fold_cap, o->node);
    }
}

static void
check_classifications(rules_ctx *c, const cg_ebrim_object *o, const cg_rules_object *info)
{
    unsigned counts[NSCHEMES] = {0};
    for (size_t k = 0; k < info->nclassifications; k++) {
        xmlNodePtr cl = info->classifications[k];
        const cg_rules_scheme *sch =
            cg_rules_scheme_find(o->kind, cg_ebrim_attr(c->pool, cl, "classificationScheme"));
        if (sch == NULL)
            continue; /* the SubmissionSet/Folder marker, or a scheme XDS leaves to others */
        counts[sch - schemes]++;
        const char *clid = or_empty(cg_ebrim_attr(c->pool, cl, "id"));
        const char **vals;
        if (sch->coded) {
            const char *nr = cg_ebrim_attr(c->pool, cl, "nodeRepresentation");
            if (nr == NULL || *nr == '\0')
                fail(c, MD, o, "%s Classification %s has no nodeRepresentation (the code)",
                     sch->attr, clid);
            size_t n = cg_ebrim_node_slot_values(cl, "codingScheme", c->pool, &vals);
            if (n != 1)
                fail(c, MD, o,
                     "%s Classification %s has %zu codingScheme values; it needs exactly one",
                     sch->attr, clid, n);
        } else {
            size_t n = cg_ebrim_node_slot_values(cl, "authorPerson", c->pool, &vals);
            if (n > 1)
                fail(c, MD, o,
                     "author Classification %s has %zu authorPerson values; one is "
                     "allowed",
                     clid, n);
            if (n == 0 && cg_ebrim_slot_count(cl, "authorInstitution") == 0 &&
                cg_ebrim_slot_count(cl, "authorTelecommunication") == 0)
                fail(c, MD, o,
                     "author Classification %s has none of authorPerson, authorInstitution, "
                     "authorTelecommunication",
                     clid);
        }
    }
    for (size_t s = 0; s < NSCHEMES; s++) {
        const cg_rules_scheme *sch = &schemes[s];
        if (sch->kind != o->kind)
            continue;
        if (counts[s] < sch->min)
            fail(c, MD, o, "lacks the %s Classification (classificationScheme %s)", sch->attr,
                 sch->uuid);
        if (sch->max != 0 && counts[s] > sch->max)
            fail(c, MD, o, "has %u %s Classifications; %u is allowed", counts[s], sch->attr,
                 sch->max);
    }
}

/* ---- slots ----------------------------------------------------------------------------------- */

static void
check_slots(rules_ctx *c, const cg_ebrim_object *o, cg_rules_object *info, const slot_rule *rules,
            size_t nrules, int on_demand)
{
    size_t n = 0, cap = 0;
    const char **names = NULL;
    for (xmlNodePtr s = cg_ebrim_child(o->node, "Slot", NULL); s != NULL;
         s = cg_ebrim_child(o->node, "Slot", s)) {
        const char *name = cg_ebrim_attr(c->pool, s, "name");
        if (name == NULL || *name == '\0') {
            fail(c, MD, o, "has a Slot without a name");
            continue;
        }
        names = cg_pool_grow(c->pool, names, &cap, n + 1, sizeof(*names));
        names[n++] = name;
    }
    if (n > 1)
        qsort(names, n, sizeof(*names), cg_str_ptr_cmp);
    for (size_t i = 0; i < n; i++) {
        const char *name = names[i];
        size_t same = 1;
        while (i + 1 < n && strcmp(names[i + 1], name) == 0) {
            same++;
            i++;
        }
        if (same > 1)
            fail(c, MD, o, "slot %s appears %zu times; a Slot name is used once per object", name,
                 same);
        size_t r = 0;
        while (r < nrules && strcmp(rules[r].name, name) != 0)
            r++;
        if (r < nrules || (strncmp(name, "urn:", 4) == 0 && strncmp(name, "urn:ihe:", 8) != 0))
            continue; /* XDS metadata, or extra metadata (ITI TF-3 4.1.14): kept */
        info->dropped = cg_pool_grow(c->pool, info->dropped, &info->dropped_cap, info->ndropped + 1,
                                     sizeof(*info->dropped));
        info->dropped[info->ndropped++] = name;
        warn(c, CG_XDS_EXTRA_METADATA_NOT_SAVED, o,
             "slot \"%s\" is not XDS metadata and was not saved (extra metadata needs a name "
             "that starts with urn: but not urn:ihe:)",
             name);
    }
    for (size_t r = 0; r < nrules; r++) {
        const slot_rule *rule = &rules[r];
        const char **vals;
        size_t nv = cg_ebrim_node_slot_values(o->node, rule->name, c->pool, &vals);
        int required = (rule->use & REQUIRED) || ((rule->use & REQUIRED_STABLE) && !on_demand);
        if (nv == 0) {
            if (cg_ebrim_slot_count(o->node, rule->name) > 0)
                fail(c, MD, o, "slot %s has no value", rule->name);
            else if (required)
                fail(c, MD, o, "lacks the required slot %s", rule->name);
            continue;
        }
        if ((rule->use & NOT_ON_DEMAND) && on_demand) {
            fail(c, MD, o, "slot %s is not allowed on an On-Demand DocumentEntry", rule->name);
            continue;
        }
        if (rule->single && nv > 1)
            fail(c, MD, o, "slot %s has %zu values; it takes one", rule->name, nv);
        if (rule->format != NULL && !rule->format(vals[0]))
            fail(c, MD, o, "slot %s \"%s\" is not %s", rule->name, vals[0], rule->shape);
    }
}

/* ---- external identifiers -------------------------------------------------------------------- */

static void
check_external_id(rules_ctx *c, const cg_ebrim_object *o, const char *scheme, const char *label,
                  int (*format)(const char *), const char *shape)
{
    size_t n = cg_ebrim_external_id_count(o->node, scheme);
    if (n == 0) {
        fail(c, MD, o, "lacks the %s ExternalIdentifier (identificationScheme %s)", label, scheme);
        return;
    }
    if (n > 1)
        fail(c, MD, o, "has %zu %s ExternalIdentifiers; one is allowed", n, label);
    const char *v = cg_ebrim_external_id(c->pool, o->node, scheme);
    char why[160];
    if (format == cg_format_is_cx && v != NULL && !cg_format_cx_why(v, why, sizeof(why)))
        fail(c, MD, o, "%s \"%s\" is not %s: %s", label, v, shape, why);
    else if (v == NULL || !format(v))
        fail(c, MD, o, "%s \"%s\" is not %s", label, or_empty(v), shape);
}

#define CX_SHAPE "a CX patient id of the form ID^^^&OID&ISO"

static void
check_document_entry(rules_ctx *c, const cg_ebrim_object *o, cg_rules_object *info)
{
    int stable = cg_ebrim_uuid_eq(o->object_type, CG_UUID_STABLE_DOCUMENT);
    int on_demand = cg_ebrim_uuid_eq(o->object_type, CG_UUID_ONDEMAND_DOCUMENT);
    if (o->object_type == NULL)
        fail(c, MD, o, "has no objectType");
    else if (!stable && !on_demand)
        fail(c, MD, o,
             "objectType \"%s\" is neither a stable (" CG_UUID_STABLE_DOCUMENT
             ") nor an On-Demand (" CG_UUID_ONDEMAND_DOCUMENT ") DocumentEntry",
             o->object_type);
    if (o->mime_type == NULL)
        fail(c, MD, o, "has no mimeType");
    else if (!cg_format_is_mime(o->mime_type))
        fail(c, MD, o, "mimeType \"%s\" is not a MIME type (type/subtype)", o->mime_type);
    check_slots(c, o, info, de_slots, sizeof(de_slots) / sizeof(de_slots[0]), on_demand);
    check_classifications(c, o, info);
    check_external_id(c, o, CG_UUID_DE_PATIENT_ID, "patientId", cg_format_is_cx, CX_SHAPE);
    check_external_id(c, o, CG_UUID_DE_UNIQUE_ID, "uniqueId", cg_format_is_oid_ext,
                      "an OID or OID^extension (an extension of at most 16 characters, 128 in "
                      "all)");
}

static void
check_submission_set(rules_ctx *c, const cg_ebrim_object *o, cg_rules_object *info)
{
    check_slots(c, o, info, ss_slots, sizeof(ss_slots) / sizeof(ss_slots[0]), 0);
    check_classifications(c, o, info);
    check_external_id(c, o, CG_UUID_SS_PATIENT_ID, "patientId", cg_format_is_cx, CX_SHAPE);
    check_external_id(c, o, CG_UUID_SS_UNIQUE_ID, "uniqueId", cg_id_is_oid, "an OID");
    check_external_id(c, o, CG_UUID_SS_SOURCE_ID, "sourceId", cg_id_is_oid, "an OID");
}

static void
check_folder(rules_ctx *c, const cg_ebrim_object *o, cg_rules_object *info)
{
    check_slots(c, o, info, folder_slots, sizeof(folder_slots) / sizeof(folder_slots[0]), 0);
    check_classifications(c, o, info);
    check_external_id(c, o, CG_UUID_FOLDER_PATIENT_ID, "patientId", cg_format_is_cx, CX_SHAPE);
    check_external_id(c, o, CG_UUID_FOLDER_UNIQUE_ID, "uniqueId", cg_id_is_oid, "an OID");
}

/* ---- associations ---------------------------------------------------------------------------- */

/* The object of the submission that ref names (*out), or NULL with 1 for a urn:uuid outside it
 * (the store checks that one); 0 after reporting a reference that cannot resolve. */
static int
resolve(rules_ctx *c, const cg_ebrim_object *o, const char *what, const char *ref,
        cg_ebrim_object **out)
{
    *out = cg_ebrim_find(c->sub, ref);
    if (*out != NULL) {
        if ((*out)->kind == CG_EBRIM_CLASSIFICATION) {
            fail(c, MD, o, "%s \"%s\" is a Classification, which XDS does not associate", what,
                 ref);
            return 0;
        }
        return 1;
    }
    if (cg_id_is_uuid_urn(ref))
        return 1;
    fail(c, CG_XDS_UNRESOLVED_REFERENCE, o,
         "%s \"%s\" names no object of this submission and is not the urn:uuid of a registered "
         "object",
         what, ref);
    return 0;
}

static void
check_ss_status(rules_ctx *c, const cg_ebrim_object *a, const cg_ebrim_object *t)
{
    const char **vals;
    size_t n = cg_ebrim_node_slot_values(a->node, "SubmissionSetStatus", c->pool, &vals);
    const char *what = t ? t->id : a->target;
    if (n == 0) {
        fail(c, MD, a, "HasMember from the SubmissionSet to %s lacks the slot SubmissionSetStatus",
             what);
        return;
    }
    if (n > 1)
        fail(c, MD, a, "slot SubmissionSetStatus has %zu values; it takes one", n);
    if (strcmp(vals[0], "Original") != 0 && strcmp(vals[0], "Reference") != 0)
        fail(c, MD, a, "SubmissionSetStatus \"%s\" is neither Original nor Reference", vals[0]);
    else if (t != NULL && strcmp(vals[0], "Reference") == 0)
        fail(c, MD, a,
             "SubmissionSetStatus is Reference, but DocumentEntry %s is submitted here "
             "(Original)",
             t->id);
    else if (t == NULL && strcmp(vals[0], "Original") == 0)
        fail(c, MD, a, "SubmissionSetStatus is Original, but %s is not in this submission",
             a->target);
}

static void
check_associations(rules_ctx *c)
{
    const cg_ebrim_submission *sub = c->sub;
    unsigned char *member = cg_pool_calloc(c->pool, sub->count + 1, 1);
    unsigned char *folder_doc = cg_pool_calloc(c->pool, sub->count + 1, 1);
    for (size_t i = 0; i < sub->count; i++) {
        const cg_ebrim_object *a = &sub->objects[i];
        if (a->kind != CG_EBRIM_ASSOCIATION)
            continue;
        int complete = 1;
        if (a->assoc_type == NULL || *a->assoc_type == '\0') {
            fail(c, MD, a, "has no associationType");
            complete = 0;
        }
        if (a->source == NULL || *a->source == '\0') {
            fail(c, MD, a, "has no sourceObject");
            complete = 0;
        }
        if (a->target == NULL || *a->target == '\0') {
            fail(c, MD, a, "has no targetObject");
            complete = 0;
        }
        if (!complete)
            continue;
        cg_ebrim_object *s, *t;
        int ok = resolve(c, a, "sourceObject", a->source, &s);
        ok &= resolve(c, a, "targetObject", a->target, &t);
        if (cg_rules_is_relationship(a->assoc_type)) {
            /* a new DocumentEntry of this submission and the registered one it replaces,
             * appends, transforms or signs (the registry checks that one exists, is Approved
             * and has the same patient) */
            if (!ok)
                continue;
            if (c->update && s == NULL && t == NULL)
                continue; /* ITI-57 SubmitAssociation: registry.c checks both ends */
            if (s == NULL || s->kind != CG_EBRIM_DOCUMENT_ENTRY)
                fail(c, MD, a, "%s: the sourceObject must be a DocumentEntry of this submission",
                     a->assoc_type);
            else if (t != NULL && (t->kind != CG_EBRIM_DOCUMENT_ENTRY ||
                                   strcmp(a->assoc_type, CG_ASSOC_SIGNS) != 0))
                fail(c, MD, a, "%s: the targetObject must be a registered DocumentEntry, not %s %s "
                     "of this submission",
                     a->assoc_type, cg_ebrim_kind_name(t->kind), t->id);
            continue;
        }
        if (c->update && (strcmp(a->assoc_type, CG_ASSOC_UPDATE_STATUS) == 0 ||
                          strcmp(a->assoc_type, CG_ASSOC_SUBMIT_ASSOCIATION) == 0)) {
            /* ITI-57 operations: registry.c checks them against the store; an association
             * submitted by SubmitAssociation is a member of the SubmissionSet */
            if (ok && t != NULL && t->kind == CG_EBRIM_ASSOCIATION &&
                strcmp(a->assoc_type, CG_ASSOC_SUBMIT_ASSOCIATION) == 0)
                member[t - sub->objects] = 1;
            continue;
        }
        if (strcmp(a->assoc_type, CG_ASSOC_HAS_MEMBER) != 0) {
            int lifecycle = 0;
            for (size_t k = 0; k < sizeof(lifecycle_types) / sizeof(lifecycle_types[0]); k++)
                lifecycle |= strcmp(a->assoc_type, lifecycle_types[k]) == 0;
            if (lifecycle)
                fail(c, MD, a, "association type %s is not supported by this registry yet",
                     a->assoc_type);
            else
                fail(c, MD, a, "association type \"%s\" is not an XDS association type",
                     a->assoc_type);
            continue;
        }
        if (!ok)
            continue;
        if (strcmp(a->source, a->target) == 0) {
            fail(c, MD, a, "associates %s with itself", a->source);
            continue;
        }
        if (s != NULL && s->kind == CG_EBRIM_SUBMISSION_SET) {
            if (t == NULL) {
                check_ss_status(c, a, NULL); /* a registered DocumentEntry, by Reference */
            } else if (t->kind == CG_EBRIM_DOCUMENT_ENTRY) {
                check_ss_status(c, a, t);
                member[t - sub->objects] = 1;
            } else if (t->kind == CG_EBRIM_FOLDER || t->kind == CG_EBRIM_ASSOCIATION) {
                member[t - sub->objects] = 1;
            } else {
                fail(c, MD, a,
                     "HasMember from SubmissionSet %s to %s %s: the members of a "
                     "SubmissionSet are DocumentEntries, Folders and Associations",
                     s->id, cg_ebrim_kind_name(t->kind), t->id);
            }
        } else if (s == NULL || s->kind == CG_EBRIM_FOLDER) {
            /* a Folder of this submission, or a registered one (the store checks it exists) */
            if (t == NULL || t->kind == CG_EBRIM_DOCUMENT_ENTRY)
                folder_doc[i] = 1;
            else
                fail(c, MD, a,
                     "HasMember from %s%s to %s %s: the members of a Folder are "
                     "DocumentEntries",
                     s ? "Folder " : "", a->source, cg_ebrim_kind_name(t->kind), t->id);
        } else {
            fail(c, MD, a, "HasMember from %s %s: only a SubmissionSet or a Folder has members",
                 cg_ebrim_kind_name(s->kind), s->id);
        }
    }
    for (size_t i = 0; i < sub->count; i++) {
        const cg_ebrim_object *o = &sub->objects[i];
        if (o->kind == CG_EBRIM_DOCUMENT_ENTRY && !member[i])
            fail(c, MD, o, "is not the target of a HasMember association from the SubmissionSet");
        else if (o->kind == CG_EBRIM_FOLDER && !member[i])
            fail(c, MD, o, "is not the target of a HasMember association from the SubmissionSet");
        else if (folder_doc[i] && !member[i])
            fail(c, MD, o,
                 "puts %s into Folder %s but is not itself the target of a HasMember association "
                 "from the SubmissionSet",
                 o->target, o->source);
    }
}

/* ---- patient ids and unique ids -------------------------------------------------------------- */

static void
check_patient_ids(rules_ctx *c)
{
    const cg_ebrim_object *ss = c->res->submission_set;
    if (ss == NULL || ss->patient_id == NULL)
        return;
    for (size_t i = 0; i < c->sub->count; i++) {
        const cg_ebrim_object *o = &c->sub->objects[i];
        if ((o->kind == CG_EBRIM_DOCUMENT_ENTRY || o->kind == CG_EBRIM_FOLDER) &&
            o->patient_id != NULL && strcmp(o->patient_id, ss->patient_id) != 0)
            fail(c, CG_XDS_PATIENT_ID_DOES_NOT_MATCH, o,
                 "patientId \"%s\" differs from the patientId \"%s\" of SubmissionSet %s",
                 o->patient_id, ss->patient_id, ss->id);
    }
}

static size_t
str_hash(const char *s)
{
    size_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static void
check_unique_ids(rules_ctx *c)
{
    const cg_ebrim_submission *sub = c->sub;
    size_t cap = 16;
    while (cap < 2 * sub->count)
        cap *= 2;
    const cg_ebrim_object **table = cg_pool_calloc(c->pool, cap, sizeof(*table));
    for (size_t i = 0; i < sub->count; i++) {
        const cg_ebrim_object *o = &sub->objects[i];
        if (!is_xds_object(o) || o->unique_id == NULL || *o->unique_id == '\0')
            continue;
        size_t h = str_hash(o->unique_id) & (cap - 1);
        while (table[h] != NULL && strcmp(table[h]->unique_id, o->unique_id) != 0)
            h = (h + 1) & (cap - 1);
        if (table[h] == NULL)
            table[h] = o;
        else
            fail(c, CG_XDS_DUPLICATE_UNIQUE_ID_IN_MESSAGE, o,
                 "uniqueId \"%s\" is also the uniqueId of %s %s in this submission", o->unique_id,
                 cg_ebrim_kind_name(table[h]->kind), table[h]->id);
    }
}

static void
check_all(cg_rules_result *out, const cg_ebrim_submission *sub, cg_errlist *errs, int update)
{
    assert(out != NULL && sub != NULL && errs != NULL);
    memset(out, 0, sizeof(*out));
    out->objects = cg_pool_calloc(sub->pool, sub->count + 1, sizeof(*out->objects));
    rules_ctx c = {sub, errs, sub->pool, out, update};
    check_ids(&c);
    collect_classifications(&c);
    for (size_t i = 0; i < sub->count; i++) {
        const cg_ebrim_object *o = &sub->objects[i];
        switch (o->kind) {
        case CG_EBRIM_DOCUMENT_ENTRY: check_document_entry(&c, o, &out->objects[i]); break;
        case CG_EBRIM_SUBMISSION_SET: check_submission_set(&c, o, &out->objects[i]); break;
        case CG_EBRIM_FOLDER: check_folder(&c, o, &out->objects[i]); break;
        case CG_EBRIM_ASSOCIATION:
        case CG_EBRIM_CLASSIFICATION: break;
        }
    }
    check_associations(&c);
    check_patient_ids(&c);
    check_unique_ids(&c);
}

void
cg_rules_check(cg_rules_result *out, const cg_ebrim_submission *sub, cg_errlist *errs)
{
    check_all(out, sub, errs, 0);
}

void
cg_rules_check_update(cg_rules_result *out, const cg_ebrim_submission *sub, cg_errlist *errs)
{
    check_all(out, sub, errs, 1);
}
