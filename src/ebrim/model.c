/* model: XDS metadata (ebRIM 3.0) over the request's libxml2 tree (see model.h). Parsing the
 * objects of a SubmitObjectsRequest, Slots, lookups by id; writing is in ebrim/write.c. */
#define _POSIX_C_SOURCE 200809L
#include "ebrim/model.h"

#include <assert.h>
#include <ctype.h>
#include <string.h>

#include "util/err.h"
#include "util/id.h"

static int
is_rim(xmlNodePtr n, const char *local)
{
    return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL &&
           xmlStrEqual(n->ns->href, BAD_CAST CG_NS_RIM) &&
           (local == NULL || xmlStrEqual(n->name, BAD_CAST local));
}

xmlNodePtr
cg_ebrim_child(xmlNodePtr parent, const char *local, xmlNodePtr prev)
{
    xmlNodePtr n = prev ? prev->next : parent->children;
    for (; n != NULL; n = n->next)
        if (is_rim(n, local))
            return n;
    return NULL;
}

/* The attribute's text in the tree (one text child; a value split over several nodes is merged
 * in place first), "" when empty, NULL when absent. */
static const char *
attr_text(xmlNodePtr node, const char *name)
{
    xmlAttrPtr a = xmlHasNsProp(node, BAD_CAST name, NULL);
    if (a == NULL)
        return NULL;
    if (a->children == NULL)
        return "";
    if (a->children->next != NULL || a->children->type != XML_TEXT_NODE) {
        xmlChar *v = xmlNodeListGetString(node->doc, a->children, 1);
        xmlSetProp(node, BAD_CAST name, v ? v : BAD_CAST "");
        xmlFree(v);
        a = xmlHasNsProp(node, BAD_CAST name, NULL);
        if (a == NULL || a->children == NULL)
            return "";
    }
    return (const char *)a->children->content;
}

const char *
cg_ebrim_attr(cg_pool *pool, xmlNodePtr node, const char *name)
{
    return cg_pool_strdup(pool, attr_text(node, name));
}

/* A rim:Value's text, merged into one text node when it is made of several. */
static const char *
value_text(xmlNodePtr v)
{
    xmlNodePtr c = v->children;
    if (c == NULL)
        return "";
    if (c->next == NULL && (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE))
        return c->content ? (const char *)c->content : "";
    xmlChar *text = xmlNodeGetContent(v);
    xmlNodePtr kids = v->children;
    v->children = v->last = NULL;
    for (xmlNodePtr k = kids; k != NULL; k = k->next)
        k->parent = NULL;
    xmlFreeNodeList(kids);
    xmlNodeAddContent(v, text ? text : BAD_CAST "");
    xmlFree(text);
    return v->children && v->children->content ? (const char *)v->children->content : "";
}

static xmlNodePtr
slot_find(xmlNodePtr node, const char *name, xmlNodePtr prev)
{
    for (xmlNodePtr s = cg_ebrim_child(node, "Slot", prev); s != NULL;
         s = cg_ebrim_child(node, "Slot", s)) {
        const char *n = attr_text(s, "name");
        if (n != NULL && strcmp(n, name) == 0)
            return s;
    }
    return NULL;
}

size_t
cg_ebrim_slot_count(xmlNodePtr node, const char *name)
{
    size_t n = 0;
    for (xmlNodePtr s = slot_find(node, name, NULL); s != NULL; s = slot_find(node, name, s))
        n++;
    return n;
}

const char *
cg_ebrim_node_slot_value(xmlNodePtr node, const char *name)
{
    xmlNodePtr s = slot_find(node, name, NULL);
    xmlNodePtr list = s ? cg_ebrim_child(s, "ValueList", NULL) : NULL;
    xmlNodePtr v = list ? cg_ebrim_child(list, "Value", NULL) : NULL;
    return v ? value_text(v) : NULL;
}

