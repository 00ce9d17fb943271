/* xpath_scan: see xpath_scan.h. */
#include "xml/xpath_scan.h"

#include <ctype.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"

void
cg_strv_push(cg_strv *sv, char *owned)
{
    sv->v = cg_xgrow(sv->v, &sv->cap, sv->n + 1, sizeof *sv->v);
    sv->v[sv->n++] = owned;
}

void
cg_strv_dispose(cg_strv *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    sv->v = NULL;
    sv->n = sv->cap = 0;
}

size_t
cg_xpath_skip(const char *s, size_t i)
{
    size_t len = strlen(s);
    char c = s[i];
    if (c == '\'' || c == '"') {
        const char *end = strchr(s + i + 1, c);
        return end ? (size_t)(end - s) + 1 : len;
    }
    if (c == '(' || c == '[') {
        char close = c == '(' ? ')' : ']';
        size_t j = i + 1;
        while (j < len && s[j] != close)
            j = cg_xpath_skip(s, j);
        return j < len ? j + 1 : len;
    }
    return i + 1;
}

static int
enclosed_by_parens(const char *s, size_t len)
{
    if (len < 2 || s[0] != '(' || s[len - 1] != ')')
        return 0;
    char *copy = cg_xstrndup(s, len);
    size_t end = cg_xpath_skip(copy, 0);
    free(copy);
    return end == len;
}

char *
cg_xpath_trim(const char *s, size_t len)
{
    for (;;) {
        while (len > 0 && isspace((unsigned char)*s)) {
            s++;
            len--;
        }
        while (len > 0 && isspace((unsigned char)s[len - 1]))
            len--;
        if (!enclosed_by_parens(s, len))
            break;
        s++;
        len -= 2;
    }
    return cg_xstrndup(s, len);
}

void
cg_xpath_split_char(cg_strv *out, const char *expr, char sep)
{
    size_t start = 0, i = 0, len = strlen(expr);
    while (i < len) {
        if (expr[i] == sep) {
            cg_strv_push(out, cg_xpath_trim(expr + start, i - start));
            start = ++i;
            continue;
        }
        i = cg_xpath_skip(expr, i);
    }
    cg_strv_push(out, cg_xpath_trim(expr + start, len - start));
}

static int
is_name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.' || c == ':';
}

void
cg_xpath_split_word(cg_strv *out, const char *expr, const char *word)
{
    size_t start = 0, i = 0, len = strlen(expr), wl = strlen(word);
    while (i < len) {
        if (strncmp(expr + i, word, wl) == 0 && (i == 0 || !is_name_char(expr[i - 1])) &&
            (i + wl >= len || !is_name_char(expr[i + wl])) && i > start) {
            /* An operator needs an operand before it: "and" right after '/' or '@' is a name. */
            size_t k = i;
            while (k > start && isspace((unsigned char)expr[k - 1]))
                k--;
            char prev = k > start ? expr[k - 1] : '\0';
            if (prev != '/' && prev != '@' && prev != ':' && prev != '(' && prev != '[' &&
                prev != ',') {
                cg_strv_push(out, cg_xpath_trim(expr + start, i - start));
                i += wl;
                start = i;
                continue;
            }
        }
        i = cg_xpath_skip(expr, i);
    }
    cg_strv_push(out, cg_xpath_trim(expr + start, len - start));
}

static void
push_step(cg_xpath_path *p, const char *sep, const char *text, size_t len)
{
    p->steps = cg_xgrow(p->steps, &p->cap, p->n + 1, sizeof *p->steps);
    cg_xpath_step *st = &p->steps[p->n++];
    memset(st, 0, sizeof *st);
    snprintf(st->sep, sizeof st->sep, "%s", sep);
    /* the node test runs to the first top-level '[' */
    size_t i = 0;
    char *copy = cg_xstrndup(text, len);
    while (i < len && copy[i] != '[')
        i = cg_xpath_skip(copy, i);
    st->test = cg_xpath_trim(copy, i);
    while (i < len) {
        size_t end = cg_xpath_skip(copy, i);
        if (copy[i] == '[' && end >= i + 2)
            cg_strv_push(&st->preds, cg_xpath_trim(copy + i + 1, end - i - 2));
        i = end;
    }
    free(copy);
}

int
cg_xpath_split_steps(cg_xpath_path *out, const char *alt)
{
    size_t len = strlen(alt), i = 0, start = 0;
    char sep[3] = "";
    memset(out, 0, sizeof *out);
    if (len == 0)
        return -1;
    if (alt[0] == '/') {
        if (alt[1] == '/') {
            snprintf(sep, sizeof sep, "//");
            i = 2;
        } else {
            snprintf(sep, sizeof sep, "/");
            i = 1;
        }
        start = i;
    }
    while (i <= len) {
        if (i == len || alt[i] == '/') {
            if (i == start) {
                if (i == len && out->n == 0 && strcmp(sep, "/") == 0) {
                    push_step(out, "/", "", 0); /* the root pattern "/" */
                    return 0;
                }
                cg_xpath_path_dispose(out);
                return -1;
            }
            push_step(out, sep, alt + start, i - start);
            if (i == len)
                break;
            if (alt[i + 1] == '/') {
                snprintf(sep, sizeof sep, "//");
                i += 2;
            } else {
                snprintf(sep, sizeof sep, "/");
                i += 1;
            }
            start = i;
            continue;
        }
        char c = alt[i];
        if (c == '(' && i > start) {
            /* only node tests such as text() or node() may carry parentheses in a step */
            size_t end = cg_xpath_skip(alt, i);
            i = end;
            continue;
        }
        if (c == '(' || c == '|' || c == '$' || c == '=' || c == '<' || c == '>' || c == ',') {
            cg_xpath_path_dispose(out);
            return -1;
        }
        i = cg_xpath_skip(alt, i);
    }
    return 0;
}

void
cg_xpath_path_dispose(cg_xpath_path *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->steps[i].test);
        cg_strv_dispose(&p->steps[i].preds);
    }
    free(p->steps);
    memset(p, 0, sizeof *p);
}

int
cg_xpath_is_qname(const char *s)
{
    int colons = 0;
    if (*s == '\0' || !(isalpha((unsigned char)*s) || *s == '_'))
        return 0;
    for (const char *p = s; *p; p++) {
        if (*p == ':') {
            if (++colons > 1 || p[1] == '\0' || !(isalpha((unsigned char)p[1]) || p[1] == '_'))
                return 0;
        } else if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '.'))
            return 0;
    }
    return 1;
}
