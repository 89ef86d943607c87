/* JSON documents with positions for error messages; see json.h. */
#include "json.h"
#include "core/fsutil.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a small tolerant tokenizer over the source text ----------------------
 * Used for two jobs jansson cannot do: finding where a path lives, and
 * pointing a syntax error at the start of the offending token (jansson
 * reports the position after it) with a hint. It never fails: bad input
 * becomes T_OTHER or an unterminated string. */

typedef enum {
    T_EOF, T_LBRACE, T_RBRACE, T_LBRACK, T_RBRACK, T_COLON, T_COMMA,
    T_STRING, T_NUMBER, T_WORD, T_OTHER
} tok_kind;

typedef struct {
    tok_kind kind;
    size_t start, end;        /* byte offsets [start, end) */
    int line, col;            /* of the first character, 1-based */
    int end_line, end_col;    /* just after the last character */
    int closed;               /* strings: 1 when the closing quote was seen */
} tok;

typedef struct {
    const char *s;
    size_t n, pos;
    int line, col;
} lexer;

static void lex_init(lexer *lx, const char *s, size_t n)
{
    lx->s = s;
    lx->n = n;
    lx->pos = 0;
    lx->line = 1;
    lx->col = 1;
}

/* Columns count characters, not bytes: UTF-8 continuation bytes do not
 * advance the column, matching what editors (and jansson) show. */
static void lex_adv(lexer *lx)
{
    unsigned char c = (unsigned char)lx->s[lx->pos++];
    if (c == '\n') {
        lx->line++;
        lx->col = 1;
    } else if ((c & 0xC0) != 0x80) {
        lx->col++;
    }
}

static int is_word_char(int c) { return isalnum(c) || c == '_'; }

static tok lex_next(lexer *lx)
{
    while (lx->pos < lx->n) {
        char c = lx->s[lx->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        lex_adv(lx);
    }
    tok t;
    memset(&t, 0, sizeof t);
    t.start = lx->pos;
    t.line = lx->line;
    t.col = lx->col;
    if (lx->pos >= lx->n) {
        t.kind = T_EOF;
    } else {
        unsigned char c = (unsigned char)lx->s[lx->pos];
        switch (c) {
        case '{': t.kind = T_LBRACE; lex_adv(lx); break;
        case '}': t.kind = T_RBRACE; lex_adv(lx); break;
        case '[': t.kind = T_LBRACK; lex_adv(lx); break;
        case ']': t.kind = T_RBRACK; lex_adv(lx); break;
        case ':': t.kind = T_COLON; lex_adv(lx); break;
        case ',': t.kind = T_COMMA; lex_adv(lx); break;
        case '"':
            t.kind = T_STRING;
            lex_adv(lx);
            while (lx->pos < lx->n) {
                char d = lx->s[lx->pos];
                lex_adv(lx);
                if (d == '\\') {
                    if (lx->pos < lx->n) lex_adv(lx);
                } else if (d == '"') {
                    t.closed = 1;
                    break;
                }
            }
            break;
        default:
            if (c == '-' || isdigit(c)) {
                t.kind = T_NUMBER;
                while (lx->pos < lx->n) {
                    char d = lx->s[lx->pos];
                    if (!(isdigit((unsigned char)d) || d == '.' || d == 'e' || d == 'E' || d == '+' || d == '-'))
                        break;
                    lex_adv(lx);
                }
                /* "-Infinity" and friends: let the word run on so hints see it */
                while (lx->pos < lx->n && is_word_char((unsigned char)lx->s[lx->pos])) lex_adv(lx);
            } else if (isalpha(c) || c == '_') {
                t.kind = T_WORD;
                while (lx->pos < lx->n && is_word_char((unsigned char)lx->s[lx->pos])) lex_adv(lx);
            } else {
                t.kind = T_OTHER; /* one whole UTF-8 character */
                lex_adv(lx);
                while (lx->pos < lx->n && (((unsigned char)lx->s[lx->pos]) & 0xC0) == 0x80) lex_adv(lx);
            }
        }
    }
    t.end = lx->pos;
    t.end_line = lx->line;
    t.end_col = lx->col;
    return t;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int hex4(const char *s, size_t avail, unsigned *out)
{
    if (avail < 4) return 0;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(s[i]);
        if (h < 0) return 0;
        v = v * 16 + (unsigned)h;
    }
    *out = v;
    return 1;
}

static size_t utf8_encode(unsigned cp, char *o)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F)); return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F)); return 4;
}