size_t
cg_ebrim_node_slot_values(xmlNodePtr node, const char *name, cg_pool *pool, const char ***out)
{
    *out = NULL;
    xmlNodePtr s = slot_find(node, name, NULL);
    if (s == NULL)
        return 0;
    size_t n = 0, cap = 0;
    const char **vals = NULL;
    for (xmlNodePtr list = cg_ebrim_child(s, "ValueList", NULL); list != NULL;
         list = cg_ebrim_child(s, "ValueList", list)) {
        for (xmlNodePtr v = cg_ebrim_child(list, "Value", NULL); v != NULL;
             v = cg_ebrim_child(list, "Value", v)) {
            vals = cg_pool_grow(pool, vals, &cap, n + 1, sizeof(*vals));
            vals[n++] = value_text(v);
        }
    }
    *out = vals;
    return n;
}

static xmlNsPtr
rim_ns(xmlNodePtr node)
{
    if (node->ns != NULL && xmlStrEqual(node->ns->href, BAD_CAST CG_NS_RIM))
        return node->ns;
    xmlNsPtr ns = xmlSearchNsByHref(node->doc, node, BAD_CAST CG_NS_RIM);
    return ns ? ns : xmlNewNs(node, BAD_CAST CG_NS_RIM, BAD_CAST "rim");
}

static int
rank(const xmlChar *local)
{
    static const char *const order[] = {"Slot",        "Name",           "Description",
                                        "VersionInfo", "Classification", "ExternalIdentifier"};
    for (int i = 0; i < (int)(sizeof(order) / sizeof(order[0])); i++)
        if (xmlStrEqual(local, BAD_CAST order[i]))
            return i;
    return 6;
}

void
cg_ebrim_insert(xmlNodePtr parent, xmlNodePtr child)
{
    int r = rank(child->name);
    for (xmlNodePtr n = cg_ebrim_child(parent, NULL, NULL); n != NULL;
         n = cg_ebrim_child(parent, NULL, n)) {
        if (rank(n->name) > r) {
            xmlAddPrevSibling(n, child);
            return;
        }
    }
    xmlAddChild(parent, child);
}

void
cg_ebrim_node_slot_set(xmlNodePtr node, const char *name, const char *value)
{
    assert(node != NULL && name != NULL && value != NULL);
    xmlNsPtr ns = rim_ns(node);
    xmlNodePtr s = slot_find(node, name, NULL);
    if (s != NULL) {
        /* later Slots of the same name go: one Slot, one value */
        xmlNodePtr dup;
        while ((dup = slot_find(node, name, s)) != NULL) {
            xmlUnlinkNode(dup);
            xmlFreeNode(dup);
        }
        xmlNodePtr kids = s->children;
        s->children = s->last = NULL;
        for (xmlNodePtr k = kids; k != NULL; k = k->next)
            k->parent = NULL;
        xmlFreeNodeList(kids);
    } else {
        s = xmlNewDocNode(node->doc, ns, BAD_CAST "Slot", NULL);
        xmlNewProp(s, BAD_CAST "name", BAD_CAST name);
        cg_ebrim_insert(node, s);
    }
    xmlNodePtr list = xmlNewChild(s, ns, BAD_CAST "ValueList", NULL);
    xmlNewTextChild(list, ns, BAD_CAST "Value", BAD_CAST value);
}

const char *
cg_ebrim_slot_value(const cg_ebrim_object *obj, const char *name)
{
    return cg_ebrim_node_slot_value(obj->node, name);
}

size_t
cg_ebrim_slot_values(const cg_ebrim_object *obj, const char *name, cg_pool *pool, const char ***out)
{
    return cg_ebrim_node_slot_values(obj->node, name, pool, out);
}

void
cg_ebrim_slot_set(cg_ebrim_object *obj, const char *name, const char *value)
{
    cg_ebrim_node_slot_set(obj->node, name, value);
}

size_t
cg_ebrim_slot_remove(cg_ebrim_object *obj, const char *name)
{
    size_t n = 0;
    xmlNodePtr s;
    while ((s = slot_find(obj->node, name, NULL)) != NULL) {
        xmlUnlinkNode(s);
        xmlFreeNode(s);
        n++;
    }
    return n;
}

