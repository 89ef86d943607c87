/* The hub's web pages: server-rendered HTML that needs no JavaScript.
 * "/" searches and lists records; "/records/OWNER/NAME[?v=REF]" shows one
 * version with its card, metadata, versions (tombstones included), files,
 * citations and provenance. Pages are built from the same queries and
 * access rules as the REST API (hub_query.c). Every string that comes from
 * a record goes through bk_hub_html_escape; URLs are percent-encoded. */
#include "hub_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define E(f, s) bk_hub_html_escape(f, s)

static const char k_css[] =
    "body{font:15px/1.5 system-ui,sans-serif;max-width:980px;margin:0 auto;padding:0 16px;color:#1d232b}"
    "header{display:flex;gap:16px;align-items:center;border-bottom:2px solid #2a6fb0;padding:10px 0}"
    "header a.home{font-weight:700;font-size:20px;color:#2a6fb0;text-decoration:none}"
    "a{color:#1f5f9a}h1{font-size:26px;margin:18px 0 4px}h2{font-size:19px;border-bottom:1px solid #dde3ea;"
    "padding-bottom:3px;margin-top:26px}table{border-collapse:collapse;width:100%}"
    "td,th{text-align:left;padding:4px 8px;border-bottom:1px solid #e6eaef;vertical-align:top}"
    "th{background:#f3f6f9}code,pre{font:13px/1.4 ui-monospace,monospace}"
    "pre{background:#f5f7f9;border:1px solid #e0e5ea;padding:10px;overflow-x:auto;white-space:pre-wrap}"
    ".tag{display:inline-block;border-radius:3px;padding:0 6px;font-size:12px;background:#e3edf7;"
    "color:#1f5f9a;margin-right:4px}.tag.priv{background:#fbe9d0;color:#8a4b00}"
    ".tag.dead{background:#f6dcdc;color:#9b1c1c}.muted{color:#66707a;font-size:13px}"
    ".tomb{background:#fbeaea;border:1px solid #e8b4b4;padding:8px 12px}"
    "form.search{display:flex;flex-wrap:wrap;gap:6px;margin:14px 0}"
    "form.search input,form.search select{padding:5px;font-size:14px}form.search input[name=q]{flex:1 1 300px}"
    "ol.results{padding-left:22px}ol.results li{margin:10px 0}ol.results .title{font-size:17px}"
    ".card{border:1px solid #dde3ea;padding:4px 16px;border-radius:4px}"
    "dl.meta{display:grid;grid-template-columns:170px 1fr;gap:4px 12px}dl.meta dt{font-weight:600}"
    "dl.meta dd{margin:0}";

/* ---------- small writers ---------- */

static void page_open(FILE *f, const char *title)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>", f);
    E(f, title);
    fprintf(f, " \xc2\xb7 brisk hub</title><style>%s</style></head><body>\n"
               "<header><a class=\"home\" href=\"/\">brisk hub</a>"
               "<span class=\"muted\">models and datasets: find, cite, pull</span></header>\n<main>\n", k_css);
}

static char *page_close(FILE *f, char **buf)
{
    fputs("</main>\n<footer class=\"muted\"><p>Machine access: the JSON API under "
          "<code>/api/v1</code> and <code>brisk hub pull</code>.</p></footer>\n</body></html>\n", f);
    fclose(f);
    return *buf;
}

/* Percent-encodes s for a URL path segment or query value. */
static void url_enc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (isalnum(ch) || strchr("-._~", ch)) fputc(ch, f);
        else fprintf(f, "%%%02X", ch);
    }
}

static const char *str(json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

/* A JSON value as compact text (strings without quotes). */
static void json_text(FILE *f, json_t *v)
{
    if (json_is_string(v)) {
        E(f, json_string_value(v));
        return;
    }
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    E(f, s);
    free(s);
}

static void human_size(FILE *f, long long n)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double x = (double)n;
    int i = 0;
    while (x >= 1024 && i < 4) x /= 1024, i++;
    if (i) fprintf(f, "%.1f %s", x, u[i]);
    else fprintf(f, "%lld B", n);
}

/* A link to the record page of a hub identifier ("hub:owner/name@ref[/file]"
 * or "owner/name@ref"); other text (local paths) is shown as code. */
