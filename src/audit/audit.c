/* audit: the DICOM audit message of one transaction (see audit.h). */
#define _POSIX_C_SOURCE 200809L
#include "audit/audit.h"

#include <libxml/xmlsave.h>
#include <libxml/xmlwriter.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "util/err.h"

/* The transactions and their codes. Each row follows the "Audit Record Considerations" of its
 * transaction in the IHE ITI Technical Framework, Volume 2 (Revision 20):
 *   ITI-8   3.8.5.1   Patient Record (110110), C create / U update (the Patient Identity Source
 *                     is the Source Role, the registry the Destination)
 *   ITI-18  3.18.5.1  Query (110112), E; the query as a ParticipantObject (role 24)
 *   ITI-38  3.38.5.1  Query (110112), E (Responding Gateway as the registry of ITI-18)
 *   ITI-39  3.39.5.1  Export (110106), R (Responding Gateway as the repository of ITI-43)
 *   ITI-41  3.41.5.1  Import (110107), C at the Document Repository
 *   ITI-42  3.42.5.1  Import (110107), C at the Document Registry
 *   ITI-43  3.43.5.1  Export (110106), R at the Document Repository, which is the Source Role
 *   ITI-51  3.51.5.1  Query (110112), E
 *   ITI-57  3.57.4.1.4 Patient Record (110110), U
 *   ITI-62  3.62.5.1  Patient Record (110110), D
 *   ITI-86  RMD supplement 3.86.5.1 Patient Record (110110), D; the documents removed
 * The document views and the patient page are not IHE transactions: Export (110106) and Query
 * (110112) with no EventTypeCode. A request whose transaction cannot be told (a malformed or
 * unrouted POST) is Application Activity (110100) with no EventTypeCode. */
static const cg_audit_transaction transactions[] = {
    {"ITI-8", NULL, "Patient Identity Feed", "110110", "Patient Record", 'C', 0},
    {"ITI-18", "urn:ihe:iti:2007:RegistryStoredQuery", "Registry Stored Query", "110112", "Query",
     'E', 0},
    {"ITI-38", "urn:ihe:iti:2007:CrossGatewayQuery", "Cross Gateway Query", "110112", "Query", 'E',
     0},
    {"ITI-39", "urn:ihe:iti:2007:CrossGatewayRetrieve", "Cross Gateway Retrieve", "110106",
     "Export", 'R', 1},
    {"ITI-41", "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b",
     "Provide and Register Document Set-b", "110107", "Import", 'C', 0},
    {"ITI-42", "urn:ihe:iti:2007:RegisterDocumentSet-b", "Register Document Set-b", "110107",
     "Import", 'C', 0},
    {"ITI-43", "urn:ihe:iti:2007:RetrieveDocumentSet", "Retrieve Document Set", "110106", "Export",
     'R', 1},
    {"ITI-51", "urn:ihe:iti:2009:MultiPatientStoredQuery", "Multi-Patient Stored Query", "110112",
     "Query", 'E', 0},
    {"ITI-57", "urn:ihe:iti:2010:UpdateDocumentSet", "Update Document Set", "110110",
     "Patient Record", 'U', 0},
    {"ITI-62", "urn:ihe:iti:2010:DeleteDocumentSet", "Delete Document Set", "110110",
     "Patient Record", 'D', 0},
    {"ITI-86", "urn:ihe:iti:2017:RemoveDocuments", "Remove Documents", "110110", "Patient Record",
     'D', 0},
};
static const cg_audit_transaction local_rows[] = {
    {NULL, NULL, CG_AUDIT_DOCUMENT_VIEW, "110106", "Export", 'R', 1},
    {NULL, NULL, CG_AUDIT_PATIENT_PAGE, "110112", "Query", 'E', 0},
    {NULL, NULL, CG_AUDIT_UNKNOWN, "110100", "Application Activity", 'E', 0},
};
#define N_TRANSACTIONS (sizeof transactions / sizeof transactions[0])
#define ROW_UNKNOWN (&local_rows[2])