const char *
cg_ebrim_kind_name(cg_ebrim_kind kind)
{
    switch (kind) {
    case CG_EBRIM_DOCUMENT_ENTRY: return "DocumentEntry";
    case CG_EBRIM_SUBMISSION_SET: return "SubmissionSet";
    case CG_EBRIM_FOLDER: return "Folder";
    case CG_EBRIM_ASSOCIATION: return "Association";
    case CG_EBRIM_CLASSIFICATION: return "Classification";
    }
    return "RegistryObject";
}

int
cg_ebrim_uuid_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return 0;
    for (;;) {
        while (isspace((unsigned char)*a))
            a++;
        if (*a == '\0' || *b == '\0')
            return *a == *b;
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
        a++;
        b++;
    }
}

/* ---- lookups by id --------------------------------------------------------------------------- */

static size_t
id_hash(const char *s)
{
    size_t h = 1469598103934665603u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static void
index_build(cg_ebrim_submission *sub)
{
    size_t cap = 16;
    while (cap < 2 * sub->count)
        cap *= 2;
    sub->index = cg_pool_calloc(sub->pool, cap, sizeof(*sub->index));
    sub->index_cap = cap;
    for (size_t i = 0; i < sub->count; i++) {
        size_t h = id_hash(sub->objects[i].id) & (cap - 1);
        while (sub->index[h] != 0) {
            if (strcmp(sub->objects[sub->index[h] - 1].id, sub->objects[i].id) == 0)
                break; /* a duplicate id: the first object keeps it */
            h = (h + 1) & (cap - 1);
        }
        if (sub->index[h] == 0)
            sub->index[h] = i + 1;
    }
}

cg_ebrim_object *
cg_ebrim_find(const cg_ebrim_submission *sub, const char *id)
{
    if (id == NULL)
        return NULL;
    if (sub->index == NULL) {
        for (size_t i = 0; i < sub->count; i++)
            if (strcmp(sub->objects[i].id, id) == 0)
                return &sub->objects[i];
        return NULL;
    }
    size_t h = id_hash(id) & (sub->index_cap - 1);
    while (sub->index[h] != 0) {
        cg_ebrim_object *o = &sub->objects[sub->index[h] - 1];
        if (strcmp(o->id, id) == 0)
            return o;
        h = (h + 1) & (sub->index_cap - 1);
    }
    return NULL;
}

/* ---- parsing -----------------------------------------------------------------------------------
 */

const char *
cg_ebrim_external_id(cg_pool *pool, xmlNodePtr node, const char *scheme)
{
    for (xmlNodePtr e = cg_ebrim_child(node, "ExternalIdentifier", NULL); e != NULL;
         e = cg_ebrim_child(node, "ExternalIdentifier", e))
        if (cg_ebrim_uuid_eq(attr_text(e, "identificationScheme"), scheme))
            return cg_ebrim_attr(pool, e, "value");
    return NULL;
}

size_t
cg_ebrim_external_id_count(xmlNodePtr node, const char *scheme)
{
    size_t n = 0;
    for (xmlNodePtr e = cg_ebrim_child(node, "ExternalIdentifier", NULL); e != NULL;
         e = cg_ebrim_child(node, "ExternalIdentifier", e))
        n += (size_t)cg_ebrim_uuid_eq(attr_text(e, "identificationScheme"), scheme);
    return n;
}

static void
object_fill(cg_ebrim_object *o, cg_pool *pool)
{
    const char *pid = NULL, *uid = NULL;
    switch (o->kind) {
    case CG_EBRIM_DOCUMENT_ENTRY:
        pid = CG_UUID_DE_PATIENT_ID;
        uid = CG_UUID_DE_UNIQUE_ID;
        break;
    case CG_EBRIM_SUBMISSION_SET:
        pid = CG_UUID_SS_PATIENT_ID;
        uid = CG_UUID_SS_UNIQUE_ID;
        break;
    case CG_EBRIM_FOLDER:
        pid = CG_UUID_FOLDER_PATIENT_ID;
        uid = CG_UUID_FOLDER_UNIQUE_ID;
        break;
    default: return;
    }
    o->patient_id = cg_ebrim_external_id(pool, o->node, pid);
    o->unique_id = cg_ebrim_external_id(pool, o->node, uid);
}

/* Marks RegistryPackages as SubmissionSet or Folder by their classificationNode (nested, or a
 * standalone Classification naming the package), and removes the ones that are neither. */
static int
packages_classify(cg_ebrim_submission *sub, const unsigned char *is_package, cg_errlist *errs)
{
    unsigned char *ss = cg_pool_calloc(sub->pool, sub->count + 1, 1);
    unsigned char *fol = cg_pool_calloc(sub->pool, sub->count + 1, 1);
    for (size_t i = 0; i < sub->count; i++) {
        cg_ebrim_object *o = &sub->objects[i];
        if (is_package[i]) {
            for (xmlNodePtr c = cg_ebrim_child(o->node, "Classification", NULL); c != NULL;
                 c = cg_ebrim_child(o->node, "Classification", c)) {
                const char *node = attr_text(c, "classificationNode");
                ss[i] |= cg_ebrim_uuid_eq(node, CG_UUID_SUBMISSION_SET);
                fol[i] |= cg_ebrim_uuid_eq(node, CG_UUID_FOLDER);
            }
        } else if (o->kind == CG_EBRIM_CLASSIFICATION) {
            cg_ebrim_object *t = cg_ebrim_find(sub, o->classified_object);
            if (t == NULL || !is_package[t - sub->objects])
                continue;
            ss[t - sub->objects] |=
                cg_ebrim_uuid_eq(o->classification_node, CG_UUID_SUBMISSION_SET);
            fol[t - sub->objects] |= cg_ebrim_uuid_eq(o->classification_node, CG_UUID_FOLDER);
        }
    }
    int rc = CG_OK;
    size_t keep = 0;
    for (size_t i = 0; i < sub->count; i++) {
        cg_ebrim_object *o = &sub->objects[i];
        if (is_package[i]) {
            if (ss[i] && fol[i]) {
                cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_REGISTRY_METADATA_ERROR, o->id,
                               "RegistryPackage %s is classified both as SubmissionSet and as "
                               "Folder",
                               o->id);
                rc = CG_EINVAL;
                continue;
            }
            if (!ss[i] && !fol[i]) {
                cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_REGISTRY_METADATA_ERROR, o->id,
                               "RegistryPackage %s is classified neither as SubmissionSet (%s) "
                               "nor as Folder (%s)",
                               o->id, CG_UUID_SUBMISSION_SET, CG_UUID_FOLDER);
                rc = CG_EINVAL;
                continue;
            }
            o->kind = ss[i] ? CG_EBRIM_SUBMISSION_SET : CG_EBRIM_FOLDER;
        }
        object_fill(o, sub->pool);
        sub->objects[keep++] = *o;
    }
    if (keep != sub->count) {
        sub->count = keep;
        index_build(sub);
    }
    return rc;
}

