/* Tests src/ebrim/model.c and write.c: finding the objects of a SubmitObjectsRequest, Slots,
 * RegistryResponse, and one object as standalone XML. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "ebrim/model.h"
#include "unit.h"
#include "util/alloc.h"
#include "util/fs.h"
#include "xml/parse.h"

typedef struct fx {
    cg_pool *pool;
    xmlDocPtr doc;
    cg_ebrim_submission sub;
    cg_errlist errs;
    int rc;
} fx;

static void
fx_text(fx *f, const char *xml)
{
    cg_err err;
    cg_err_init(&err);
    f->pool = cg_pool_new(0);
    cg_errlist_init(&f->errs, f->pool);
    f->doc = NULL;
    CU_ASSERT_EQUAL_FATAL(cg_xml_parse(&f->doc, xml, strlen(xml), "test.xml", NULL, &err), CG_OK);
    cg_ebrim_pool_doc(f->pool, f->doc);
    f->rc = cg_ebrim_parse_submission(&f->sub, xmlDocGetRootElement(f->doc), f->pool, &f->errs);
}

static void
fx_file(fx *f, const char *path)
{
    char *text = NULL;
    size_t len = 0;
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL_FATAL(cg_fs_read(&text, &len, path, 1 << 22, &err), CG_OK);
    fx_text(f, text);
    free(text);
}

static void
fx_fixture(fx *f, const char *rel)
{
    char *path = cg_test_fixture(rel);
    fx_file(f, path);
    free(path);
}

static void
fx_done(fx *f)
{
    cg_pool_free(f->pool);
}

/* The first error's context contains `part` (and its code is XDSRegistryMetadataError). */
static int
has_error(const cg_errlist *errs, const char *code, const char *part)
{
    for (size_t i = 0; i < errs->count; i++)
        if (strcmp(errs->items[i].code, code) == 0 && strstr(errs->items[i].context, part))
            return 1;
    return 0;
}