/* 1 when the string token t decodes (escapes included) to want[0..wlen).
 * Compares on the fly so no key length limit and no allocation. */
static int tok_string_equals(const lexer *lx, const tok *t, const char *want, size_t wlen)
{
    if (t->kind != T_STRING || !t->closed) return 0;
    const char *s = lx->s;
    size_t i = t->start + 1, end = t->end - 1, w = 0;
    while (i < end) {
        char buf[8];
        size_t blen;
        if (s[i] != '\\') {
            buf[0] = s[i++];
            blen = 1;
        } else {
            char e = s[i + 1];
            i += 2;
            switch (e) {
            case '"': buf[0] = '"'; blen = 1; break;
            case '\\': buf[0] = '\\'; blen = 1; break;
            case '/': buf[0] = '/'; blen = 1; break;
            case 'b': buf[0] = '\b'; blen = 1; break;
            case 'f': buf[0] = '\f'; blen = 1; break;
            case 'n': buf[0] = '\n'; blen = 1; break;
            case 'r': buf[0] = '\r'; blen = 1; break;
            case 't': buf[0] = '\t'; blen = 1; break;
            case 'u': {
                unsigned cp, lo;
                if (!hex4(s + i, end - i, &cp)) return 0;
                i += 4;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    /* a surrogate pair encodes one character above U+FFFF */
                    if (end - i < 6 || s[i] != '\\' || s[i + 1] != 'u' || !hex4(s + i + 2, end - i - 2, &lo) ||
                        lo < 0xDC00 || lo > 0xDFFF)
                        return 0;
                    i += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                blen = utf8_encode(cp, buf);
                break;
            }
            default: return 0;
            }
        }
        if (w + blen > wlen || memcmp(want + w, buf, blen) != 0) return 0;
        w += blen;
    }
    return w == wlen;
}

/* Skips the value whose first token is t. Returns 0 on malformed text. */
static int skip_value(lexer *lx, tok t)
{
    if (t.kind != T_LBRACE && t.kind != T_LBRACK)
        return t.kind == T_STRING || t.kind == T_NUMBER || t.kind == T_WORD;
    int depth = 1;
    while (depth > 0) {
        tok u = lex_next(lx);
        if (u.kind == T_EOF) return 0;
        if (u.kind == T_LBRACE || u.kind == T_LBRACK) depth++;
        else if (u.kind == T_RBRACE || u.kind == T_RBRACK) depth--;
    }
    return 1;
}

int bk_json_locate(const bk_json_doc *doc, const char *path, int *line, int *col)
{
    if (!doc || !doc->text || !path) return 0;
    lexer lx;
    lex_init(&lx, doc->text, doc->len);
    tok cur = lex_next(&lx); /* first token of the value we are inside */
    if (cur.kind == T_EOF) return 0;
    const char *p = path;
    tok found = cur;
    while (*p) {
        if (*p == '[') {
            /* array element */
            p++;
            if (!isdigit((unsigned char)*p)) return 0;
            size_t idx = 0;
            while (isdigit((unsigned char)*p)) {
                size_t d = (size_t)(*p - '0');
                if (idx > (SIZE_MAX - d) / 10) return 0;
                idx = idx * 10 + d;
                p++;
            }
            if (*p != ']') return 0;
            p++;
            if (*p == '.') p++;
            if (cur.kind != T_LBRACK) return 0;
            tok t = lex_next(&lx);
            if (t.kind == T_RBRACK) return 0;
            for (size_t i = 0;; i++) {
                if (i == idx) break;
                if (!skip_value(&lx, t)) return 0;
                tok sep = lex_next(&lx);
                if (sep.kind != T_COMMA) return 0;
                t = lex_next(&lx);
            }
            cur = t;
            found = t;
        } else {
            /* object member: the key runs to the next '.' or '[' */
            const char *k = p;
            while (*p && *p != '.' && *p != '[') p++;
            size_t klen = (size_t)(p - k);
            if (*p == '.') p++;
            if (cur.kind != T_LBRACE) return 0;
            for (;;) {
                tok key = lex_next(&lx);
                if (key.kind != T_STRING) return 0;
                if (lex_next(&lx).kind != T_COLON) return 0;
                tok val = lex_next(&lx);
                if (tok_string_equals(&lx, &key, k, klen)) {
                    cur = val;
                    found = key;
                    break;
                }
                if (!skip_value(&lx, val)) return 0;
                tok sep = lex_next(&lx);
                if (sep.kind != T_COMMA) return 0;
            }
        }
    }
    if (line) *line = found.line;
    if (col) *col = found.col;
    return 1;
}

