/* Read-only registry queries shared by the REST API (hub_server.c) and
 * the web pages (hub_web.c): one place decides what a record looks like,
 * who may see it, and how search ranks. */
#include "hub_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


int bk_hub_is_number(const char *s)
{
    if (!*s || strlen(s) > 9) return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return 0;
    return 1;
}

int bk_hub_find_record(sqlite3 *db, const char *owner, const char *name, bk_hub_record *r)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, "SELECT id, owner, name, type, private FROM records WHERE owner = ? AND "
                           "name = ?", -1, &s, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(s, 1, owner, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s), found = 0;
    if (rc == SQLITE_ROW) {
        r->id = sqlite3_column_int64(s, 0);
        snprintf(r->owner, sizeof r->owner, "%s", col_text(s, 1));
        snprintf(r->name, sizeof r->name, "%s", col_text(s, 2));
        snprintf(r->type, sizeof r->type, "%s", col_text(s, 3));
        r->is_private = col_int(s, 4);
        found = 1;
    } else if (rc != SQLITE_DONE) {
        found = -1;
    }
    sqlite3_finalize(s);
    return found;
}

int bk_hub_can_read(const bk_hub_viewer *who, const bk_hub_record *r)
{
    return !r->is_private || who->is_admin || (who->user_id && !strcmp(who->user, r->owner));
}

int bk_hub_resolve_ref(sqlite3 *db, long long rec, const char *ref, int *version)
{
    if (bk_hub_is_number(ref)) {
        *version = atoi(ref);
        sqlite3_stmt *s;
        if (sqlite3_prepare_v2(db, "SELECT 1 FROM versions WHERE record_id = ? AND version = ?", -1, &s,
                               NULL) != SQLITE_OK)
            return -1;
        sqlite3_bind_int64(s, 1, rec);
        sqlite3_bind_int(s, 2, *version);
        int rc = sqlite3_step(s);
        sqlite3_finalize(s);
        return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
    }
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, "SELECT version FROM aliases WHERE record_id = ? AND alias = ?", -1, &s,
                           NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(s, 1, rec);
    sqlite3_bind_text(s, 2, ref, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) *version = col_int(s, 0);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

json_t *bk_hub_version_json(sqlite3 *db, const bk_hub_record *r, int version, const char *base)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, "SELECT id, digest, metadata, published_by, created, deleted, "
                           "delete_reason FROM versions WHERE record_id = ? AND version = ?", -1, &s,
                           NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_int64(s, 1, r->id);
    sqlite3_bind_int(s, 2, version);
    if (sqlite3_step(s) != SQLITE_ROW) {
        sqlite3_finalize(s);
        return NULL;
    }
    long long vid = sqlite3_column_int64(s, 0);
    char pid[160];
    snprintf(pid, sizeof pid, "%s/%s@%d", r->owner, r->name, version);
    json_t *meta = json_loads(col_text(s, 2), 0, NULL);
    json_t *v = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:b, s:s, s:s, s:o*}", "id", pid, "owner",
                          r->owner, "name", r->name, "type", r->type, "version", version, "digest",
                          col_text(s, 1), "private", r->is_private, "published_by", col_text(s, 3),
                          "created", col_text(s, 4), "metadata", meta);
    if (v && sqlite3_column_type(s, 5) != SQLITE_NULL)
        json_object_set_new(v, "deleted", json_pack("{s:s, s:s}", "at", col_text(s, 5), "reason",
                                                     col_text(s, 6)));
    sqlite3_finalize(s);
    if (!v) return NULL;
    json_t *files = json_array();
    json_object_set_new(v, "files", files);
    if (sqlite3_prepare_v2(db, "SELECT name, size, sha256 FROM files WHERE version_id = ? ORDER BY name",
                           -1, &s, NULL) != SQLITE_OK) {
        json_decref(v);
        return NULL;
    }
    sqlite3_bind_int64(s, 1, vid);
    while (sqlite3_step(s) == SQLITE_ROW) {
        char url[1024];
        snprintf(url, sizeof url, "%s/api/v1/records/%s/%s/versions/%d/files/%s", base, r->owner,
                 r->name, version, col_text(s, 0));
        json_array_append_new(files, json_pack("{s:s, s:I, s:s, s:s}", "name", col_text(s, 0), "size",
                                               (json_int_t)sqlite3_column_int64(s, 1), "sha256",
                                               col_text(s, 2), "url", url));
    }
    sqlite3_finalize(s);
    return v;
}

