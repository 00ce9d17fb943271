/* qbench: the stored-query benchmark's tools (bench/query).
 * Owns: seeding a registry through the store's own submission path (cg_store_submit, group
 * commit, several threads), timing ITI-18 requests over one keep-alive HTTP connection, and
 * timing the equivalent direct SQL on the same database (the floor).
 * Does not own: starting the server or the table of figures (bench/query).
 * Not part of the product build: bench/query compiles it against build/libcdagate.a.
 *
 *   qbench seed DATA_DIR DOCS PATIENTS HOT      DOCS DocumentEntries over PATIENTS patients; the
 *          first HOT patients get 50 documents in one SubmissionSet each, the others share the
 *          rest, about ten per SubmissionSet. Prints the ids the timing modes use to DATA_DIR/ids.
 *   qbench wire URL QUERY N DATA_DIR            QUERY: find | get | ss; N requests, p50/p99 ms;
 *                                               ping: an HTTP exchange alone (GET of a path not served: 404)
 *   qbench sql DATA_DIR QUERY N                 the same answers read by one SQL statement
 */
#define _GNU_SOURCE
#include <netdb.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"

#define DOC_XML_MAX 8192
#define HOT_DOCS 50
#define APPROVED "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
#define STABLE "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"

static const char *const class_codes[] = {"18842-5", "34133-9", "11488-4", "28570-0", "57133-1"};
static const char *const type_codes[] = {"18842-5", "34133-9", "11488-4", "28570-0", "57133-1",
                                         "11506-3", "18748-4", "11526-1", "34117-2", "18761-7"};
static const char *const format_codes[] = {"urn:hl7-org:sdwg:ccda-structuredBody:2.1",
                                           "urn:hl7-org:sdwg:ccda-nonXMLBody:2.1",
                                           "urn:ihe:pcc:xphr:2007"};
static const char *const hcft_codes[] = {"1060-3", "1160-1", "1117-1", "1190-4", "1108-0"};
static const char *const practice_codes[] = {"394802001", "394579002", "394582007",
                                             "394585009", "394589003", "408443003"};

static double
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
uuid_of(char out[46], unsigned kind, uint64_t n)
{
    snprintf(out, 46, "urn:uuid:%08x-0000-4000-8000-%012llx", kind, (unsigned long long)n);
}

/* ---- seed ------------------------------------------------------------------------------------ */

typedef struct seeder {
    cg_store *store;
    uint64_t docs, patients, hot;
    uint64_t first, last; /* patients [first, last) */
    uint64_t done;
} seeder;

static uint64_t
docs_of(const seeder *s, uint64_t p)
{
    if (p < s->hot)
        return HOT_DOCS;
    uint64_t rest = s->docs - s->hot * HOT_DOCS, cold = s->patients - s->hot;
    return rest / cold + (p - s->hot < rest % cold ? 1 : 0);
}

static uint64_t
first_doc(const seeder *s, uint64_t p)
{
    if (p < s->hot)
        return p * HOT_DOCS;
    uint64_t rest = s->docs - s->hot * HOT_DOCS, cold = s->patients - s->hot, q = p - s->hot;
    uint64_t extra = q < rest % cold ? q : rest % cold;
    return s->hot * HOT_DOCS + q * (rest / cold) + extra;
}

