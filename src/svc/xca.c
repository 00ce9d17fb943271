/* xca: the XCA Responding and Initiating Gateways (see xca.h). */
#define _POSIX_C_SOURCE 200809L
#include "svc/xca.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ebrim/errlist.h"
#include "ebrim/model.h"
#include "svc/query.h"
#include "transport/client.h"
#include "util/alloc.h"
#include "util/clock.h"

#define IG_MAX_PATIENT_VALUES 100 /* quoted ids in one patient id Slot value */

/* ---- Responding Gateway ------------------------------------------------------------------- */

int cg_svc_iti38(void *ctx, const cg_request *req, cg_response *resp)
{
    const cg_xds *xds = ctx;
    return cg_svc_stored_query(xds, req, resp, xds->home_community_id);
}

int cg_svc_iti39(void *ctx, const cg_request *req, cg_response *resp)
{
    const cg_xds *xds = ctx;
    return cg_svc_retrieve(xds, req, resp, xds->home_community_id);
}

int cg_xca_is_patient_param(const char *name)
{
    static const char *const names[] = {"$XDSDocumentEntryPatientId", "$XDSSubmissionSetPatientId",
                                        "$XDSFolderPatientId", "$patientId"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i]) == 0)
            return 1;
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

const char *cg_xca_set_home(cg_pool *pool, const char *xml, size_t len, const char *home,
                            size_t *out_len)
{
    *out_len = len;
    size_t i = 0;
    while (i < len && is_space(xml[i]))
        i++;
    if (i + 1 >= len || xml[i] != '<')
        return xml;
    size_t name = ++i;
    while (i < len && !is_space(xml[i]) && xml[i] != '/' && xml[i] != '>')
        i++;
    size_t name_end = i;
    const char *local = memchr(xml + name, ':', name_end - name);
    local = local ? local + 1 : xml + name;
    size_t local_len = (size_t)(xml + name_end - local);
    static const char *const kinds[] = {"ExtrinsicObject", "RegistryPackage", "ObjectRef"};
    int wanted = 0;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        if (strlen(kinds[k]) == local_len && memcmp(local, kinds[k], local_len) == 0)
            wanted = 1;
    if (!wanted)
        return xml;
    /* the attributes of the start tag: an existing home's value is replaced */
    size_t val = 0, val_end = 0;
    while (i < len) {
        while (i < len && is_space(xml[i]))
            i++;
        if (i >= len || xml[i] == '>' || xml[i] == '/')
            break;
        size_t an = i;
        while (i < len && xml[i] != '=' && !is_space(xml[i]))
            i++;
        size_t an_end = i;
        while (i < len && (is_space(xml[i]) || xml[i] == '='))
            i++;
        if (i >= len || (xml[i] != '"' && xml[i] != '\''))
            return xml; /* not a start tag we wrote: left as it is */
        char q = xml[i++];
        size_t v = i;
        while (i < len && xml[i] != q)
            i++;
        if (i >= len)
            return xml;
        if (an_end - an == 4 && memcmp(xml + an, "home", 4) == 0) {
            val = v;
            val_end = i;
        }
        i++;
    }
    size_t hlen = strlen(home);
    char *out;
    if (val_end > 0) {
        *out_len = len - (val_end - val) + hlen;
        out = cg_pool_alloc(pool, *out_len + 1);
        memcpy(out, xml, val);
        memcpy(out + val, home, hlen);
        memcpy(out + val + hlen, xml + val_end, len - val_end);
    } else {
        static const char attr[] = " home=\"";
        size_t alen = sizeof attr - 1;
        *out_len = len + alen + hlen + 1;
        out = cg_pool_alloc(pool, *out_len + 1);
        memcpy(out, xml, name_end);
        memcpy(out + name_end, attr, alen);
        memcpy(out + name_end + alen, home, hlen);
        out[name_end + alen + hlen] = '"';
        memcpy(out + name_end + alen + hlen + 1, xml + name_end, len - name_end);
    }
    out[*out_len] = '\0';
    return out;
}

/* ---- Initiating Gateway ------------------------------------------------------------------- */

typedef struct partner {
    const cg_xca_community *c;
    size_t nids;
    char **local_ids, **remote_ids; /* the patient id table */
    int missing_home;               /* quirk: answers lacking home get the community's */
    int query_mtom;                 /* quirk: ITI-38 sent as MTOM */
    cg_xds_forward *query, *retrieve;
} partner;

struct cg_xca_ig {
    cg_xca_ig_config cfg;
    partner *p;
    size_t n;
    pthread_mutex_t lock; /* tasks' done/abandoned flags, fan-outs, running */
    pthread_cond_t idle;
    unsigned running; /* calls in flight, some perhaps past their deadline */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


static const char *prop(cg_pool *pool, xmlNodePtr n, const char *name)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    const char *out = cg_pool_strdup(pool, (const char *)v);
    xmlFree(v);
    return out;
}

/* Trimmed text of a child element in the pool, NULL when absent or empty. */
static const char *child_text(cg_pool *pool, xmlNodePtr n, const char *ns, const char *name)
{
    xmlNodePtr c = cg_request_child(n, ns, name, NULL);
    if (!c)
        return NULL;
    xmlChar *t = xmlNodeGetContent(c);
    const char *s = t ? (const char *)t : "";
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    size_t len = strlen(s);
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' ||
                   s[len - 1] == '\n'))
        len--;
    const char *out = len ? cg_pool_strndup(pool, s, len) : NULL;
    xmlFree(t);
    return out;
}

