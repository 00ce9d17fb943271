/* store: where registry metadata, document bytes and patients persist.
 * Owns: the storage interface every backend implements (SQLite now, PostgreSQL later), atomic
 * durable submissions with group commit, repository documents pending a remote registry's
 * answer, versioned schema migrations, lookups by id.
 * Does not own: XDS rules (registry), SOAP (transport), what the stored XML means.
 * SQL never leaves the backend files; callers see only these structures. Thread-safe: one
 * cg_store is shared by every worker thread. */
#ifndef CG_STORE_STORE_H
#define CG_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef struct cg_store cg_store;

typedef struct cg_store_config {
    const char *data_dir;  /* SQLite: the database is DATA_DIR/registry.db (WAL mode) */
    unsigned readers;      /* read connections kept open (default: 8) */
    unsigned commit_batch; /* most submissions one group commit may take (default: 64) */
    int busy_timeout_ms;   /* default 5000 */
    const char *backend;   /* "sqlite" (also when NULL); a PostgreSQL backend may follow */
    /* Pending repository documents (cg_store_document_put_pending) older than this many seconds
     * are deleted at open, and one this old gives way to a new document with its uniqueId.
     * 0 (the default): never; only the server that forwards to a registry sets it, so that a
     * `cdagate patient add` beside it never touches a registration in progress. */
    unsigned pending_max_age_s;
} cg_store_config;

typedef enum cg_obj_kind {
    CG_OBJ_DOCUMENT_ENTRY = 1,
    CG_OBJ_SUBMISSION_SET = 2,
    CG_OBJ_FOLDER = 3,
    CG_OBJ_ASSOCIATION = 4
} cg_obj_kind;

/* "DocumentEntry", "SubmissionSet", "Folder", "Association" (for messages); "object" else. */
const char *cg_store_kind_name(cg_obj_kind kind);

/* A coded value indexed for queries, e.g. {"classCode", "34133-9", "2.16.840.1.113883.6.1"}. */
typedef struct cg_store_code {
    const char *attr; /* classCode typeCode formatCode practiceSettingCode
                       * healthcareFacilityTypeCode eventCodeList confidentialityCode
                       * codeList (folder) contentTypeCode (submission set) */
    const char *code;
    const char *scheme;
} cg_store_code;

/* One registry object as registered: the indexed columns, and its complete ebRIM 3.0 XML (the
 * element with every namespace it uses declared on it) returned as-is by queries. Strings are
 * borrowed from the caller for the duration of the call. */
typedef struct cg_store_object {
    cg_obj_kind kind;
    const char *uuid;        /* entryUUID, "urn:uuid:..." */
    const char *lid;         /* logical id (= uuid for a first version) */
    int version;             /* 1 for a first version */
    const char *status;      /* urn:oasis:names:tc:ebxml-regrep:StatusType:Approved ... */
    const char *patient_id;  /* CX as registered; NULL for associations */
    const char *unique_id;   /* NULL for associations */
    const char *object_type; /* DocumentEntry: stable or on-demand type UUID; else NULL */
    /* DocumentEntry */
    const char *mime_type;
    const char *hash;          /* SHA-1 hex */
    int64_t size;              /* -1 when absent */
    const char *repository_id;
    const char *creation_time; /* DTM as given */
    const char *service_start;
    const char *service_stop;
    const char *const *author_persons;
    size_t nauthor_persons;
    /* SubmissionSet */
    const char *submission_time;
    const char *source_id;
    /* Folder */
    const char *last_update_time;
    /* Association */
    const char *assoc_type; /* urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember ... */
    const char *source;
    const char *target;
    /* All kinds */
    const cg_store_code *codes;
    size_t ncodes;
    const char *xml;
    size_t xml_len;
} cg_store_object;

typedef struct cg_store_document {
    const char *repository_id;
    const char *unique_id;
    const char *mime_type;
    const char *hash; /* SHA-1 hex */
    const unsigned char *data;
    size_t len;
} cg_store_document;

/* A registered object's status changed by a submission (the original an RPLC or XFRM_RPLC
 * deprecates): applied only if the object's status is still `from`, else the submission is
 * refused with a conflict of kind CG_CONFLICT_STATUS. `xml` replaces its stored XML. */