static void
test_parse_symbolic(void)
{
    fx f;
    fx_fixture(&f, "ebrim/symbolic.xml");
    CU_ASSERT_EQUAL(f.rc, CG_OK);
    CU_ASSERT_EQUAL(f.errs.count, 0);
    CU_ASSERT_EQUAL_FATAL(f.sub.count, 7); /* the ObjectRef is not an object to register */
    CU_ASSERT_PTR_NOT_NULL(f.sub.list);
    const cg_ebrim_object *d1 = cg_ebrim_find(&f.sub, "Document01");
    CU_ASSERT_PTR_NOT_NULL_FATAL(d1);
    CU_ASSERT_EQUAL(d1->kind, CG_EBRIM_DOCUMENT_ENTRY);
    CU_ASSERT_PTR_NULL(d1->uuid); /* symbolic: the registry assigns one */
    CU_ASSERT_PTR_NULL(d1->lid);
    CU_ASSERT_STRING_EQUAL(d1->status, "urn:oasis:names:tc:ebxml-regrep:StatusType:Submitted");
    CU_ASSERT_STRING_EQUAL(d1->object_type, CG_UUID_STABLE_DOCUMENT);
    CU_ASSERT_STRING_EQUAL(d1->mime_type, "text/xml");
    CU_ASSERT_STRING_EQUAL(d1->home, "urn:oid:1.2.3");
    /* the patientId scheme is wrapped with a space, the uniqueId one is upper case */
    CU_ASSERT_STRING_EQUAL(d1->patient_id, "P1^^^&1.2.3&ISO");
    CU_ASSERT_STRING_EQUAL(d1->unique_id, "1.2.3.4^abc");

    const cg_ebrim_object *d2 = cg_ebrim_find(&f.sub, "Document02");
    CU_ASSERT_PTR_NOT_NULL_FATAL(d2); /* in the default namespace, not rim: */
    CU_ASSERT_EQUAL(d2->kind, CG_EBRIM_DOCUMENT_ENTRY);
    CU_ASSERT_STRING_EQUAL(d2->lid, "Document02");
    CU_ASSERT_STRING_EQUAL(d2->object_type, CG_UUID_ONDEMAND_DOCUMENT);
    CU_ASSERT_STRING_EQUAL(d2->unique_id, "1.2.3.5");
    CU_ASSERT_PTR_NULL(d2->patient_id);

    const cg_ebrim_object *ss = cg_ebrim_find(&f.sub, "SubmissionSet01");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ss); /* marked by the standalone Classification cl02 */
    CU_ASSERT_EQUAL(ss->kind, CG_EBRIM_SUBMISSION_SET);
    CU_ASSERT_STRING_EQUAL(ss->unique_id, "1.2.3.6");
    CU_ASSERT_STRING_EQUAL(ss->patient_id, "P1^^^&1.2.3&ISO");

    const cg_ebrim_object *fol = cg_ebrim_find(&f.sub, "Folder01");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fol); /* marked by its nested Classification */
    CU_ASSERT_EQUAL(fol->kind, CG_EBRIM_FOLDER);
    CU_ASSERT_STRING_EQUAL(fol->unique_id, "1.2.3.7");

    const cg_ebrim_object *cl = cg_ebrim_find(&f.sub, "cl02");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cl);
    CU_ASSERT_EQUAL(cl->kind, CG_EBRIM_CLASSIFICATION);
    CU_ASSERT_STRING_EQUAL(cl->classified_object, "SubmissionSet01");
    CU_ASSERT_STRING_EQUAL(cl->classification_node, CG_UUID_SUBMISSION_SET);

    const cg_ebrim_object *as = cg_ebrim_find(&f.sub, "as01");
    CU_ASSERT_PTR_NOT_NULL_FATAL(as);
    CU_ASSERT_EQUAL(as->kind, CG_EBRIM_ASSOCIATION);
    CU_ASSERT_STRING_EQUAL(as->assoc_type, CG_ASSOC_HAS_MEMBER);
    CU_ASSERT_STRING_EQUAL(as->source, "SubmissionSet01");
    CU_ASSERT_STRING_EQUAL(as->target, "Document01");
    CU_ASSERT_STRING_EQUAL(cg_ebrim_find(&f.sub, "as02")->target,
                           "urn:uuid:0f3c36c6-1f5b-4b55-8e4c-4b0b5b7a3f01");
    CU_ASSERT_PTR_NULL(cg_ebrim_find(&f.sub, "ei01")); /* nested: not an object of the list */
    CU_ASSERT_PTR_NULL(cg_ebrim_find(&f.sub, "nothing"));
    /* document order is kept */
    CU_ASSERT_PTR_EQUAL(&f.sub.objects[0], d1);
    CU_ASSERT_PTR_EQUAL(&f.sub.objects[6], cg_ebrim_find(&f.sub, "as02"));
    fx_done(&f);
}

static void
test_parse_uuid_ids(void)
{
    fx f;
    fx_fixture(&f, "ebrim/uuid.xml");
    CU_ASSERT_EQUAL(f.rc, CG_OK);
    CU_ASSERT_EQUAL_FATAL(f.sub.count, 3);
    const char *doc = "urn:uuid:11111111-2222-4333-8444-555555555555";
    const char *pkg = "urn:uuid:66666666-7777-4888-9999-aaaaaaaaaaaa";
    const cg_ebrim_object *d = cg_ebrim_find(&f.sub, doc);
    const cg_ebrim_object *ss = cg_ebrim_find(&f.sub, pkg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ss);
    CU_ASSERT_STRING_EQUAL(d->uuid, doc);               /* already a UUID: kept */
    CU_ASSERT_EQUAL(ss->kind, CG_EBRIM_SUBMISSION_SET); /* nested SubmissionSet Classification */
    CU_ASSERT_STRING_EQUAL(ss->uuid, pkg);
    CU_ASSERT_PTR_NULL(ss->unique_id);
    CU_ASSERT_STRING_EQUAL(cg_ebrim_external_id(f.pool, ss->node, CG_UUID_SS_SOURCE_ID), "1.2.3");
    CU_ASSERT_EQUAL(cg_ebrim_external_id_count(ss->node, CG_UUID_SS_SOURCE_ID), 1);
    CU_ASSERT_EQUAL(cg_ebrim_external_id_count(ss->node, CG_UUID_SS_UNIQUE_ID), 0);
    fx_done(&f);
}

#define SOR_OPEN                                                                                   \
    "<lcm:SubmitObjectsRequest xmlns:lcm='urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0' "           \
    "xmlns:rim='urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0'><rim:RegistryObjectList>"