/* The next word of a list separated by white space or commas; NULL at the end. */
static const char *next_word(const char **p, size_t *len)
{
    const char *s = *p + strspn(*p, " \t,");
    if (!*s)
        return NULL;
    *len = strcspn(s, " \t,");
    *p = s + *len;
    return s;
}

static int partner_init(partner *pt, const cg_xca_community *c, unsigned max_idle, cg_err *err)
{
    pt->c = c;
    size_t len;
    for (const char *p = c->quirks ? c->quirks : "", *w; (w = next_word(&p, &len));) {
        if (len == 12 && memcmp(w, "missing_home", 12) == 0)
            pt->missing_home = 1;
        else if (len == 10 && memcmp(w, "query_mtom", 10) == 0)
            pt->query_mtom = 1;
        else
            return cg_err_set(err, CG_EINVAL,
                              "community.%s.quirks: \"%.*s\" is not one (missing_home, query_mtom)",
                              c->name, (int)(len > 64 ? 64 : len), w);
    }
    for (const char *p = c->patient_ids ? c->patient_ids : "", *w; (w = next_word(&p, &len));) {
        const char *eq = memchr(w, '=', len);
        if (!eq || eq == w || eq == w + len - 1 || memchr(eq + 1, '=', (size_t)(w + len - eq - 1)))
            return cg_err_set(err, CG_EINVAL,
                              "community.%s.patient_ids: \"%.*s\" is not local=remote", c->name,
                              (int)(len > 128 ? 128 : len), w);
        pt->local_ids = cg_xrealloc(pt->local_ids, (pt->nids + 1) * sizeof(char *));
        pt->remote_ids = cg_xrealloc(pt->remote_ids, (pt->nids + 1) * sizeof(char *));
        pt->local_ids[pt->nids] = cg_xstrndup(w, (size_t)(eq - w));
        pt->remote_ids[pt->nids] = cg_xstrndup(eq + 1, (size_t)(w + len - eq - 1));
        pt->nids++;
    }
    /* a connection pool per endpoint; the socket timeout ends a call past its deadline */
    int timeout_s = (int)((c->timeout_ms + 999) / 1000) + 1;
    cg_xds_forward_config q = {.url = c->query_url,
                               .timeout_s = timeout_s,
                               .tls_cert = c->tls_cert,
                               .tls_key = c->tls_key,
                               .tls_ca = c->tls_ca,
                               .max_idle = max_idle};
    cg_xds_forward_config r = q;
    r.url = c->retrieve_url ? c->retrieve_url : c->query_url;
    cg_err ferr;
    cg_err_init(&ferr);
    if (cg_xds_forward_new(&pt->query, &q, &ferr) != CG_OK ||
        cg_xds_forward_new(&pt->retrieve, &r, &ferr) != CG_OK)
        return cg_err_set(err, ferr.code, "community.%s: %s", c->name, ferr.msg);
    return CG_OK;
}

int cg_xca_ig_new(cg_xca_ig **out, const cg_xca_ig_config *cfg, cg_err *err)
{
    *out = NULL;
    cg_xca_ig *ig = cg_xcalloc(1, sizeof(*ig));
    ig->cfg = *cfg;
    if (!ig->cfg.max_retrieve)
        ig->cfg.max_retrieve = 100;
    if (!ig->cfg.max_results)
        ig->cfg.max_results = 1000;
    pthread_mutex_init(&ig->lock, NULL);
    pthread_cond_init(&ig->idle, NULL);
    ig->p = cg_xcalloc(cfg->ncommunities ? cfg->ncommunities : 1, sizeof(*ig->p));
    for (size_t i = 0; i < cfg->ncommunities; i++) {
        ig->n++;
        int rc = partner_init(&ig->p[i], &cfg->communities[i],
                              cfg->max_idle ? cfg->max_idle : 4, err);
        if (rc != CG_OK) {
            cg_xca_ig_free(ig);
            return rc;
        }
    }
    *out = ig;
    return CG_OK;
}

void cg_xca_ig_free(cg_xca_ig *ig)
{
    if (!ig)
        return;
    pthread_mutex_lock(&ig->lock);
    while (ig->running > 0)
        pthread_cond_wait(&ig->idle, &ig->lock);
    pthread_mutex_unlock(&ig->lock);
    for (size_t i = 0; i < ig->n; i++) {
        partner *pt = &ig->p[i];
        for (size_t k = 0; k < pt->nids; k++) {
            free(pt->local_ids[k]);
            free(pt->remote_ids[k]);
        }
        free(pt->local_ids);
        free(pt->remote_ids);
        cg_xds_forward_free(pt->query);
        cg_xds_forward_free(pt->retrieve);
    }
    free(ig->p);
    pthread_cond_destroy(&ig->idle);
    pthread_mutex_destroy(&ig->lock);
    free(ig);
}

const char *cg_xca_map_patient(const cg_xca_ig *ig, size_t community, const char *pid)
{
    const partner *pt = &ig->p[community];
    if (pt->nids == 0)
        return pid;
    for (size_t k = 0; k < pt->nids; k++)
        if (strcmp(pt->local_ids[k], pid) == 0)
            return pt->remote_ids[k];
    return NULL;
}

