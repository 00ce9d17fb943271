/* fuzz: what the libFuzzer targets share: process set-up once, and a registry over an empty
 * SQLite store in a temporary directory for the targets that need one.
 * Owns: nothing of the gateway; every target calls the library's own entry points.
 * Does not own: the inputs (libFuzzer), the seed corpora (scripts/fuzz writes them). */
#ifndef CG_FUZZ_H
#define CG_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "registry/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* cg_xml_init once; quiet libxml2 error output. */
void cg_fuzz_init(void);
/* A registry (patients checked, ITI-51 on) over a new store under $TMPDIR, made once; the
 * process ends with a message when it cannot be opened. */
cg_registry *cg_fuzz_registry(void);

#endif
