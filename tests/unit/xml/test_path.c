/* Tests src/xml/path.c: the reference location format, and resolving it back to the node. */
#include <string.h>

#include "unit.h"
#include "xml/parse.h"
#include "xml/path.h"

static const char doc_text[] = "<r xmlns='urn:hl7-org:v3'><a/><b/><a><c x='1'/><c/></a></r>";

static void
test_path_roundtrip(void)
{
    xmlDocPtr d;
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL_FATAL(cg_xml_parse(&d, doc_text, strlen(doc_text), "p.xml", NULL, &err), CG_OK);
    xmlNodePtr a2 = xmlDocGetRootElement(d)->children->next->next;
    xmlNodePtr c2 = a2->children->next;
    cg_buf b;
    cg_buf_init(&b, 1000);
    cg_xml_path_of(&b, c2);
    CU_ASSERT_STRING_EQUAL(b.data, "/r[1]/a[2]/c[2]");
    CU_ASSERT_PTR_EQUAL(cg_xml_path_resolve(d, b.data), c2);
    cg_buf_reset(&b);
    cg_xml_path_of(&b, (xmlNodePtr)a2->children->properties);
    CU_ASSERT_STRING_EQUAL(b.data, "/r[1]/a[2]/c[1]/@x");
    CU_ASSERT_PTR_EQUAL(cg_xml_path_resolve(d, b.data), (xmlNodePtr)a2->children->properties);
    CU_ASSERT_PTR_NULL(cg_xml_path_resolve(d, "/r[1]/a[3]"));
    CU_ASSERT_PTR_NULL(cg_xml_path_resolve(d, "/r[1]/a"));
    CU_ASSERT_PTR_NULL(cg_xml_path_resolve(d, "r[1]"));
    cg_buf_dispose(&b);
    xmlFreeDoc(d);
}

void
cg_test_register_path(void)
{
    CU_pSuite s = CU_add_suite("xml/path", NULL, NULL);
    CU_add_test(s, "location path of elements and attributes, and back", test_path_roundtrip);
}