size_t cg_xca_retrieve_batches(const cg_xca_ig *ig, size_t community, size_t n)
{
    unsigned max = ig->p[community].c->max_retrieve ? ig->p[community].c->max_retrieve : 1;
    return (n + max - 1) / max;
}

/* ---- the fan-out: one thread per call, a deadline each -------------------------------------- */

typedef struct fanout {
    pthread_cond_t cond; /* a task is done (with the gateway's lock) */
    unsigned refs;       /* the request and each task not yet freed */
} fanout;

typedef struct task {
    cg_xca_ig *ig;
    fanout *fo;
    partner *p;
    cg_xds_forward *fw;
    const char *action;
    int mtom;
    cg_pool *pool;  /* the task's own: the answer lives here */
    xmlDocPtr body; /* the request sent */
    int64_t deadline;
    size_t first, count; /* retrieve: the DocumentRequests of this batch */
    /* the outcome, read once done */
    int rc;
    cg_err err;
    cg_client_answer ans;
    int done, abandoned;
} task;

static void fanout_release(fanout *fo)
{
    if (--fo->refs == 0) {
        pthread_cond_destroy(&fo->cond);
        free(fo);
    }
}

/* with the gateway's lock */
static void task_free(task *t)
{
    fanout *fo = t->fo;
    xmlFreeDoc(t->body);
    cg_pool_free(t->pool);
    free(t);
    fanout_release(fo);
}

static void *task_run(void *arg)
{
    task *t = arg;
    t->rc = cg_xds_forward_call(t->fw, t->pool, t->action, t->body, NULL, 0, t->mtom, &t->ans,
                                &t->err);
    cg_xca_ig *ig = t->ig;
    pthread_mutex_lock(&ig->lock);
    t->done = 1;
    if (t->abandoned) /* the answer came too late: nobody reads it */
        task_free(t);
    else
        pthread_cond_signal(&t->fo->cond);
    if (--ig->running == 0)
        pthread_cond_broadcast(&ig->idle);
    pthread_mutex_unlock(&ig->lock);
    return NULL;
}

static fanout *fanout_new(void)
{
    fanout *fo = cg_xcalloc(1, sizeof(*fo));
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&fo->cond, &ca);
    pthread_condattr_destroy(&ca);
    fo->refs = 1; /* the request's; each task adds its own */
    return fo;
}

static task *task_new(cg_xca_ig *ig, fanout *fo, partner *p, int retrieve, xmlDocPtr body,
                      cg_pool *pool, int64_t request_deadline)
{
    task *t = cg_xcalloc(1, sizeof(*t));
    t->ig = ig;
    t->fo = fo;
    fo->refs++; /* before any thread runs */
    t->p = p;
    t->fw = retrieve ? p->retrieve : p->query;
    t->action = retrieve ? CG_ACTION_ITI39 : CG_ACTION_ITI38;
    t->mtom = retrieve || p->query_mtom;
    t->pool = pool;
    t->body = body;
    t->deadline = now_ms() + p->c->timeout_ms;
    if (request_deadline > 0 && request_deadline < t->deadline)
        t->deadline = request_deadline;
    cg_err_init(&t->err);
    return t;
}

/* Starts every task (a detached thread each). */
static void fanout_start(cg_xca_ig *ig, task **t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        pthread_t th;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_mutex_lock(&ig->lock);
        ig->running++;
        pthread_mutex_unlock(&ig->lock);
        if (pthread_create(&th, &attr, task_run, t[i]) != 0) {
            pthread_mutex_lock(&ig->lock);
            ig->running--;
            t[i]->rc = cg_err_set(&t[i]->err, CG_EIO, "pthread_create: no thread for the call");
            t[i]->done = 1;
            pthread_mutex_unlock(&ig->lock);
        }
        pthread_attr_destroy(&attr);
    }
}

/* Waits until each task is done or past its deadline; those still running are abandoned (they
 * free themselves). The tasks' done flags are final afterwards. */
static void fanout_wait(cg_xca_ig *ig, fanout *fo, task **t, size_t n)
{
    pthread_mutex_lock(&ig->lock);
    for (;;) {
        int64_t now = now_ms(), wake = INT64_MAX;
        for (size_t i = 0; i < n; i++)
            if (!t[i]->done && now < t[i]->deadline && t[i]->deadline < wake)
                wake = t[i]->deadline;
        if (wake == INT64_MAX)
            break;
        struct timespec ts = cg_clock_after(CLOCK_MONOTONIC, wake - now);
        pthread_cond_timedwait(&fo->cond, &ig->lock, &ts);
    }
    for (size_t i = 0; i < n; i++)
        if (!t[i]->done)
            t[i]->abandoned = 1;
    pthread_mutex_unlock(&ig->lock);
}

/* Frees the tasks that are done and the request's hold on the fan-out. */
static void fanout_end(cg_xca_ig *ig, fanout *fo, task **t, size_t n)
{
    pthread_mutex_lock(&ig->lock);
    for (size_t i = 0; i < n; i++)
        if (!t[i]->abandoned)
            task_free(t[i]);
    fanout_release(fo);
    pthread_mutex_unlock(&ig->lock);
}

/* Why a task has no usable answer (XDSUnavailableCommunity), or NULL when it has one whose
 * body is {ns}name. */