#define SOR_CLOSE "</rim:RegistryObjectList></lcm:SubmitObjectsRequest>"

static void
test_parse_errors(void)
{
    fx f;
    fx_text(&f,
            "<rim:RegistryObjectList xmlns:rim='urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0'/>");
    CU_ASSERT_EQUAL(f.rc, CG_EINVAL);
    CU_ASSERT(has_error(&f.errs, CG_XDS_REGISTRY_METADATA_ERROR, "not an ebRS 3.0"));
    fx_done(&f);

    fx_text(&f,
            "<lcm:SubmitObjectsRequest xmlns:lcm='urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0'/>");
    CU_ASSERT_EQUAL(f.rc, CG_EINVAL);
    CU_ASSERT(has_error(&f.errs, CG_XDS_REGISTRY_METADATA_ERROR, "no rim:RegistryObjectList"));
    fx_done(&f);

    /* every problem of the list is reported, and the good objects are still found */
    fx_text(&f, SOR_OPEN "<rim:ExtrinsicObject mimeType='text/plain'/>"
                         "<rim:RegistryPackage id='Lonely'/>"
                         "<rim:RegistryPackage id='Both'>"
                         "<rim:Classification id='c1' classifiedObject='Both' "
                         "classificationNode='urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd'/>"
                         "<rim:Classification id='c2' classifiedObject='Both' "
                         "classificationNode='urn:uuid:d9d542f3-6cc4-48b6-8870-ea235fbc94c2'/>"
                         "</rim:RegistryPackage>"
                         "<rim:AuditableEvent id='ev'/>"
                         "<x:Other xmlns:x='urn:other' id='o'/>"
                         "<rim:ExtrinsicObject id='Good'/>" SOR_CLOSE);
    CU_ASSERT_EQUAL(f.rc, CG_EINVAL);
    CU_ASSERT_EQUAL(f.errs.count, 5);
    CU_ASSERT(
        has_error(&f.errs, CG_XDS_REGISTRY_METADATA_ERROR,
                  "object 1 of the RegistryObjectList (rim:ExtrinsicObject, line 1) has no id"));
    CU_ASSERT(has_error(&f.errs, CG_XDS_REGISTRY_METADATA_ERROR,
                        "RegistryPackage Lonely is classified neither"));
    CU_ASSERT(has_error(&f.errs, CG_XDS_REGISTRY_METADATA_ERROR,
                        "RegistryPackage Both is classified both"));
    CU_ASSERT(has_error(&f.errs, CG_XDS_REGISTRY_METADATA_ERROR,
                        "rim:AuditableEvent, which XDS does not register"));
    CU_ASSERT(
        has_error(&f.errs, CG_XDS_REGISTRY_METADATA_ERROR, "{urn:other}Other, not ebRIM 3.0"));
    CU_ASSERT_EQUAL(f.sub.count, 1);
    CU_ASSERT_PTR_NOT_NULL(cg_ebrim_find(&f.sub, "Good"));
    CU_ASSERT_PTR_NULL(cg_ebrim_find(&f.sub, "Lonely"));
    fx_done(&f);
}

