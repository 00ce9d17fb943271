/* Tests src/render/render.c: the link rule at its edges (case, controls, invisible characters,
 * long relative paths), the stylesheet loaded once and run from several threads with the same
 * page each time, escaping and the allow-lists on a hostile document, identifier masking,
 * labels by language, and every refusal: not CDA, not well-formed, entity declarations, the
 * document size limit at the limit and one byte past it, the page's size cap, bad options. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/render.h"
#include "unit.h"
#include "util/alloc.h"

#define CDA_OPEN "<ClinicalDocument xmlns=\"urn:hl7-org:v3\">"
#define DOC(body)                                                                                  \
    CDA_OPEN "<title>Discharge &amp; summary</title><effectiveTime value=\"20240315\"/>"         \
             "<recordTarget><patientRole><id root=\"1.2.3\" extension=\"MRN0012345678\"/>"          \
             "<patient><name><given>Ann</given><family>Lee</family></name>"                      \
             "<birthTime value=\"19800316\"/></patient></patientRole></recordTarget>"             \
             "<component><structuredBody><component><section><title>Plan</title><text>" body      \
             "</text></section></component></structuredBody></component></ClinicalDocument>"

static cg_render *renderer;

static int suite_init(void)
{
    cg_err err;
    cg_err_init(&err);
    if (cg_render_open(&renderer, CG_SRCDIR "/xslt", &err) != CG_OK) {
        fprintf(stderr, "cg_render_open: %s\n", err.msg);
        return 1;
    }
    return 0;
}

static int suite_clean(void)
{
    cg_render_free(renderer);
    renderer = NULL;
    return 0;
}

/* Renders text; returns the status, the page in out (caller disposes). */
static int render(cg_buf *out, const char *text, const cg_render_options *opt, cg_err *err)
{
    cg_buf_init(out, CG_RENDER_MAX_HTML);
    cg_err_init(err);
    return cg_render_bytes(renderer, text, strlen(text), "test.xml", NULL, opt, out, err);
}

static void test_url_rule(void)
{
    static const char *const ok[] = {"http://example.org/", "HTTPS://example.org/a?b=c",
                                     "mailto:a@example.org", "tel:+1-555-0100", "#sec1",
                                     "relative/path.html", "?q=1", "a/b:c", "page#frag:x",
                                     "documents/a-very-long-relative-name-without-colon",
                                     " \thttp://example.org/", NULL};
    static const char *const bad[] = {"javascript:alert(1)", "JaVaScRiPt:alert(1)",
                                      " java\tscript:alert(1)", "java\nscript:x", "\x01javascript:x",
                                      "\x7fjavascript:x", "\xc2\xa0javascript:x",
                                      "\xe2\x80\x8bjavascript:x", "\xef\xbb\xbfjavascript:x",
                                      "vbscript:x", "data:text/html,<script>", "DATA:image/png,x",
                                      "file:///etc/passwd", "ftp://x/", "", " \t\n",
                                      "averyveryverylongscheme:x", NULL};
    for (const char *const *p = ok; *p; p++) {
        if (!cg_render_url_ok(*p))
            fprintf(stderr, "refused: %s\n", *p);
        CU_ASSERT(cg_render_url_ok(*p));
    }
    for (const char *const *p = bad; *p; p++) {
        if (cg_render_url_ok(*p))
            fprintf(stderr, "allowed: %s\n", *p);
        CU_ASSERT(!cg_render_url_ok(*p));
    }
}

static void test_open_missing(void)
{
    cg_render *r = NULL;
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_render_open(&r, "/nonexistent-cdagate-dir", &err), CG_EIO);
    CU_ASSERT_PTR_NULL(r);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "cda2html.xsl"));
}