static const char *task_failure(const task *t, cg_pool *pool, const char *ns, const char *name)
{
    if (!t->done)
        return cg_pool_printf(pool, "no answer within %u ms (community.%s.timeout_ms)",
                              t->p->c->timeout_ms, t->p->c->name);
    if (t->rc != CG_OK)
        return cg_pool_printf(pool, "%s", t->err.msg[0] ? t->err.msg : cg_err_name(t->rc));
    if (t->ans.fault)
        return cg_pool_printf(pool, "it answered a SOAP fault (HTTP %d): %.300s",
                              t->ans.http_status,
                              t->ans.fault_reason ? t->ans.fault_reason : "no reason");
    if (!t->ans.envelope)
        return cg_pool_printf(pool, "it answered HTTP %d, not SOAP", t->ans.http_status);
    if (!cg_request_is_el(t->ans.body, ns, name))
        return cg_pool_printf(pool, "it answered <%.100s>, not %s",
                              t->ans.body ? (const char *)t->ans.body->name : "an empty Body",
                              name);
    return NULL;
}

static void unavailable(cg_errlist *errs, const partner *p, const char *why)
{
    cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_UNAVAILABLE_COMMUNITY, p->c->home_community_id,
                   "community %s (%s) did not answer: %s", p->c->name, p->c->home_community_id,
                   why);
}

/* Status of a RegistryResponse-like element: 1 Success, 2 PartialSuccess, 0 Failure, -1 other. */
static int status_of(cg_pool *pool, xmlNodePtr n)
{
    const char *st = prop(pool, n, "status");
    if (!st)
        return -1;
    if (strcmp(st, CG_RS_SUCCESS) == 0)
        return 1;
    if (strcmp(st, CG_RS_PARTIAL) == 0)
        return 2;
    if (strcmp(st, CG_RS_FAILURE) == 0)
        return 0;
    return -1;
}

/* ---- ITI-18 -> ITI-38 ----------------------------------------------------------------------- */

/* A patient id Slot value ('id' or ('id1','id2')) with each id mapped for the community; NULL
 * when the community knows none of them. */
static const char *map_value(const cg_xca_ig *ig, size_t k, const char *v, cg_pool *pool)
{
    size_t len = strlen(v), cap = len * 2 + 64, o = 0, ids = 0, known = 0;
    char *out = cg_pool_alloc(pool, cap);
    for (size_t i = 0; i < len;) {
        if (v[i] != '\'') {
            out[o++] = v[i++];
            continue;
        }
        const char *end = strchr(v + i + 1, '\'');
        if (!end || ++ids > IG_MAX_PATIENT_VALUES)
            return v; /* not a list of quoted ids: the community's registry judges it */
        char *id = cg_pool_strndup(pool, v + i + 1, (size_t)(end - v - i - 1));
        const char *m = cg_xca_map_patient(ig, k, id);
        if (m)
            known++;
        const char *w = m ? m : id;
        size_t wl = strlen(w);
        if (o + wl + 3 + (len - i) >= cap) {
            char *bigger = cg_pool_alloc(pool, cap = cap * 2 + wl + 16);
            memcpy(bigger, out, o);
            out = bigger;
        }
        out[o++] = '\'';
        memcpy(out + o, w, wl);
        o += wl;
        out[o++] = '\'';
        i = (size_t)(end - v) + 1;
    }
    out[o] = '\0';
    return ids > 0 && known == 0 ? NULL : out;
}

/* The ITI-38 request for community k: the consumer's query with AdhocQuery/@home set and the
 * patient ids mapped. NULL when the community does not know the patient. */
static xmlDocPtr query_for(const cg_xca_ig *ig, size_t k, xmlNodePtr body, cg_pool *pool)
{
    xmlDocPtr doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNodePtr root = xmlDocCopyNode(body, doc, 1);
    if (!root) {
        xmlFreeDoc(doc);
        return NULL;
    }
    xmlDocSetRootElement(doc, root);
    xmlNodePtr q = cg_request_child(root, CG_NS_RIM, "AdhocQuery", NULL);
    if (q)
        xmlSetProp(q, (const xmlChar *)"home", (const xmlChar *)ig->p[k].c->home_community_id);
    for (xmlNodePtr s = q ? q->children : NULL; s; s = s->next) {
        if (!cg_request_is_el(s, CG_NS_RIM, "Slot"))
            continue;
        const char *name = prop(pool, s, "name");
        if (!name || !cg_xca_is_patient_param(name))
            continue;
        xmlNodePtr vl = cg_request_child(s, CG_NS_RIM, "ValueList", NULL);
        for (xmlNodePtr v = vl ? vl->children : NULL; v; v = v->next) {
            if (!cg_request_is_el(v, CG_NS_RIM, "Value"))
                continue;
            xmlChar *t = xmlNodeGetContent(v);
            const char *mapped = map_value(ig, k, t ? (const char *)t : "", pool);
            xmlFree(t);
            if (!mapped) {
                xmlFreeDoc(doc);
                return NULL;
            }
            xmlNodeSetContent(v, NULL);
            xmlNodeAddContent(v, (const xmlChar *)mapped);
        }
    }
    return doc;
}

/* An object the answer must say the home of (ITI TF-2b 3.38.4.1.3). */
static int needs_home(xmlNodePtr n)
{
    return n->ns && strcmp((const char *)n->ns->href, CG_NS_RIM) == 0 &&
           (strcmp((const char *)n->name, "ExtrinsicObject") == 0 ||
            strcmp((const char *)n->name, "RegistryPackage") == 0 ||
            strcmp((const char *)n->name, "ObjectRef") == 0);
}