json_t *bk_hub_record_json(sqlite3 *db, const bk_hub_record *r)
{
    json_t *versions = json_array(), *aliases = json_object();
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, "SELECT version, digest, created, deleted FROM versions WHERE "
                           "record_id = ? ORDER BY version", -1, &s, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_bind_int64(s, 1, r->id);
    while (sqlite3_step(s) == SQLITE_ROW) {
        char pid[160];
        snprintf(pid, sizeof pid, "%s/%s@%d", r->owner, r->name, col_int(s, 0));
        json_t *e = json_pack("{s:s, s:i, s:s, s:s}", "id", pid, "version", col_int(s, 0), "digest",
                              col_text(s, 1), "created", col_text(s, 2));
        if (e && sqlite3_column_type(s, 3) != SQLITE_NULL)
            json_object_set_new(e, "deleted", json_string(col_text(s, 3)));
        json_array_append_new(versions, e);
    }
    sqlite3_finalize(s);
    if (sqlite3_prepare_v2(db, "SELECT alias, version FROM aliases WHERE record_id = ? ORDER BY alias",
                           -1, &s, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_bind_int64(s, 1, r->id);
    while (sqlite3_step(s) == SQLITE_ROW)
        json_object_set_new(aliases, col_text(s, 0), json_integer(col_int(s, 1)));
    sqlite3_finalize(s);
    if (sqlite3_prepare_v2(db, "SELECT title, licence, created, updated FROM records WHERE id = ?", -1,
                           &s, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_bind_int64(s, 1, r->id);
    json_t *out = NULL;
    if (sqlite3_step(s) == SQLITE_ROW)
        out = json_pack("{s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:s, s:o, s:o}", "owner", r->owner, "name",
                        r->name, "type", r->type, "private", r->is_private, "title", col_text(s, 0),
                        "licence", col_text(s, 1), "created", col_text(s, 2), "updated", col_text(s, 3),
                        "versions", versions, "aliases", aliases);
    sqlite3_finalize(s);
    return out;
fail:
    json_decref(versions);
    json_decref(aliases);
    return NULL;
}

static void bib_escape(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        if (strchr("{}\\&%$#_", *s)) fputc('\\', f);
        fputc(*s, f);
    }
}

char *bk_hub_bibtex(json_t *v, const char *url)
{
    json_t *meta = json_object_get(v, "metadata");
    const char *owner = json_string_value(json_object_get(v, "owner"));
    const char *name = json_string_value(json_object_get(v, "name"));
    int version = (int)json_integer_value(json_object_get(v, "version"));
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return NULL;
    fprintf(f, "@misc{%s_%s_%d,\n  author = {", owner, name, version);
    json_t *cr = json_object_get(meta, "creators");
    for (size_t i = 0; i < json_array_size(cr); i++) {
        if (i) fputs(" and ", f);
        bib_escape(f, json_string_value(json_object_get(json_array_get(cr, i), "name")));
    }
    fputs("},\n  title = {", f);
    bib_escape(f, json_string_value(json_object_get(json_array_get(json_object_get(meta, "titles"), 0), "title")));
    json_t *pub = json_object_get(meta, "publisher");
    fputs("},\n  publisher = {", f);
    bib_escape(f, json_is_string(pub) ? json_string_value(pub) : json_string_value(json_object_get(pub, "name")));
    json_t *y = json_object_get(meta, "publicationYear");
    if (json_is_integer(y)) fprintf(f, "},\n  year = {%lld", (long long)json_integer_value(y));
    else fprintf(f, "},\n  year = {%s", json_string_value(y) ? json_string_value(y) : "");
    fprintf(f, "},\n  version = {%d},\n  howpublished = {brisk hub, %s},\n  note = {", version,
            json_string_value(json_object_get(v, "id")));
    bib_escape(f, json_string_value(json_object_get(v, "digest")));
    fprintf(f, "},\n  url = {%s}\n}\n", url);
    fclose(f);
    return text;
}

json_t *bk_hub_datacite(json_t *v, const char *url)
{
    json_t *d = json_deep_copy(json_object_get(v, "metadata"));
    if (!d) return NULL;
    /* brisk's own extensions are not DataCite fields. */
    const char *ours[] = {"signature", "provenance", "modelCard", "metrics", "dataset"};
    for (size_t i = 0; i < sizeof ours / sizeof *ours; i++) json_object_del(d, ours[i]);
    json_object_set_new(d, "identifiers", json_pack("[{s:s, s:s}, {s:s, s:s}]", "identifier",
                                                    json_string_value(json_object_get(v, "id")), "identifierType",
                                                    "brisk-hub", "identifier",
                                                    json_string_value(json_object_get(v, "digest")),
                                                    "identifierType", "sha256-manifest"));
    char vs[16];
    snprintf(vs, sizeof vs, "%d", (int)json_integer_value(json_object_get(v, "version")));
    json_object_set_new(d, "version", json_string(vs));
    json_object_set_new(d, "url", json_string(url));
    json_object_set_new(d, "schemaVersion", json_string("http://datacite.org/schema/kernel-4"));
    return d;
}

/* Turns free text into an FTS5 query of quoted terms (all must match), so
 * user input can never be an FTS5 syntax error or operator. */
static char *fts_query(const char *q)
{
    size_t n = strlen(q);
    char *out = malloc(3 * n + 4), *o = out;
    if (!out) return NULL;
    const char *p = q;
    while (*p) {
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) break;
        if (o != out) *o++ = ' ';
        *o++ = '"';
        for (; *p && *p != ' ' && *p != '\t'; p++) {
            if (*p == '"') *o++ = '"';
            *o++ = *p;
        }
        *o++ = '"';
    }
    *o = 0;
    return out;
}

int bk_hub_search(sqlite3 *db, const bk_hub_viewer *who, const bk_hub_search_q *q, json_t **out, char *err,
                  size_t n)
{
    *out = NULL;
    long page = q->page, per = q->per_page;
    if (page < 1 || page > 100000) return snprintf(err, n, "page: must be an integer from 1"), 400;
    if (per < 1 || per > 100) return snprintf(err, n, "per_page: must be an integer from 1 to 100"), 400;
    if (q->type && strcmp(q->type, "model") && strcmp(q->type, "dataset"))
        return snprintf(err, n, "type: must be \"model\" or \"dataset\""), 400;
    char *fq = q->q ? fts_query(q->q) : NULL;
    if (q->q && !fq) return snprintf(err, n, "out of memory"), 500;
    if (fq && !*fq) {
        free(fq);
        fq = NULL;
    }
    /* creator: a case-insensitive substring of a creator's name in the
     * latest version's metadata (read through SQLite's JSON functions). */
    const char *where =
        " WHERE (?1 IS NULL OR r.type = ?1) AND (?2 IS NULL OR r.owner = ?2)"
        " AND (?3 IS NULL OR lower(r.licence) = lower(?3))"
        " AND (?4 IS NULL OR EXISTS(SELECT 1 FROM subjects s WHERE s.record_id = r.id AND"
        " lower(s.subject) = lower(?4)))"
        " AND (?10 IS NULL OR EXISTS(SELECT 1 FROM versions v JOIN aliases a ON a.record_id = v.record_id"
        " AND a.alias = 'latest' AND a.version = v.version, json_each(v.metadata, '$.creators') c"
        " WHERE v.record_id = r.id AND instr(lower(json_extract(c.value, '$.name')), lower(?10)) > 0))"
        " AND (r.private = 0 OR ?5 OR r.owner = ?6)";
    char sql[4096], csql[4096];
    if (fq) {
        snprintf(sql, sizeof sql, "SELECT r.owner, r.name, r.type, r.title, r.licence, r.updated, "
                 "(SELECT version FROM aliases a WHERE a.record_id = r.id AND a.alias = 'latest'), "
                 "bm25(search, 2.0, 4.0, 10.0, 3.0, 1.0, 5.0) FROM search JOIN records r ON r.id = "
                 "search.rowid%s AND search MATCH ?7 ORDER BY 8, r.id LIMIT ?8 OFFSET ?9", where);
        snprintf(csql, sizeof csql, "SELECT count(*) FROM search JOIN records r ON r.id = search.rowid%s "
                 "AND search MATCH ?7", where);
    } else {
        snprintf(sql, sizeof sql, "SELECT r.owner, r.name, r.type, r.title, r.licence, r.updated, "
                 "(SELECT version FROM aliases a WHERE a.record_id = r.id AND a.alias = 'latest'), 0 "
                 "FROM records r%s AND ?7 IS NULL ORDER BY r.updated DESC, r.id DESC LIMIT ?8 OFFSET ?9",
                 where);
        snprintf(csql, sizeof csql, "SELECT count(*) FROM records r%s AND ?7 IS NULL", where);
    }
    json_t *results = json_array();
    long long total = 0;
    int ok = results != NULL;
    for (int pass = 0; pass < 2 && ok; pass++) {
        sqlite3_stmt *s;
        if (sqlite3_prepare_v2(db, pass ? sql : csql, -1, &s, NULL) != SQLITE_OK) {
            ok = 0;
            break;
        }
        const char *vals[] = {q->type, q->owner, q->licence, q->subject};
        for (int i = 0; i < 4; i++)
            if (vals[i]) sqlite3_bind_text(s, i + 1, vals[i], -1, SQLITE_TRANSIENT);
        if (q->creator) sqlite3_bind_text(s, 10, q->creator, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(s, 5, who->is_admin);
        sqlite3_bind_text(s, 6, who->user_id ? who->user : "", -1, SQLITE_TRANSIENT);
        if (fq) sqlite3_bind_text(s, 7, fq, -1, SQLITE_TRANSIENT);
        /* Unused numbered parameters stay NULL; 8/9 exist only in sql. */
        if (pass) {
            sqlite3_bind_int64(s, 8, per);
            sqlite3_bind_int64(s, 9, (page - 1) * per);
        }
        int rc;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            if (!pass) {
                total = sqlite3_column_int64(s, 0);
                continue;
            }
            char pid[160];
            snprintf(pid, sizeof pid, "%s/%s@%d", col_text(s, 0), col_text(s, 1), col_int(s, 6));
            json_array_append_new(results, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:f}", "id", pid,
                                                     "owner", col_text(s, 0), "name", col_text(s, 1), "type",
                                                     col_text(s, 2), "title", col_text(s, 3), "licence",
                                                     col_text(s, 4), "updated", col_text(s, 5), "latest",
                                                     col_int(s, 6), "score", -sqlite3_column_double(s, 7)));
        }
        if (rc != SQLITE_DONE) ok = 0;
        sqlite3_finalize(s);
    }
    free(fq);
    if (!ok) {
        json_decref(results);
        snprintf(err, n, "registry database error: %s", sqlite3_errmsg(db));
        return 500;
    }
    *out = json_pack("{s:I, s:i, s:i, s:o}", "total", (json_int_t)total, "page", (int)page, "per_page", (int)per,
                     "results", results);
    if (!*out) return snprintf(err, n, "out of memory"), 500;
    return 200;
}
