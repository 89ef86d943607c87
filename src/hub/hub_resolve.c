/* Resolution of "hub:" references in run configs (see hub_resolve.h). The
 * pull verifies every file's SHA-256 and the manifest digest, so the path
 * handed to the loaders is exactly the content the identifier names. */
#include "hub_resolve.h"
#include "brisk/hub.h"
#include "brisk/train.h"
#include "hub_internal.h"

#include <stdlib.h>
#include <string.h>

/* Splits "owner/name[@ref][/file]" into "owner/name@ref" and file. */
static bk_status split_ref(const char *ref, char *id, size_t n, char *file, size_t fn)
{
    const char *s = ref + 4, *slash = strchr(s, '/');
    const char *usage = "expected hub:OWNER/NAME[@VERSION|@ALIAS][/FILE], e.g. hub:alice/quads@2/x.npy";
    if (!slash) return bk_error(BK_ERR_INVALID, "\"%s\": %s", ref, usage);
    const char *end = slash + 1 + strcspn(slash + 1, "@/");
    const char *ver = "latest";
    size_t vlen = 6;
    const char *rest = end;
    if (*end == '@') {
        ver = end + 1;
        vlen = strcspn(ver, "/");
        rest = ver + vlen;
    }
    file[0] = 0;
    if (*rest == '/') snprintf(file, fn, "%s", rest + 1);
    if ((size_t)snprintf(id, n, "%.*s@%.*s", (int)(end - s), s, (int)vlen, ver) >= n)
        return bk_error(BK_ERR_INVALID, "\"%s\": identifier too long", ref);
    if (!vlen || end == slash + 1) return bk_error(BK_ERR_INVALID, "\"%s\": %s", ref, usage);
    return BK_OK;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* The manifest entry to use (see hub_resolve.h), or NULL with an error. */
static json_t *pick_file(json_t *files, const char *want, const char *prefer, const char *ref)
{
    json_t *f, *hit = NULL;
    size_t i, nhit = 0;
    if (*want) {
        json_array_foreach(files, i, f)
            if (!strcmp(json_string_value(json_object_get(f, "name")), want)) return f;
    } else if (json_array_size(files) == 1) {
        return json_array_get(files, 0);
    } else if (prefer) {
        const char *ext = strrchr(prefer, '.');
        json_array_foreach(files, i, f) {
            const char *name = json_string_value(json_object_get(f, "name"));
            if (!strcmp(name, prefer)) return f;
            if (ext && ends_with(name, ext)) hit = f, nhit++;
        }
        if (nhit == 1) return hit;
    }
    char names[1024] = "";
    size_t len = 0;
    json_array_foreach(files, i, f) {
        int k = snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "",
                         json_string_value(json_object_get(f, "name")));
        if (k < 0 || (size_t)k >= sizeof names - len) break;
        len += (size_t)k;
    }
    if (*want) bk_error(BK_ERR_INVALID, "\"%s\": the version has no file \"%s\" (files: %s)", ref, want, names);
    else bk_error(BK_ERR_INVALID, "\"%s\": the version has several files (%s); name one: %s/FILE", ref, names, ref);
    return NULL;
}

bk_status bk_hub_resolve(const char *ref, const char *prefer, char *out, size_t n, json_t **prov)
{
    *prov = NULL;
    out[0] = 0;
    char id[400], want[300], cache[BK_HUB_PATH_MAX];
    bk_status st = split_ref(ref, id, sizeof id, want, sizeof want);
    if (st) return st;
    const char *url = getenv("BRISK_HUB_URL");
    if (!url || !*url)
        return bk_error(BK_ERR_INVALID, "\"%s\": set BRISK_HUB_URL to the hub's address (e.g. http://127.0.0.1:8080)", ref);
    if ((st = bk_hub_cache_dir(NULL, cache, sizeof cache))) return st;
    bk_hub_client *c;
    if ((st = bk_hub_client_create(&c, url, getenv("BRISK_HUB_TOKEN")))) return st;
    json_t *v = NULL;
    st = bk_hub_pull_version(c, id, cache, NULL, NULL, &v);
    bk_hub_client_destroy(c);
    if (st) return bk_error_context(st, "\"%s\": ", ref);
    json_t *f = pick_file(json_object_get(v, "files"), want, prefer, ref);
    if (!f) {
        json_decref(v);
        return BK_ERR_INVALID;
    }
    const char *sha = json_string_value(json_object_get(f, "sha256"));
    bk_hub_blob_path(out, n, cache, sha);
    *prov = json_pack("{s:s, s:O, s:O, s:O, s:s, s:s}", "ref", ref, "id", json_object_get(v, "id"), "digest",
                      json_object_get(v, "digest"), "file", json_object_get(f, "name"), "sha256", sha, "path", out);
    json_decref(v);
    return *prov ? BK_OK : bk_error(BK_ERR_NOMEM, "out of memory");
}

/* The trainer's resolver (train.h): bk_hub_resolve with its provenance as
 * JSON text, so the trainer needs no hub type. */
static bk_status resolve_for_runs(const char *ref, const char *prefer, char *out, size_t n, char **provenance)
{
    json_t *prov = NULL;
    bk_status st = bk_hub_resolve(ref, prefer, out, n, &prov);
    *provenance = NULL;
    if (!st) {
        *provenance = json_dumps(prov, JSON_COMPACT);
        if (!*provenance) st = bk_error(BK_ERR_NOMEM, "out of memory");
    }
    json_decref(prov);
    return st;
}

void bk_hub_register_resolver(void) { bk_config_set_ref_resolver(resolve_for_runs); }