int
cg_ebrim_parse_submission(cg_ebrim_submission *out, xmlNodePtr submit_objects_request,
                          cg_pool *pool, cg_errlist *errs)
{
    assert(out != NULL && submit_objects_request != NULL && pool != NULL && errs != NULL);
    memset(out, 0, sizeof(*out));
    out->pool = pool;
    out->doc = submit_objects_request->doc;
    out->request = submit_objects_request;
    xmlNodePtr req = submit_objects_request;
    if (req->type != XML_ELEMENT_NODE || req->ns == NULL ||
        !xmlStrEqual(req->ns->href, BAD_CAST CG_NS_LCM) ||
        !xmlStrEqual(req->name, BAD_CAST "SubmitObjectsRequest")) {
        cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_REGISTRY_METADATA_ERROR, NULL,
                       "the request is {%s}%s, not an ebRS 3.0 lcm:SubmitObjectsRequest",
                       req->ns ? (const char *)req->ns->href : "", (const char *)req->name);
        return CG_EINVAL;
    }
    out->list = cg_ebrim_child(req, "RegistryObjectList", NULL);
    if (out->list == NULL) {
        cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_REGISTRY_METADATA_ERROR, NULL,
                       "SubmitObjectsRequest has no rim:RegistryObjectList");
        return CG_EINVAL;
    }
    int rc = CG_OK;
    size_t n = 0, pcap = 0;
    unsigned char *is_package = NULL;
    for (xmlNodePtr e = out->list->children; e != NULL; e = e->next) {
        if (e->type != XML_ELEMENT_NODE)
            continue;
        n++;
        if (!is_rim(e, NULL)) {
            cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_REGISTRY_METADATA_ERROR, NULL,
                           "object %zu of the RegistryObjectList is {%s}%s, not ebRIM 3.0", n,
                           e->ns ? (const char *)e->ns->href : "", (const char *)e->name);
            rc = CG_EINVAL;
            continue;
        }
        if (xmlStrEqual(e->name, BAD_CAST "ObjectRef"))
            continue; /* references to classification schemes and nodes: nothing to register */
        cg_ebrim_kind kind;
        int package = 0;
        if (xmlStrEqual(e->name, BAD_CAST "ExtrinsicObject"))
            kind = CG_EBRIM_DOCUMENT_ENTRY;
        else if (xmlStrEqual(e->name, BAD_CAST "RegistryPackage")) {
            kind = CG_EBRIM_SUBMISSION_SET; /* or Folder: decided by packages_classify */
            package = 1;
        } else if (xmlStrEqual(e->name, BAD_CAST "Association"))
            kind = CG_EBRIM_ASSOCIATION;
        else if (xmlStrEqual(e->name, BAD_CAST "Classification"))
            kind = CG_EBRIM_CLASSIFICATION;
        else {
            cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_REGISTRY_METADATA_ERROR, NULL,
                           "object %zu of the RegistryObjectList is a rim:%s, which XDS "
                           "does not register",
                           n, (const char *)e->name);
            rc = CG_EINVAL;
            continue;
        }
        const char *id = attr_text(e, "id");
        if (id == NULL || *id == '\0') {
            cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_REGISTRY_METADATA_ERROR, NULL,
                           "object %zu of the RegistryObjectList (rim:%s, line %ld) has no id", n,
                           (const char *)e->name, xmlGetLineNo(e));
            rc = CG_EINVAL;
            continue;
        }
        out->objects =
            cg_pool_grow(pool, out->objects, &out->cap, out->count + 1, sizeof(*out->objects));
        is_package = cg_pool_grow(pool, is_package, &pcap, out->count + 1, 1);
        is_package[out->count] = (unsigned char)package;
        cg_ebrim_object *o = &out->objects[out->count++];
        memset(o, 0, sizeof(*o));
        o->kind = kind;
        o->node = e;
        o->id = cg_pool_strdup(pool, id);
        o->uuid = cg_id_is_uuid_urn(id) ? o->id : NULL;
        o->lid = cg_ebrim_attr(pool, e, "lid");
        o->status = cg_ebrim_attr(pool, e, "status");
        o->object_type = cg_ebrim_attr(pool, e, "objectType");
        o->mime_type = cg_ebrim_attr(pool, e, "mimeType");
        o->home = cg_ebrim_attr(pool, e, "home");
        if (kind == CG_EBRIM_ASSOCIATION) {
            o->assoc_type = cg_ebrim_attr(pool, e, "associationType");
            o->source = cg_ebrim_attr(pool, e, "sourceObject");
            o->target = cg_ebrim_attr(pool, e, "targetObject");
        } else if (kind == CG_EBRIM_CLASSIFICATION) {
            o->classified_object = cg_ebrim_attr(pool, e, "classifiedObject");
            o->classification_node = cg_ebrim_attr(pool, e, "classificationNode");
        }
    }
    index_build(out);
    if (packages_classify(out, is_package, errs) != CG_OK)
        rc = CG_EINVAL;
    return rc;
}

static void
free_doc(void *doc)
{
    xmlFreeDoc(doc);
}

void
cg_ebrim_pool_doc(cg_pool *pool, xmlDocPtr doc)
{
    if (doc != NULL)
        cg_pool_cleanup(pool, free_doc, doc);
}
