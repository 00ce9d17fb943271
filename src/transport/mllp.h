/* transport/mllp: the MLLP listener (HL7 v2 over TCP: 0x0B message 0x1C 0x0D), for the patient
 * identity feed.
 * Owns: binding (loopback only unless allowed), accepting up to a number of connections, each
 * served by its own thread, the framing both ways, the bounds on a frame's size and on the time a
 * frame may take and a connection may stay idle, several messages per connection.
 * Does not own: what a message means or what the answer says (the handler: svc/pif). */
#ifndef CG_TRANSPORT_MLLP_H
#define CG_TRANSPORT_MLLP_H

#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

/* One message in, its answer out (an empty answer: none is sent). truncated: the frame was
 * longer than max_message, msg holds its first max_message bytes (answer with a rejection).
 * Called from connection threads, concurrently. */
typedef void (*cg_mllp_handler)(void *ctx, const char *peer, const char *msg, size_t len,
                                int truncated, cg_buf *answer);

typedef struct cg_mllp_config {
    const char *listen;       /* "127.0.0.1:2575", "[::1]:2575", "0.0.0.0:2575"; port 0: any */
    int allow_plain;          /* a non-loopback address is refused unless set */
    size_t max_message;       /* bytes of one message (default 1 MiB) */
    unsigned max_connections; /* open at once; past it a new connection is closed (16) */
    int receive_timeout_s;    /* a frame, once begun, must end within this (30) */
    int idle_timeout_s;       /* a connection with no frame begun for this long is closed (300) */
    cg_mllp_handler handler;
    void *ctx;
} cg_mllp_config;

typedef struct cg_mllp cg_mllp;

/* Binds. Nothing is accepted until cg_mllp_start. CG_EINVAL: a bad address, or plain MLLP on a
 * non-loopback address without allow_plain; CG_EIO: the address cannot be bound. */
int cg_mllp_open(cg_mllp **out, const cg_mllp_config *cfg, cg_err *err);
int cg_mllp_port(const cg_mllp *m);
/* Starts the accepting thread. */
int cg_mllp_start(cg_mllp *m, cg_err *err);
/* Stops accepting, ends every connection (a message being handled is answered first), joins
 * the threads, closes the socket. NULL is allowed. */
void cg_mllp_free(cg_mllp *m);

#endif