static void test_page(void)
{
    cg_buf out;
    cg_err err;
    CU_ASSERT_EQUAL_FATAL(
        render(&out, DOC("<paragraph>Walk <content styleCode=\"Bold\">daily</content></paragraph>"),
               NULL, &err),
        CG_OK);
    CU_ASSERT(strncmp(out.data, "<!DOCTYPE html>", 15) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.data, "<title>Discharge &amp; summary</title>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.data, "<span class=\"cg-s-bold\">daily</span>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.data, "15 Mar 2024"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.data, "(age 43 years)")); /* the day before the birthday */
    CU_ASSERT_PTR_NOT_NULL(strstr(out.data, "MRN0012345678"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.data, ">Contents<"));
    cg_buf_dispose(&out);
}

static void test_mask_and_lang(void)
{
    cg_buf out;
    cg_err err;
    cg_render_options opt = {.lang = "fr", .mask_ids = 1, .css_nonce = "abc123+/="};
    CU_ASSERT_EQUAL_FATAL(render(&out, DOC("<paragraph>x</paragraph>"), &opt, &err), CG_OK);
    CU_ASSERT_PTR_NULL(strstr(out.data, "MRN0012345678"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.data, "*********5678"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.data, ">Sommaire<"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.data, "mars 2024"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.data, "<style nonce=\"abc123+/=\">"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.data, "<html lang=\"fr\">"));
    cg_buf_dispose(&out);
}

static void test_hostile(void)
{
    cg_buf out;
    cg_err err;
    const char *doc = DOC(
        "<paragraph onclick=\"alert(1)\" style=\"x\">A <linkHtml href=\" JaVa&#9;ScRiPt:alert(2)\">"
        "bad</linkHtml> <linkHtml href=\"https://ok.example/\">good</linkHtml></paragraph>"
        "<script xmlns=\"http://www.w3.org/1999/xhtml\">alert(3)</script>"
        "<table onmouseover=\"alert(4)\" border=\"1\" width=\"expression(alert(5))\">"
        "<tr><th>H</th><td colspan=\"2&quot; onclick=&quot;x\">&lt;img src=x&gt;</td></tr></table>");
    CU_ASSERT_EQUAL_FATAL(render(&out, doc, NULL, &err), CG_OK);
    CU_ASSERT_PTR_NULL(strstr(out.data, "<script"));
    CU_ASSERT_PTR_NULL(strstr(out.data, "onclick"));
    CU_ASSERT_PTR_NULL(strstr(out.data, "onmouseover"));
    CU_ASSERT_PTR_NULL(strstr(out.data, "expression"));
    CU_ASSERT_PTR_NULL(strstr(out.data, "style=\""));
    CU_ASSERT_PTR_NULL(strstr(out.data, "ScRiPt:alert(2)\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.data, "<a href=\"https://ok.example/\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.data, "alert(3)"));       /* kept, as inert text */
    CU_ASSERT_PTR_NOT_NULL(strstr(out.data, "&lt;img src=x&gt;")); /* escaped */
    CU_ASSERT_PTR_NOT_NULL(strstr(out.data, "<th scope=\"row\">H</th>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.data, "<table class=\"cg-table\" border=\"1\">"));
    cg_buf_dispose(&out);
}

static void test_refusals(void)
{
    cg_buf out;
    cg_err err;
    CU_ASSERT_EQUAL(render(&out, "<html><body/></html>", NULL, &err), CG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not a CDA document"));
    CU_ASSERT_EQUAL(out.len, 0);
    cg_buf_dispose(&out);
    CU_ASSERT_EQUAL(render(&out, "<ClinicalDocument xmlns='urn:hl7-org:v3'>", NULL, &err),
                    CG_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not well-formed"));
    cg_buf_dispose(&out);
    CU_ASSERT_EQUAL(render(&out,
                           "<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>" CDA_OPEN
                           "<title>&e;</title></ClinicalDocument>",
                           NULL, &err),
                    CG_EUNSAFE);
    cg_buf_dispose(&out);
    cg_render_options bad = {.lang = "en'or'1"};
    CU_ASSERT_EQUAL(render(&out, DOC("x"), &bad, &err), CG_EINVAL);
    cg_buf_dispose(&out);
}

static void test_limits(void)
{
    const char *doc = DOC("<paragraph>limit</paragraph>");
    size_t len = strlen(doc);
    cg_xml_limits lim;
    cg_xml_limits_default(&lim);
    lim.max_bytes = len;
    cg_buf out;
    cg_buf_init(&out, CG_RENDER_MAX_HTML);
    cg_err err;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_render_bytes(renderer, doc, len, "t", &lim, NULL, &out, &err), CG_OK);
    lim.max_bytes = len - 1;
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_render_bytes(renderer, doc, len, "t", &lim, NULL, &out, &err), CG_ETOOBIG);
    size_t page = out.len;
    cg_buf_dispose(&out);
    /* the page's cap: exactly its size fits, one byte less does not */
    cg_buf_init(&out, page);
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_render_bytes(renderer, doc, len, "t", NULL, NULL, &out, &err), CG_OK);
    cg_buf_dispose(&out);
    cg_buf_init(&out, page - 1);
    cg_err_init(&err);
    CU_ASSERT_EQUAL(cg_render_bytes(renderer, doc, len, "t", NULL, NULL, &out, &err), CG_ETOOBIG);
    cg_buf_dispose(&out);
}

#define THREADS 4
#define ROUNDS 10

typedef struct thread_job {
    const char *expected;
    int mismatches;
} thread_job;

static void *render_many(void *arg)
{
    thread_job *j = arg;
    for (int i = 0; i < ROUNDS; i++) {
        cg_buf out;
        cg_err err;
        if (render(&out, DOC("<list><item>one</item></list>"), NULL, &err) != CG_OK ||
            strcmp(out.data, j->expected) != 0)
            j->mismatches++;
        cg_buf_dispose(&out);
    }
    return NULL;
}

static void test_threads(void)
{
    cg_buf first;
    cg_err err;
    CU_ASSERT_EQUAL_FATAL(render(&first, DOC("<list><item>one</item></list>"), NULL, &err), CG_OK);
    pthread_t t[THREADS];
    thread_job jobs[THREADS];
    for (int i = 0; i < THREADS; i++) {
        jobs[i] = (thread_job){first.data, 0};
        pthread_create(&t[i], NULL, render_many, &jobs[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        CU_ASSERT_EQUAL(jobs[i].mismatches, 0);
    }
    cg_buf_dispose(&first);
}

void cg_test_register_render(void)
{
    CU_pSuite s = CU_add_suite("render", suite_init, suite_clean);
    CU_add_test(s, "link rule: allowed schemes, relative, tricks refused", test_url_rule);
    CU_add_test(s, "no stylesheet in the directory: CG_EIO naming it", test_open_missing);
    CU_add_test(s, "a page: title, styleCode class, dates, age, contents", test_page);
    CU_add_test(s, "mask-ids, French labels and dates, CSS nonce", test_mask_and_lang);
    CU_add_test(s, "hostile narrative: inert text, no events, links checked", test_hostile);
    CU_add_test(s, "not CDA, not well-formed, entities, bad options refused", test_refusals);
    CU_add_test(s, "document size and page size limits, at and one past", test_limits);
    CU_add_test(s, "one stylesheet, four threads, the same page", test_threads);
}