/* ---- syntax errors ------------------------------------------------------ */

typedef enum {
    S_VALUE,          /* a value is expected (top level, after ':') */
    S_KEY_OR_CLOSE,   /* after '{' */
    S_KEY,            /* after ',' in an object */
    S_COLON,          /* after a key */
    S_ARR_OR_CLOSE,   /* after '[' */
    S_ARR_VALUE,      /* after ',' in an array */
    S_AFTER           /* after a value: ',' or a closing bracket (or EOF at top) */
} parse_state;

#define MAX_NEST 256

typedef struct {
    char kind[MAX_NEST];    /* '{' or '[' */
    int line[MAX_NEST], col[MAX_NEST];
    int depth;              /* may exceed MAX_NEST; entries above are not kept */
} nest_stack;

static int is_value_start(tok_kind k)
{
    return k == T_STRING || k == T_NUMBER || k == T_WORD || k == T_LBRACE || k == T_LBRACK;
}

static int word_is(const lexer *lx, const tok *t, const char *w)
{
    size_t n = strlen(w);
    return t->end - t->start == n && strncmp(lx->s + t->start, w, n) == 0;
}

/* Finds the token jansson complained about (the one containing the byte
 * before err->position), reports its start, and guesses the slip behind it
 * by replaying a small parser state machine up to it. */