static void ident_link(FILE *f, const char *id)
{
    if (!id) return;
    const char *s = strncmp(id, "hub:", 4) ? id : id + 4;
    char owner[65], name[65], ref[65] = "";
    int n = 0;
    if (sscanf(s, "%64[A-Za-z0-9._-]/%64[A-Za-z0-9._-]%n", owner, name, &n) == 2 &&
        !bk_hub_check_ident(owner, "owner") && !bk_hub_check_ident(name, "name")) {
        if (s[n] == '@') sscanf(s + n + 1, "%64[A-Za-z0-9._-]", ref);
        fputs("<a href=\"/records/", f);
        url_enc(f, owner);
        fputc('/', f);
        url_enc(f, name);
        if (*ref) {
            fputs("?v=", f);
            url_enc(f, ref);
        }
        fputs("\"><code>", f);
        E(f, id);
        fputs("</code></a>", f);
        return;
    }
    fputs("<code>", f);
    E(f, id);
    fputs("</code>", f);
}

/* A related identifier or URL as a link when it is one. */
static void related_link(FILE *f, const char *id, const char *type)
{
    char url[1200] = "";
    if (!strncmp(id, "http://", 7) || !strncmp(id, "https://", 8)) snprintf(url, sizeof url, "%s", id);
    else if ((type && !strcasecmp(type, "DOI")) || !strncmp(id, "10.", 3))
        snprintf(url, sizeof url, "https://doi.org/%s", id);
    if (!*url) {
        E(f, id);
        return;
    }
    fputs("<a rel=\"nofollow\" href=\"", f);
    E(f, url);
    fputs("\">", f);
    E(f, id);
    fputs("</a>", f);
}

char *bk_hub_web_error(int code, const char *msg)
{
    char *buf = NULL;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    char title[32];
    snprintf(title, sizeof title, "Error %d", code);
    page_open(f, title);
    fprintf(f, "<h1>%s</h1><p>", title);
    E(f, msg);
    fputs("</p><p><a href=\"/\">Search the hub</a></p>\n", f);
    return page_close(f, &buf);
}

/* ---------- search page ---------- */

static void search_form(FILE *f, const bk_hub_search_q *q)
{
    fputs("<form class=\"search\" method=\"get\" action=\"/\" role=\"search\">"
          "<input type=\"search\" name=\"q\" placeholder=\"Search titles, descriptions, cards, subjects\" value=\"",
          f);
    E(f, q->q);
    fputs("\"><select name=\"type\" aria-label=\"type\">", f);
    const char *types[] = {"", "model", "dataset"}, *labels[] = {"any type", "models", "datasets"};
    for (int i = 0; i < 3; i++)
        fprintf(f, "<option value=\"%s\"%s>%s</option>", types[i],
                (q->type ? !strcmp(q->type, types[i]) : !i) ? " selected" : "", labels[i]);
    fputs("</select>", f);
    const char *names[] = {"domain", "creator", "licence", "owner"};
    const char *vals[] = {q->subject, q->creator, q->licence, q->owner};
    for (int i = 0; i < 4; i++) {
        fprintf(f, "<input name=\"%s\" size=\"10\" placeholder=\"%s\" aria-label=\"%s\" value=\"", names[i],
                names[i], names[i]);
        E(f, vals[i]);
        fputs("\">", f);
    }
    fputs("<button type=\"submit\">Search</button></form>\n", f);
}

/* The query string of q for page (HTML-escaped for an href). */
static void page_href(FILE *f, const bk_hub_search_q *q, long page)
{
    const char *keys[] = {"q", "type", "domain", "creator", "licence", "owner"};
    const char *vals[] = {q->q, q->type, q->subject, q->creator, q->licence, q->owner};
    fputs("/?", f);
    for (int i = 0; i < 6; i++)
        if (vals[i]) {
            fprintf(f, "%s=", keys[i]);
            url_enc(f, vals[i]);
            fputs("&amp;", f);
        }
    fprintf(f, "page=%ld", page);
    if (q->per_page != 20) fprintf(f, "&amp;per_page=%ld", q->per_page);
}

