/* format: the value shapes of XDS metadata (see format.h). */
#include "registry/format.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util/id.h"

/* The value of n decimal digits (checked by the caller). */
static int
num(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

int
cg_format_is_dtm(const char *s)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    size_t len = strlen(s);
    if (len < 4 || len > 14 || len % 2 != 0)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    int year = num(s, 4);
    int month = len >= 6 ? num(s + 4, 2) : 1;
    if (month < 1 || month > 12)
        return 0;
    if (len >= 8) {
        int day = num(s + 6, 2);
        int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        if (day < 1 || day > mdays[month - 1] || (month == 2 && day == 29 && !leap))
            return 0;
    }
    if ((len >= 10 && num(s + 8, 2) > 23) || (len >= 12 && num(s + 10, 2) > 59) ||
        (len >= 14 && num(s + 12, 2) > 59))
        return 0;
    return 1;
}

/* An HL7 ST value inside a CX component: printable, no delimiters, no edge spaces. */
static int
cx_id(const char *s, size_t n)
{
    if (n == 0 || s[0] == ' ' || s[n - 1] == ' ')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || strchr("^&~\\|", c) != NULL)
            return 0;
    }
    return 1;
}

static int
why_set(char *why, size_t whylen, const char *text)
{
    if (why != NULL && whylen > 0)
        snprintf(why, whylen, "%s", text);
    return 0;
}

int
cg_format_cx_why(const char *s, char *why, size_t whylen)
{
    if (*s == '\0')
        return why_set(why, whylen, "the patient id is empty");
    if (strlen(s) > CG_FORMAT_PATIENT_ID_MAX)
        return why_set(why, whylen, "longer than 256 characters");
    const char *sep = strstr(s, "^^^&");
    if (sep == NULL)
        return why_set(why, whylen, "not of the form ID^^^&OID&ISO");
    if (sep == s)
        return why_set(why, whylen, "the ID (first component) is empty");
    if (!cx_id(s, (size_t)(sep - s)))
        return why_set(why, whylen,
                       "the ID contains a delimiter (^ & ~ \\ |), a control character or an "
                       "edge space");
    const char *oid = sep + 4;
    const char *amp = strchr(oid, '&');
    if (amp == NULL || strncmp(amp, "&ISO", 4) != 0)
        return why_set(why, whylen, "the assigning authority's type is not ISO (ID^^^&OID&ISO)");
    if (amp[4] != '\0')
        return why_set(why, whylen, "there is more after &ISO (ID^^^&OID&ISO has 4 components)");
    char buf[CG_OID_MAX + 1];
    size_t n = (size_t)(amp - oid);
    if (n == 0 || n > CG_OID_MAX)
        return why_set(why, whylen, "the assigning authority is not an OID");
    memcpy(buf, oid, n);
    buf[n] = '\0';
    if (!cg_id_is_oid(buf))
        return why_set(why, whylen, "the assigning authority is not an OID");
    return 1;
}

int
cg_format_is_cx(const char *s)
{
    return cg_format_cx_why(s, NULL, 0);
}

int
cg_format_is_cx_light(const char *s)
{
    const char *sep = strstr(s, "^^^");
    if (sep == NULL || !cx_id(s, (size_t)(sep - s)))
        return 0;
    const char *auth = sep + 3;
    size_t n = strcspn(auth, "^");
    if (n == 0)
        return 0;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20)
            return 0;
    return 1;
}

int
cg_format_is_oid_ext(const char *s)
{
    size_t len = strlen(s);
    if (len > CG_FORMAT_UNIQUE_ID_MAX)
        return 0;
    const char *caret = strchr(s, '^');
    size_t n = caret ? (size_t)(caret - s) : len;
    char buf[CG_OID_MAX + 1];
    if (n == 0 || n > CG_OID_MAX)
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (!cg_id_is_oid(buf))
        return 0;
    if (caret == NULL)
        return 1;
    const char *ext = caret + 1;
    size_t elen = strlen(ext);
    if (elen == 0 || elen > CG_FORMAT_EXTENSION_MAX)
        return 0;
    for (size_t i = 0; i < elen; i++)
        if (!isgraph((unsigned char)ext[i]) || ext[i] == '^')
            return 0;
    return 1;
}

int
cg_format_is_sha1(const char *s)
{
    size_t i = 0;
    for (; s[i]; i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    return i == 40;
}

int
cg_format_is_size(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > 19)
        return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return 0;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    return v <= (uint64_t)INT64_MAX;
}

int
cg_format_is_language(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > 64)
        return 0;
    size_t i = 0, tag = 0;
    while (i <= len) {
        size_t start = i;
        while (i < len && s[i] != '-')
            i++;
        size_t n = i - start;
        if (n == 0 || n > 8)
            return 0;
        for (size_t k = start; k < i; k++) {
            unsigned char c = (unsigned char)s[k];
            if (tag == 0 ? !isalpha(c) : !isalnum(c))
                return 0;
        }
        if (tag == 0 && n == 1 && s[start] != 'x' && s[start] != 'X' && s[start] != 'i' &&
            s[start] != 'I')
            return 0; /* a one-letter first subtag is only the private-use or grandfathered one */
        if (tag == 0 && n == 1 && i == len)
            return 0;
        tag++;
        i++;
    }
    return 1;
}

static int
mime_token(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f || strchr("()<>@,;:\\\"/[]?=", c) != NULL)
            return 0;
    }
    return 1;
}

int
cg_format_is_mime(const char *s)
{
    const char *slash = strchr(s, '/');
    if (slash == NULL)
        return 0;
    return mime_token(s, (size_t)(slash - s)) && mime_token(slash + 1, strlen(slash + 1));
}

void
cg_format_message(char *out, size_t size, const char *fmt, va_list ap)
{
    int n = vsnprintf(out, size, fmt, ap);
    if (n < 0) {
        out[0] = '\0';
        return;
    }
    size_t len = strlen(out);
    if ((size_t)n < size || len == 0)
        return;
    /* cut: drop a trailing partial UTF-8 sequence */
    size_t i = len;
    while (i > 0 && len - i < 4 && ((unsigned char)out[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0)
        return;
    unsigned char lead = (unsigned char)out[i - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if ((i - 1) + need > len)
        out[i - 1] = '\0';
}