static void explain_syntax_error(const char *text, size_t len, const json_error_t *err,
                                 int *line, int *col, char *hint, size_t hn)
{
    lexer lx;
    lex_init(&lx, text, len);
    nest_stack st;
    st.depth = 0;
    parse_state ps = S_VALUE;
    tok prev;
    memset(&prev, 0, sizeof prev);
    prev.kind = T_EOF;
    prev.line = prev.end_line = 1;
    prev.col = prev.end_col = 1;
    hint[0] = 0;
    size_t target = err->position > 0 ? (size_t)err->position - 1 : 0;
    int at_eof = strstr(err->text, "end of file") && !strstr(err->text, "end of file expected");
    tok t;
    for (;;) {
        t = lex_next(&lx);
        if (t.kind == T_EOF) break;
        if (!at_eof && t.end > target) break; /* the offending token */
        /* advance the state machine over a token jansson accepted */
        switch (t.kind) {
        case T_LBRACE:
        case T_LBRACK:
            if (st.depth < MAX_NEST) {
                st.kind[st.depth] = t.kind == T_LBRACE ? '{' : '[';
                st.line[st.depth] = t.line;
                st.col[st.depth] = t.col;
            }
            st.depth++;
            ps = t.kind == T_LBRACE ? S_KEY_OR_CLOSE : S_ARR_OR_CLOSE;
            break;
        case T_RBRACE:
        case T_RBRACK:
            if (st.depth > 0) st.depth--;
            ps = S_AFTER;
            break;
        case T_COLON: ps = S_VALUE; break;
        case T_COMMA:
            ps = (st.depth > 0 && st.depth <= MAX_NEST && st.kind[st.depth - 1] == '[') ? S_ARR_VALUE : S_KEY;
            break;
        case T_STRING:
            ps = (ps == S_KEY || ps == S_KEY_OR_CLOSE) ? S_COLON : S_AFTER;
            break;
        default: ps = S_AFTER; break;
        }
        prev = t;
    }

    if (at_eof || t.kind == T_EOF) {
        /* point just past the last token: that is where something is missing */
        *line = prev.kind == T_EOF ? 1 : prev.end_line;
        *col = prev.kind == T_EOF ? 1 : prev.end_col;
        if (len == 0 || prev.kind == T_EOF)
            snprintf(hint, hn, "the file is empty; a config is a JSON object like {\"key\": value}");
        else if (st.depth > 0 && st.depth <= MAX_NEST)
            snprintf(hint, hn, "the %s opened at line %d, column %d is never closed",
                     st.kind[st.depth - 1] == '{' ? "object" : "array",
                     st.line[st.depth - 1], st.col[st.depth - 1]);
        else if (prev.kind == T_STRING && !prev.closed)
            snprintf(hint, hn, "the string starting at line %d, column %d has no closing '\"'",
                     prev.line, prev.col);
        return;
    }
    *line = t.line;
    *col = t.col;

    const char *open = "";
    int oline = 0, ocol = 0;
    if (st.depth > 0 && st.depth <= MAX_NEST) {
        open = st.kind[st.depth - 1] == '{' ? "object" : "array";
        oline = st.line[st.depth - 1];
        ocol = st.col[st.depth - 1];
    }
    if (strstr(err->text, "duplicate object key")) {
        snprintf(hint, hn, "a key may appear only once in an object");
    } else if (strstr(err->text, "invalid escape")) {
        snprintf(hint, hn, "a backslash in a string starts an escape; write \\\\ for a literal "
                 "backslash (or use '/' in paths)");
    } else if (strstr(err->text, "control character") || strstr(err->text, "unexpected newline")) {
        snprintf(hint, hn, "strings cannot span lines or hold raw tabs; write \\n or \\t");
    } else if (t.kind == T_STRING && !t.closed) {
        snprintf(hint, hn, "the string has no closing '\"'");
    } else if (t.kind == T_OTHER && text[t.start] == '/') {
        snprintf(hint, hn, "JSON does not allow comments; remove them");
    } else if (t.kind == T_OTHER && text[t.start] == '\'') {
        snprintf(hint, hn, "JSON strings and keys use double quotes (\"), not single quotes");
    } else if ((t.kind == T_WORD || t.kind == T_NUMBER) &&
               (word_is(&lx, &t, "NaN") || word_is(&lx, &t, "nan") || word_is(&lx, &t, "Infinity") ||
                word_is(&lx, &t, "-Infinity") || word_is(&lx, &t, "inf") || word_is(&lx, &t, "-inf"))) {
        snprintf(hint, hn, "NaN and Infinity are not JSON numbers; use a finite number or a string");
    } else if (t.kind == T_NUMBER && (t.end - t.start) > 1 + (text[t.start] == '-') &&
               text[t.start + (text[t.start] == '-')] == '0' &&
               isdigit((unsigned char)text[t.start + 1 + (text[t.start] == '-')])) {
        snprintf(hint, hn, "JSON numbers cannot have leading zeros");
    } else if (t.kind == T_OTHER && text[t.start] == '.') {
        snprintf(hint, hn, "a JSON number needs a digit before the '.' (0.5, not .5)");
    } else if (t.kind == T_WORD && (word_is(&lx, &t, "True") || word_is(&lx, &t, "False") ||
                                    word_is(&lx, &t, "None") || word_is(&lx, &t, "TRUE") ||
                                    word_is(&lx, &t, "FALSE") || word_is(&lx, &t, "NULL") ||
                                    word_is(&lx, &t, "Null"))) {
        snprintf(hint, hn, "JSON literals are lowercase: true, false, null");
    } else if (t.kind == T_WORD && (ps == S_KEY || ps == S_KEY_OR_CLOSE)) {
        snprintf(hint, hn, "object keys must be strings in double quotes");
    } else if (ps == S_KEY && t.kind == T_RBRACE) {
        snprintf(hint, hn, "remove the trailing ',' at line %d, column %d; JSON allows no comma before '}'",
                 prev.line, prev.col);
    } else if (ps == S_ARR_VALUE && t.kind == T_RBRACK) {
        snprintf(hint, hn, "remove the trailing ',' at line %d, column %d; JSON allows no comma before ']'",
                 prev.line, prev.col);
    } else if (ps == S_COLON) {
        snprintf(hint, hn, "a ':' is missing between the key and its value");
    } else if (ps == S_AFTER && st.depth == 0) {
        snprintf(hint, hn, "there is more text after the end of the top-level value%s",
                 (t.kind == T_RBRACE || t.kind == T_RBRACK) ? " (an extra closing bracket?)" : "");
    } else if (ps == S_AFTER && is_value_start(t.kind)) {
        snprintf(hint, hn, "a ',' is probably missing after the value that ends at line %d, column %d",
                 prev.end_line, prev.end_col > 1 ? prev.end_col - 1 : 1);
    } else if (ps == S_AFTER && (t.kind == T_RBRACE || t.kind == T_RBRACK) && *open) {
        snprintf(hint, hn, "mismatched brackets: the %s opened at line %d, column %d is closed with '%c'",
                 open, oline, ocol, t.kind == T_RBRACE ? '}' : ']');
    }
}

