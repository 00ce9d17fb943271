/* path: the simple location paths cdagate reports (/ClinicalDocument[1]/component[1]/...).
 * Owns: writing a node's path (local names, 1-based position among same-named element
 * siblings, attributes as /@name) and finding the node a path names. Does not own: XPath. */
#ifndef CG_XML_PATH_H
#define CG_XML_PATH_H

#include <libxml/tree.h>

#include "util/buf.h"

int cg_xml_path_of(cg_buf *out, xmlNodePtr node);
/* The node the path names in doc, or NULL. */
xmlNodePtr cg_xml_path_resolve(xmlDocPtr doc, const char *path);

#endif
