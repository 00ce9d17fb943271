/* xpath_scan: lexical surgery on XPath 1.0 text, enough to analyse Schematron rule contexts.
 * Owns: splitting at the top level (outside strings, brackets and parentheses) into union
 * alternatives, location steps and and/or operands. Does not own: evaluating XPath (libxml2). */
#ifndef CG_XML_XPATH_SCAN_H
#define CG_XML_XPATH_SCAN_H

#include <stddef.h>

typedef struct cg_strv {
    char **v;
    size_t n;
    size_t cap;
} cg_strv;

void cg_strv_push(cg_strv *sv, char *owned);
void cg_strv_dispose(cg_strv *sv);

/* Returns the index just past the string literal, bracket or parenthesis group that starts at
 * s[i], or i+1 for any other character; strlen(s) if it is unterminated. */
size_t cg_xpath_skip(const char *s, size_t i);

/* Splits at top-level occurrences of the character `sep` (e.g. '|'); pieces are trimmed. */
void cg_xpath_split_char(cg_strv *out, const char *expr, char sep);

/* Splits at top-level 'and' / 'or' operators (word = "and" or "or"); pieces are trimmed and
 * stripped of one enclosing pair of parentheses. Returns the count (1 when no operator). */
void cg_xpath_split_word(cg_strv *out, const char *expr, const char *word);

/* One location step of a pattern: the separator before it ("", "/" or "//"), the step text
 * without predicates, and its predicates (text inside the brackets). */
typedef struct cg_xpath_step {
    char sep[3];
    char *test;
    cg_strv preds;
} cg_xpath_step;

typedef struct cg_xpath_path {
    cg_xpath_step *steps;
    size_t n;
    size_t cap;
} cg_xpath_path;

/* Splits a location path pattern into steps; -1 when it is not a plain location path. */
int cg_xpath_split_steps(cg_xpath_path *out, const char *alt);
void cg_xpath_path_dispose(cg_xpath_path *p);

/* Is s a QName or NCName (prefix:local or local, no wildcard)? */
int cg_xpath_is_qname(const char *s);

/* Trims white space and one pair of enclosing parentheses when they enclose all of s. */
char *cg_xpath_trim(const char *s, size_t len);

#endif