typedef struct cg_store_status_change {
    const char *uuid;
    const char *from, *to;
    const char *xml;
    size_t xml_len;
} cg_store_status_change;

/* A registered Folder whose lastUpdateTime a submission advances (a document filed in it, or
 * carried over to it by a replacement): its last_update_time and stored XML are replaced. It must
 * still be a registered Folder, else the submission is refused with a conflict of kind
 * CG_CONFLICT_MISSING. */
typedef struct cg_store_folder_update {
    const char *uuid;
    const char *last_update_time; /* DTM */
    const char *xml;
    size_t xml_len;
} cg_store_folder_update;

/* One submission: committed entirely or not at all, durably (fsync'd) before cg_store_submit
 * returns CG_OK. Objects whose uuid is already registered are an error (a conflict). */
typedef struct cg_store_submission {
    const cg_store_object *objects;
    size_t nobjects;
    const cg_store_document *documents;
    size_t ndocuments;
    /* uuids referenced (association source/target) that are not in `objects`: each must exist
     * in the store, else the submission is refused with a conflict of kind CG_CONFLICT_MISSING. */
    const char *const *references;
    size_t nreferences;
    const cg_store_status_change *status_changes;
    size_t nstatus_changes;
    const cg_store_folder_update *folder_updates;
    size_t nfolder_updates;
} cg_store_submission;

typedef enum cg_conflict_kind {
    CG_CONFLICT_UNIQUE_ID = 1, /* unique_id already registered; existing_hash says by what */
    CG_CONFLICT_UUID,          /* entryUUID already registered */
    CG_CONFLICT_MISSING,       /* a reference names nothing in the store */
    CG_CONFLICT_STATUS,        /* a status change found the object in another status */
    CG_CONFLICT_REFERENCED,    /* deleting: id is referred to by the Association `related`,
                                * which stays */
    CG_CONFLICT_UNREFERENCED   /* deleting: id stays, and no Association would refer to it once
                                * `related` (an Association deleted) is gone */
} cg_conflict_kind;

typedef struct cg_store_conflict {
    cg_conflict_kind kind;
    char id[256];            /* the unique_id, uuid or reference concerned */
    cg_obj_kind existing_kind; /* for UNIQUE_ID / UUID */
    char existing_hash[41];    /* for a DocumentEntry's UNIQUE_ID: the registered hash */
    int pending; /* UNIQUE_ID of a repository document still waiting for its registry's answer */
    char related[256]; /* REFERENCED, UNREFERENCED: the Association concerned */
} cg_store_conflict;

typedef struct cg_store_conflicts {
    cg_store_conflict *items; /* heap; free with cg_store_conflicts_dispose */
    size_t count;
} cg_store_conflicts;

int cg_store_open(cg_store **out, const cg_store_config *cfg, cg_err *err);
void cg_store_free(cg_store *store);

/* Commits a submission (group commit: concurrent callers share one fsync). Returns CG_OK;
 * CG_EINVAL with conflicts filled (and nothing written) when uniqueness or references fail;
 * CG_EIO when the store cannot write (disk full...), nothing written. */
int cg_store_submit(cg_store *store, const cg_store_submission *sub, cg_store_conflicts *conflicts,
                    cg_err *err);
void cg_store_conflicts_dispose(cg_store_conflicts *conflicts);

/* A stored document's bytes and what was recorded with them. Free with cg_store_blob_dispose. */
typedef struct cg_store_blob {
    unsigned char *data;
    size_t len;
    char *mime_type;
    char hash[41];
} cg_store_blob;
/* CG_ENOTFOUND when the repository holds no document with that unique id. */
int cg_store_document_get(cg_store *store, const char *repository_id, const char *unique_id,
                          cg_store_blob *out, cg_err *err);
void cg_store_blob_dispose(cg_store_blob *blob);

/* Repository documents whose metadata a remote registry has yet to accept (ITI-41 forwarded as
 * ITI-42). put_pending stores them durably but invisible to cg_store_document_get; their
 * uniqueIds are taken meanwhile. Then either commit (the registry accepted: retrievable from
 * now on) or discard (it refused or could not be asked: deleted). `owner` is a token unique to
 * one attempt (a urn:uuid, 64 characters at most): commit and discard touch only its rows.
 * A crash in between leaves pending rows that cg_store_open deletes (pending_max_age_s).
 *
 * put_pending: all or nothing, like cg_store_submit: CG_EINVAL with conflicts (kind
 * CG_CONFLICT_UNIQUE_ID; `pending` set when the holder is another pending document) and
 * nothing written; CG_EIO when the store cannot write. */