const cg_audit_transaction *cg_audit_transaction_by_id(const char *id)
{
    if (!id)
        return ROW_UNKNOWN;
    for (size_t i = 0; i < N_TRANSACTIONS; i++)
        if (strcmp(transactions[i].id, id) == 0)
            return &transactions[i];
    for (size_t i = 0; i < sizeof local_rows / sizeof local_rows[0]; i++)
        if (strcmp(local_rows[i].name, id) == 0)
            return &local_rows[i];
    return ROW_UNKNOWN;
}

const cg_audit_transaction *cg_audit_transaction_by_action(const char *action)
{
    for (size_t i = 0; action && i < N_TRANSACTIONS; i++)
        if (transactions[i].action && strcmp(transactions[i].action, action) == 0)
            return &transactions[i];
    return ROW_UNKNOWN;
}

/* ---- the event ----------------------------------------------------------------------------- */

cg_audit_event *cg_audit_event_new(cg_pool *pool)
{
    cg_audit_event *ev = cg_pool_calloc(pool, 1, sizeof(*ev));
    ev->pool = pool;
    clock_gettime(CLOCK_REALTIME, &ev->when);
    return ev;
}

/* A copy in the event's pool, at most CG_AUDIT_MAX_TEXT bytes (cut at a UTF-8 boundary), with
 * control characters made spaces: a record is one line. NULL and "" give NULL. */