static size_t
doc_xml(char *out, const char *uuid, const char *pid, const char *uid, const char *ct,
        const char *cls, const char *typ, const char *fmt, const char *hcft, const char *prac,
        const char *author)
{
    int n = snprintf(
        out, DOC_XML_MAX,
        "<rim:ExtrinsicObject xmlns:rim=\"urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0\" "
        "id=\"%s\" lid=\"%s\" status=\"" APPROVED "\" mimeType=\"text/xml\" objectType=\"" STABLE
        "\"><rim:Slot name=\"creationTime\"><rim:ValueList><rim:Value>%s</rim:Value></rim:ValueList>"
        "</rim:Slot><rim:Slot name=\"languageCode\"><rim:ValueList><rim:Value>en-US</rim:Value>"
        "</rim:ValueList></rim:Slot><rim:Slot name=\"repositoryUniqueId\"><rim:ValueList>"
        "<rim:Value>1.2.3.4.5.6.7.8.1</rim:Value></rim:ValueList></rim:Slot><rim:Slot "
        "name=\"hash\"><rim:ValueList><rim:Value>da39a3ee5e6b4b0d3255bfef95601890afd80709"
        "</rim:Value></rim:ValueList></rim:Slot><rim:Slot name=\"size\"><rim:ValueList><rim:Value>"
        "48211</rim:Value></rim:ValueList></rim:Slot><rim:Slot name=\"sourcePatientId\">"
        "<rim:ValueList><rim:Value>%s</rim:Value></rim:ValueList></rim:Slot>"
        "<rim:Name><rim:LocalizedString value=\"Discharge summary\"/></rim:Name>"
        "<rim:Classification id=\"%s-a\" classificationScheme=\"urn:uuid:93606bcf-9494-43ec-9b4e-"
        "a7748d1a838d\" classifiedObject=\"%s\" nodeRepresentation=\"\"><rim:Slot "
        "name=\"authorPerson\"><rim:ValueList><rim:Value>%s</rim:Value></rim:ValueList></rim:Slot>"
        "<rim:Slot name=\"authorInstitution\"><rim:ValueList><rim:Value>General Hospital^^^^^^^^^"
        "1.2.3.4.5.6</rim:Value></rim:ValueList></rim:Slot></rim:Classification>"
        "<rim:Classification id=\"%s-c\" classificationScheme=\"urn:uuid:41a5887f-8865-4c09-adf7-"
        "e362475b143a\" classifiedObject=\"%s\" nodeRepresentation=\"%s\"><rim:Slot "
        "name=\"codingScheme\"><rim:ValueList><rim:Value>2.16.840.1.113883.6.1</rim:Value>"
        "</rim:ValueList></rim:Slot><rim:Name><rim:LocalizedString value=\"class\"/></rim:Name>"
        "</rim:Classification><rim:Classification id=\"%s-t\" classificationScheme=\"urn:uuid:"
        "f0306f51-975f-434e-a61c-c59651d33983\" classifiedObject=\"%s\" nodeRepresentation=\"%s\">"
        "<rim:Slot name=\"codingScheme\"><rim:ValueList><rim:Value>2.16.840.1.113883.6.1"
        "</rim:Value></rim:ValueList></rim:Slot><rim:Name><rim:LocalizedString value=\"type\"/>"
        "</rim:Name></rim:Classification><rim:Classification id=\"%s-f\" classificationScheme="
        "\"urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d\" classifiedObject=\"%s\" "
        "nodeRepresentation=\"%s\"><rim:Slot name=\"codingScheme\"><rim:ValueList><rim:Value>"
        "1.3.6.1.4.1.19376.1.2.3</rim:Value></rim:ValueList></rim:Slot></rim:Classification>"
        "<rim:Classification id=\"%s-h\" classificationScheme=\"urn:uuid:f33fb8ac-18af-42cc-ae0e-"
        "ed0b0bdb91e1\" classifiedObject=\"%s\" nodeRepresentation=\"%s\"><rim:Slot "
        "name=\"codingScheme\"><rim:ValueList><rim:Value>2.16.840.1.113883.6.259</rim:Value>"
        "</rim:ValueList></rim:Slot></rim:Classification><rim:Classification id=\"%s-p\" "
        "classificationScheme=\"urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead\" "
        "classifiedObject=\"%s\" nodeRepresentation=\"%s\"><rim:Slot name=\"codingScheme\">"
        "<rim:ValueList><rim:Value>2.16.840.1.113883.6.96</rim:Value></rim:ValueList></rim:Slot>"
        "</rim:Classification><rim:Classification id=\"%s-n\" classificationScheme=\"urn:uuid:"
        "f4f85eac-e6cb-4883-b524-f2705394840f\" classifiedObject=\"%s\" nodeRepresentation=\"N\">"
        "<rim:Slot name=\"codingScheme\"><rim:ValueList><rim:Value>2.16.840.1.113883.5.25"
        "</rim:Value></rim:ValueList></rim:Slot></rim:Classification><rim:ExternalIdentifier "
        "id=\"%s-e1\" identificationScheme=\"urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427\" "
        "registryObject=\"%s\" value=\"%s\"><rim:Name><rim:LocalizedString value=\"XDSDocumentEntry"
        ".patientId\"/></rim:Name></rim:ExternalIdentifier><rim:ExternalIdentifier id=\"%s-e2\" "
        "identificationScheme=\"urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab\" registryObject="
        "\"%s\" value=\"%s\"><rim:Name><rim:LocalizedString value=\"XDSDocumentEntry.uniqueId\"/>"
        "</rim:Name></rim:ExternalIdentifier></rim:ExtrinsicObject>",
        uuid, uuid, ct, pid, uuid, uuid, author, uuid, uuid, cls, uuid, uuid, typ, uuid, uuid,
        fmt, uuid, uuid, hcft, uuid, uuid, prac, uuid, uuid, uuid, uuid, pid, uuid, uuid, uid);
    return n > 0 && n < DOC_XML_MAX ? (size_t)n : 0;
}

