/* Record metadata validation: DataCite's mandatory properties plus what a
 * model needs to be reusable (signature, provenance). Each error names the
 * field by its JSON path under "metadata", so a publisher can fix it
 * without guessing. */
#include "hub_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static bk_status need(json_t *obj, const char *path, const char *key, json_t **out, const char *hint)
{
    *out = json_object_get(obj, key);
    if (!*out || json_is_null(*out))
        return bk_error(BK_ERR_INVALID, "%s.%s: required field is missing%s%s", path, key,
                        hint ? "; " : "", hint ? hint : "");
    return BK_OK;
}

static bk_status need_string(json_t *obj, const char *path, const char *key, const char *hint)
{
    json_t *v;
    bk_status st = need(obj, path, key, &v, hint);
    if (st) return st;
    if (!json_is_string(v) || !*json_string_value(v))
        return bk_error(BK_ERR_INVALID, "%s.%s: must be a non-empty string", path, key);
    return BK_OK;
}

static bk_status opt_string(json_t *obj, const char *path, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (v && !json_is_null(v) && !json_is_string(v))
        return bk_error(BK_ERR_INVALID, "%s.%s: must be a string", path, key);
    return BK_OK;
}

/* A non-empty array of objects; hint says what one element looks like. */
static bk_status need_array(json_t *obj, const char *path, const char *key, json_t **out,
                            const char *hint)
{
    bk_status st = need(obj, path, key, out, hint);
    if (st) return st;
    if (!json_is_array(*out) || json_array_size(*out) == 0)
        return bk_error(BK_ERR_INVALID, "%s.%s: must be a non-empty array; %s", path, key, hint);
    for (size_t i = 0; i < json_array_size(*out); i++)
        if (!json_is_object(json_array_get(*out, i)))
            return bk_error(BK_ERR_INVALID, "%s.%s[%zu]: must be an object; %s", path, key, i, hint);
    return BK_OK;
}

/* ORCID iDs are 16 characters in groups of four, the last a ISO 7064
 * 11,2 check character; a mistyped digit is caught here, not years later. */
static int orcid_ok(const char *s)
{
    const char *pre = "https://orcid.org/";
    if (!strncmp(s, pre, strlen(pre))) s += strlen(pre);
    if (strlen(s) != 19) return 0;
    int total = 0, nd = 0;
    for (int i = 0; i < 19; i++) {
        if (i % 5 == 4) {
            if (s[i] != '-') return 0;
            continue;
        }
        if (nd == 15) {
            int r = (12 - total % 11) % 11;
            char want = r == 10 ? 'X' : (char)('0' + r);
            return s[i] == want;
        }
        if (!isdigit((unsigned char)s[i])) return 0;
        total = (total + (s[i] - '0')) * 2;
        nd++;
    }
    return 0;
}

static bk_status check_creators(json_t *meta)
{
    json_t *cr;
    bk_status st = need_array(meta, "metadata", "creators", &cr, "each creator is {\"name\": "
                              "\"Family, Given\", \"orcid\": \"0000-0000-0000-0000\", \"affiliation\": "
                              "\"...\"} (orcid and affiliation optional)");
    if (st) return st;
    for (size_t i = 0; i < json_array_size(cr); i++) {
        json_t *c = json_array_get(cr, i);
        char p[64];
        snprintf(p, sizeof p, "metadata.creators[%zu]", i);
        if ((st = need_string(c, p, "name", NULL))) return st;
        json_t *o = json_object_get(c, "orcid");
        if (o && (!json_is_string(o) || !orcid_ok(json_string_value(o))))
            return bk_error(BK_ERR_INVALID, "%s.orcid: not a valid ORCID iD (expected "
                            "\"0000-0002-1825-0097\" form with a correct check digit)", p);
        json_t *ids = json_object_get(c, "nameIdentifiers");
        for (size_t k = 0; json_is_array(ids) && k < json_array_size(ids); k++) {
            json_t *id = json_array_get(ids, k);
            const char *scheme = json_string_value(json_object_get(id, "nameIdentifierScheme"));
            const char *v = json_string_value(json_object_get(id, "nameIdentifier"));
            if (scheme && !strcmp(scheme, "ORCID") && (!v || !orcid_ok(v)))
                return bk_error(BK_ERR_INVALID, "%s.nameIdentifiers[%zu].nameIdentifier: not a "
                                "valid ORCID iD", p, k);
        }
        json_t *a = json_object_get(c, "affiliation");
        if (a && !json_is_string(a)) {
            if (!json_is_array(a))
                return bk_error(BK_ERR_INVALID, "%s.affiliation: must be a string or an array", p);
            for (size_t k = 0; k < json_array_size(a); k++) {
                json_t *e = json_array_get(a, k);
                if (!json_is_string(e) && !json_is_string(json_object_get(e, "name")))
                    return bk_error(BK_ERR_INVALID, "%s.affiliation[%zu]: must be a string or "
                                    "{\"name\": ...}", p, k);
            }
        }
    }
    return BK_OK;
}

