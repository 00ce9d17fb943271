/* Tests src/xml/parse.c: untrusted XML is parsed safely, with clear errors. */
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "xml/parse.h"

static int
parse(const char *xml, const cg_xml_limits *lim, cg_err *err, xmlDocPtr *out)
{
    cg_err_init(err);
    return cg_xml_parse(out, xml, strlen(xml), "doc.xml", lim, err);
}

static void
test_well_formed(void)
{
    cg_err err;
    xmlDocPtr d;
    CU_ASSERT_EQUAL(parse("<a xmlns='urn:x'>\n<b/>\n</a>", NULL, &err, &d), CG_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(xmlGetLineNo(xmlDocGetRootElement(d)->children->next), 2);
    xmlFreeDoc(d);
}

static void
test_not_well_formed_names_line(void)
{
    cg_err err;
    xmlDocPtr d;
    CU_ASSERT_EQUAL(parse("<a>\n<b>\n</a>", NULL, &err, &d), CG_EINVAL);
    CU_ASSERT_PTR_NULL(d);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "doc.xml:3:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not well-formed"));
}

static void
test_unclosed_element_first_error(void)
{
    cg_err err;
    xmlDocPtr d;
    /* <id> is never closed: libxml2 first reports the mismatch at </b> (line 4), then more
     * errors down to "Premature end of data" at the end; the first is where the document goes
     * wrong, and the message is that one */
    CU_ASSERT_EQUAL(parse("<a>\n<b>\n<id>\n</b>\n</a>", NULL, &err, &d), CG_EINVAL);
    CU_ASSERT_PTR_NULL(d);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "doc.xml:4: not well-formed XML: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "Opening and ending tag mismatch: id line 3 and b"));
    CU_ASSERT_PTR_NULL(strstr(err.msg, "Premature end of data"));
    CU_ASSERT_PTR_NULL(strchr(err.msg, '\n'));
}

static void
test_empty_document(void)
{
    cg_err err;
    xmlDocPtr d;
    CU_ASSERT_EQUAL(parse("", NULL, &err, &d), CG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "empty"));
}

static void
test_xxe_refused(void)
{
    cg_err err;
    xmlDocPtr d;
    const char *xxe = "<?xml version='1.0'?>\n<!DOCTYPE a [\n<!ENTITY x SYSTEM 'file:///etc/passwd'>\n]>\n"
                      "<a>&x;</a>";
    CU_ASSERT_EQUAL(parse(xxe, NULL, &err, &d), CG_EUNSAFE);
    CU_ASSERT_PTR_NULL(d);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "entity 'x'"));
    CU_ASSERT_PTR_NULL(strstr(err.msg, "root:"));
}

static void
test_billion_laughs_refused(void)
{
    cg_err err;
    xmlDocPtr d;
    const char *lol = "<!DOCTYPE l [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;'>"
                      "<!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;&b;'>]><l>&c;</l>";
    CU_ASSERT_EQUAL(parse(lol, NULL, &err, &d), CG_EUNSAFE);
    CU_ASSERT_PTR_NULL(d);
}

static void
test_parameter_entity_refused(void)
{
    cg_err err;
    xmlDocPtr d;
    const char *pe = "<!DOCTYPE a [<!ENTITY % p SYSTEM 'http://127.0.0.1:9/x.dtd'> %p;]><a/>";
    CU_ASSERT_EQUAL(parse(pe, NULL, &err, &d), CG_EUNSAFE);
}

static void
test_external_dtd_not_loaded(void)
{
    cg_err err;
    xmlDocPtr d;
    /* a DOCTYPE naming an external DTD, with no entity declarations: parsed, nothing fetched */
    const char *x = "<!DOCTYPE a SYSTEM 'http://127.0.0.1:9/a.dtd'><a>ok</a>";
    CU_ASSERT_EQUAL(parse(x, NULL, &err, &d), CG_OK);
    CU_ASSERT_PTR_NOT_NULL(d);
    xmlFreeDoc(d);
}

static char *
nested(unsigned depth)
{
    cg_buf b;
    cg_buf_init(&b, (size_t)1 << 24);
    for (unsigned i = 0; i < depth; i++)
        cg_buf_puts(&b, "<e>");
    for (unsigned i = 0; i < depth; i++)
        cg_buf_puts(&b, "</e>");
    return cg_buf_detach(&b);
}

static void
test_depth_limit(void)
{
    cg_err err;
    xmlDocPtr d;
    cg_xml_limits lim;
    cg_xml_limits_default(&lim);
    lim.max_depth = 40;
    char *at = nested(40), *past = nested(41);
    CU_ASSERT_EQUAL(parse(at, &lim, &err, &d), CG_OK);
    xmlFreeDoc(d);
    CU_ASSERT_EQUAL(parse(past, &lim, &err, &d), CG_ETOOBIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "40 levels"));
    free(at);
    free(past);
}

static void
test_size_limit(void)
{
    cg_err err;
    xmlDocPtr d;
    cg_xml_limits lim;
    cg_xml_limits_default(&lim);
    const char *x = "<a>0123456789</a>"; /* 17 bytes */
    lim.max_bytes = 17;
    CU_ASSERT_EQUAL(parse(x, &lim, &err, &d), CG_OK);
    xmlFreeDoc(d);
    lim.max_bytes = 16;
    CU_ASSERT_EQUAL(parse(x, &lim, &err, &d), CG_ETOOBIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "limit of 16 bytes"));
}

/* <a xmlns:p="urn:p" a1="1" ... p:aN="1"> with n attributes in all (the declaration counts),
 * after a comment, a CDATA section and a DOCTYPE holding '=' and '>' (not attributes), with
 * '>' and '=' inside the attribute values. */
