/* path: see path.h. */
#include "xml/path.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"

static unsigned
same_name_position(xmlNodePtr node)
{
    unsigned pos = 1;
    for (xmlNodePtr s = node->prev; s; s = s->prev)
        if (s->type == XML_ELEMENT_NODE && (s->name == node->name || xmlStrEqual(s->name, node->name)))
            pos++;
    return pos;
}

static int
put_element_path(cg_buf *out, xmlNodePtr node)
{
    if (node == NULL || node->type != XML_ELEMENT_NODE)
        return CG_OK;
    int rc = put_element_path(out, node->parent);
    if (rc != CG_OK)
        return rc;
    char num[16];
    size_t n = sizeof num;
    unsigned pos = same_name_position(node);
    num[--n] = ']';
    do
        num[--n] = (char)('0' + pos % 10);
    while ((pos /= 10) > 0 && n > 1);
    num[--n] = '[';
    if ((rc = cg_buf_putc(out, '/')) == CG_OK && (rc = cg_buf_puts(out, (const char *)node->name)) == CG_OK)
        rc = cg_buf_append(out, num + n, sizeof num - n);
    return rc;
}

int
cg_xml_path_of(cg_buf *out, xmlNodePtr node)
{
    if (node == NULL)
        return CG_EINVAL;
    switch (node->type) {
    case XML_DOCUMENT_NODE:
        return cg_buf_puts(out, "/");
    case XML_ATTRIBUTE_NODE: {
        int rc = put_element_path(out, node->parent);
        return rc ? rc : cg_buf_printf(out, "/@%s", (const char *)node->name);
    }
    case XML_ELEMENT_NODE:
        return put_element_path(out, node);
    default:
        return put_element_path(out, node->parent);
    }
}

xmlNodePtr
cg_xml_path_resolve(xmlDocPtr doc, const char *path)
{
    xmlNodePtr cur = (xmlNodePtr)doc;
    const char *p = path;
    if (doc == NULL || p == NULL || *p != '/')
        return NULL;
    if (strcmp(p, "/") == 0)
        return cur;
    while (*p == '/') {
        p++;
        if (*p == '@') {
            const char *name = p + 1;
            for (xmlAttrPtr a = cur->properties; a; a = a->next)
                if (strcmp((const char *)a->name, name) == 0)
                    return (xmlNodePtr)a;
            return NULL;
        }
        const char *br = strchr(p, '[');
        if (br == NULL)
            return NULL;
        size_t nlen = (size_t)(br - p);
        char *end = NULL;
        long want = strtol(br + 1, &end, 10);
        if (end == NULL || *end != ']' || want < 1)
            return NULL;
        long seen = 0;
        xmlNodePtr found = NULL;
        for (xmlNodePtr c = cur->children; c; c = c->next) {
            if (c->type == XML_ELEMENT_NODE && strlen((const char *)c->name) == nlen &&
                memcmp(c->name, p, nlen) == 0 && ++seen == want) {
                found = c;
                break;
            }
        }
        if (found == NULL)
            return NULL;
        cur = found;
        p = end + 1;
    }
    return *p == '\0' ? cur : NULL;
}