void bk_json_free(bk_json_doc *doc)
{
    if (!doc) return;
    json_decref(doc->root);
    free(doc->text);
    doc->root = NULL;
    doc->text = NULL;
    doc->len = 0;
}

/* Parses doc->text (already set); on failure frees it. */
static bk_status parse_doc(bk_json_doc *doc)
{
    json_error_t err;
    /* Duplicate keys are rejected: silently keeping the last one hides
     * config mistakes. JSON_DECODE_ANY is off: a config is an object. */
    doc->root = json_loadb(doc->text, doc->len, JSON_REJECT_DUPLICATES, &err);
    if (!doc->root) {
        int line = err.line > 0 ? err.line : 1, col = err.column > 0 ? err.column : 1;
        char hint[512];
        explain_syntax_error(doc->text, doc->len, &err, &line, &col, hint, sizeof hint);
        bk_status s = bk_error(BK_ERR_INVALID, "%s:%d:%d: JSON syntax error: %s%s%s", doc->file, line, col,
                               err.text, hint[0] ? "; hint: " : "", hint);
        bk_json_free(doc);
        return s;
    }
    if (!json_is_object(doc->root)) {
        char what[128];
        bk_json_describe(doc->root, what, sizeof what);
        bk_status s = bk_json_error_at(doc, "", BK_ERR_INVALID,
                                       "the top level must be a JSON object ({\"key\": value, ...}), found %s", what);
        bk_json_free(doc);
        return s;
    }
    return BK_OK;
}

bk_status bk_json_load_file(bk_json_doc *doc, const char *path)
{
    memset(doc, 0, sizeof *doc);
    snprintf(doc->file, sizeof doc->file, "%s", path ? path : "(null)");
    bk_status s = bk_read_file(path, &doc->text, &doc->len);
    if (s) return s;
    return parse_doc(doc);
}

bk_status bk_json_load_string(bk_json_doc *doc, const char *text, const char *name)
{
    memset(doc, 0, sizeof *doc);
    snprintf(doc->file, sizeof doc->file, "%s", name ? name : "<string>");
    if (!text) return bk_error(BK_ERR_INVALID, "%s: no JSON text given (NULL)", doc->file);
    size_t n = strlen(text);
    doc->text = malloc(n + 1);
    if (!doc->text) return bk_error(BK_ERR_NOMEM, "%s: out of memory copying %zu bytes of JSON", doc->file, n);
    memcpy(doc->text, text, n + 1);
    doc->len = n;
    return parse_doc(doc);
}

/* ---- errors at a path ----------------------------------------------------- */

bk_status bk_json_error_at(const bk_json_doc *doc, const char *path, bk_status code, const char *fmt, ...)
{
    char msg[3072];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!path) path = "";
    const char *file = (doc && doc->file[0]) ? doc->file : NULL;

    /* A path that is not in the text (typically a required member that is
     * missing) still gets a position: that of its nearest enclosing value,
     * so the user is sent to the right object. */
    int line = 0, col = 0, found = 0;
    if (doc) {
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", path);
        for (;;) {
            if (bk_json_locate(doc, buf, &line, &col)) {
                found = 1;
                break;
            }
            if (!buf[0]) break;
            char *dot = strrchr(buf, '.'), *br = strrchr(buf, '[');
            char *cut = dot > br ? dot : br;
            if (cut) *cut = 0;
            else buf[0] = 0;
        }
    }
    char where[1200];
    if (file && found) snprintf(where, sizeof where, "%s:%d:%d: ", file, line, col);
    else if (file) snprintf(where, sizeof where, "%s: ", file);
    else where[0] = 0;
    if (path[0]) return bk_error(code, "%s%s: %s", where, path, msg);
    return bk_error(code, "%s%s", where, msg);
}