static const char *text(cg_audit_event *ev, const char *s)
{
    if (!s || !*s)
        return NULL;
    size_t n = strlen(s);
    if (n > CG_AUDIT_MAX_TEXT) {
        n = CG_AUDIT_MAX_TEXT;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    char *out = cg_pool_strndup(ev->pool, s, n);
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    return out;
}

void cg_audit_set_transaction(cg_audit_event *ev, const char *id)
{
    if (ev)
        ev->transaction = id;
}

void cg_audit_add_patient(cg_audit_event *ev, const char *patient_id)
{
    if (!ev || !patient_id || !*patient_id || ev->npatients == CG_AUDIT_MAX_PATIENTS)
        return;
    for (size_t i = 0; i < ev->npatients; i++)
        if (strcmp(ev->patients[i], patient_id) == 0)
            return;
    ev->patients[ev->npatients++] = text(ev, patient_id);
}

void cg_audit_set_submission_set(cg_audit_event *ev, const char *unique_id)
{
    if (ev)
        ev->submission_set = text(ev, unique_id);
}

void cg_audit_add_document(cg_audit_event *ev, const char *unique_id, const char *repository_id,
                           const char *home)
{
    if (!ev || !unique_id || !*unique_id || ev->ndocuments == CG_AUDIT_MAX_DOCUMENTS)
        return;
    ev->documents = cg_pool_grow(ev->pool, ev->documents, &ev->documents_cap, ev->ndocuments + 1,
                                 sizeof(*ev->documents));
    ev->documents[ev->ndocuments++] =
        (cg_audit_document){text(ev, unique_id), text(ev, repository_id), text(ev, home)};
}

void cg_audit_add_registry_object(cg_audit_event *ev, const char *entry_uuid)
{
    if (!ev || !entry_uuid || !*entry_uuid || ev->nregistry_objects == CG_AUDIT_MAX_DOCUMENTS)
        return;
    ev->registry_objects = cg_pool_grow(ev->pool, ev->registry_objects, &ev->registry_objects_cap,
                                        ev->nregistry_objects + 1, sizeof(*ev->registry_objects));
    ev->registry_objects[ev->nregistry_objects++] = text(ev, entry_uuid);
}

static const char *base64(cg_pool *pool, const unsigned char *data, size_t len)
{
    char *out = cg_pool_alloc(pool, (len + 2) / 3 * 4 + 1);
    EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

void cg_audit_set_query(cg_audit_event *ev, const char *query_id, xmlNodePtr request,
                        const char *home)
{
    if (!ev)
        return;
    ev->query_id = text(ev, query_id);
    ev->query_home = text(ev, home);
    if (!request)
        return;
    /* A copy in a document of its own declares the namespaces the element uses (they may be
     * declared on the Envelope). */
    xmlDocPtr doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNodePtr copy = xmlDocCopyNode(request, doc, 1);
    if (!copy) {
        xmlFreeDoc(doc);
        return;
    }
    xmlDocSetRootElement(doc, copy);
    xmlBufferPtr b = xmlBufferCreate();
    xmlSaveCtxtPtr save = xmlSaveToBuffer(b, "UTF-8", XML_SAVE_NO_DECL);
    if (save) {
        xmlSaveTree(save, copy);
        xmlSaveClose(save);
        size_t len = (size_t)xmlBufferLength(b);
        if (len > CG_AUDIT_MAX_QUERY) {
            len = CG_AUDIT_MAX_QUERY;
            ev->query_cut = 1;
        }
        ev->query_b64 = base64(ev->pool, xmlBufferContent(b), len);
    }
    xmlBufferFree(b);
    xmlFreeDoc(doc);
}

void cg_audit_set_outcome(cg_audit_event *ev, cg_audit_outcome outcome, const char *why)
{
    if (!ev)
        return;
    ev->outcome = outcome;
    ev->outcome_text = text(ev, why);
}

/* ---- the message --------------------------------------------------------------------------- */

typedef struct writer {
    xmlTextWriterPtr w;
    int bad;
} writer;

static void start(writer *wr, const char *name)
{
    if (xmlTextWriterStartElement(wr->w, (const xmlChar *)name) < 0)
        wr->bad = 1;
}

static void end(writer *wr)
{
    if (xmlTextWriterEndElement(wr->w) < 0)
        wr->bad = 1;
}

static void attr(writer *wr, const char *name, const char *value)
{
    if (value && xmlTextWriterWriteAttribute(wr->w, (const xmlChar *)name,
                                             (const xmlChar *)value) < 0)
        wr->bad = 1;
}

static void content(writer *wr, const char *value)
{
    if (xmlTextWriterWriteString(wr->w, (const xmlChar *)value) < 0)
        wr->bad = 1;
}

/* A coded value: <name csd-code= codeSystemName= originalText=/> (DICOM PS3.15 A.5.1). */
static void coded(writer *wr, const char *name, const char *code, const char *system,
                  const char *display)
{
    start(wr, name);
    attr(wr, "csd-code", code);
    attr(wr, "codeSystemName", system);
    attr(wr, "originalText", display);
    end(wr);
}

/* <ParticipantObjectDetail type= value=base64/> */
static void detail(writer *wr, cg_pool *pool, const char *type, const char *value)
{
    if (!value)
        return;
    start(wr, "ParticipantObjectDetail");
    attr(wr, "type", type);
    attr(wr, "value", base64(pool, (const unsigned char *)value, strlen(value)));
    end(wr);
}

/* "192.0.2.7:51234" -> "192.0.2.7", "[::1]:8080" -> "::1". */
static const char *host_of(cg_pool *pool, const char *addr)
{
    if (!addr)
        return NULL;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        return close ? cg_pool_strndup(pool, addr + 1, (size_t)(close - addr - 1)) : addr;
    }
    const char *colon = strrchr(addr, ':');
    if (colon && strchr(addr, ':') == colon)
        return cg_pool_strndup(pool, addr, (size_t)(colon - addr));
    return addr;
}

/* An IP address (type 2) or a machine name (type 1). */
static const char *nap_type(const char *host)
{
    if (!host)
        return NULL;
    if (strchr(host, ':'))
        return "2";
    return strspn(host, "0123456789.") == strlen(host) ? "2" : "1";
}

static void participant_peer(writer *wr, cg_pool *pool, const cg_audit_event *ev, int source)
{
    const char *host = host_of(pool, ev->peer_addr);
    start(wr, "ActiveParticipant");
    attr(wr, "UserID", ev->peer_user ? ev->peer_user
                                     : "http://www.w3.org/2005/08/addressing/anonymous");
    attr(wr, "UserName", ev->peer_subject);
    attr(wr, "UserIsRequestor", "true");
    attr(wr, "NetworkAccessPointID", host);
    attr(wr, "NetworkAccessPointTypeCode", nap_type(host));
    if (source)
        coded(wr, "RoleIDCode", "110153", "DCM", "Source Role ID");
    else
        coded(wr, "RoleIDCode", "110152", "DCM", "Destination Role ID");
    end(wr);
}

static void participant_self(writer *wr, cg_pool *pool, const cg_audit_event *ev,
                             const cg_audit_source *src, int source)
{
    start(wr, "ActiveParticipant");
    attr(wr, "UserID", ev->endpoint ? ev->endpoint : src->source_id);
    attr(wr, "AlternativeUserID", cg_pool_printf(pool, "%ld", src->pid));
    attr(wr, "UserIsRequestor", "false");
    attr(wr, "NetworkAccessPointID", src->host);
    attr(wr, "NetworkAccessPointTypeCode", nap_type(src->host));
    if (source)
        coded(wr, "RoleIDCode", "110153", "DCM", "Source Role ID");
    else
        coded(wr, "RoleIDCode", "110152", "DCM", "Destination Role ID");
    end(wr);
}

static void objects(writer *wr, cg_pool *pool, const cg_audit_event *ev,
                    const cg_audit_transaction *t, char action_code)
{
    for (size_t i = 0; i < ev->npatients; i++) {
        start(wr, "ParticipantObjectIdentification");
        attr(wr, "ParticipantObjectID", ev->patients[i]);
        attr(wr, "ParticipantObjectTypeCode", "1");     /* Person */
        attr(wr, "ParticipantObjectTypeCodeRole", "1"); /* Patient */
        coded(wr, "ParticipantObjectIDTypeCode", "2", "RFC-3881", "Patient Number");
        detail(wr, pool, "MSH-10", ev->hl7_control_id);
        end(wr);
    }
    if (ev->submission_set) {
        start(wr, "ParticipantObjectIdentification");
        attr(wr, "ParticipantObjectID", ev->submission_set);
        attr(wr, "ParticipantObjectTypeCode", "2");      /* System Object */
        attr(wr, "ParticipantObjectTypeCodeRole", "20"); /* Job */
        coded(wr, "ParticipantObjectIDTypeCode", "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd",
              "IHE XDS Metadata", "submission set classificationNode");
        end(wr);
    }
    for (size_t i = 0; i < ev->ndocuments; i++) {
        const cg_audit_document *d = &ev->documents[i];
        start(wr, "ParticipantObjectIdentification");
        attr(wr, "ParticipantObjectID", d->unique_id);
        attr(wr, "ParticipantObjectTypeCode", "2");     /* System Object */
        attr(wr, "ParticipantObjectTypeCodeRole", "3"); /* Report */
        if (action_code == 'D')
            attr(wr, "ParticipantObjectDataLifeCycle", "15"); /* Permanent erasure */
        coded(wr, "ParticipantObjectIDTypeCode", "9", "RFC-3881", "Report Number");
        detail(wr, pool, "Repository Unique Id", d->repository_id);
        detail(wr, pool, "ihe:homeCommunityID", d->home);
        end(wr);
    }
    for (size_t i = 0; i < ev->nregistry_objects; i++) {
        start(wr, "ParticipantObjectIdentification");
        attr(wr, "ParticipantObjectID", ev->registry_objects[i]);
        attr(wr, "ParticipantObjectTypeCode", "2");     /* System Object */
        attr(wr, "ParticipantObjectTypeCodeRole", "3"); /* Report */
        if (action_code == 'D')
            attr(wr, "ParticipantObjectDataLifeCycle", "15"); /* Permanent erasure */
        coded(wr, "ParticipantObjectIDTypeCode", "urn:ihe:iti:2017:ObjectRef", "IHE XDS Metadata",
              "registry object reference");
        end(wr);
    }
    if (ev->query_id || ev->query_b64) {
        start(wr, "ParticipantObjectIdentification");
        attr(wr, "ParticipantObjectID", ev->query_id ? ev->query_id : "");
        attr(wr, "ParticipantObjectTypeCode", "2");      /* System Object */
        attr(wr, "ParticipantObjectTypeCodeRole", "24"); /* Query */
        if (t->id)
            coded(wr, "ParticipantObjectIDTypeCode", t->id, "IHE Transactions", t->name);
        else
            coded(wr, "ParticipantObjectIDTypeCode", "110112", "DCM", "Query");
        if (ev->query_b64) {
            start(wr, "ParticipantObjectQuery");
            content(wr, ev->query_b64);
            end(wr);
        }
        detail(wr, pool, "QueryEncoding", "UTF-8");
        detail(wr, pool, "urn:ihe:iti:xca:2010:homeCommunityId", ev->query_home);
        if (ev->query_cut)
            detail(wr, pool, "QueryTruncatedAtBytes", "65536");
        end(wr);
    }
}

int cg_audit_message(cg_buf *out, const cg_audit_event *ev, const cg_audit_source *src)
{
    const cg_audit_transaction *t = ev->transaction ? cg_audit_transaction_by_id(ev->transaction)
                                                    : ROW_UNKNOWN;
    char action_code = ev->action_code ? ev->action_code : t->action_code;
    cg_pool *pool = ev->pool;
    char when[64], stamp[40];
    struct tm tm;
    gmtime_r(&ev->when.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when, sizeof when, "%s.%03ldZ", stamp, ev->when.tv_nsec / 1000000L);

    xmlBufferPtr b = xmlBufferCreate();
    writer wr = {xmlNewTextWriterMemory(b, 0), 0};
    if (!wr.w) {
        xmlBufferFree(b);
        return CG_EIO;
    }
    start(&wr, "AuditMessage");
    start(&wr, "EventIdentification");
    attr(&wr, "EventActionCode", (char[]){action_code, '\0'});
    attr(&wr, "EventDateTime", when);
    attr(&wr, "EventOutcomeIndicator", cg_pool_printf(pool, "%d", (int)ev->outcome));
    coded(&wr, "EventID", t->event_code, "DCM", t->event_name);
    if (t->id)
        coded(&wr, "EventTypeCode", t->id, "IHE Transactions", t->name);
    if (ev->outcome_text && ev->outcome != CG_AUDIT_SUCCESS) {
        start(&wr, "EventOutcomeDescription");
        content(&wr, ev->outcome_text);
        end(&wr);
    }
    end(&wr);
    if (t->responder_is_source) {
        participant_self(&wr, pool, ev, src, 1);
        participant_peer(&wr, pool, ev, 0);
    } else {
        participant_peer(&wr, pool, ev, 1);
        participant_self(&wr, pool, ev, src, 0);
    }
    start(&wr, "AuditSourceIdentification");
    attr(&wr, "AuditEnterpriseSiteID", src->enterprise_site);
    attr(&wr, "AuditSourceID", src->source_id);
    coded(&wr, "AuditSourceTypeCode", "4", "DCM",
          "Application Server process tier in a multi-tier system");
    end(&wr);
    objects(&wr, pool, ev, t, action_code);
    end(&wr);
    if (xmlTextWriterFlush(wr.w) < 0)
        wr.bad = 1;
    xmlFreeTextWriter(wr.w);
    int rc = wr.bad ? CG_EIO : CG_OK;
    if (rc == CG_OK) {
        const char *s = (const char *)xmlBufferContent(b);
        size_t n = (size_t)xmlBufferLength(b);
        while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
            n--;
        rc = cg_buf_append(out, s, n);
    }
    xmlBufferFree(b);
    return rc;
}