int cg_store_document_put_pending(cg_store *store, const cg_store_document *docs, size_t ndocs,
                                  const char *owner, cg_store_conflicts *conflicts, cg_err *err);
/* Makes owner's pending documents retrievable. CG_ENOTFOUND when some are no longer pending
 * under that owner (deleted as stale meanwhile): `missing` names them (kind
 * CG_CONFLICT_MISSING), the others are committed. CG_EIO: nothing changed. */
int cg_store_document_commit(cg_store *store, const cg_store_document *docs, size_t ndocs,
                             const char *owner, cg_store_conflicts *missing, cg_err *err);
/* Deletes owner's pending documents (those already gone are not an error). */
int cg_store_document_discard(cg_store *store, const cg_store_document *docs, size_t ndocs,
                              const char *owner, cg_err *err);

/* ITI-86: deletes retrievable documents (their metadata stays: that is ITI-62), durably, in one
 * transaction; the bytes are overwritten in the database file (secure_delete). CG_OK when all
 * were removed; CG_ENOTFOUND when some were not stored (`missing` names them, kind
 * CG_CONFLICT_MISSING; the others are removed); CG_EIO: nothing changed. */
int cg_store_document_remove(cg_store *store, const cg_store_document *docs, size_t ndocs,
                             cg_store_conflicts *missing, cg_err *err);

/* ITI-62: deletes registered objects (any kind) by entryUUID, durably, all or none, in one
 * transaction; their rows, indexed values and XML are overwritten in the database file
 * (secure_delete). Document bytes stay (that is ITI-86). Checked inside the transaction, so no
 * concurrent submission can slip in between: every uuid must name an object (else a conflict of
 * kind CG_CONFLICT_MISSING); no Association outside the set may refer to an object of the set
 * (CG_CONFLICT_REFERENCED, one per object, naming the first such Association); no object left
 * behind may lose the last Association that refers to it (CG_CONFLICT_UNREFERENCED: an end,
 * outside the set, of an Association in the set). The same uuid twice counts once. `updates`
 * (may be NULL when nupdates is 0): Folders whose lastUpdateTime the deletion advances, written
 * in the same transaction (a Folder no longer registered: CG_CONFLICT_MISSING). CG_OK;
 * CG_EINVAL with conflicts filled (MISSING alone when some are missing) and nothing deleted;
 * CG_EIO when the store cannot write, nothing deleted. */
int cg_store_delete_objects(cg_store *store, const char *const *uuids, size_t n,
                            const cg_store_folder_update *updates, size_t nupdates,
                            cg_store_conflicts *conflicts, cg_err *err);

/* A registered object's stored XML by entryUUID (CG_ENOTFOUND if none). Free with free(). */
int cg_store_object_xml(cg_store *store, const char *uuid, char **out, size_t *len, cg_err *err);

/* ---- stored-query reads (ITI-18) ------------------------------------------------------------
 * One general primitive: the registry objects matching a filter. Every list in the filter is a
 * set of alternatives (OR); the filter's parts are all required (AND); a part left empty (NULL or
 * count 0) does not restrict. Values are bound, never spliced into SQL. Strings are borrowed. */

/* A group of coded values of one attribute, any of which matches (OR); scheme NULL: any scheme. */
typedef struct cg_store_code_group {
    const char *attr; /* as in cg_store_code: classCode, eventCodeList ... */
    const char *const *codes;
    const char *const *schemes; /* parallel to codes; an entry may be NULL */
    size_t n;
} cg_store_code_group;

/* A group of authorPerson patterns (SQL LIKE: % any run, _ one character), any of which matches. */
typedef struct cg_store_pattern_group {
    const char *const *patterns;
    size_t n;
} cg_store_pattern_group;

/* A DTM range: from <= key < to, each bound given or not (keys from cg_store_dtm_key). An
 * object without the time does not match a range that has a bound. */