static const char *const k_dtypes[] = {"float16", "bfloat16", "float32", "float64", "int8", "int16",
                                       "int32", "int64", "uint8", "bool", "string"};

static bk_status check_tensor_specs(json_t *sig, const char *key)
{
    json_t *arr;
    char path[48] = "metadata.signature";
    bk_status st = need_array(sig, path, key, &arr, "each entry is {\"name\": \"x\", \"dtype\": "
                              "\"float32\", \"shape\": [-1, 28, 28, 1]} (-1: any size)");
    if (st) return st;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *t = json_array_get(arr, i);
        char p[96];
        snprintf(p, sizeof p, "metadata.signature.%s[%zu]", key, i);
        if ((st = need_string(t, p, "name", NULL))) return st;
        if ((st = need_string(t, p, "dtype", NULL))) return st;
        const char *d = json_string_value(json_object_get(t, "dtype"));
        int known = 0;
        for (size_t k = 0; k < sizeof k_dtypes / sizeof *k_dtypes; k++) known |= !strcmp(d, k_dtypes[k]);
        if (!known)
            return bk_error(BK_ERR_INVALID, "%s.dtype: unknown dtype \"%s\" (known: float16, bfloat16, "
                            "float32, float64, int8, int16, int32, int64, uint8, bool, string)", p, d);
        json_t *sh;
        if ((st = need(t, p, "shape", &sh, "a list of sizes, -1 for any"))) return st;
        if (!json_is_array(sh))
            return bk_error(BK_ERR_INVALID, "%s.shape: must be an array of integers", p);
        for (size_t k = 0; k < json_array_size(sh); k++) {
            json_t *e = json_array_get(sh, k);
            if (!json_is_integer(e) || json_integer_value(e) < -1 || json_integer_value(e) == 0)
                return bk_error(BK_ERR_INVALID, "%s.shape[%zu]: must be a positive integer or -1", p, k);
        }
        if ((st = opt_string(t, p, "units"))) return st;
    }
    return BK_OK;
}