static char *
attributes(unsigned n)
{
    cg_buf b;
    cg_buf_init(&b, (size_t)1 << 24);
    cg_buf_puts(&b, "<!DOCTYPE a [<!ELEMENT a ANY>]>\n<!-- <x a=1 b=2> -->\n<a xmlns:p=\"urn:p\"");
    for (unsigned i = 1; i < n; i++)
        cg_buf_printf(&b, " %s%u=\"x>y=z\"", i % 2 ? "a" : "p:a", i);
    cg_buf_puts(&b, "><![CDATA[<b c=1 d=2 e=3>]]></a>");
    return cg_buf_detach(&b);
}

/* libxml2 2.9 compares each attribute of an element with all the ones before it: 100,000 of
 * them would cost minutes. The count is refused first, and names the line of the element. */
static void
test_attribute_limit(void)
{
    cg_err err;
    xmlDocPtr d;
    cg_xml_limits lim;
    cg_xml_limits_default(&lim);
    CU_ASSERT_EQUAL(lim.max_attributes, CG_XML_DEFAULT_MAX_ATTRIBUTES);
    lim.max_attributes = 3;
    char *at = attributes(3), *past = attributes(4);
    CU_ASSERT_EQUAL(parse(at, &lim, &err, &d), CG_OK);
    xmlFreeDoc(d);
    CU_ASSERT_EQUAL(parse(past, &lim, &err, &d), CG_ETOOBIG);
    CU_ASSERT_PTR_NULL(d);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "doc.xml:3: an element has more than 3 attributes"));
    free(at);
    free(past);
    lim.max_attributes = 0; /* the default */
    at = attributes(CG_XML_DEFAULT_MAX_ATTRIBUTES);
    past = attributes(100000);
    CU_ASSERT_EQUAL(parse(at, &lim, &err, &d), CG_OK);
    xmlFreeDoc(d);
    CU_ASSERT_EQUAL(parse(past, &lim, &err, &d), CG_ETOOBIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "more than 256 attributes"));
    free(at);
    free(past);
}

/* depth nested elements each declaring per namespaces (and an empty one declaring more), then
 * siblings siblings each declaring 3 of their own (which go out of scope at their end). */
static char *
namespaces(unsigned depth, unsigned per, unsigned empty, unsigned siblings)
{
    cg_buf b;
    cg_buf_init(&b, (size_t)1 << 24);
    for (unsigned l = 0; l < depth; l++) {
        cg_buf_puts(&b, "<e");
        for (unsigned i = 0; i < per; i++)
            cg_buf_printf(&b, "\n xmlns:n%u_%u='urn:%u:%u'", l, i, l, i);
        cg_buf_puts(&b, ">");
    }
    cg_buf_puts(&b, "<empty");
    for (unsigned i = 0; i < empty; i++)
        cg_buf_printf(&b, " xmlns:m%u='urn:m:%u'", i, i);
    cg_buf_puts(&b, "/>");
    for (unsigned i = 0; i < siblings; i++)
        cg_buf_puts(&b, "<s xmlns='urn:s' xmlns:a='urn:a' xmlns:b='urn:b'><a:x b:y='1'/></s>");
    for (unsigned l = 0; l < depth; l++)
        cg_buf_puts(&b, "</e>");
    return cg_buf_detach(&b);
}

/* libxml2 2.9 looks a prefix up through every namespace declaration in scope: 65,000 of them
 * and a million prefixed elements cost many minutes. More than 256 in scope are refused. */
static void
test_namespace_limit(void)
{
    cg_err err;
    xmlDocPtr d;
    /* 8 x 31 = 248 in scope, +8 on an empty element = 256; 2,000 siblings redeclaring 3 each */
    char *at = namespaces(8, 31, 8, 2000), *past = namespaces(8, 31, 9, 0),
         *nested_past = namespaces(9, 29, 0, 0); /* 261 */
    CU_ASSERT_EQUAL(parse(at, NULL, &err, &d), CG_OK);
    xmlFreeDoc(d);
    CU_ASSERT_EQUAL(parse(past, NULL, &err, &d), CG_ETOOBIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "more than 256 namespace declarations in scope"));
    CU_ASSERT_EQUAL(parse(nested_past, NULL, &err, &d), CG_ETOOBIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "doc.xml:233: more than 256 namespace"));
    free(at);
    free(past);
    free(nested_past);
}

void
cg_test_register_parse(void)
{
    CU_pSuite s = CU_add_suite("xml/parse", NULL, NULL);
    CU_add_test(s, "well-formed document keeps line numbers", test_well_formed);
    CU_add_test(s, "not well-formed: error names the line", test_not_well_formed_names_line);
    CU_add_test(s, "unclosed element: the first error's line and message",
                test_unclosed_element_first_error);
    CU_add_test(s, "empty document", test_empty_document);
    CU_add_test(s, "XXE entity declaration refused", test_xxe_refused);
    CU_add_test(s, "billion laughs refused, not expanded", test_billion_laughs_refused);
    CU_add_test(s, "parameter entity refused", test_parameter_entity_refused);
    CU_add_test(s, "external DTD is never loaded", test_external_dtd_not_loaded);
    CU_add_test(s, "depth at the limit and one past it", test_depth_limit);
    CU_add_test(s, "size at the limit and one past it", test_size_limit);
    CU_add_test(s, "attributes of one element at the limit and past it", test_attribute_limit);
    CU_add_test(s, "namespace declarations in scope at the limit and past it",
                test_namespace_limit);
}
