/* render: C-CDA documents to safe, self-contained HTML for people to read.
 * Owns: loading the renderer stylesheet (xslt/cda2html.xsl) once and sharing it read-only across
 * threads; running it on a parsed document under XSLT security preferences that forbid file
 * reads and writes, directory creation and network access; a second, C-side pass over the result
 * tree that removes anything outside the page's element and attribute allow-list (the
 * stylesheet already never writes it: this is the belt to its braces); serialising the page.
 * Does not own: parsing (xml/parse), where documents come from (store, files), HTTP headers. */
#ifndef CG_RENDER_RENDER_H
#define CG_RENDER_RENDER_H

#include <libxml/tree.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"
#include "xml/parse.h"

#define CG_RENDER_STYLESHEET "cda2html.xsl"
#define CG_RENDER_MAX_HTML ((size_t)256 << 20) /* bytes of one rendered page */

typedef struct cg_render cg_render;

typedef struct cg_render_options {
    const char *lang;      /* label language ("en", "fr", "de"); NULL: the document's, else en */
    int mask_ids;          /* patient identifiers shown with all but their last 4 characters hidden */
    const char *css_nonce; /* nonce for the inline <style> (base64 characters), NULL: none */
} cg_render_options;

/* The directory of the renderer stylesheet: $CDAGATE_XSLT_DIR, else the installed copy, else the
 * source tree's. */
const char *cg_render_dir(void);

/* Loads and compiles DIR/cda2html.xsl (dir NULL: cg_render_dir()). CG_EIO: unreadable;
 * CG_EINVAL: not a valid stylesheet. */
int cg_render_open(cg_render **out, const char *dir, cg_err *err);
void cg_render_free(cg_render *r);

/* Renders a parsed CDA document; the HTML page is appended to out. Safe to call from several
 * threads at once on one cg_render. CG_EINVAL: not a {urn:hl7-org:v3}ClinicalDocument, or a bad
 * option; CG_ETOOBIG: the page would exceed out's cap; CG_EIO: the transformation failed. */
int cg_render_doc(const cg_render *r, xmlDocPtr doc, const cg_render_options *opt, cg_buf *out,
                  cg_err *err);

/* Parses untrusted bytes through xml/parse (limits NULL: the defaults), then cg_render_doc.
 * Adds xml/parse's codes: CG_EINVAL not well-formed, CG_EUNSAFE entities, CG_ETOOBIG size/depth. */
int cg_render_bytes(const cg_render *r, const char *data, size_t len, const char *name,
                    const cg_xml_limits *limits, const cg_render_options *opt, cg_buf *out,
                    cg_err *err);

/* The renderer's link rule, for callers that write links themselves: 1 when url is relative, a
 * fragment, or http/https/mailto/tel once control and space characters are stripped. */
int cg_render_url_ok(const char *url);

#endif
