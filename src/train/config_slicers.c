/* The `slicers`, `hdf5_outfile` keys of the data section (the reference
 * CLI's slicers: samples cut from one big array, and the predictions on
 * them put back together into one). Kept apart from config.c so the
 * slicer rules live in one place. */
#include <stdio.h>
#include <string.h>
#include "config.h"

/* A list of 1..BK_SLICER_MAX_AXES integers >= min; want > 0: exactly want
 * entries (the length of sizes). *n: 0 when the key is absent. */
static bk_status int_list(bk_run_config *c, json_t *o, const char *opath, const char *key, int want, int64_t min,
                          int64_t *out, int *n)
{
    char kp[1024], what[64];
    bk_json_child_path(kp, sizeof kp, opath, key);
    json_t *v = json_object_get(o, key);
    *n = 0;
    if (!v || json_is_null(v)) return BK_OK;
    if (!json_is_array(v))
        return bk_json_error_at(&c->doc, kp, BK_ERR_INVALID, "expected a list of integers (one per geometric axis), got %s",
                                bk_json_describe(v, what, sizeof what));
    int len = (int)json_array_size(v);
    if (want > 0 && len != want)
        return bk_json_error_at(&c->doc, kp, BK_ERR_INVALID, "%d entries, but sizes has %d: give one per geometric axis "
                                "of the array", len, want);
    if (len < 1 || len > BK_SLICER_MAX_AXES)
        return bk_json_error_at(&c->doc, kp, BK_ERR_INVALID, "%d entries: give one per geometric axis of the array "
                                "(1 to %d; no channel entry)", len, BK_SLICER_MAX_AXES);
    for (int i = 0; i < len; i++) {
        json_t *e = json_array_get(v, (size_t)i);
        char ep[1100];
        bk_json_index_path(ep, sizeof ep, kp, (size_t)i);
        if (!json_is_integer(e) || json_integer_value(e) < min)
            return bk_json_error_at(&c->doc, ep, BK_ERR_INVALID, "expected an integer >= %lld, got %s", (long long)min,
                                    bk_json_describe(e, what, sizeof what));
        out[i] = (int64_t)json_integer_value(e);
    }
    *n = len;
    return BK_OK;
}

static bk_status parse_set(bk_run_config *c, json_t *o, const char *sp, int k, bk_slicer *s)
{
    static const char *const known[] = {"name", "sizes", "padding", "padded_sizes", "strides", "discard_remainders",
                                        "transpose"};
    bk_json_doc *doc = &c->doc;
    bk_status st = bk_json_check_keys(doc, o, sp, known, (int)(sizeof known / sizeof known[0]));
    const char *name = NULL;
    int n, np, nps, nst;
    int64_t pad[BK_SLICER_MAX_AXES], padded[BK_SLICER_MAX_AXES];
    memset(s, 0, sizeof *s);
    if (!st) st = bk_json_get_string(doc, o, sp, "name", "", &name);
    if (!st) st = int_list(c, o, sp, "sizes", 0, 1, s->sizes, &n);
    if (!st && !n) st = bk_json_error_at(doc, sp, BK_ERR_INVALID, "no \"sizes\": give the slice extent per geometric axis");
    if (!st) st = int_list(c, o, sp, "padding", n, 0, pad, &np);
    if (!st) st = int_list(c, o, sp, "padded_sizes", n, 1, padded, &nps);
    if (!st) st = int_list(c, o, sp, "strides", n, 1, s->strides, &nst);
    if (!st) st = bk_json_get_bool(doc, o, sp, "discard_remainders", 0, &s->discard_remainders);
    if (!st) st = bk_json_get_bool(doc, o, sp, "transpose", 0, &s->transpose);
    if (st) return st;
    char kp[1024];
    if (np && nps) {
        bk_json_child_path(kp, sizeof kp, sp, "padded_sizes");
        return bk_json_error_at(doc, kp, BK_ERR_INVALID, "padding and padded_sizes are both set; give one (padding: "
                                "added on both sides; padded_sizes: the total extent)");
    }
    if (strlen(name) >= sizeof s->name) {
        bk_json_child_path(kp, sizeof kp, sp, "name");
        return bk_json_error_at(doc, kp, BK_ERR_INVALID, "longer than %zu characters", sizeof s->name - 1);
    }
    snprintf(s->name, sizeof s->name, "%s", name[0] ? name : "");
    if (!s->name[0]) snprintf(s->name, sizeof s->name, "slicer_%d", k + 1);
    s->n_axes = n;
    for (int a = 0; a < n; a++) {
        if (!nst) s->strides[a] = s->sizes[a];
        if (np) s->pad_lo[a] = s->pad_hi[a] = pad[a];
        if (nps) {
            /* an odd total puts the extra one after the slice */
            int64_t extra = padded[a] - s->sizes[a];
            if (extra < 0) {
                char ep[1100];
                bk_json_child_path(kp, sizeof kp, sp, "padded_sizes");
                bk_json_index_path(ep, sizeof ep, kp, (size_t)a);
                return bk_json_error_at(doc, ep, BK_ERR_INVALID, "%lld is smaller than sizes[%d] = %lld; padded_sizes "
                                        "is the total extent after padding", (long long)padded[a], a, (long long)s->sizes[a]);
            }
            s->pad_lo[a] = extra / 2;
            s->pad_hi[a] = extra - extra / 2;
        }
    }
    const char *bad;
    st = bk_slicer_check(s, &bad);
    if (st) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", bk_last_error());
        /* padding given as padded_sizes is reported there */
        bk_json_child_path(kp, sizeof kp, sp, bad && !strcmp(bad, "padding") && nps ? "padded_sizes" : bad ? bad : "sizes");
        return bk_json_error_at(doc, kp, st, "%s", msg);
    }
    return BK_OK;
}