static void
test_slots(void)
{
    fx f;
    fx_fixture(&f, "ebrim/symbolic.xml");
    cg_ebrim_object *d1 = cg_ebrim_find(&f.sub, "Document01");
    CU_ASSERT_PTR_NOT_NULL_FATAL(d1);
    CU_ASSERT_STRING_EQUAL(cg_ebrim_slot_value(d1, "creationTime"), "20240105");
    CU_ASSERT_PTR_NULL(cg_ebrim_slot_value(d1, "hash"));
    CU_ASSERT_STRING_EQUAL(cg_ebrim_slot_value(d1, "languageCode"), ""); /* an empty Value */
    const char **vals;
    CU_ASSERT_EQUAL_FATAL(cg_ebrim_slot_values(d1, "sourcePatientInfo", f.pool, &vals), 2);
    CU_ASSERT_STRING_EQUAL(vals[0], "PID-3|X^^^&1.2&ISO");
    CU_ASSERT_STRING_EQUAL(vals[1], "PID-5|Doe^John"); /* text and CDATA, merged */
    CU_ASSERT_EQUAL(cg_ebrim_slot_values(d1, "absent", f.pool, &vals), 0);
    CU_ASSERT_PTR_NULL(vals);

    /* set replaces every value; a new Slot goes after the last Slot, before Name */
    cg_ebrim_slot_set(d1, "sourcePatientInfo", "PID-3|Y^^^&1.3&ISO");
    CU_ASSERT_EQUAL(cg_ebrim_slot_values(d1, "sourcePatientInfo", f.pool, &vals), 1);
    CU_ASSERT_STRING_EQUAL(vals[0], "PID-3|Y^^^&1.3&ISO");
    cg_ebrim_slot_set(d1, "hash", "0123456789abcdef0123456789abcdef01234567");
    CU_ASSERT_STRING_EQUAL(cg_ebrim_slot_value(d1, "hash"),
                           "0123456789abcdef0123456789abcdef01234567");
    xmlNodePtr hash = NULL, name = NULL;
    for (xmlNodePtr n = cg_ebrim_child(d1->node, NULL, NULL); n;
         n = cg_ebrim_child(d1->node, NULL, n)) {
        xmlChar *nm = xmlGetProp(n, BAD_CAST "name");
        if (nm && xmlStrEqual(nm, BAD_CAST "hash"))
            hash = n;
        if (xmlStrEqual(n->name, BAD_CAST "Name"))
            name = n;
        xmlFree(nm);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(hash);
    CU_ASSERT_PTR_EQUAL(cg_ebrim_child(d1->node, NULL, hash), name);
    CU_ASSERT_STRING_EQUAL((const char *)hash->ns->prefix, "rim");

    /* a value with markup characters is text, not markup */
    cg_ebrim_slot_set(d1, "urn:x:note", "a < b & c");
    CU_ASSERT_STRING_EQUAL(cg_ebrim_slot_value(d1, "urn:x:note"), "a < b & c");

    /* duplicates: counted, then removed together */
    xmlNodePtr dup = xmlCopyNode(hash, 1);
    xmlAddNextSibling(hash, dup);
    CU_ASSERT_EQUAL(cg_ebrim_slot_count(d1->node, "hash"), 2);
    cg_ebrim_slot_set(d1, "hash", "x"); /* set leaves one Slot */
    CU_ASSERT_EQUAL(cg_ebrim_slot_count(d1->node, "hash"), 1);
    CU_ASSERT_EQUAL(cg_ebrim_slot_remove(d1, "hash"), 1);
    CU_ASSERT_EQUAL(cg_ebrim_slot_count(d1->node, "hash"), 0);
    CU_ASSERT_EQUAL(cg_ebrim_slot_remove(d1, "hash"), 0);

    /* an element in the default namespace gets Slots in that namespace, with no new prefix */
    cg_ebrim_object *d2 = cg_ebrim_find(&f.sub, "Document02");
    cg_ebrim_slot_set(d2, "size", "12");
    CU_ASSERT_STRING_EQUAL(cg_ebrim_slot_value(d2, "size"), "12");
    CU_ASSERT_PTR_NULL(d2->node->nsDef->next); /* only its own xmlns="...rim:3.0" */
    CU_ASSERT_PTR_NULL(cg_ebrim_child(d2->node, "Slot", NULL)->ns->prefix);

    /* node level: an Association's Slot */
    cg_ebrim_object *as = cg_ebrim_find(&f.sub, "as01");
    CU_ASSERT_STRING_EQUAL(cg_ebrim_node_slot_value(as->node, "SubmissionSetStatus"), "Original");
    cg_ebrim_node_slot_set(as->node, "SubmissionSetStatus", "Reference");
    CU_ASSERT_STRING_EQUAL(cg_ebrim_slot_value(as, "SubmissionSetStatus"), "Reference");
    fx_done(&f);
}

static xmlNodePtr
child(xmlNodePtr parent, const char *local)
{
    for (xmlNodePtr n = parent ? parent->children : NULL; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, BAD_CAST local))
            return n;
    return NULL;
}

static int
attr_is(xmlNodePtr n, const char *name, const char *value)
{
    xmlChar *v = xmlGetProp(n, BAD_CAST name);
    int eq = v && strcmp((const char *)v, value) == 0;
    xmlFree(v);
    return eq;
}