/* One submission per patient: a SubmissionSet, its documents and HasMember associations. */
static int
seed_patient(seeder *s, uint64_t p, unsigned *rnd)
{
    uint64_t nd = docs_of(s, p), d0 = first_doc(s, p);
    size_t nobj = 1 + 2 * nd;
    cg_store_object *objs = calloc(nobj, sizeof(*objs));
    char (*uuids)[46] = calloc(nobj, 46);
    char (*uids)[40] = calloc(nobj, 40);
    char (*times)[16] = calloc(nobj, 16);
    char (*authors)[40] = calloc(nobj, 40);
    char *xml = malloc(nobj * DOC_XML_MAX);
    cg_store_code *codes = calloc(nd * 6 + 1, sizeof(*codes));
    const char **authp = calloc(nd + 1, sizeof(*authp));
    char pid[64];
    snprintf(pid, sizeof pid, "P%06llu^^^&1.2.3.4.5.6.7&ISO", (unsigned long long)p);
    char pid_xml[80];
    snprintf(pid_xml, sizeof pid_xml, "P%06llu^^^&amp;1.2.3.4.5.6.7&amp;ISO",
             (unsigned long long)p);
    uuid_of(uuids[0], 2, p);
    snprintf(uids[0], 40, "1.2.3.4.2.%llu", (unsigned long long)p);
    size_t len = (size_t)snprintf(
        xml, DOC_XML_MAX,
        "<rim:RegistryPackage xmlns:rim=\"urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0\" id=\"%s\" "
        "status=\"" APPROVED "\"><rim:Slot name=\"submissionTime\"><rim:ValueList><rim:Value>"
        "20260101120000</rim:Value></rim:ValueList></rim:Slot><rim:ExternalIdentifier id=\"%s-e\" "
        "identificationScheme=\"urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446\" registryObject="
        "\"%s\" value=\"%s\"/></rim:RegistryPackage>",
        uuids[0], uuids[0], uuids[0], pid_xml);
    objs[0] = (cg_store_object){.kind = CG_OBJ_SUBMISSION_SET, .uuid = uuids[0],
                                .status = APPROVED, .patient_id = pid, .unique_id = uids[0],
                                .size = -1, .submission_time = "20260101120000",
                                .source_id = "1.2.3.4.5.6", .xml = xml, .xml_len = len};
    for (uint64_t i = 0; i < nd; i++) {
        uint64_t d = d0 + i;
        size_t k = 1 + 2 * i;
        uuid_of(uuids[k], 1, d);
        snprintf(uids[k], 40, "1.2.3.4.1.%llu", (unsigned long long)d);
        unsigned r = (unsigned)rand_r(rnd);
        snprintf(times[k], 16, "%04u%02u%02u%02u%02u%02u", 2010 + r % 17, 1 + r / 17 % 12,
                 1 + r / 204 % 28, r / 5712 % 24, r / 137088 % 60, r % 60);
        snprintf(authors[k], 40, "^Author%u^Pat^^^Dr", r % 5000);
        authp[i] = authors[k];
        cg_store_code *c = &codes[i * 6];
        const char *cls = class_codes[r % 5], *typ = type_codes[r / 5 % 10],
                   *fmt = format_codes[r / 50 % 3], *hc = hcft_codes[r / 150 % 5],
                   *pr = practice_codes[r / 750 % 6];
        c[0] = (cg_store_code){"classCode", cls, "2.16.840.1.113883.6.1"};
        c[1] = (cg_store_code){"typeCode", typ, "2.16.840.1.113883.6.1"};
        c[2] = (cg_store_code){"formatCode", fmt, "1.3.6.1.4.1.19376.1.2.3"};
        c[3] = (cg_store_code){"healthcareFacilityTypeCode", hc, "2.16.840.1.113883.6.259"};
        c[4] = (cg_store_code){"practiceSettingCode", pr, "2.16.840.1.113883.6.96"};
        c[5] = (cg_store_code){"confidentialityCode", "N", "2.16.840.1.113883.5.25"};
        char *x = xml + k * DOC_XML_MAX;
        size_t xl = doc_xml(x, uuids[k], pid_xml, uids[k], times[k], cls, typ, fmt, hc, pr,
                            authors[k]);
        objs[k] = (cg_store_object){.kind = CG_OBJ_DOCUMENT_ENTRY, .uuid = uuids[k],
                                    .status = APPROVED, .patient_id = pid, .unique_id = uids[k],
                                    .object_type = STABLE, .mime_type = "text/xml",
                                    .hash = "da39a3ee5e6b4b0d3255bfef95601890afd80709",
                                    .size = 48211, .repository_id = "1.2.3.4.5.6.7.8.1",
                                    .creation_time = times[k], .author_persons = &authp[i],
                                    .nauthor_persons = 1, .codes = c, .ncodes = 6, .xml = x,
                                    .xml_len = xl};
        uuid_of(uuids[k + 1], 4, d);
        char *ax = xml + (k + 1) * DOC_XML_MAX;
        size_t al = (size_t)snprintf(
            ax, DOC_XML_MAX,
            "<rim:Association xmlns:rim=\"urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0\" id=\"%s\" "
            "associationType=\"urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember\" "
            "sourceObject=\"%s\" targetObject=\"%s\" status=\"" APPROVED "\"><rim:Slot "
            "name=\"SubmissionSetStatus\"><rim:ValueList><rim:Value>Original</rim:Value>"
            "</rim:ValueList></rim:Slot></rim:Association>",
            uuids[k + 1], uuids[0], uuids[k]);
        objs[k + 1] = (cg_store_object){.kind = CG_OBJ_ASSOCIATION, .uuid = uuids[k + 1],
                                        .status = APPROVED, .size = -1,
                                        .assoc_type = "urn:oasis:names:tc:ebxml-regrep:"
                                                      "AssociationType:HasMember",
                                        .source = uuids[0], .target = uuids[k], .xml = ax,
                                        .xml_len = al};
    }
    cg_store_submission sub = {.objects = objs, .nobjects = nobj};
    cg_store_conflicts conflicts = {0};
    cg_err err;
    cg_err_init(&err);
    int rc = cg_store_submit(s->store, &sub, &conflicts, &err);
    if (rc != CG_OK)
        fprintf(stderr, "qbench: cg_store_submit(patient %llu): %s (%zu conflicts)\n",
                (unsigned long long)p, err.msg, conflicts.count);
    if (rc == CG_OK)
        rc = cg_store_patient_add(s->store, pid, &err);
    cg_store_conflicts_dispose(&conflicts);
    free(authp);
    free(codes);
    free(xml);
    free(authors);
    free(times);
    free(uids);
    free(uuids);
    free(objs);
    return rc;
}