bk_status bk_config_parse_slicers(bk_run_config *c, json_t *d, const char *path)
{
    bk_data_config *dc = &c->data;
    bk_json_doc *doc = &c->doc;
    char sp[1024], ip[1100], what[64];
    bk_json_child_path(sp, sizeof sp, path, "slicers");
    json_t *v = json_object_get(d, "slicers");
    dc->n_slicers = 0;
    if (v && !json_is_null(v)) {
        if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > BK_SLICER_MAX_SETS)
            return bk_json_error_at(doc, sp, BK_ERR_INVALID, "expected a list of 1 to %d slicer objects, got %s",
                                    BK_SLICER_MAX_SETS, bk_json_describe(v, what, sizeof what));
        if (dc->type != BK_DATA_NUMPY && dc->type != BK_DATA_HDF5)
            return bk_json_error_at(doc, sp, BK_ERR_INVALID, "slicers cut numpy or hdf5 arrays; this data is another type");
        if (dc->input_paths.n || dc->target_paths.n || dc->test_input_paths.n || dc->test_target_paths.n ||
            dc->input_keys.n || dc->target_keys.n)
            return bk_json_error_at(doc, sp, BK_ERR_UNSUPPORTED, "slicers cut one input array (and one target array); "
                                    "they do not combine with lists of several inputs or outputs");
        for (size_t k = 0; k < json_array_size(v); k++) {
            json_t *o = json_array_get(v, k);
            bk_json_index_path(ip, sizeof ip, sp, k);
            if (!json_is_object(o))
                return bk_json_error_at(doc, ip, BK_ERR_INVALID, "expected a slicer object with \"sizes\", got %s",
                                        bk_json_describe(o, what, sizeof what));
            bk_slicer *s = &dc->slicers[k];
            bk_status st = parse_set(c, o, ip, (int)k, s);
            if (st) return st;
            char kp[1200];
            if (k && s->n_axes != dc->slicers[0].n_axes) {
                bk_json_child_path(kp, sizeof kp, ip, "sizes");
                return bk_json_error_at(doc, kp, BK_ERR_INVALID, "%d entries, but slicers[0] has %d: every set slices "
                                        "the same array", s->n_axes, dc->slicers[0].n_axes);
            }
            for (size_t j = 0; j < k; j++)
                if (!strcmp(dc->slicers[j].name, s->name)) {
                    bk_json_child_path(kp, sizeof kp, ip, "name");
                    return bk_json_error_at(doc, kp, BK_ERR_INVALID, "\"%s\" is also the name of slicers[%zu]; each set "
                                            "names its own output dataset", s->name, j);
                }
            dc->n_slicers++;
        }
    }
    char op[1024];
    bk_json_child_path(op, sizeof op, path, "hdf5_outfile");
    if (json_object_get(d, "hdf5_outfile") && !dc->n_slicers && dc->hdf5_outfile[0])
        return bk_json_error_at(doc, op, BK_ERR_INVALID, "hdf5_outfile holds the predictions on slices put back together; "
                                "it needs \"slicers\" (for predictions per sample use test_output_path)");
    return BK_OK;
}