static void
test_registry_response(void)
{
    cg_pool *pool = cg_pool_new(0);
    cg_errlist errs;
    cg_errlist_init(&errs, pool);

    xmlDocPtr ok = cg_ebrim_registry_response(pool, &errs, 0);
    xmlNodePtr root = xmlDocGetRootElement(ok);
    CU_ASSERT_STRING_EQUAL((const char *)root->name, "RegistryResponse");
    CU_ASSERT_STRING_EQUAL((const char *)root->ns->href, CG_NS_RS);
    CU_ASSERT(attr_is(root, "status", CG_RS_SUCCESS));
    CU_ASSERT_PTR_NULL(root->children);

    /* warnings only: Success with a list whose highest severity is Warning */
    cg_errlist_add(&errs, CG_IHE_WARNING, CG_XDS_EXTRA_METADATA_NOT_SAVED, "Document01",
                   "slot \"x\" was not saved");
    xmlDocPtr warn = cg_ebrim_registry_response(pool, &errs, 0);
    root = xmlDocGetRootElement(warn);
    CU_ASSERT(attr_is(root, "status", CG_RS_SUCCESS));
    xmlNodePtr list = child(root, "RegistryErrorList");
    CU_ASSERT_PTR_NOT_NULL_FATAL(list);
    CU_ASSERT(attr_is(list, "highestSeverity", CG_SEVERITY_WARNING));

    cg_errlist_add(&errs, CG_IHE_ERROR, CG_XDS_UNKNOWN_PATIENT_ID, NULL, "patient \"%s\" & co",
                   "P1");
    xmlDocPtr bad = cg_ebrim_registry_response(pool, &errs, 0);
    root = xmlDocGetRootElement(bad);
    CU_ASSERT(attr_is(root, "status", CG_RS_FAILURE));
    list = child(root, "RegistryErrorList");
    CU_ASSERT_PTR_NOT_NULL_FATAL(list);
    CU_ASSERT_STRING_EQUAL((const char *)list->ns->href, CG_NS_RS);
    CU_ASSERT(attr_is(list, "highestSeverity", CG_SEVERITY_ERROR));
    xmlNodePtr e1 = child(list, "RegistryError");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e1);
    CU_ASSERT(attr_is(e1, "errorCode", "XDSExtraMetadataNotSaved"));
    CU_ASSERT(attr_is(e1, "severity", CG_SEVERITY_WARNING));
    CU_ASSERT(attr_is(e1, "location", "Document01"));
    xmlNodePtr e2 = e1->next;
    while (e2 && e2->type != XML_ELEMENT_NODE)
        e2 = e2->next;
    CU_ASSERT_PTR_NOT_NULL_FATAL(e2);
    CU_ASSERT(attr_is(e2, "errorCode", "XDSUnknownPatientId"));
    CU_ASSERT(attr_is(e2, "codeContext", "patient \"P1\" & co"));
    CU_ASSERT(attr_is(e2, "severity", CG_SEVERITY_ERROR));
    CU_ASSERT_PTR_NULL(xmlHasProp(e2, BAD_CAST "location"));
    /* the serialized form escapes what it must */
    xmlChar *text = NULL;
    int len = 0;
    xmlDocDumpMemory(bad, &text, &len);
    CU_ASSERT_PTR_NOT_NULL(
        strstr((const char *)text, "codeContext=\"patient &quot;P1&quot; &amp; co\""));
    CU_ASSERT_PTR_NOT_NULL(
        strstr((const char *)text,
               "<rs:RegistryResponse xmlns:rs=\"urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0\""));
    xmlFree(text);

    xmlDocPtr partial = cg_ebrim_registry_response(pool, &errs, 1);
    CU_ASSERT(attr_is(xmlDocGetRootElement(partial), "status", CG_RS_PARTIAL));

    /* under a response of another namespace: rs declared on the list, placed before the
     * RegistryObjectList an AdhocQueryResponse carries */
    xmlDocPtr q = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr qr = xmlNewDocNode(q, NULL, BAD_CAST "AdhocQueryResponse", NULL);
    xmlSetNs(qr, xmlNewNs(qr, BAD_CAST CG_NS_QUERY, BAD_CAST "query"));
    xmlDocSetRootElement(q, qr);
    xmlNodePtr rol = xmlNewChild(qr, xmlNewNs(qr, BAD_CAST CG_NS_RIM, BAD_CAST "rim"),
                                 BAD_CAST "RegistryObjectList", NULL);
    cg_ebrim_pool_doc(pool, q);
    cg_ebrim_write_errors(qr, &errs);
    xmlNodePtr first = qr->children;
    CU_ASSERT_STRING_EQUAL((const char *)first->name, "RegistryErrorList");
    CU_ASSERT_STRING_EQUAL((const char *)first->ns->href, CG_NS_RS);
    CU_ASSERT_PTR_EQUAL(first->next, rol);
    cg_errlist empty;
    cg_errlist_init(&empty, pool);
    cg_ebrim_write_errors(rol, &empty); /* nothing to say: nothing written */
    CU_ASSERT_PTR_NULL(rol->children);
    cg_pool_free(pool);
}

