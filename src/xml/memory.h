/* memory: the allocator libxml2 and libxslt use inside cdagate: size-class free lists kept per
 * thread, so the many small objects a validation creates and frees (tree nodes, XPath objects,
 * strings) cost a few instructions each instead of a trip through the C library's allocator.
 * Owns: xmlMalloc/xmlRealloc/xmlFree/xmlMemStrdup once installed. Does not own: cdagate's own
 * allocations (util/alloc). */
#ifndef CG_XML_MEMORY_H
#define CG_XML_MEMORY_H

#include <stddef.h>

/* Installs the allocator (before libxml2 allocates anything), unless the environment says
 * CDAGATE_XML_MALLOC=system or the build uses AddressSanitizer: then libxml2 keeps the C
 * library's allocator, which valgrind and the sanitizers see into. Returns 1 when installed. */
int cg_xml_memory_install(void);

/* Hands the calling thread's free blocks to every thread. For a thread that has just freed a
 * large working set (a validation) and may not need it again soon: kept on its own lists, the
 * blocks would be memory no other thread can use. Cheap: no block is visited. */
void cg_xml_memory_release(void);

typedef struct cg_xml_memory_stats {
    size_t chunks; /* 256 KiB chunks taken from the system so far */
} cg_xml_memory_stats;

void cg_xml_memory_stats_get(cg_xml_memory_stats *out);

#endif