char *bk_hub_web_search(sqlite3 *db, const bk_hub_viewer *who, const bk_hub_search_q *q, int *code)
{
    json_t *res = NULL;
    char err[512];
    *code = bk_hub_search(db, who, q, &res, err, sizeof err);
    char *buf = NULL;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        json_decref(res);
        return NULL;
    }
    page_open(f, q->q ? q->q : "Search");
    fputs("<h1>Models and datasets</h1>\n", f);
    search_form(f, q);
    if (*code != 200) {
        fputs("<p class=\"tomb\" id=\"error\">", f);
        E(f, err);
        fputs("</p>\n", f);
        return page_close(f, &buf);
    }
    long long total = json_integer_value(json_object_get(res, "total"));
    long pages = (long)((total + q->per_page - 1) / q->per_page);
    fprintf(f, "<p class=\"muted\" id=\"total\">%lld record%s%s</p>\n<ol class=\"results\" start=\"%ld\">\n",
            total, total == 1 ? "" : "s", q->q ? ", best matches first" : ", newest first",
            (q->page - 1) * q->per_page + 1);
    json_t *r;
    size_t i;
    json_array_foreach(json_object_get(res, "results"), i, r) {
        fputs("<li><a class=\"title\" href=\"/records/", f);
        url_enc(f, str(r, "owner"));
        fputc('/', f);
        url_enc(f, str(r, "name"));
        fputs("\">", f);
        E(f, *str(r, "title") ? str(r, "title") : str(r, "name"));
        fprintf(f, "</a><br><span class=\"tag\">%s</span><code>", !strcmp(str(r, "type"), "model") ? "model" : "dataset");
        E(f, str(r, "id"));
        fputs("</code> <span class=\"muted\">licence ", f);
        E(f, *str(r, "licence") ? str(r, "licence") : "unknown");
        fputs(" \xc2\xb7 updated ", f);
        E(f, str(r, "updated"));
        if (q->q) fprintf(f, " \xc2\xb7 score %.2f", json_real_value(json_object_get(r, "score")));
        fputs("</span></li>\n", f);
    }
    fputs("</ol>\n", f);
    if (!total) fputs("<p>No record matches.</p>\n", f);
    if (pages > 1) {
        fputs("<nav class=\"pages\"><p>", f);
        if (q->page > 1) {
            fputs("<a rel=\"prev\" href=\"", f);
            page_href(f, q, q->page - 1);
            fputs("\">\xe2\x86\x90 previous</a> ", f);
        }
        fprintf(f, "page %ld of %ld", q->page, pages);
        if (q->page < pages) {
            fputs(" <a rel=\"next\" href=\"", f);
            page_href(f, q, q->page + 1);
            fputs("\">next \xe2\x86\x92</a>", f);
        }
        fputs("</p></nav>\n", f);
    }
    json_decref(res);
    return page_close(f, &buf);
}

/* ---------- record page ---------- */

static void dt(FILE *f, const char *term) { fprintf(f, "<dt>%s</dt><dd>", term); }

static void metadata_section(FILE *f, json_t *v, json_t *meta)
{
    json_t *x;
    size_t i;
    fputs("<h2 id=\"metadata\">Metadata</h2>\n<dl class=\"meta\">", f);
    dt(f, "Identifier");
    fputs("<code>", f);
    E(f, str(v, "id"));
    fputs("</code></dd>", f);
    dt(f, "Manifest digest");
    fputs("<code>", f);
    E(f, str(v, "digest"));
    fputs("</code></dd>", f);
    dt(f, "Creators");
    json_array_foreach(json_object_get(meta, "creators"), i, x) {
        if (i) fputs("; ", f);
        E(f, str(x, "name"));
        json_t *aff = json_object_get(x, "affiliation");
        if (aff) {
            fputs(" <span class=\"muted\">(", f);
            if (json_is_array(aff)) {
                json_t *a;
                size_t j;
                json_array_foreach(aff, j, a) {
                    if (j) fputs(", ", f);
                    json_text(f, json_is_object(a) ? json_object_get(a, "name") : a);
                }
            } else {
                json_text(f, aff);
            }
            fputs(")</span>", f);
        }
        if (str(x, "orcid")) {
            fputs(" <a rel=\"nofollow\" href=\"https://orcid.org/", f);
            url_enc(f, str(x, "orcid"));
            fputs("\">ORCID ", f);
            E(f, str(x, "orcid"));
            fputs("</a>", f);
        }
    }
    fputs("</dd>", f);
    json_t *pub = json_object_get(meta, "publisher");
    dt(f, "Publisher");
    json_text(f, json_is_object(pub) ? json_object_get(pub, "name") : pub);
    fputs("</dd>", f);
    dt(f, "Publication year");
    json_text(f, json_object_get(meta, "publicationYear"));
    fputs("</dd>", f);
    json_t *rt = json_object_get(meta, "resourceType");
    dt(f, "Resource type");
    json_text(f, json_is_object(rt) ? json_object_get(rt, "resourceTypeGeneral") : rt);
    fputs("</dd>", f);
    dt(f, "Licence");
    json_array_foreach(json_object_get(meta, "rightsList"), i, x) {
        if (i) fputs(", ", f);
        E(f, str(x, "rightsIdentifier") ? str(x, "rightsIdentifier") : str(x, "rights"));
    }
    fputs("</dd>", f);
    if (json_array_size(json_object_get(meta, "subjects"))) {
        dt(f, "Subjects");
        json_array_foreach(json_object_get(meta, "subjects"), i, x) {
            fputs("<a class=\"tag\" href=\"/?domain=", f);
            url_enc(f, str(x, "subject"));
            fputs("\">", f);
            E(f, str(x, "subject"));
            fputs("</a>", f);
        }
        fputs("</dd>", f);
    }
    json_array_foreach(json_object_get(meta, "descriptions"), i, x) {
        dt(f, "Description");
        E(f, str(x, "description"));
        fputs("</dd>", f);
    }
    json_array_foreach(json_object_get(meta, "relatedIdentifiers"), i, x) {
        dt(f, "Related");
        if (str(x, "relationType")) {
            E(f, str(x, "relationType"));
            fputs(": ", f);
        }
        if (str(x, "relatedIdentifier")) related_link(f, str(x, "relatedIdentifier"), str(x, "relatedIdentifierType"));
        fputs("</dd>", f);
    }
    dt(f, "Published");
    E(f, str(v, "created"));
    fputs(" by ", f);
    E(f, str(v, "published_by"));
    fputs("</dd></dl>\n", f);
}