typedef struct cg_store_time_range {
    int has_from, has_to;
    int64_t from, to;
} cg_store_time_range;

typedef struct cg_store_list {
    const char *const *v;
    size_t n;
} cg_store_list;

enum { /* cg_store_filter.kinds: a mask of (1 << cg_obj_kind); 0 any */
    CG_STORE_KIND_DOC = 1 << CG_OBJ_DOCUMENT_ENTRY,
    CG_STORE_KIND_SS = 1 << CG_OBJ_SUBMISSION_SET,
    CG_STORE_KIND_FOLDER = 1 << CG_OBJ_FOLDER,
    CG_STORE_KIND_ASSOC = 1 << CG_OBJ_ASSOCIATION
};

typedef struct cg_store_filter {
    unsigned kinds;
    cg_store_list patient_ids;
    cg_store_list uuids;
    cg_store_list unique_ids;
    cg_store_list lids;
    cg_store_list statuses;
    cg_store_list object_types;
    cg_store_list source_ids;    /* SubmissionSet sourceId */
    cg_store_list assoc_types;
    cg_store_list sources;       /* Association sourceObject */
    cg_store_list targets;       /* Association targetObject */
    cg_store_list ends;          /* Association sourceObject or targetObject */
    cg_store_time_range creation, service_start, service_stop, submission, last_update;
    const cg_store_code_group *codes; /* AND of the groups */
    size_t ncodes;
    const cg_store_pattern_group *authors; /* AND of the groups */
    size_t nauthors;
    /* Objects whose stored XML holds this text (a cheap pre-filter: the caller checks). */
    cg_store_list xml_contains;
    /* Only the latest version of each logical object (ITI-57 Metadata Update: no registered
     * object of the same lid has a higher version). */
    int latest_only;
    /* The caller asks only whether more than limit objects match (a limit on the answer): when
     * they do, any limit + 1 of them may come back, not the first ones registered. The rows are
     * in registration order all the same; a read of the objects' XML is then one statement. */
    int limit_any;
} cg_store_filter;

/* One object found. Heap strings; see cg_store_rows_dispose. */
typedef struct cg_store_row {
    cg_obj_kind kind;
    char *uuid;
    char *lid;
    char *status;
    char *patient_id;  /* NULL for associations */
    char *unique_id;   /* NULL for associations */
    char *object_type; /* DocumentEntry type; NULL otherwise */
    char *assoc_type, *source, *target; /* Associations */
    char *xml;         /* the stored XML when asked for (with_xml), else NULL */
    size_t xml_len;
} cg_store_row;

typedef struct cg_store_rows {
    cg_store_row *items;
    size_t count;
    size_t cap;
} cg_store_rows;

/* A consistent view across several reads: from cg_store_read_begin to cg_store_read_end, the
 * calling thread's reads of this store (find, patient look-ups, object XML) see one snapshot,
 * and cost the set-up of one read transaction, not one each. Pairs nest; writes (which run on
 * the writer thread) are not affected, and a held view never blocks them. CG_EIO when the store
 * cannot be read: no view is held, and each read goes on alone as without one. Call
 * cg_store_read_end after either answer. */
int cg_store_read_begin(cg_store *store, cg_err *err);
void cg_store_read_end(cg_store *store);

/* Appends to out the objects matching filter, in registration order, at most limit + 1 of
 * them (limit 0: no bound), so that a caller sees when there are more than limit. with_xml:
 * each row carries its stored XML. CG_OK; CG_EIO when the store cannot be read. */
int cg_store_find(cg_store *store, const cg_store_filter *filter, size_t limit, int with_xml,
                  cg_store_rows *out, cg_err *err);
void cg_store_rows_dispose(cg_store_rows *rows);

/* Patients known to the registry (patient identity feed, `cdagate patient add`). A CX string
 * "ID^^^&OID&ISO". Adding an existing patient is not an error (a merged one stays merged).
 * cg_store_patient_known: 1 for an id added and not merged into another (see below). */
int cg_store_patient_add(cg_store *store, const char *patient_id, cg_err *err);
int cg_store_patient_known(cg_store *store, const char *patient_id, int *out, cg_err *err);
/* Called once per patient, ordered by patient_id; added_at is UTC "YYYY-MM-DDThh:mm:ssZ".
 * Returning non-zero stops the listing, and cg_store_patient_list returns that value. */
