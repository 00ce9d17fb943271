/* gateway: one running cdagate server, put together from its configuration.
 * Owns: the data directory (its repository id, its store), the validation profile opened once,
 * the registry and repository, the action table, the HTTP server and its access log.
 * Does not own: any transaction's logic (svc, registry, repository) or the wire (transport). */
#ifndef CG_GATEWAY_GATEWAY_H
#define CG_GATEWAY_GATEWAY_H

#include <stdio.h>

#include "gateway/config.h"
#include "util/err.h"
#include "util/id.h"

typedef struct cg_gateway cg_gateway;

/* Opens the data directory (creating it), the store, the profile; binds the listening socket.
 * Nothing is served until cg_gateway_run. */
int cg_gateway_open(cg_gateway **out, const cg_gateway_config *cfg, cg_err *err);
/* Serves until cg_gateway_stop (async-signal-safe). */
int cg_gateway_run(cg_gateway *gw);
void cg_gateway_stop(cg_gateway *gw);
void cg_gateway_free(cg_gateway *gw);

/* What start-up prints: where it listens, its endpoints, its repository id, its data. */
void cg_gateway_describe(const cg_gateway *gw, FILE *out);
int cg_gateway_port(const cg_gateway *gw);

/* The repositoryUniqueId a data directory uses: `configured` when given (and recorded), else the
 * one recorded at the first start, else a new 2.25 OID recorded now. A configured id that
 * differs from the recorded one is an error: documents already stored carry the old one. */
int cg_gateway_repository_id(char out[CG_OID_MAX + 1], const char *data_dir,
                             const char *configured, cg_err *err);

#endif
