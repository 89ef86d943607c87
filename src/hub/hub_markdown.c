/* HTML escaping and a small markdown renderer for model cards on the hub's
 * web pages. Cards are written by whoever publishes, so the renderer is
 * built to be safe rather than complete: every character of the source is
 * escaped, markup comes only from the few constructs recognised here, and
 * only http(s) URLs become links (no javascript:, data: or relative URLs). */
#include "hub_internal.h"

#include <string.h>

static void esc_n(FILE *f, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(s[i], f);
        }
    }
}

void bk_hub_html_escape(FILE *f, const char *s)
{
    if (s) esc_n(f, s, strlen(s));
}

/* Offset of the first c in s[from, n), or n. */
static size_t find(const char *s, size_t from, size_t n, char c)
{
    while (from < n && s[from] != c) from++;
    return from;
}

static int is_web_url(const char *s, size_t n)
{
    return (n > 7 && !strncmp(s, "http://", 7)) || (n > 8 && !strncmp(s, "https://", 8));
}

/* Inline markup of one line: `code`, **bold**, [text](http...). Anything
 * unmatched is written as literal, escaped text. */
static void inline_md(FILE *f, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (s[i] == '`') {
            size_t e = find(s, i + 1, n, '`');
            if (e < n) {
                fputs("<code>", f);
                esc_n(f, s + i + 1, e - i - 1);
                fputs("</code>", f);
                i = e + 1;
                continue;
            }
        } else if (s[i] == '*' && i + 1 < n && s[i + 1] == '*') {
            size_t e = i + 2;
            while (e + 1 < n && !(s[e] == '*' && s[e + 1] == '*')) e++;
            if (e + 1 < n && e > i + 2) {
                fputs("<strong>", f);
                inline_md(f, s + i + 2, e - i - 2);
                fputs("</strong>", f);
                i = e + 2;
                continue;
            }
        } else if (s[i] == '[') {
            size_t close = find(s, i + 1, n, ']');
            if (close + 1 < n && s[close + 1] == '(') {
                size_t end = find(s, close + 2, n, ')');
                const char *url = s + close + 2;
                size_t ulen = end - close - 2;
                if (end < n && is_web_url(url, ulen) && !memchr(url, ' ', ulen)) {
                    fputs("<a rel=\"nofollow\" href=\"", f);
                    esc_n(f, url, ulen);
                    fputs("\">", f);
                    inline_md(f, s + i + 1, close - i - 1);
                    fputs("</a>", f);
                    i = end + 1;
                    continue;
                }
            }
        }
        esc_n(f, s + i, 1);
        i++;
    }
}

enum block { NONE, PARA, UL, OL };

static void close_block(FILE *f, enum block *b)
{
    static const char *const end[] = {"", "</p>\n", "</ul>\n", "</ol>\n"};
    fputs(end[*b], f);
    *b = NONE;
}

/* Length of an ordered-list marker ("12. ") at s, or 0. */
static size_t ol_marker(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && i < 9 && s[i] >= '0' && s[i] <= '9') i++;
    return i > 0 && i + 1 < n && s[i] == '.' && s[i + 1] == ' ' ? i + 2 : 0;
}

void bk_hub_markdown(FILE *f, const char *md)
{
    enum block b = NONE;
    int code = 0;
    const char *p = md ? md : "";
    while (*p) {
        size_t n = strcspn(p, "\n");
        const char *line = p;
        p += n + (p[n] == '\n');
        if (n && line[n - 1] == '\r') n--;
        if (n >= 3 && !strncmp(line, "```", 3)) {
            /* The info string after ``` is not shown; the block is text. */
            if (code) fputs("</code></pre>\n", f);
            else {
                close_block(f, &b);
                fputs("<pre><code>", f);
            }
            code = !code;
            continue;
        }
        if (code) {
            esc_n(f, line, n);
            fputc('\n', f);
            continue;
        }
        size_t lead = 0;
        while (lead < n && line[lead] == ' ') lead++;
        if (lead == n) {
            close_block(f, &b);
            continue;
        }
        size_t h = 0;
        while (h < n && h < 7 && line[h] == '#') h++;
        if (h >= 1 && h <= 6 && h < n && line[h] == ' ') {
            close_block(f, &b);
            size_t level = h + 2 > 6 ? 6 : h + 2; /* the page's own h1/h2 stay above the card */
            fprintf(f, "<h%zu>", level);
            inline_md(f, line + h + 1, n - h - 1);
            fprintf(f, "</h%zu>\n", level);
            continue;
        }
        const char *t = line + lead;
        size_t tn = n - lead, m = ol_marker(t, tn);
        enum block want = tn >= 2 && strchr("-*+", t[0]) && t[1] == ' ' ? UL : m ? OL : PARA;
        if (want == UL || want == OL) {
            if (b != want) {
                close_block(f, &b);
                fputs(want == UL ? "<ul>\n" : "<ol>\n", f);
                b = want;
            }
            size_t skip = want == UL ? 2 : m;
            fputs("<li>", f);
            inline_md(f, t + skip, tn - skip);
            fputs("</li>\n", f);
            continue;
        }
        if (b != PARA) {
            close_block(f, &b);
            fputs("<p>", f);
            b = PARA;
        } else {
            fputc('\n', f);
        }
        inline_md(f, t, tn);
    }
    if (code) fputs("</code></pre>\n", f);
    close_block(f, &b);
}
