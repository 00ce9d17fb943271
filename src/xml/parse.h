/* parse: the one way cdagate parses XML it did not write.
 * Owns: parsing with no network, no DTD loading, no entity expansion (a DOCTYPE that declares
 * entities is refused), bounded size and depth, line numbers kept; process-wide XML set-up.
 * Does not own: what the document means (callers check roots and namespaces). */
#ifndef CG_XML_PARSE_H
#define CG_XML_PARSE_H

#include <libxml/tree.h>
#include <stddef.h>

#include "util/err.h"

#define CG_XML_DEFAULT_MAX_BYTES ((size_t)64 << 20)
#define CG_XML_DEFAULT_MAX_DEPTH 256u
/* Attributes of one element, namespace declarations included. libxml2 2.9 checks each new
 * attribute against all the previous ones of its element, so that an element of 100,000
 * attributes costs minutes of CPU: the count is checked before libxml2 sees the bytes. */
#define CG_XML_DEFAULT_MAX_ATTRIBUTES 256u
/* Namespace declarations in scope at any element: libxml2 looks each prefix up through all of
 * them, so that 65,000 in scope and a million prefixed elements cost many minutes. */
#define CG_XML_MAX_NAMESPACES 256u

typedef struct cg_xml_limits {
    size_t max_bytes;   /* whole document */
    unsigned max_depth; /* element nesting */
    unsigned max_attributes; /* of one element, xmlns included; 0: the default */
    int read_only;      /* the tree is never modified: small text nodes are stored compactly */
} cg_xml_limits;

/* Once per process, before threads start: libxml2/libxslt/EXSLT initialisation, a loader that
 * refuses network URLs, and XSLT security preferences that forbid writes and network access. */
void cg_xml_init(void);
void cg_xml_cleanup(void);

void cg_xml_limits_default(cg_xml_limits *out);

/* Parses untrusted bytes. On failure *out is NULL and err says why, with the line:
 * CG_EINVAL (not well-formed), CG_EUNSAFE (entity declarations), CG_ETOOBIG (size, depth,
 * attributes of one element, namespace declarations in scope). */
int cg_xml_parse(xmlDocPtr *out, const char *data, size_t len, const char *name,
                 const cg_xml_limits *limits, cg_err *err);
int cg_xml_parse_file(xmlDocPtr *out, const char *path, const cg_xml_limits *limits, cg_err *err);

#endif