const char *bk_json_describe(const json_t *v, char *buf, size_t n)
{
    if (n == 0) return buf;
    if (!v) {
        snprintf(buf, n, "nothing");
        return buf;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT: snprintf(buf, n, "an object"); break;
    case JSON_ARRAY: snprintf(buf, n, "an array"); break;
    case JSON_STRING: {
        const char *s = json_string_value(v);
        size_t len = strlen(s);
        if (len > 40) snprintf(buf, n, "string \"%.40s...\"", s);
        else snprintf(buf, n, "string \"%s\"", s);
        break;
    }
    case JSON_INTEGER: snprintf(buf, n, "integer %lld", (long long)json_integer_value(v)); break;
    case JSON_REAL: snprintf(buf, n, "number %.17g", json_real_value(v)); break;
    case JSON_TRUE: snprintf(buf, n, "boolean true"); break;
    case JSON_FALSE: snprintf(buf, n, "boolean false"); break;
    case JSON_NULL: snprintf(buf, n, "null"); break;
    }
    return buf;
}

/* ---- typed getters -------------------------------------------------------- */

/* The member, or NULL when it is absent or null (both mean "use default"). */
static json_t *member(json_t *obj, const char *key)
{
    if (!obj || !json_is_object(obj) || !key) return NULL;
    json_t *v = json_object_get(obj, key);
    return (v && !json_is_null(v)) ? v : NULL;
}

static bk_status type_error(const bk_json_doc *doc, const char *obj_path, const char *key,
                            const char *expected, const json_t *v, const char *extra)
{
    char path[1024], what[128];
    bk_json_child_path(path, sizeof path, obj_path, key);
    bk_json_describe(v, what, sizeof what);
    return bk_json_error_at(doc, path, BK_ERR_INVALID, "expected %s, got %s%s", expected, what, extra ? extra : "");
}

bk_status bk_json_get_int(const bk_json_doc *doc, json_t *obj, const char *obj_path,
                          const char *key, int64_t def, int64_t *out)
{
    *out = def;
    json_t *v = member(obj, key);
    if (!v) return BK_OK;
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return BK_OK;
    }
    if (json_is_real(v)) {
        /* 32.0 is a fine integer (Python's json.dump of a float); 32.5 is not */
        double d = json_real_value(v);
        if (d != floor(d))
            return type_error(doc, obj_path, key, "an integer", v, " (it has a fractional part)");
        if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
            return type_error(doc, obj_path, key, "an integer", v, " (out of the 64-bit integer range)");
        *out = (int64_t)d;
        return BK_OK;
    }
    return type_error(doc, obj_path, key, "an integer", v,
                      json_is_string(v) ? " (remove the quotes to make it a number)" : NULL);
}

bk_status bk_json_get_double(const bk_json_doc *doc, json_t *obj, const char *obj_path,
                             const char *key, double def, double *out)
{
    *out = def;
    json_t *v = member(obj, key);
    if (!v) return BK_OK;
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return BK_OK;
    }
    return type_error(doc, obj_path, key, "a number", v,
                      json_is_string(v) ? " (remove the quotes to make it a number)" : NULL);
}

bk_status bk_json_get_bool(const bk_json_doc *doc, json_t *obj, const char *obj_path,
                           const char *key, int def, int *out)
{
    *out = def;
    json_t *v = member(obj, key);
    if (!v) return BK_OK;
    if (json_is_boolean(v)) {
        *out = json_is_true(v) ? 1 : 0;
        return BK_OK;
    }
    return type_error(doc, obj_path, key, "true or false", v,
                      json_is_string(v) ? " (write true or false without quotes)" : NULL);
}

bk_status bk_json_get_string(const bk_json_doc *doc, json_t *obj, const char *obj_path,
                             const char *key, const char *def, const char **out)
{
    *out = def;
    json_t *v = member(obj, key);
    if (!v) return BK_OK;
    if (json_is_string(v)) {
        *out = json_string_value(v);
        return BK_OK;
    }
    return type_error(doc, obj_path, key, "a string", v, json_is_number(v) ? " (put it in double quotes)" : NULL);
}

void bk_json_child_path(char *out, size_t n, const char *obj_path, const char *key)
{
    if (n == 0) return;
    if (!key) key = "";
    if (obj_path && obj_path[0]) snprintf(out, n, "%s.%s", obj_path, key);
    else snprintf(out, n, "%s", key);
}