/* One community's AdhocQueryResponse into the merged list; 1 when it answered. */
static int merge_query(const cg_xca_ig *ig, const task *t, xmlNodePtr list, cg_pool *pool,
                       cg_errlist *errs)
{
    const partner *p = t->p;
    const char *why = task_failure(t, pool, CG_NS_QUERY, "AdhocQueryResponse");
    int st = why ? -1 : status_of(pool, t->ans.body);
    if (!why && st < 0)
        why = "its AdhocQueryResponse has no status ITI-38 defines";
    if (why) {
        unavailable(errs, p, why);
        return 0;
    }
    cg_xds_relay_errors(t->ans.body, st == 1, p->c->home_community_id, pool, errs);
    xmlNodePtr objs = cg_request_child(t->ans.body, CG_NS_RIM, "RegistryObjectList", NULL);
    size_t copied = 0, dropped = 0, over = 0;
    const char *first_dropped = NULL;
    for (xmlNodePtr o = objs ? objs->children : NULL; o; o = o->next) {
        if (o->type != XML_ELEMENT_NODE)
            continue;
        if (copied == ig->cfg.max_results) {
            over++;
            continue;
        }
        xmlChar *home = needs_home(o) ? xmlGetProp(o, (const xmlChar *)"home") : NULL;
        if (needs_home(o) && (!home || !*home) && !p->missing_home) {
            if (!dropped++)
                first_dropped = prop(pool, o, "id");
            xmlFree(home);
            continue;
        }
        xmlNodePtr copy = xmlDocCopyNode(o, list->doc, 1);
        if (copy && needs_home(o) && (!home || !*home))
            xmlSetProp(copy, (const xmlChar *)"home", (const xmlChar *)p->c->home_community_id);
        xmlFree(home);
        if (copy) {
            xmlAddChild(list, copy);
            copied++;
        }
    }
    if (dropped)
        cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_MISSING_HOME_COMMUNITY_ID,
                       p->c->home_community_id,
                       "community %s (%s) answered %zu object(s) without the home attribute "
                       "(first: %s); they are left out",
                       p->c->name, p->c->home_community_id, dropped,
                       first_dropped ? first_dropped : "no id");
    if (over)
        cg_errlist_add(errs, CG_IHE_WARNING, CG_XDS_REGISTRY_ERROR, p->c->home_community_id,
                       "community %s answered %zu objects more than the %u relayed",
                       p->c->name, over, ig->cfg.max_results);
    return st > 0;
}

/* The local registry's answer (its objects spliced, ObjectRefs copied); 1 when it answered. */
static int merge_local(const cg_xca_ig *ig, const cg_request *req, cg_response *resp,
                       xmlNodePtr list, cg_errlist *errs)
{
    cg_response local;
    memset(&local, 0, sizeof local);
    cg_svc_stored_query(ig->cfg.local, req, &local, ig->cfg.local_home);
    xmlNodePtr root = local.body ? xmlDocGetRootElement(local.body) : NULL;
    if (!root || local.fault) {
        cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_REGISTRY_ERROR, ig->cfg.local_home,
                       "the local registry gave no answer: %s",
                       local.fault_reason ? local.fault_reason : "none");
        return 0;
    }
    int st = status_of(req->pool, root);
    cg_xds_relay_errors(root, st == 1, ig->cfg.local_home, req->pool, errs);
    xmlNodePtr objs = cg_request_child(root, CG_NS_RIM, "RegistryObjectList", NULL);
    for (xmlNodePtr o = objs ? objs->children : NULL; o; o = o->next)
        if (o->type == XML_ELEMENT_NODE)
            xmlAddChild(list, xmlDocCopyNode(o, list->doc, 1));
    if (local.splice) /* the stored objects, as they are: first in the list */
        cg_response_splice(resp, list, local.splice, local.nsplice);
    return st > 0;
}

static void query_answer(const cg_request *req, cg_response *resp, xmlDocPtr doc,
                         cg_errlist *errs, int answered)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNodePtr list = cg_request_child(root, CG_NS_RIM, "RegistryObjectList", NULL);
    if (errs->errors > 0 && !answered) /* a failed query answers no objects */
        for (xmlNodePtr c = list->children, next; c; c = next) {
            next = c->next;
            xmlUnlinkNode(c);
            xmlFreeNode(c);
        }
    if (errs->errors > 0 && !answered) {
        resp->splice = NULL;
        resp->nsplice = 0;
    }
    xmlSetProp(root, (const xmlChar *)"status",
               (const xmlChar *)cg_errlist_status(errs, answered));
    cg_ebrim_write_errors(root, errs);
    resp->action = CG_ACTION_ITI18_RESPONSE;
    resp->body = doc;
}