static void *
seed_thread(void *arg)
{
    seeder *s = arg;
    unsigned rnd = (unsigned)s->first * 2654435761u + 1;
    for (uint64_t p = s->first; p < s->last; p++) {
        if (seed_patient(s, p, &rnd) != CG_OK)
            exit(1);
        s->done++;
    }
    return NULL;
}

static int
seed(const char *dir, uint64_t docs, uint64_t patients, uint64_t hot)
{
    cg_store_config cfg = {.data_dir = dir, .readers = 2, .commit_batch = 256,
                           .busy_timeout_ms = 60000};
    cg_store *store = NULL;
    cg_err err;
    cg_err_init(&err);
    if (cg_store_open(&store, &cfg, &err) != CG_OK) {
        fprintf(stderr, "qbench: cg_store_open(%s): %s\n", dir, err.msg);
        return 1;
    }
    enum { THREADS = 32 };
    seeder s[THREADS];
    pthread_t t[THREADS];
    double t0 = now_ms();
    for (int i = 0; i < THREADS; i++) {
        s[i] = (seeder){store, docs, patients, hot, patients * (uint64_t)i / THREADS,
                        patients * (uint64_t)(i + 1) / THREADS, 0};
        pthread_create(&t[i], NULL, seed_thread, &s[i]);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    cg_store_stats st;
    cg_store_stats_get(store, &st, &err);
    fprintf(stderr, "qbench: seeded %lld DocumentEntries, %lld patients in %.0f s (%lld commits)\n",
            (long long)st.document_entries, (long long)st.patients, (now_ms() - t0) / 1e3,
            (long long)st.commits);
    cg_store_free(store);
    return 0;
}

/* ---- timing ---------------------------------------------------------------------------------- */

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void
report(const char *what, double *ms, int n, size_t bytes)
{
    qsort(ms, (size_t)n, sizeof(*ms), cmp_double);
    printf("%s n=%d p50=%.3f p99=%.3f max=%.3f bytes=%zu\n", what, n, ms[n / 2],
           ms[(int)(n * 0.99)], ms[n - 1], bytes);
}

/* The i-th sample's parameter: a hot patient (50 documents), one of its documents, its set. */
static void
sample(char *out, size_t size, const char *query, int i, uint64_t hot, int xml_escape)
{
    uint64_t p = (uint64_t)(i * 7919) % hot;
    if (strcmp(query, "find") == 0)
        snprintf(out, size, xml_escape ? "P%06llu^^^&amp;1.2.3.4.5.6.7&amp;ISO"
                                       : "P%06llu^^^&1.2.3.4.5.6.7&ISO",
                 (unsigned long long)p);
    else if (strcmp(query, "get") == 0)
        uuid_of(out, 1, p * HOT_DOCS + (uint64_t)i % HOT_DOCS);
    else
        uuid_of(out, 2, p);
}

static const char *
query_body(const char *query, const char *param, char *buf, size_t size)
{
    if (strcmp(query, "find") == 0)
        snprintf(buf, size,
                 "<rim:AdhocQuery id=\"urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d\">"
                 "<rim:Slot name=\"$XDSDocumentEntryPatientId\"><rim:ValueList><rim:Value>'%s'"
                 "</rim:Value></rim:ValueList></rim:Slot><rim:Slot name=\"$XDSDocumentEntryStatus\">"
                 "<rim:ValueList><rim:Value>('" APPROVED "')</rim:Value></rim:ValueList></rim:Slot>"
                 "</rim:AdhocQuery>",
                 param);
    else if (strcmp(query, "get") == 0)
        snprintf(buf, size,
                 "<rim:AdhocQuery id=\"urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4\">"
                 "<rim:Slot name=\"$XDSDocumentEntryEntryUUID\"><rim:ValueList><rim:Value>('%s')"
                 "</rim:Value></rim:ValueList></rim:Slot></rim:AdhocQuery>",
                 param);
    else
        snprintf(buf, size,
                 "<rim:AdhocQuery id=\"urn:uuid:e8e3cb2c-e39c-46b9-99e4-c12f57260b83\">"
                 "<rim:Slot name=\"$XDSSubmissionSetEntryUUID\"><rim:ValueList><rim:Value>'%s'"
                 "</rim:Value></rim:ValueList></rim:Slot></rim:AdhocQuery>",
                 param);
    return buf;
}

static int
wire(const char *host, const char *port, const char *path, const char *query, int n,
     uint64_t hot)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai;
    if (getaddrinfo(host, port, &hints, &ai) != 0)
        return 2;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        perror("connect");
        return 2;
    }
    freeaddrinfo(ai);
    double *ms = calloc((size_t)n, sizeof(*ms));
    size_t cap = 1 << 24, total = 0;
    char *resp = malloc(cap);
    for (int i = -20; i < n; i++) { /* 20 warm-up requests */
        char param[128], q[2048], body[4096], req[8192];
        sample(param, sizeof param, query, i < 0 ? -i : i, hot, 1);
        int bl = snprintf(
            body, sizeof body,
            "<soap:Envelope xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\" "
            "xmlns:wsa=\"http://www.w3.org/2005/08/addressing\"><soap:Header><wsa:Action>"
            "urn:ihe:iti:2007:RegistryStoredQuery</wsa:Action></soap:Header><soap:Body>"
            "<query:AdhocQueryRequest xmlns:query=\"urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0\" "
            "xmlns:rim=\"urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0\"><query:ResponseOption "
            "returnComposedObjects=\"true\" returnType=\"LeafClass\"/>%s</query:AdhocQueryRequest>"
            "</soap:Body></soap:Envelope>",
            query_body(query, param, q, sizeof q));
        int ping = strcmp(query, "ping") == 0;
        int rl = ping ? snprintf(req, sizeof req, "GET /qbench-ping HTTP/1.1\r\nHost: %s\r\n\r\n", host)
                      : snprintf(req, sizeof req,
                                 "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: "
                                 "application/soap+xml; charset=UTF-8\r\nContent-Length: "
                                 "%d\r\n\r\n%s",
                                 path, host, bl, body);
        double t0 = now_ms();
        if (write(fd, req, (size_t)rl) != rl)
            return 2;
        size_t got = 0;
        long clen = -1;
        char *hend = NULL;
        for (;;) {
            ssize_t r = read(fd, resp + got, cap - got - 1);
            if (r <= 0) {
                fprintf(stderr, "qbench: connection closed\n");
                return 2;
            }
            got += (size_t)r;
            resp[got] = '\0';
            if (!hend && (hend = strstr(resp, "\r\n\r\n")) != NULL) {
                char *cl = strcasestr(resp, "Content-Length:");
                clen = cl ? strtol(cl + 15, NULL, 10) : -1;
            }
            if (hend && clen >= 0 && got >= (size_t)(hend + 4 - resp) + (size_t)clen)
                break;
        }
        double t = now_ms() - t0;
        if (ping ? strncmp(resp, "HTTP/1.1 404", 12) != 0
                 : !strstr(resp, "ResponseStatusType:Success") || strstr(resp, "RegistryError ")) {
            fprintf(stderr, "qbench: not a Success: %.600s\n", resp);
            return 1;
        }
        if (i >= 0) {
            ms[i] = t;
            total += got;
        }
    }
    char what[64];
    snprintf(what, sizeof what, "wire %s", query);
    report(what, ms, n, total / (size_t)n);
    free(resp);
    free(ms);
    close(fd);
    return 0;
}