void bk_json_index_path(char *out, size_t n, const char *arr_path, size_t i)
{
    if (n == 0) return;
    snprintf(out, n, "%s[%zu]", arr_path ? arr_path : "", i);
}

/* ---- unknown keys and suggestions ----------------------------------------- */

/* Case-insensitive Levenshtein distance; -1 when out of memory. */
static long edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    long *row = malloc((lb + 1) * sizeof *row);
    if (!row) return -1;
    for (size_t j = 0; j <= lb; j++) row[j] = (long)j;
    for (size_t i = 1; i <= la; i++) {
        long diag = row[0];
        row[0] = (long)i;
        int ca = tolower((unsigned char)a[i - 1]);
        for (size_t j = 1; j <= lb; j++) {
            long up = row[j];
            int cost = ca != tolower((unsigned char)b[j - 1]);
            long best = diag + cost;
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    long d = row[lb];
    free(row);
    return d;
}

const char *bk_closest_word(const char *word, const char *const *known, int n)
{
    if (!word || !known) return NULL;
    size_t wl = strlen(word);
    long limit = (long)(wl / 3 > 2 ? wl / 3 : 2);
    const char *best = NULL;
    long best_d = limit + 1;
    for (int i = 0; i < n; i++) {
        if (!known[i]) continue;
        size_t kl = strlen(known[i]);
        /* the length difference bounds the distance from below */
        long diff = kl > wl ? (long)(kl - wl) : (long)(wl - kl);
        if (diff >= best_d) continue;
        long d = edit_distance(word, known[i]);
        if (d >= 0 && d < best_d) {
            best_d = d;
            best = known[i];
        }
    }
    return best;
}

bk_status bk_json_check_keys(const bk_json_doc *doc, json_t *obj, const char *obj_path,
                             const char *const *known, int n_known)
{
    if (!obj) return BK_OK;
    if (!json_is_object(obj)) {
        char what[128];
        bk_json_describe(obj, what, sizeof what);
        return bk_json_error_at(doc, obj_path, BK_ERR_INVALID, "expected an object, got %s", what);
    }
    const char *key;
    json_t *val;
    /* jansson keeps insertion order, so the first unknown key reported is
     * the first one in the file */
    json_object_foreach(obj, key, val) {
        int ok = 0;
        for (int i = 0; i < n_known && !ok; i++) ok = known[i] && strcmp(known[i], key) == 0;
        if (ok) continue;
        char path[1024];
        bk_json_child_path(path, sizeof path, obj_path, key);
        const char *close = bk_closest_word(key, known, n_known);
        if (close)
            return bk_json_error_at(doc, path, BK_ERR_INVALID, "unknown key \"%s\"; did you mean \"%s\"?", key, close);
        char list[2048];
        size_t used = 0;
        list[0] = 0;
        for (int i = 0; i < n_known; i++) {
            if (!known[i]) continue;
            int w = snprintf(list + used, sizeof list - used, "%s\"%s\"", used ? ", " : "", known[i]);
            if (w < 0 || (size_t)w >= sizeof list - used) {
                /* keep the message bounded: end the list with "..." */
                if (used + 5 < sizeof list) memcpy(list + used, ", ...", 6);
                break;
            }
            used += (size_t)w;
        }
        if (n_known == 0)
            return bk_json_error_at(doc, path, BK_ERR_INVALID, "unknown key \"%s\"; this object takes no keys", key);
        return bk_json_error_at(doc, path, BK_ERR_INVALID, "unknown key \"%s\"; known keys are %s", key, list);
    }
    (void)val;
    return BK_OK;
}

bk_status bk_json_unknown_name(const bk_json_doc *doc, const char *path, bk_status code,
                               const char *what, const char *name, const char *const *known, int n)
{
    char list[1024];
    size_t used = 0;
    list[0] = 0;
    for (int i = 0; i < n && used + 4 < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", known[i]);
    const char *close = bk_closest_word(name, known, n);
    if (close)
        return bk_json_error_at(doc, path, code, "unknown %s \"%s\"; did you mean \"%s\"? (known: %s)", what, name,
                                close, list);
    return bk_json_error_at(doc, path, code, "unknown %s \"%s\" (known: %s)", what, name, list);
}