int cg_svc_ig_query(void *ctx, const cg_request *req, cg_response *resp)
{
    cg_xca_ig *ig = ctx;
    if (!cg_request_is_el(req->body, CG_NS_QUERY, "AdhocQueryRequest"))
        return cg_response_wrong_body(resp, req, CG_NS_QUERY, "AdhocQueryRequest");
    cg_errlist errs;
    cg_errlist_init(&errs, req->pool);
    xmlNodePtr list;
    xmlDocPtr doc = cg_ebrim_query_response(req->pool, &list);
    int answered = 0;

    xmlNodePtr q = cg_request_child(req->body, CG_NS_RIM, "AdhocQuery", NULL);
    const char *home = q ? prop(req->pool, q, "home") : NULL;
    if (home && !*home)
        home = NULL;
    int has_patient = 0;
    for (xmlNodePtr s = q ? q->children : NULL; s; s = s->next)
        if (cg_request_is_el(s, CG_NS_RIM, "Slot")) {
            const char *name = prop(req->pool, s, "name");
            has_patient |= name && cg_xca_is_patient_param(name);
        }
    if (!q) {
        cg_errlist_add(&errs, CG_IHE_ERROR, CG_XDS_REGISTRY_ERROR, NULL,
                       "AdhocQueryRequest has no rim:AdhocQuery");
        goto reply;
    }
    /* ITI TF-2b 3.38.4.1.2: a query without a patient id goes to the community it names */
    if (!home && !has_patient) {
        cg_errlist_add(&errs, CG_IHE_ERROR, CG_XDS_MISSING_HOME_COMMUNITY_ID, NULL,
                       "a query without a patient id must name its community in "
                       "AdhocQuery/@home");
        goto reply;
    }
    int local = ig->cfg.local && (!home || (ig->cfg.local_home &&
                                            strcmp(home, ig->cfg.local_home) == 0));
    task **tasks = cg_pool_calloc(req->pool, ig->n ? ig->n : 1, sizeof(*tasks));
    size_t n = 0, named = 0;
    for (size_t k = 0; k < ig->n; k++)
        if (!home || strcmp(home, ig->p[k].c->home_community_id) == 0)
            named++;
    if (home && !named && !local) {
        cg_errlist_add(&errs, CG_IHE_ERROR, CG_XDS_UNKNOWN_COMMUNITY, home,
                       "community %.200s is not in this gateway's directory", home);
        goto reply;
    }
    fanout *fo = fanout_new();
    for (size_t k = 0; k < ig->n; k++) {
        if (home && strcmp(home, ig->p[k].c->home_community_id) != 0)
            continue;
        cg_pool *tp = cg_pool_new(0);
        xmlDocPtr body = query_for(ig, k, req->body, tp);
        if (!body) { /* the community does not know the patient: not asked */
            cg_pool_free(tp);
            continue;
        }
        tasks[n++] = task_new(ig, fo, &ig->p[k], 0, body, tp, req->deadline_ms);
    }
    fanout_start(ig, tasks, n);
    if (local) /* while the communities work */
        answered |= merge_local(ig, req, resp, list, &errs);
    fanout_wait(ig, fo, tasks, n);
    for (size_t i = 0; i < n; i++)
        answered |= merge_query(ig, tasks[i], list, req->pool, &errs);
    fanout_end(ig, fo, tasks, n);
reply:
    query_answer(req, resp, doc, &errs, answered);
    return CG_OK;
}

/* ---- ITI-43 -> ITI-39 ----------------------------------------------------------------------- */

/* One DocumentRequest of the consumer's ITI-43, and where it goes (-1: the local repository). */
typedef struct doc_req {
    xmlNodePtr node;
    long partner;
} doc_req;

/* The bytes of the Document element of a DocumentResponse, copied into pool; NULL with why. */
static const unsigned char *document_bytes(const task *t, xmlNodePtr doc, cg_pool *pool,
                                           size_t *len, const char **why)
{
    cg_request fake;
    memset(&fake, 0, sizeof fake);
    fake.pool = t->pool;
    fake.parts = t->ans.parts;
    fake.nparts = t->ans.nparts;
    const unsigned char *data = NULL;
    char sha1[CG_SHA1_HEX_LEN + 1];
    cg_err err;
    cg_err_init(&err);
    if (cg_request_content(&fake, doc, &data, len, sha1, &err) != CG_OK) {
        *why = cg_pool_strdup(pool, err.msg);
        return NULL;
    }
    unsigned char *copy = cg_pool_alloc(pool, *len ? *len : 1);
    memcpy(copy, data, *len);
    return copy;
}

/* A DocumentResponse into the answer, its document as a part of ours. */
static void add_document(xmlNodePtr root, cg_response *resp, cg_pool *pool, xmlNodePtr dr,
                         const unsigned char *data, size_t len, const char *home_fill)
{
    xmlNodePtr copy = xmlDocCopyNode(dr, root->doc, 1);
    if (!copy)
        return;
    xmlAddChild(root, copy);
    xmlNsPtr xdsb = xmlSearchNsByHref(root->doc, copy, (const xmlChar *)CG_NS_XDSB);
    if (home_fill && !cg_request_child(copy, CG_NS_XDSB, "HomeCommunityId", NULL)) {
        xmlNodePtr h = xmlNewDocNode(root->doc, xdsb, (const xmlChar *)"HomeCommunityId",
                                     (const xmlChar *)home_fill);
        if (copy->children)
            xmlAddPrevSibling(copy->children, h);
        else
            xmlAddChild(copy, h);
    }
    xmlNodePtr d = cg_request_child(copy, CG_NS_XDSB, "Document", NULL);
    const char *mime = child_text(pool, copy, CG_NS_XDSB, "mimeType");
    const char *cid = cg_response_add_part(resp, pool, mime, data, len);
    xmlNodeSetContent(d, NULL);
    xmlNsPtr xop = xmlSearchNsByHref(root->doc, root, (const xmlChar *)CG_NS_XOP);
    xmlNodePtr inc = xmlNewChild(d, xop, (const xmlChar *)"Include", NULL);
    xmlNewProp(inc, (const xmlChar *)"href",
               (const xmlChar *)cg_pool_printf(pool, "cid:%s", cid));
}

