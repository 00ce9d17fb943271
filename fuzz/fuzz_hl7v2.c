/* fuzz_hl7v2: one HL7 v2 message as the MLLP listener hands it over: the ER7 parser
 * (hl7v2/message) and the ITI-8 feed (svc/pif) that reads its MSH, EVN, PID and MRG and writes
 * the acknowledgement, on a registry of its own; then every field of the parsed message is read
 * back through the accessors, repetitions, components and subcomponents unescaped.
 * Input: the content of one MLLP frame. The first byte also picks the `truncated` flag. */
#define _POSIX_C_SOURCE 200809L
#include "fuzz.h"
#include "hl7v2/message.h"
#include "svc/pif.h"
#include "util/buf.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cg_fuzz_init();
    static cg_pif *pif;
    if (pif == NULL) {
        cg_pif_config pc = {0};
        pif = cg_pif_new(cg_fuzz_registry(), &pc);
    }
    const char *msg = (const char *)data;
    cg_buf ack;
    cg_buf_init(&ack, 64 << 10);
    cg_pif_outcome outcome;
    cg_pif_handle(pif, msg, size, size > 0 && data[0] == 0x7f, &ack, &outcome);
    cg_buf_dispose(&ack);

    cg_hl7_limits lim;
    cg_hl7_limits_default(&lim);
    cg_hl7_message m;
    int why = 0;
    cg_err err;
    cg_err_init(&err);
    if (cg_hl7_parse(&m, msg, size, &lim, &why, &err) == CG_OK) {
        char out[256];
        cg_buf esc;
        cg_buf_init(&esc, 1 << 20);
        for (size_t s = 0; s < m.nsegs; s++)
            for (size_t f = 1; f < m.segs[s].nfields + 1; f++) {
                const char *raw = cg_hl7_field(&m.segs[s], f);
                size_t reps = cg_hl7_repetitions(&m, raw);
                for (size_t r = 1; r <= reps + 1 && r <= 4; r++)
                    for (size_t c = 1; c <= 4; c++)
                        for (size_t sub = 0; sub <= 2; sub++)
                            if (cg_hl7_get(out, sizeof out, &m, raw, r, c, sub) > 0)
                                cg_hl7_escape(&esc, &m.d, out);
            }
        cg_buf_dispose(&esc);
        cg_hl7_message_dispose(&m);
    }
    return 0;
}