/* The floor: the same objects read by SQL alone (no SOAP, no XML parsing or writing). */
static int
sql(const char *dir, const char *query, int n, uint64_t hot)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/registry.db", dir);
    sqlite3 *db;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return 2;
    const char *text =
        strcmp(query, "find") == 0
            ? "SELECT o.uuid, x.xml FROM objects o JOIN object_xml x ON x.object_id = o.id "
              "WHERE o.patient_id = ?1 AND o.kind = 1 AND o.status = '" APPROVED "' "
              "AND o.object_type = '" STABLE "'"
        : strcmp(query, "get") == 0
            ? "SELECT o.uuid, x.xml FROM objects o JOIN object_xml x ON x.object_id = o.id "
              "WHERE o.uuid = ?1"
            : "SELECT o.uuid, x.xml FROM objects o JOIN object_xml x ON x.object_id = o.id "
              "WHERE o.uuid = ?1 OR o.id IN (SELECT a.id FROM objects a WHERE a.source = ?1) "
              "OR o.uuid IN (SELECT a.target FROM objects a WHERE a.source = ?1)";
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, text, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "qbench: %s\n", sqlite3_errmsg(db));
        return 2;
    }
    double *ms = calloc((size_t)n, sizeof(*ms));
    size_t rows = 0;
    for (int i = -20; i < n; i++) {
        char param[128];
        sample(param, sizeof param, query, i < 0 ? -i : i, hot, 0);
        double t0 = now_ms();
        sqlite3_bind_text(st, 1, param, -1, SQLITE_TRANSIENT);
        size_t got = 0, bytes = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            bytes += (size_t)sqlite3_column_bytes(st, 1);
            got++;
        }
        sqlite3_reset(st);
        if (i >= 0) {
            ms[i] = now_ms() - t0;
            rows += got;
        }
        (void)bytes;
    }
    char what[64];
    snprintf(what, sizeof what, "sql %s", query);
    printf("sql %s rows_per_query=%.1f\n", query, (double)rows / n);
    report(what, ms, n, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(ms);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "seed") == 0)
        return seed(argv[2], strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10),
                    strtoull(argv[5], NULL, 10));
    /* wire HOST PORT PATH QUERY N HOT */
    if (argc == 8 && strcmp(argv[1], "wire") == 0)
        return wire(argv[2], argv[3], argv[4], argv[5], atoi(argv[6]), strtoull(argv[7], NULL, 10));
    /* sql DIR QUERY N HOT */
    if (argc == 6 && strcmp(argv[1], "sql") == 0)
        return sql(argv[2], argv[3], atoi(argv[4]), strtoull(argv[5], NULL, 10));
    fprintf(stderr, "usage: qbench seed DIR DOCS PATIENTS HOT | wire HOST PORT PATH QUERY N HOT | "
                    "sql DIR QUERY N HOT\n");
    return 2;
}