/* One batch's RetrieveDocumentSetResponse into the answer; the documents it carried. */
static size_t merge_retrieve(const task *t, xmlNodePtr root, cg_response *resp, cg_pool *pool,
                             cg_errlist *errs)
{
    const partner *p = t->p;
    const char *why = task_failure(t, pool, CG_NS_XDSB, "RetrieveDocumentSetResponse");
    xmlNodePtr rr = why ? NULL : cg_request_child(t->ans.body, CG_NS_RS, "RegistryResponse", NULL);
    int st = rr ? status_of(pool, rr) : -1;
    if (!why && st < 0)
        why = "its RetrieveDocumentSetResponse has no RegistryResponse status ITI-39 defines";
    if (why) {
        unavailable(errs, p, cg_pool_printf(pool, "%s (%zu document(s) asked)", why, t->count));
        return 0;
    }
    cg_xds_relay_errors(rr, st == 1, p->c->home_community_id, pool, errs);
    size_t found = 0;
    for (xmlNodePtr dr = t->ans.body->children; dr; dr = dr->next) {
        if (!cg_request_is_el(dr, CG_NS_XDSB, "DocumentResponse"))
            continue;
        const char *uid = child_text(pool, dr, CG_NS_XDSB, "DocumentUniqueId");
        const char *home = child_text(pool, dr, CG_NS_XDSB, "HomeCommunityId");
        if (!home && !p->missing_home) {
            cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_MISSING_HOME_COMMUNITY_ID,
                           p->c->home_community_id,
                           "community %s (%s) answered DocumentResponse %s without "
                           "HomeCommunityId; it is left out",
                           p->c->name, p->c->home_community_id, uid ? uid : "?");
            continue;
        }
        xmlNodePtr d = cg_request_child(dr, CG_NS_XDSB, "Document", NULL);
        size_t len = 0;
        const unsigned char *data = d ? document_bytes(t, d, pool, &len, &why) : NULL;
        if (!data) {
            cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_REPOSITORY_ERROR, p->c->home_community_id,
                           "community %s answered document %s without its content: %s",
                           p->c->name, uid ? uid : "?", d ? why : "no Document element");
            continue;
        }
        add_document(root, resp, pool, dr, data, len, home ? NULL : p->c->home_community_id);
        found++;
    }
    return found;
}

/* The local repository's documents: its own ITI-43 over those DocumentRequests. */
static size_t merge_local_retrieve(const cg_xca_ig *ig, const cg_request *req,
                                   cg_response *resp, const doc_req *dq, size_t n,
                                   cg_errlist *errs)
{
    xmlDocPtr body = xmlNewDoc((const xmlChar *)"1.0");
    cg_ebrim_pool_doc(req->pool, body);
    xmlNodePtr broot = xmlNewDocNode(body, NULL, (const xmlChar *)"RetrieveDocumentSetRequest",
                                     NULL);
    xmlSetNs(broot, xmlNewNs(broot, (const xmlChar *)CG_NS_XDSB, (const xmlChar *)"xdsb"));
    xmlDocSetRootElement(body, broot);
    for (size_t i = 0; i < n; i++)
        if (dq[i].partner < 0)
            xmlAddChild(broot, xmlDocCopyNode(dq[i].node, body, 1));
    cg_request sub = *req;
    sub.body = broot;
    cg_response local;
    memset(&local, 0, sizeof local);
    cg_svc_retrieve(ig->cfg.local, &sub, &local, NULL);
    xmlNodePtr root = local.body ? xmlDocGetRootElement(local.body) : NULL;
    xmlNodePtr rr = root ? cg_request_child(root, CG_NS_RS, "RegistryResponse", NULL) : NULL;
    if (!rr) {
        cg_errlist_add(errs, CG_IHE_ERROR, CG_XDS_REPOSITORY_ERROR, ig->cfg.local_home,
                       "the local repository gave no answer");
        return 0;
    }
    cg_xds_relay_errors(rr, status_of(req->pool, rr) == 1, ig->cfg.local_home, req->pool, errs);
    size_t found = 0;
    for (xmlNodePtr dr = root->children; dr; dr = dr->next) {
        if (!cg_request_is_el(dr, CG_NS_XDSB, "DocumentResponse"))
            continue;
        xmlNodePtr d = cg_request_child(dr, CG_NS_XDSB, "Document", NULL);
        xmlNodePtr inc = d ? cg_request_child(d, CG_NS_XOP, "Include", NULL) : NULL;
        const char *href = inc ? prop(req->pool, inc, "href") : NULL;
        for (size_t i = 0; href && i < local.nparts; i++)
            if (strcmp(href + 4, local.parts[i].content_id) == 0) {
                add_document(xmlDocGetRootElement(resp->body), resp, req->pool, dr,
                             local.parts[i].data, local.parts[i].len, ig->cfg.local_home);
                found++;
            }
    }
    return found;
}