static xmlDocPtr
reparse(const char *xml, size_t len)
{
    xmlDocPtr d = NULL;
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_xml_parse(&d, xml, len, "object.xml", NULL, &err), CG_OK);
    return d;
}

static void
test_object_xml(void)
{
    fx f;
    fx_fixture(&f, "ebrim/symbolic.xml");
    cg_ebrim_object *ss = cg_ebrim_find(&f.sub, "SubmissionSet01");
    cg_ebrim_object *cl = cg_ebrim_find(&f.sub, "cl02");
    const char *xml = NULL;
    size_t len = 0;
    xmlNodePtr fold[1] = {cl->node};
    CU_ASSERT_EQUAL_FATAL(cg_ebrim_object_xml(&xml, &len, f.pool, ss->node, fold, 1), CG_OK);
    CU_ASSERT_EQUAL(strlen(xml), len);
    /* the namespaces the element uses are declared on it; the ones it does not use are not */
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "xmlns:rim=\"" CG_NS_RIM "\""));
    CU_ASSERT_PTR_NULL(strstr(xml, "xmlns:lcm"));
    CU_ASSERT_PTR_NULL(strstr(xml, "xmlns:xsi"));
    xmlDocPtr d = reparse(xml, len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    xmlNodePtr root = xmlDocGetRootElement(d);
    CU_ASSERT_STRING_EQUAL((const char *)root->name, "RegistryPackage");
    CU_ASSERT_STRING_EQUAL((const char *)root->ns->href, CG_NS_RIM);
    /* the folded Classification sits before the ExternalIdentifiers, in the rim namespace */
    xmlNodePtr c = child(root, "Classification");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL((const char *)c->ns->href, CG_NS_RIM);
    CU_ASSERT(attr_is(c, "classificationNode", CG_UUID_SUBMISSION_SET));
    xmlNodePtr n = c->next;
    while (n && n->type != XML_ELEMENT_NODE)
        n = n->next;
    CU_ASSERT_STRING_EQUAL((const char *)n->name, "ExternalIdentifier");
    xmlFreeDoc(d);
    /* the request tree is not changed by serializing */
    CU_ASSERT_PTR_EQUAL(cl->node->parent, f.sub.list);

    /* an element in the default namespace keeps it */
    cg_ebrim_object *d2 = cg_ebrim_find(&f.sub, "Document02");
    CU_ASSERT_EQUAL_FATAL(cg_ebrim_object_xml(&xml, &len, f.pool, d2->node, NULL, 0), CG_OK);
    d = reparse(xml, len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    root = xmlDocGetRootElement(d);
    CU_ASSERT_STRING_EQUAL((const char *)root->ns->href, CG_NS_RIM);
    CU_ASSERT_STRING_EQUAL((const char *)child(root, "Slot")->ns->href, CG_NS_RIM);
    xmlFreeDoc(d);
    fx_done(&f);
}

static void
test_insert_order_and_helpers(void)
{
    fx f;
    fx_fixture(&f, "ebrim/symbolic.xml");
    cg_ebrim_object *d1 = cg_ebrim_find(&f.sub, "Document01");
    xmlNodePtr vi = xmlNewDocNode(f.doc, d1->node->ns, BAD_CAST "VersionInfo", NULL);
    cg_ebrim_insert(d1->node, vi);
    /* after Name (no Description here), before the first ExternalIdentifier */
    xmlNodePtr prev = vi->prev;
    while (prev && prev->type != XML_ELEMENT_NODE)
        prev = prev->prev;
    CU_ASSERT_STRING_EQUAL((const char *)prev->name, "Name");
    CU_ASSERT_PTR_EQUAL(cg_ebrim_child(d1->node, NULL, vi),
                        cg_ebrim_child(d1->node, "ExternalIdentifier", NULL));

    CU_ASSERT(
        cg_ebrim_uuid_eq("urn:uuid:58A6F841-87b3-4a3e-92fd- a8ffeff98427", CG_UUID_DE_PATIENT_ID));
    CU_ASSERT(
        !cg_ebrim_uuid_eq("urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff9842", CG_UUID_DE_PATIENT_ID));
    CU_ASSERT(!cg_ebrim_uuid_eq(NULL, CG_UUID_DE_PATIENT_ID));
    CU_ASSERT_STRING_EQUAL(cg_ebrim_kind_name(CG_EBRIM_FOLDER), "Folder");
    CU_ASSERT_STRING_EQUAL(cg_ebrim_attr(f.pool, d1->node, "mimeType"), "text/xml");
    CU_ASSERT_PTR_NULL(cg_ebrim_attr(f.pool, d1->node, "nothing"));
    fx_done(&f);
}

/* Real senders' submissions (read-only, from $CDAGATE_SHARED): the SubmissionSet marked outside
 * (ebrs30) and inside (ebrs30_2) its RegistryPackage, and scheme ids wrapped with spaces. */
static void
test_conformance_samples(void)
{
    const char *shared = getenv("CDAGATE_SHARED");
    char *dir = cg_xasprintf("%s/conformance/ipf", shared ? shared : CG_SRCDIR "/../shared");
    if (!cg_fs_is_dir(dir)) {
        free(dir);
        return; /* the shared corpus is not here: nothing to compare with */
    }
    const char *files[] = {"SubmitObjectsRequest_ebrs30.xml", "SubmitObjectsRequest_ebrs30_2.xml"};
    for (size_t i = 0; i < 2; i++) {
        char *path = cg_xasprintf("%s/%s", dir, files[i]);
        if (cg_fs_is_file(path)) {
            fx f;
            fx_file(&f, path);
            CU_ASSERT_EQUAL(f.rc, CG_OK);
            const cg_ebrim_object *ss = cg_ebrim_find(&f.sub, "SubmissionSet01");
            CU_ASSERT_PTR_NOT_NULL(ss);
            if (ss) {
                CU_ASSERT_EQUAL(ss->kind, CG_EBRIM_SUBMISSION_SET);
                CU_ASSERT_STRING_EQUAL(ss->patient_id, "SELF-5^^^&1.3.6.1.4.1.21367.2005.3.7&ISO");
                CU_ASSERT_PTR_NOT_NULL(ss->unique_id);
            }
            const cg_ebrim_object *d = cg_ebrim_find(&f.sub, "Document01");
            CU_ASSERT_PTR_NOT_NULL(d);
            if (d)
                CU_ASSERT_STRING_EQUAL(d->patient_id, "SELF-5^^^&1.3.6.1.4.1.21367.2005.3.7&ISO");
            fx_done(&f);
        }
        free(path);
    }
    free(dir);
}

void
cg_test_register_ebrim_model(void)
{
    CU_pSuite s = CU_add_suite("ebrim/model", NULL, NULL);
    CU_add_test(s, "symbolic ids, standalone and nested package Classifications",
                test_parse_symbolic);
    CU_add_test(s, "UUID ids are kept as the entryUUID", test_parse_uuid_ids);
    CU_add_test(s, "structural problems are all reported", test_parse_errors);
    CU_add_test(s, "slots: values, set, remove, namespaces", test_slots);
    CU_add_test(s, "RegistryResponse status and RegistryErrorList severities",
                test_registry_response);
    CU_add_test(s, "an object as standalone XML with its namespaces and folded Classifications",
                test_object_xml);
    CU_add_test(s, "children go where ebRIM's content model wants them",
                test_insert_order_and_helpers);
    CU_add_test(s, "real senders' submissions (shared corpus, skipped when absent)",
                test_conformance_samples);
}