static void signature_section(FILE *f, json_t *meta)
{
    json_t *sig = json_object_get(meta, "signature");
    if (!json_is_object(sig)) return;
    fputs("<h2 id=\"signature\">Signature</h2>\n<table><tr><th></th><th>name</th><th>dtype</th><th>shape</th>"
          "<th>units</th></tr>\n", f);
    const char *sides[] = {"inputs", "outputs"};
    for (int s = 0; s < 2; s++) {
        json_t *x;
        size_t i;
        json_array_foreach(json_object_get(sig, sides[s]), i, x) {
            fprintf(f, "<tr><td>%s</td><td>", i ? "" : s ? "output" : "input");
            E(f, str(x, "name"));
            fputs("</td><td>", f);
            E(f, str(x, "dtype"));
            fputs("</td><td><code>", f);
            json_text(f, json_object_get(x, "shape"));
            fputs("</code></td><td>", f);
            if (json_object_get(x, "units")) json_text(f, json_object_get(x, "units"));
            fputs("</td></tr>\n", f);
        }
    }
    fputs("</table>\n", f);
}

/* Key/value table of an object (metrics, dataset description). */
static void kv_section(FILE *f, const char *id, const char *title, json_t *obj)
{
    if (!json_is_object(obj) || !json_object_size(obj)) return;
    fprintf(f, "<h2 id=\"%s\">%s</h2>\n<table>\n", id, title);
    const char *k;
    json_t *x;
    json_object_foreach(obj, k, x) {
        fputs("<tr><th>", f);
        E(f, k);
        fputs("</th><td>", f);
        json_text(f, x);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

static void versions_section(FILE *f, json_t *rec, int shown)
{
    fputs("<h2 id=\"versions\">Versions</h2>\n<table><tr><th>version</th><th>aliases</th><th>digest</th>"
          "<th>published</th><th>status</th></tr>\n", f);
    json_t *aliases = json_object_get(rec, "aliases"), *x;
    json_t *vs = json_object_get(rec, "versions");
    /* Newest first: the version a reader most likely wants is on top. */
    for (size_t i = json_array_size(vs); i-- > 0;) {
        x = json_array_get(vs, i);
        int n = (int)json_integer_value(json_object_get(x, "version"));
        fprintf(f, "<tr%s><td><a href=\"/records/", n == shown ? " class=\"shown\"" : "");
        url_enc(f, str(rec, "owner"));
        fputc('/', f);
        url_enc(f, str(rec, "name"));
        fprintf(f, "?v=%d\">@%d</a></td><td>", n, n);
        const char *a;
        json_t *av;
        json_object_foreach(aliases, a, av) {
            if (json_integer_value(av) != n) continue;
            fputs("<span class=\"tag\">", f);
            E(f, a);
            fputs("</span>", f);
        }
        fputs("</td><td><code>", f);
        E(f, str(x, "digest"));
        fputs("</code></td><td>", f);
        E(f, str(x, "created"));
        fputs("</td><td>", f);
        if (str(x, "deleted")) {
            fputs("<span class=\"tag dead\">deleted</span> ", f);
            E(f, str(x, "deleted"));
        } else {
            fputs("available", f);
        }
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

static void files_section(FILE *f, json_t *v, int deleted)
{
    fputs("<h2 id=\"files\">Files</h2>\n<table><tr><th>name</th><th>size</th><th>SHA-256</th></tr>\n", f);
    json_t *x;
    size_t i;
    json_array_foreach(json_object_get(v, "files"), i, x) {
        fputs("<tr><td>", f);
        if (deleted) {
            E(f, str(x, "name"));
        } else {
            fputs("<a download href=\"/api/v1/records/", f);
            url_enc(f, str(v, "owner"));
            fputc('/', f);
            url_enc(f, str(v, "name"));
            fprintf(f, "/versions/%d/files/", (int)json_integer_value(json_object_get(v, "version")));
            url_enc(f, str(x, "name"));
            fputs("\">", f);
            E(f, str(x, "name"));
            fputs("</a>", f);
        }
        long long size = json_integer_value(json_object_get(x, "size"));
        fputs("</td><td title=\"", f);
        fprintf(f, "%lld bytes\">", size);
        human_size(f, size);
        fputs("</td><td><code>", f);
        E(f, str(x, "sha256"));
        fputs("</code></td></tr>\n", f);
    }
    fputs("</table>\n", f);
    if (deleted) fputs("<p class=\"muted\">This version was deleted: its files are no longer served.</p>\n", f);
    else {
        fputs("<p class=\"muted\">Pull with verification: <code>brisk hub pull ", f);
        E(f, str(v, "id"));
        fputs("</code>, or use <code>hub:", f);
        E(f, str(v, "id"));
        fputs("</code> as a path in a run config.</p>\n", f);
    }
}

static void citation_section(FILE *f, json_t *v, const char *base)
{
    char url[1400];
    snprintf(url, sizeof url, "%s/api/v1/records/%s/%s/versions/%d", base, str(v, "owner"), str(v, "name"),
             (int)json_integer_value(json_object_get(v, "version")));
    char *bib = bk_hub_bibtex(v, url);
    json_t *dc = bk_hub_datacite(v, url);
    char *dcs = dc ? json_dumps(dc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    fputs("<h2 id=\"citation\">Cite this version</h2>\n<h3>BibTeX</h3>\n<pre id=\"bibtex\">", f);
    E(f, bib);
    fputs("</pre>\n<h3>DataCite JSON</h3>\n<pre id=\"datacite\">", f);
    E(f, dcs);
    fputs("</pre>\n", f);
    free(bib);
    free(dcs);
    json_decref(dc);
}

static void provenance_section(FILE *f, json_t *meta)
{
    json_t *p = json_object_get(meta, "provenance");
    if (!json_is_object(p) || !json_object_size(p)) return;
    fputs("<h2 id=\"provenance\">Provenance</h2>\n<dl class=\"meta\">", f);
    json_t *parent = json_object_get(p, "parent");
    if (parent) {
        dt(f, "Parent model");
        if (json_is_string(parent)) ident_link(f, json_string_value(parent));
        else if (str(parent, "id")) ident_link(f, str(parent, "id"));
        else json_text(f, parent);
        if (str(p, "parent_digest")) {
            fputs(" <span class=\"muted\">", f);
            E(f, str(p, "parent_digest"));
            fputs("</span>", f);
        }
        fputs("</dd>", f);
    }
    json_t *x;
    size_t i;
    json_array_foreach(json_object_get(p, "datasets"), i, x) {
        dt(f, "Dataset");
        if (json_is_string(x)) ident_link(f, json_string_value(x));
        else {
            if (str(x, "role")) {
                E(f, str(x, "role"));
                fputs(": ", f);
            }
            ident_link(f, str(x, "id"));
            if (str(x, "digest")) {
                fputs(" <span class=\"muted\">", f);
                E(f, str(x, "digest"));
                fputs("</span>", f);
            }
        }
        fputs("</dd>", f);
    }
    if (json_object_get(p, "brisk_version")) {
        dt(f, "brisk version");
        json_text(f, json_object_get(p, "brisk_version"));
        fputs("</dd>", f);
    }
    json_t *ck = json_object_get(p, "checkpoint");
    if (ck) {
        dt(f, "Checkpoint");
        json_text(f, json_is_object(ck) && str(ck, "file") ? json_object_get(ck, "file") : ck);
        if (str(ck, "sha256")) {
            fputs(" <code>", f);
            E(f, str(ck, "sha256"));
            fputs("</code>", f);
        }
        fputs("</dd>", f);
    }
    fputs("</dl>\n", f);
    json_t *cfg = json_object_get(p, "config");
    if (cfg) {
        char *s = json_dumps(cfg, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
        fputs("<details><summary>Training configuration</summary><pre>", f);
        E(f, s);
        fputs("</pre></details>\n", f);
        free(s);
    }
}

/* The version to show: ref when given, else latest, else the newest (all
 * deleted). 1 found, 0 not, -1 database error. */
static int pick_version(sqlite3 *db, const bk_hub_record *r, const char *ref, json_t *rec, int *version)
{
    if (ref) return bk_hub_resolve_ref(db, r->id, ref, version);
    json_t *latest = json_object_get(json_object_get(rec, "aliases"), "latest");
    json_t *vs = json_object_get(rec, "versions");
    if (latest) *version = (int)json_integer_value(latest);
    else if (json_array_size(vs))
        *version = (int)json_integer_value(json_object_get(json_array_get(vs, json_array_size(vs) - 1), "version"));
    else return 0;
    return 1;
}

char *bk_hub_web_record(sqlite3 *db, const bk_hub_viewer *who, const char *owner, const char *name,
                        const char *ref, const char *base, int *code)
{
    char msg[300];
    bk_hub_record r;
    int found = 0;
    if (bk_hub_check_ident(owner, "owner") || bk_hub_check_ident(name, "name") ||
        (ref && bk_hub_check_ident(ref, "version")))
        return *code = 400, bk_hub_web_error(400, bk_last_error());
    found = bk_hub_find_record(db, owner, name, &r);
    if (found < 0) return *code = 500, bk_hub_web_error(500, sqlite3_errmsg(db));
    /* Private records look exactly like missing ones, as in the API. */
    if (!found || !bk_hub_can_read(who, &r)) {
        snprintf(msg, sizeof msg, "Record %s/%s not found.", owner, name);
        return *code = 404, bk_hub_web_error(404, msg);
    }
    json_t *rec = bk_hub_record_json(db, &r);
    int version = 0;
    int ok = rec ? pick_version(db, &r, ref, rec, &version) : -1;
    json_t *v = ok > 0 ? bk_hub_version_json(db, &r, version, base) : NULL;
    if (!v) {
        json_decref(rec);
        if (ok == 0) {
            snprintf(msg, sizeof msg, "%s/%s@%s not found.", owner, name, ref ? ref : "latest");
            return *code = 404, bk_hub_web_error(404, msg);
        }
        return *code = 500, bk_hub_web_error(500, sqlite3_errmsg(db));
    }
    json_t *meta = json_object_get(v, "metadata");
    const char *title = str(json_array_get(json_object_get(meta, "titles"), 0), "title");
    char *buf = NULL;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        json_decref(v);
        json_decref(rec);
        return NULL;
    }
    page_open(f, title ? title : str(v, "id"));
    fputs("<h1>", f);
    E(f, title ? title : str(v, "id"));
    fprintf(f, "</h1>\n<p><span class=\"tag\">%s</span>", !strcmp(r.type, "model") ? "model" : "dataset");
    if (r.is_private) fputs("<span class=\"tag priv\">private</span>", f);
    fputs("<code id=\"pid\">", f);
    E(f, str(v, "id"));
    fputs("</code></p>\n", f);
    json_t *del = json_object_get(v, "deleted");
    if (del) {
        fputs("<p class=\"tomb\" id=\"tombstone\"><strong>Deleted</strong> at ", f);
        E(f, str(del, "at"));
        fputs(": ", f);
        E(f, *str(del, "reason") ? str(del, "reason") : "no reason given");
        fputs(". The metadata stays for citation; the files are gone.</p>\n", f);
    }
    if (str(meta, "modelCard")) {
        fputs("<h2 id=\"card\">Model card</h2>\n<div class=\"card\">", f);
        bk_hub_markdown(f, str(meta, "modelCard"));
        fputs("</div>\n", f);
    }
    metadata_section(f, v, meta);
    signature_section(f, meta);
    kv_section(f, "metrics", "Evaluation metrics", json_object_get(meta, "metrics"));
    kv_section(f, "dataset", "Dataset description", json_object_get(meta, "dataset"));
    provenance_section(f, meta);
    files_section(f, v, del != NULL);
    versions_section(f, rec, version);
    citation_section(f, v, base);
    json_decref(v);
    json_decref(rec);
    *code = 200;
    return page_close(f, &buf);
}