int cg_svc_ig_retrieve(void *ctx, const cg_request *req, cg_response *resp)
{
    cg_xca_ig *ig = ctx;
    if (!cg_request_is_el(req->body, CG_NS_XDSB, "RetrieveDocumentSetRequest"))
        return cg_response_wrong_body(resp, req, CG_NS_XDSB, "RetrieveDocumentSetRequest");
    cg_errlist errs;
    cg_errlist_init(&errs, req->pool);
    xmlDocPtr doc = xmlNewDoc((const xmlChar *)"1.0");
    cg_ebrim_pool_doc(req->pool, doc);
    xmlNodePtr root = xmlNewDocNode(doc, NULL, (const xmlChar *)"RetrieveDocumentSetResponse", NULL);
    xmlNsPtr xdsb = xmlNewNs(root, (const xmlChar *)CG_NS_XDSB, (const xmlChar *)"xdsb");
    xmlSetNs(root, xdsb);
    xmlNewNs(root, (const xmlChar *)CG_NS_XOP, (const xmlChar *)"xop");
    xmlDocSetRootElement(doc, root);
    resp->body = doc;
    xmlNodePtr rr = xmlNewChild(root, NULL, (const xmlChar *)"RegistryResponse", NULL);
    xmlSetNs(rr, xmlNewNs(rr, (const xmlChar *)CG_NS_RS, (const xmlChar *)"rs"));

    /* each DocumentRequest to its community */
    doc_req *dq = NULL;
    size_t n = 0, cap = 0, nlocal = 0, found = 0;
    for (xmlNodePtr c = req->body->children; c; c = c->next) {
        if (!cg_request_is_el(c, CG_NS_XDSB, "DocumentRequest"))
            continue;
        if (n == ig->cfg.max_retrieve) {
            cg_errlist_add(&errs, CG_IHE_ERROR, CG_XDS_REPOSITORY_OUT_OF_RESOURCES, NULL,
                           "more than %u DocumentRequests in one request", ig->cfg.max_retrieve);
            break;
        }
        const char *home = child_text(req->pool, c, CG_NS_XDSB, "HomeCommunityId");
        const char *uid = child_text(req->pool, c, CG_NS_XDSB, "DocumentUniqueId");
        long where = -2;
        if (ig->cfg.local && (!home || (ig->cfg.local_home &&
                                        strcmp(home, ig->cfg.local_home) == 0)))
            where = -1;
        for (size_t k = 0; home && where == -2 && k < ig->n; k++)
            if (strcmp(home, ig->p[k].c->home_community_id) == 0)
                where = (long)k;
        if (where == -2) {
            cg_errlist_add(&errs, CG_IHE_ERROR,
                           home ? CG_XDS_UNKNOWN_COMMUNITY : CG_XDS_MISSING_HOME_COMMUNITY_ID,
                           home, home ? "document %s: community %.200s is not in this gateway's "
                                        "directory"
                                      : "document %s: the DocumentRequest lacks HomeCommunityId%s",
                           uid ? uid : "?", home ? home : "");
            continue;
        }
        dq = cg_pool_grow(req->pool, dq, &cap, n + 1, sizeof(*dq));
        dq[n++] = (doc_req){c, where};
        nlocal += where == -1;
    }
    if (n == 0 && errs.count == 0)
        cg_errlist_add(&errs, CG_IHE_ERROR, CG_XDS_REPOSITORY_ERROR, NULL,
                       "RetrieveDocumentSetRequest holds no DocumentRequest");

    /* per community, batches of at most its max_retrieve DocumentRequests */
    fanout *fo = fanout_new();
    task **tasks = cg_pool_calloc(req->pool, n ? n : 1, sizeof(*tasks));
    size_t nt = 0;
    for (size_t k = 0; k < ig->n; k++) {
        task *t = NULL;
        for (size_t i = 0; i < n; i++) {
            if (dq[i].partner != (long)k)
                continue;
            if (!t || t->count == ig->p[k].c->max_retrieve) {
                cg_pool *tp = cg_pool_new(0);
                xmlDocPtr body = xmlNewDoc((const xmlChar *)"1.0");
                xmlNodePtr broot = xmlNewDocNode(body, NULL,
                                                 (const xmlChar *)"RetrieveDocumentSetRequest", NULL);
                xmlSetNs(broot, xmlNewNs(broot, (const xmlChar *)CG_NS_XDSB,
                                         (const xmlChar *)"xdsb"));
                xmlDocSetRootElement(body, broot);
                t = tasks[nt++] = task_new(ig, fo, &ig->p[k], 1, body, tp, req->deadline_ms);
                t->first = i;
            }
            xmlAddChild(xmlDocGetRootElement(t->body), xmlDocCopyNode(dq[i].node, t->body, 1));
            t->count++;
        }
    }
    fanout_start(ig, tasks, nt);
    if (nlocal) /* while the communities work */
        found += merge_local_retrieve(ig, req, resp, dq, n, &errs);
    fanout_wait(ig, fo, tasks, nt);
    for (size_t i = 0; i < nt; i++)
        found += merge_retrieve(tasks[i], root, resp, req->pool, &errs);
    fanout_end(ig, fo, tasks, nt);

    xmlSetProp(rr, (const xmlChar *)"status", (const xmlChar *)cg_errlist_status(&errs, found > 0));
    cg_ebrim_write_errors(rr, &errs);
    resp->action = CG_ACTION_ITI43_RESPONSE;
    resp->mtom = 1;
    return CG_OK;
}
