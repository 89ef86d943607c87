/* brisk hub check: the store and the registry agree, and every blob still
 * hashes to its name. Read-only, so it may run beside a live server (a
 * version committed meanwhile may show as "unreferenced" notes). */
#include "hub_internal.h"

/* Paths are built in fixed buffers from a root whose length is checked on
 * entry (BK_HUB_ROOT_MAX), so GCC's worst-case truncation estimates do not
 * apply. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "core/fsutil.h"

static void problem(FILE *f, int *n, const char *fmt, const char *a, const char *b)
{
    ++*n;
    if (!f) return;
    fputs("problem: ", f);
    fprintf(f, fmt, a, b);
    fputc('\n', f);
}

bk_status bk_hub_check(const char *root, FILE *report, int *problems)
{
    *problems = 0;
    if (strlen(root) > BK_HUB_ROOT_MAX) return bk_error(BK_ERR_INVALID, "--root: path longer than %d bytes", BK_HUB_ROOT_MAX);
    char p[BK_HUB_PATH_MAX + 300];
    snprintf(p, sizeof p, "%s/registry.db", root);
    if (!bk_path_exists(p)) return bk_error(BK_ERR_IO, "\"%s\" is not a hub root (no registry.db)", root);
    sqlite3 *db;
    bk_status st = bk_hub_db_open(&db, root);
    if (st) return st;
    sqlite3_stmt *s;
    long blobs = 0, versions = 0, unref = 0;

    /* 1. SQLite's own consistency. */
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL) == SQLITE_OK) {
        while (sqlite3_step(s) == SQLITE_ROW)
            if (strcmp((const char *)sqlite3_column_text(s, 0), "ok"))
                problem(report, problems, "database: %s%s", (const char *)sqlite3_column_text(s, 0), "");
        sqlite3_finalize(s);
    }

    /* 2. Every blob hashes to its name. */
    snprintf(p, sizeof p, "%s/blobs", root);
    DIR *d = opendir(p);
    struct dirent *e;
    sqlite3_stmt *ref = NULL;
    sqlite3_prepare_v2(db, "SELECT 1 FROM files WHERE sha256 = ? LIMIT 1", -1, &ref, NULL);
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char sub[BK_HUB_PATH_MAX + 600];
        snprintf(sub, sizeof sub, "%s/%s", p, e->d_name);
        DIR *d2 = opendir(sub);
        if (!d2) {
            problem(report, problems, "stray entry in the store: %s%s", sub, "");
            continue;
        }
        struct dirent *f;
        while ((f = readdir(d2))) {
            if (!strcmp(f->d_name, ".") || !strcmp(f->d_name, "..")) continue;
            char sha[400], path[BK_HUB_PATH_MAX + 1000], hex[65];
            snprintf(sha, sizeof sha, "%s%s", e->d_name, f->d_name);
            snprintf(path, sizeof path, "%s/%s", sub, f->d_name);
            if (!bk_hub_is_sha256(sha)) {
                problem(report, problems, "stray file in the store: %s%s", path, "");
                continue;
            }
            blobs++;
            if (bk_sha256_file(path, hex, NULL)) {
                problem(report, problems, "%s: %s", path, bk_last_error());
                continue;
            }
            if (strcmp(hex, sha)) problem(report, problems, "blob %s hashes to %s (corrupted)", sha, hex);
            if (ref) {
                sqlite3_reset(ref);
                sqlite3_bind_text(ref, 1, sha, -1, SQLITE_TRANSIENT);
                if (sqlite3_step(ref) == SQLITE_DONE) {
                    unref++;
                    if (report) fprintf(report, "note: blob %s is not part of any version\n", sha);
                }
            }
        }
        closedir(d2);
    }
    if (d) closedir(d);
    sqlite3_finalize(ref);

    /* 3. Every version's files are in the store with their size, and its
     * manifest digest matches its files. */
    if (sqlite3_prepare_v2(db, "SELECT v.id, r.owner || '/' || r.name || '@' || v.version, v.digest FROM "
                           "versions v JOIN records r ON r.id = v.record_id ORDER BY v.id", -1, &s, NULL)
        != SQLITE_OK) {
        st = bk_error(BK_ERR_IO, "registry: %s", sqlite3_errmsg(db));
        sqlite3_close(db);
        return st;
    }
    sqlite3_stmt *fs = NULL;
    sqlite3_prepare_v2(db, "SELECT name, size, sha256 FROM files WHERE version_id = ?", -1, &fs, NULL);
    while (fs && sqlite3_step(s) == SQLITE_ROW) {
        versions++;
        const char *pid = (const char *)sqlite3_column_text(s, 1);
        json_t *files = json_array();
        sqlite3_reset(fs);
        sqlite3_bind_int64(fs, 1, sqlite3_column_int64(s, 0));
        while (sqlite3_step(fs) == SQLITE_ROW) {
            const char *sha = (const char *)sqlite3_column_text(fs, 2);
            json_array_append_new(files, json_pack("{s:s, s:I, s:s}", "name", sqlite3_column_text(fs, 0),
                                                   "size", (json_int_t)sqlite3_column_int64(fs, 1),
                                                   "sha256", sha));
            char path[BK_HUB_PATH_MAX];
            bk_hub_blob_path(path, sizeof path, root, sha);
            struct stat sb;
            if (stat(path, &sb) != 0) problem(report, problems, "%s: blob %s is missing", pid, sha);
            else if (sb.st_size != sqlite3_column_int64(fs, 1))
                problem(report, problems, "%s: blob %s has the wrong size", pid, sha);
        }
        char digest[72];
        if (json_array_size(files) == 0) problem(report, problems, "%s: version has no files%s", pid, "");
        else if (bk_hub_manifest_digest(files, digest) == BK_OK &&
                 strcmp(digest, (const char *)sqlite3_column_text(s, 2)))
            problem(report, problems, "%s: manifest digest does not match its files (%s)", pid, digest);
        json_decref(files);
    }
    sqlite3_finalize(fs);
    sqlite3_finalize(s);

    /* 4. Aliases point at versions that exist. */
    if (sqlite3_prepare_v2(db, "SELECT r.owner || '/' || r.name, a.alias FROM aliases a JOIN records r ON "
                           "r.id = a.record_id WHERE NOT EXISTS(SELECT 1 FROM versions v WHERE v.record_id = "
                           "a.record_id AND v.version = a.version)", -1, &s, NULL) == SQLITE_OK) {
        while (sqlite3_step(s) == SQLITE_ROW)
            problem(report, problems, "%s: alias %s points to a missing version",
                    (const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1));
        sqlite3_finalize(s);
    }
    sqlite3_close(db);
    if (report)
        fprintf(report, "checked %ld blobs and %ld versions: %d problems, %ld unreferenced blobs\n", blobs,
                versions, *problems, unref);
    return BK_OK;
}