typedef int (*cg_store_patient_fn)(void *ctx, const char *patient_id, const char *added_at);
int cg_store_patient_list(cg_store *store, cg_store_patient_fn fn, void *ctx, cg_err *err);

/* Patient merge (ITI-8 A40, `cdagate patient merge`): subsumed is recorded as merged into
 * surviving, atomically and durably like a patient add; surviving is added when unknown; ids
 * merged into subsumed before now point at surviving (one level: an id is merged into an id
 * that is not merged). From then on cg_store_patient_known says 0 for subsumed (it is no longer
 * an identity submissions may use) and 1 for surviving. Merging the same pair again: CG_OK.
 * CG_ENOTFOUND: subsumed is unknown. CG_EINVAL: subsumed is surviving, or already merged into
 * another id, or surviving was itself merged (err names into what). CG_EIO: nothing written. */
int cg_store_patient_merge(cg_store *store, const char *surviving, const char *subsumed,
                           cg_err *err);
/* What the registry knows of one id: *known 1 when it was added or merged (0: never seen);
 * *merged_into a heap copy (free()) of the id it was merged into, NULL when it was not. */
int cg_store_patient_lookup(cg_store *store, const char *patient_id, int *known,
                            char **merged_into, cg_err *err);
/* Called once per merged id, ordered by subsumed id; merged_at as added_at above. Returning
 * non-zero stops the listing, and cg_store_patient_merges returns that value. */
typedef int (*cg_store_merge_fn)(void *ctx, const char *subsumed, const char *surviving,
                                 const char *merged_at);
int cg_store_patient_merges(cg_store *store, cg_store_merge_fn fn, void *ctx, cg_err *err);
/* The ids one patient id stands for in a query, in one read by index: fn(ctx, id, 1) for the id it
 * stands for now (the id it was merged into; else itself, known or not), then fn(ctx, id, 0) for
 * each id merged into that one. Returning non-zero stops, and that value is returned. */
typedef int (*cg_store_family_fn)(void *ctx, const char *patient_id, int surviving);
int cg_store_patient_family(cg_store *store, const char *patient_id, cg_store_family_fn fn,
                            void *ctx, cg_err *err);

/* Counts for /health and tests. */
typedef struct cg_store_stats {
    int64_t document_entries;
    int64_t submission_sets;
    int64_t folders;
    int64_t associations;
    int64_t documents; /* retrievable ones; pending ones are apart */
    int64_t patients;
    int64_t pending_documents; /* waiting for a remote registry's answer now */
    int64_t purged_at_open;    /* pending documents cg_store_open deleted as stale */
    int schema_version;
    /* This process, since cg_store_open: */
    int64_t commits;       /* group commits made (one fsync each) */
    int64_t submissions;   /* submissions committed; commits < submissions: commits were shared */
    int64_t largest_batch; /* most jobs (submissions, patient adds) one commit carried */
    int64_t queued;        /* jobs waiting for the writer now */
} cg_store_stats;
int cg_store_stats_get(cg_store *store, cg_store_stats *out, cg_err *err);

/* The sortable key of an XDS DTM (YYYY[MM[DD[hh[mm[ss]]]]], UTC): the digits padded with zeros
 * to YYYYMMDDhhmmss, as an integer ("2004" -> 20040000000000, "200412251030" ->
 * 20041225103000). A value of lower precision sorts before every value inside its period, so a
 * range query compares keys of bounds made the same way. Stores keep the DTM as given beside
 * its key. Returns 1 and sets *out for a well-formed DTM, 0 otherwise (no key is stored). */
int cg_store_dtm_key(const char *dtm, int64_t *out);

/* Tests only. The writer's Nth statement step from now fails with SQLITE_IOERR ("disk I/O
 * error"), once; 0 disarms. The batch carrying it fails whole: every caller gets CG_EIO. */
void cg_store_debug_fail_after(cg_store *store, long n);
/* Tests only. While paused the writer leaves queued jobs alone, so a test can gather several
 * submissions into one batch (wait for stats.queued), then unpause. cg_store_free unpauses. */
void cg_store_debug_pause(cg_store *store, int paused);

#endif