bk_status bk_hub_validate_metadata(json_t *meta, const char *type)
{
    if (!json_is_object(meta)) return bk_error(BK_ERR_INVALID, "metadata: must be a JSON object");
    json_t *v;
    bk_status st = need_array(meta, "metadata", "titles", &v, "e.g. [{\"title\": \"A CNN for ...\"}]");
    if (st) return st;
    for (size_t i = 0; i < json_array_size(v); i++) {
        char p[48];
        snprintf(p, sizeof p, "metadata.titles[%zu]", i);
        if ((st = need_string(json_array_get(v, i), p, "title", NULL))) return st;
    }
    if ((st = check_creators(meta))) return st;
    if ((st = need(meta, "metadata", "publisher", &v, "the organisation or person publishing")))
        return st;
    if (!(json_is_string(v) && *json_string_value(v)) && !json_is_string(json_object_get(v, "name")))
        return bk_error(BK_ERR_INVALID, "metadata.publisher: must be a string or {\"name\": ...}");
    if ((st = need(meta, "metadata", "publicationYear", &v, "e.g. 2024"))) return st;
    long long year = -1;
    if (json_is_integer(v)) year = json_integer_value(v);
    else if (json_is_string(v) && strlen(json_string_value(v)) == 4) sscanf(json_string_value(v), "%lld", &year);
    if (year < 1000 || year > 9999)
        return bk_error(BK_ERR_INVALID, "metadata.publicationYear: must be a four-digit year");
    if ((st = need(meta, "metadata", "resourceType", &v, "e.g. {\"resourceTypeGeneral\": \"Model\"}")))
        return st;
    if (!json_is_string(v) && !json_is_string(json_object_get(v, "resourceTypeGeneral")))
        return bk_error(BK_ERR_INVALID, "metadata.resourceType.resourceTypeGeneral: required "
                        "(\"Model\", \"Dataset\", ...)");
    if ((st = need_array(meta, "metadata", "rightsList", &v, "the licence, e.g. [{\"rightsIdentifier\": "
                         "\"CC-BY-4.0\"}]")))
        return st;
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *r = json_array_get(v, i);
        if (!json_is_string(json_object_get(r, "rightsIdentifier")) &&
            !json_is_string(json_object_get(r, "rights")))
            return bk_error(BK_ERR_INVALID, "metadata.rightsList[%zu]: needs \"rightsIdentifier\" "
                            "(SPDX id) or \"rights\"", i);
    }
    /* Optional DataCite lists: when present they must have their key field. */
    static const struct { const char *list, *field; } opt[] = {
        {"subjects", "subject"}, {"descriptions", "description"},
        {"relatedIdentifiers", "relatedIdentifier"}};
    for (size_t k = 0; k < sizeof opt / sizeof *opt; k++) {
        v = json_object_get(meta, opt[k].list);
        if (!v) continue;
        if (!json_is_array(v))
            return bk_error(BK_ERR_INVALID, "metadata.%s: must be an array", opt[k].list);
        for (size_t i = 0; i < json_array_size(v); i++) {
            char p[64];
            snprintf(p, sizeof p, "metadata.%s[%zu]", opt[k].list, i);
            json_t *e = json_array_get(v, i);
            if (!json_is_object(e)) return bk_error(BK_ERR_INVALID, "%s: must be an object", p);
            if ((st = need_string(e, p, opt[k].field, NULL))) return st;
        }
    }
    if ((st = opt_string(meta, "metadata", "modelCard"))) return st;
    if (!strcmp(type, "model")) {
        json_t *sig;
        if ((st = need(meta, "metadata", "signature", &sig, "{\"inputs\": [...], \"outputs\": [...]}")))
            return st;
        if (!json_is_object(sig)) return bk_error(BK_ERR_INVALID, "metadata.signature: must be an object");
        if ((st = check_tensor_specs(sig, "inputs"))) return st;
        if ((st = check_tensor_specs(sig, "outputs"))) return st;
        json_t *prov;
        if ((st = need(meta, "metadata", "provenance", &prov, "training config, datasets, parent "
                       "model, brisk version (brisk hub publish fills it from a run directory)")))
            return st;
        if (!json_is_object(prov)) return bk_error(BK_ERR_INVALID, "metadata.provenance: must be an object");
        json_t *ds = json_object_get(prov, "datasets");
        if (ds && !json_is_array(ds))
            return bk_error(BK_ERR_INVALID, "metadata.provenance.datasets: must be an array");
        if ((st = opt_string(prov, "metadata.provenance", "parent"))) return st;
        json_t *m = json_object_get(meta, "metrics");
        if (m && !json_is_object(m)) return bk_error(BK_ERR_INVALID, "metadata.metrics: must be an object");
    } else {
        json_t *d = json_object_get(meta, "dataset");
        if (d && !json_is_object(d))
            return bk_error(BK_ERR_INVALID, "metadata.dataset: must be an object (inputs, targets, "
                            "splits, units, classNames)");
    }
    return BK_OK;
}
