#include "config.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "core/fsutil.h"
#include "train/config_transforms.h"

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Copies a path from the config, resolved against the config's folder. A
 * "hub:OWNER/NAME@REF[/FILE]" reference is kept as written and noted, to
 * be pulled when a run starts (refs.c): reading a config (brisk summary)
 * never touches the network. */
static bk_status resolve_path(bk_run_config *c, const char *v, const char *kp, const char *key, char *out, size_t n)
{
    if (bk_is_hub_ref(v)) {
        if (!strcmp(key, "save") || !strcmp(key, "test_output_path") || !strcmp(key, "hdf5_outfile"))
            return bk_json_error_at(&c->doc, kp, BK_ERR_INVALID, "\"%s\": outputs cannot go to the hub; "
                                    "write locally and `brisk hub publish` the run directory", v);
        if (c->n_refs == BK_MAX_REFS)
            return bk_json_error_at(&c->doc, kp, BK_ERR_UNSUPPORTED, "more than %d hub: references in one config",
                                    BK_MAX_REFS);
        snprintf(out, n, "%s", v);
        snprintf(c->refs[c->n_refs].key, sizeof c->refs[0].key, "%s", kp);
        c->refs[c->n_refs].dest = out;
        c->refs[c->n_refs].len = n;
        c->refs[c->n_refs].checkpoint = !strcmp(key, "load");
        c->n_refs++;
        return BK_OK;
    }
    if (v[0] == '/' || !c->config_dir[0]) snprintf(out, n, "%s", v);
    else bk_path_join(out, n, c->config_dir, v);
    return BK_OK;
}

static bk_status get_path(bk_run_config *c, json_t *obj, const char *obj_path, const char *key, char *out, size_t n)
{
    const char *v = NULL;
    bk_status st = bk_json_get_string(&c->doc, obj, obj_path, key, NULL, &v);
    out[0] = 0;
    if (st || !v || !*v) return st;
    char kp[1024];
    bk_json_child_path(kp, sizeof kp, obj_path, key);
    return resolve_path(c, v, kp, key, out, n);
}

/* A data key that may also be a list or an object of strings (several
 * inputs or outputs); the string form is left to the caller. Paths are
 * resolved like get_path. */
static bk_status get_list(bk_run_config *c, json_t *obj, const char *obj_path, const char *key, int is_path,
                          bk_data_list *out)
{
    json_t *v = json_object_get(obj, key);
    memset(out, 0, sizeof *out);
    bk_json_child_path(out->path, sizeof out->path, obj_path, key);
    if (!json_is_array(v) && !json_is_object(v)) return BK_OK;
    size_t n = json_is_array(v) ? json_array_size(v) : json_object_size(v);
    if (n < 1 || n > BK_DATA_MAX_ARRAYS)
        return bk_json_error_at(&c->doc, out->path, BK_ERR_INVALID, "a list of 1 to %d %s is needed (one per model "
                                "%s), got %zu", BK_DATA_MAX_ARRAYS, is_path ? "files" : "dataset names",
                                strstr(key, "target") ? "output" : "input", n);
    out->named = json_is_object(v);
    const char *layer;
    json_t *e;
    size_t i = 0;
    void *tmp;
    /* one loop for both forms: an array's elements, or an object's values in document order */
    json_t *items = out->named ? json_array() : json_incref(v);
    if (!items) return bk_error(BK_ERR_NOMEM, "out of memory");
    if (out->named) {
        json_object_foreach_safe(v, tmp, layer, e) {
            snprintf(out->layer[i++], sizeof out->layer[0], "%.127s", layer);
            json_array_append(items, e);
        }
    }
    bk_status st = BK_OK;
    json_array_foreach(items, i, e) {
        char ep[1024];
        if (out->named) bk_json_child_path(ep, sizeof ep, out->path, out->layer[i]);
        else bk_json_index_path(ep, sizeof ep, out->path, i);
        if (!json_is_string(e) || !json_string_length(e)) {
            char what[64];
            st = bk_json_error_at(&c->doc, ep, BK_ERR_INVALID, "expected a %s, got %s", is_path ? "file path"
                                  : "dataset name", bk_json_describe(e, what, sizeof what));
            break;
        }
        if (is_path) st = resolve_path(c, json_string_value(e), ep, key, out->val[i], sizeof out->val[0]);
        else snprintf(out->val[i], sizeof out->val[0], "%s", json_string_value(e));
        if (st) break;
    }
    json_decref(items);
    out->n = st ? 0 : (int)n;
    return st;
}

static bk_status unsupported_keys(bk_run_config *c, json_t *obj, const char *path, const char *const *keys, int n, const char *why)
{
    for (int i = 0; i < n; i++)
        if (json_object_get(obj, keys[i])) {
            char kp[1024];
            bk_json_child_path(kp, sizeof kp, path, keys[i]);
            return bk_json_error_at(&c->doc, kp, BK_ERR_UNSUPPORTED, "%s", why);
        }
    return BK_OK;
}

/* The images loader's keys: grayscale, the class-folder tags
 * (target_is_mask belongs to the transforms: config_transforms.c); and the keys that make no sense with it, or it with them. */
static bk_status parse_images_keys(bk_run_config *c, json_t *d, const char *path)
{
    static const char *const image_only[] = {"grayscale", "input_grayscale", "target_grayscale", "training_tag",
                                             "test_tag", "testing_tag"};
    static const char *const no_images[] = {"input_key", "target_key"};
    static const char *const labels_only[] = {"training_tag", "test_tag", "testing_tag"};
    static const char *const no_labels[] = {"target_path", "test_target_path"};
    bk_data_config *dc = &c->data;
    bk_json_doc *doc = &c->doc;
    int images = dc->type == BK_DATA_IMAGES, gray = 0;
    const char *tr = "", *te = "";
    char kp[1024];
    bk_status st = images ? unsupported_keys(c, d, path, no_images, N_OF(no_images), "names an array inside an "
                                             "hdf5/npz file; the images loader reads folders of images: remove it")
                          : unsupported_keys(c, d, path, image_only, N_OF(image_only), "only the \"images\" loader "
                                             "reads it; remove it");
    if (!st && images && !dc->target_labels)
        st = unsupported_keys(c, d, path, labels_only, N_OF(labels_only), "names the folder above the class folders "
                              "and needs target_type \"labels\": set it, or remove this key");
    if (!st && dc->target_labels)
        st = unsupported_keys(c, d, path, no_labels, N_OF(no_labels), "target_type \"labels\" takes each image's "
                              "class from its folder name; remove this key, or set target_type \"images\" to train "
                              "on target images");
    if (!st && json_object_get(d, "test_tag") && json_object_get(d, "testing_tag")) {
        bk_json_child_path(kp, sizeof kp, path, "testing_tag");
        st = bk_json_error_at(doc, kp, BK_ERR_INVALID, "\"test_tag\" and \"testing_tag\" are the same setting; keep one");
    }
    if (!st) st = bk_json_get_bool(doc, d, path, "grayscale", 0, &gray);
    if (!st) st = bk_json_get_bool(doc, d, path, "input_grayscale", gray, &dc->input_grayscale);
    if (!st) st = bk_json_get_bool(doc, d, path, "target_grayscale", gray, &dc->target_grayscale);
    if (!st) st = bk_json_get_string(doc, d, path, "training_tag", "", &tr);
    if (!st) st = bk_json_get_string(doc, d, path, json_object_get(d, "testing_tag") ? "testing_tag" : "test_tag", "",
                                     &te);
    if (st) return st;
    const char *tag[2] = {tr, te}, *key[2] = {"training_tag", json_object_get(d, "testing_tag") ? "testing_tag" : "test_tag"};
    for (int i = 0; i < 2; i++)
        if (strchr(tag[i], '/') || (json_object_get(d, key[i]) && !tag[i][0])) {
            bk_json_child_path(kp, sizeof kp, path, key[i]);
            return bk_json_error_at(doc, kp, BK_ERR_INVALID, "must be one folder name (no \"/\"), the folder whose "
                                    "sub-folders are the classes");
        }
    snprintf(dc->training_tag, sizeof dc->training_tag, "%s", tr);
    snprintf(dc->test_tag, sizeof dc->test_tag, "%s", te);
    return BK_OK;
}

static const char *const pde_keys[] = {"domain_size", "num_examples", "num_test_examples", "bc_frequency", "bc_type",
                                       "bc_terms"};

/* data of type "pde": the Burgers initial-condition generator (bk_pde_options).
 * It reads no files, so the file keys are refused. Defaults where the
 * reference gives none: bc_type random_uniform, bc_frequency [3, 6] (the
 * reference's example), bc_terms 2 (a brisk extension: up to 2 raised
 * cosines per random sample). */
static bk_status parse_pde_data(bk_run_config *c, json_t *d, const char *path)
{
    static const char *const files[] = {"input_path", "target_path", "test_input_path", "test_target_path",
                                        "input_key", "target_key", "preload",
                                        "target_is_mask", "grayscale", "input_grayscale", "target_grayscale"};
    bk_data_config *dc = &c->data;
    bk_json_doc *doc = &c->doc;
    const char *bct = NULL;
    int64_t terms = 2;
    char kp[1024];
    bk_status st = unsupported_keys(c, d, path, files, N_OF(files), "the \"pde\" data type generates its samples "
                                    "(num_examples, num_test_examples) and reads no files: remove this key");
    if (!st) st = get_path(c, d, path, "test_output_path", dc->test_output_path, sizeof dc->test_output_path);
    if (!st) st = bk_json_get_int(doc, d, path, "batch_size", 64, &dc->batch_size);
    if (!st) st = bk_json_get_int(doc, d, path, "test_batch_size", 64, &dc->test_batch_size);
    if (!st) st = bk_json_get_bool(doc, d, path, "shuffle", 1, &dc->shuffle);
    if (!st) st = bk_json_get_double(doc, d, path, "test_split", 0.0, &dc->test_split);
    if (!st) st = bk_json_get_int(doc, d, path, "domain_size", 0, &dc->pde.domain_size);
    if (!st) st = bk_json_get_int(doc, d, path, "num_examples", 0, &dc->num_examples);
    if (!st) st = bk_json_get_int(doc, d, path, "num_test_examples", 0, &dc->num_test_examples);
    if (!st) st = bk_json_get_string(doc, d, path, "bc_type", "random_uniform", &bct);
    if (!st) st = bk_json_get_int(doc, d, path, "bc_terms", 2, &terms);
    if (st) return st;
    dc->pde.cmin = 3;
    dc->pde.cmax = 6;
    dc->pde.seed = c->seed;
    const char *bad = NULL, *why = NULL;
    if (!json_object_get(d, "domain_size")) return bk_json_error_at(doc, path, BK_ERR_INVALID, "the \"pde\" data type "
                                                                    "needs \"domain_size\" (points in x)");
    json_t *f = json_object_get(d, "bc_frequency");
    if (f) {
        if (!json_is_array(f) || json_array_size(f) != 2 || !json_is_number(json_array_get(f, 0)) ||
            !json_is_number(json_array_get(f, 1)))
            bad = "bc_frequency", why = "expected [cmin, cmax], two numbers";
        else {
            dc->pde.cmin = json_number_value(json_array_get(f, 0));
            dc->pde.cmax = json_number_value(json_array_get(f, 1));
            if (dc->pde.cmin < 0 || dc->pde.cmax < dc->pde.cmin)
                bad = "bc_frequency", why = "expected [cmin, cmax] with 0 <= cmin <= cmax";
        }
    }
    if (!strcasecmp(bct, "fixed_uniform")) dc->pde.fixed_uniform = 1;
    else if (strcasecmp(bct, "random_uniform")) {
        static const char *const types[] = {"random_uniform", "fixed_uniform"};
        bk_json_child_path(kp, sizeof kp, path, "bc_type");
        return bk_json_unknown_name(doc, kp, BK_ERR_INVALID, "bc_type", bct, types, N_OF(types));
    }
    dc->pde.max_terms = (int)(terms > 0 && terms <= 64 ? terms : 0);
    if (!bad) { /* a bad bc_frequency, found above, is reported first */
        if (dc->pde.domain_size < 3) bad = "domain_size", why = "needs at least 3 points in x";
        else if (dc->num_examples < 0 || (json_object_get(d, "num_examples") && !dc->num_examples))
            bad = "num_examples", why = "must be a positive number of samples (leave it out: no training)";
        else if (dc->num_test_examples < 0 || (json_object_get(d, "num_test_examples") && !dc->num_test_examples))
            bad = "num_test_examples", why = "must be a positive number of samples (leave it out: no evaluation)";
        else if (dc->pde.fixed_uniform && json_object_get(d, "bc_terms"))
            bad = "bc_terms", why = "fixed_uniform gives one raised cosine per sample; bc_terms is for random_uniform";
        else if (!dc->pde.max_terms) bad = "bc_terms", why = "must be 1 to 64 raised cosines per sample";
        else if (dc->batch_size < 1) bad = "batch_size", why = "must be a positive integer";
        else if (dc->test_batch_size < 1) bad = "test_batch_size", why = "must be a positive integer";
        else if (dc->test_split < 0 || dc->test_split >= 1) bad = "test_split", why = "must be a fraction in [0, 1)";
    }
    if (bad) {
        bk_json_child_path(kp, sizeof kp, path, bad);
        return bk_json_error_at(doc, kp, BK_ERR_INVALID, "%s", why);
    }
    return BK_OK;
}

static bk_status parse_data(bk_run_config *c, json_t *d, const char *path)
{
    static const char *const known[] = {
        "type", "input_type", "target_type", "input_path", "target_path", "test_input_path",
        "test_target_path", "test_output_path", "batch_size", "test_batch_size", "preload",
        "target_is_mask", "transforms", "input_transforms", "target_transforms", "grayscale",
        "input_grayscale", "target_grayscale", "slicers", "hdf5_outfile", "test_split", "shuffle",
        "input_key", "target_key", "hdf5_precision", "training_tag", "test_tag", "testing_tag", "domain_size",
        "num_examples", "num_test_examples", "bc_frequency", "bc_type", "bc_terms"};
    bk_data_config *dc = &c->data;
    bk_json_doc *doc = &c->doc;
    bk_status st = bk_json_check_keys(doc, d, path, known, N_OF(known));
    if (st) return st;
    const char *type = NULL, *itype = NULL, *ttype = NULL;
    st = bk_json_get_string(doc, d, path, "type", NULL, &type);
    if (!st) st = bk_json_get_string(doc, d, path, "input_type", NULL, &itype);
    if (!st) st = bk_json_get_string(doc, d, path, "target_type", NULL, &ttype);
    if (st) return st;
    const char *t = type ? type : itype;
    char tp[1024];
    bk_json_child_path(tp, sizeof tp, path, type ? "type" : "input_type");
    if (!t) return bk_json_error_at(doc, path, BK_ERR_INVALID,
                                    "no data \"type\": use \"images\", \"mnist\", \"numpy\", \"hdf5\" or \"pde\"");
    if (!strcasecmp(t, "pde")) {
        bk_json_child_path(tp, sizeof tp, path, "target_type");
        if (ttype && strcasecmp(ttype, "pde"))
            return bk_json_error_at(doc, tp, BK_ERR_INVALID, "the \"pde\" data type gives the targets too (the "
                                    "initial condition); leave target_type out or make it \"pde\"");
        dc->type = BK_DATA_PDE;
        return parse_pde_data(c, d, path);
    }
    st = unsupported_keys(c, d, path, pde_keys, N_OF(pde_keys), "a key of the \"pde\" data type (the Burgers "
                          "initial-condition generator); remove it, or set \"type\": \"pde\"");
    if (st) return st;
    if (!strcasecmp(t, "mnist")) dc->type = BK_DATA_MNIST;
    else if (!strcasecmp(t, "numpy")) dc->type = BK_DATA_NUMPY;
    else if (!strcasecmp(t, "hdf5")) dc->type = BK_DATA_HDF5;
    else if (!strcasecmp(t, "images")) dc->type = BK_DATA_IMAGES;
    else if (!strcasecmp(t, "labels"))
        return bk_json_error_at(doc, tp, BK_ERR_INVALID, "\"labels\" is a target_type (classes from folder names): "
                                "set input_type \"images\" and target_type \"labels\"");
    else return bk_json_error_at(doc, tp, BK_ERR_INVALID, "unknown data type \"%s\": use \"images\", \"mnist\", "
                                 "\"numpy\", \"hdf5\" or \"pde\"", t);
    if (ttype && strcasecmp(ttype, t) && strcasecmp(ttype, "labels")) {
        char ttp[1024];
        bk_json_child_path(ttp, sizeof ttp, path, "target_type");
        return bk_json_error_at(doc, ttp, BK_ERR_UNSUPPORTED,
                                "target_type \"%s\" must match input_type \"%s\"", ttype, t);
    }
    const char *ik = "", *tk = "";
    /* each of these may also list several inputs/outputs (multi-io.md) */
    struct { const char *key; char *one; size_t len; bk_data_list *list; } many[] = {
        {"input_path", dc->input_path, sizeof dc->input_path, &dc->input_paths},
        {"target_path", dc->target_path, sizeof dc->target_path, &dc->target_paths},
        {"test_input_path", dc->test_input_path, sizeof dc->test_input_path, &dc->test_input_paths},
        {"test_target_path", dc->test_target_path, sizeof dc->test_target_path, &dc->test_target_paths},
        {"input_key", NULL, 0, &dc->input_keys}, {"target_key", NULL, 0, &dc->target_keys}};
    for (int i = 0; i < N_OF(many) && !st; i++) {
        st = get_list(c, d, path, many[i].key, many[i].one != NULL, many[i].list);
        if (st || many[i].list->n) {
            /* the single form stands for "set" (first entry) where only that matters */
            if (!st && many[i].one) {
                snprintf(many[i].one, many[i].len, "%s", many[i].list->val[0]);
                if (bk_is_hub_ref(many[i].one)) { /* resolved with the list's entry */
                    char ep[1100];
                    bk_json_index_path(ep, sizeof ep, many[i].list->path, 0);
                    st = resolve_path(c, many[i].one, ep, many[i].key, many[i].one, many[i].len);
                }
            }
            continue;
        }
        if (many[i].one) st = get_path(c, d, path, many[i].key, many[i].one, many[i].len);
        else st = bk_json_get_string(doc, d, path, many[i].key, "", i == 4 ? &ik : &tk);
    }
    if (!st) st = get_path(c, d, path, "test_output_path", dc->test_output_path, sizeof dc->test_output_path);
    if (!st) st = get_path(c, d, path, "hdf5_outfile", dc->hdf5_outfile, sizeof dc->hdf5_outfile);
    if (!st) st = bk_config_parse_slicers(c, d, path);
    if (!st) st = bk_json_get_int(doc, d, path, "batch_size", 64, &dc->batch_size);
    if (!st) st = bk_json_get_int(doc, d, path, "test_batch_size", 64, &dc->test_batch_size);
    if (!st) st = bk_json_get_bool(doc, d, path, "preload", 0, &dc->preload);
    if (!st) st = bk_json_get_bool(doc, d, path, "shuffle", 1, &dc->shuffle);
    if (!st) st = bk_json_get_double(doc, d, path, "test_split", 0.0, &dc->test_split);
    const char *prec = NULL;
    if (!st) st = bk_json_get_string(doc, d, path, "hdf5_precision", "single", &prec);
    if (!st) st = bk_config_parse_transforms(doc, d, path, &dc->transforms);
    if (st) return st;
    if (strcasecmp(prec, "single") && strcasecmp(prec, "half")) {
        char pp[1024];
        bk_json_child_path(pp, sizeof pp, path, "hdf5_precision");
        return bk_json_error_at(doc, pp, BK_ERR_INVALID, "\"%s\": use \"single\" (float32) or \"half\" (float16)", prec);
    }
    dc->hdf5_half = !strcasecmp(prec, "half");
    snprintf(dc->input_key, sizeof dc->input_key, "%s", ik);
    snprintf(dc->target_key, sizeof dc->target_key, "%s", tk);
    char kp[1024];
    if (dc->batch_size < 1 || dc->test_batch_size < 1) {
        bk_json_child_path(kp, sizeof kp, path, dc->batch_size < 1 ? "batch_size" : "test_batch_size");
        return bk_json_error_at(doc, kp, BK_ERR_INVALID, "must be a positive integer");
    }
    if (dc->test_split < 0 || dc->test_split >= 1) {
        bk_json_child_path(kp, sizeof kp, path, "test_split");
        return bk_json_error_at(doc, kp, BK_ERR_INVALID, "must be a fraction in [0, 1)");
    }
    dc->target_labels = dc->type == BK_DATA_IMAGES && ttype && !strcasecmp(ttype, "labels");
    return parse_images_keys(c, d, path);
}

/* Fails when obj has key but the loss `fn` does not use it. */
static bk_status loss_key_unused(bk_run_config *c, json_t *obj, const char *path, const char *key, int used,
                                 const char *fn, const char *users)
{
    if (used || !json_object_get(obj, key)) return BK_OK;
    char kp[1024];
    bk_json_child_path(kp, sizeof kp, path, key);
    return bk_json_error_at(&c->doc, kp, BK_ERR_INVALID, "\"%s\" has no effect on loss \"%s\"; it is for %s: remove it",
                            key, fn, users);
}

/* The PDE losses' keys: diffusion_coeff (Burgers' nu, default 0: inviscid)
 * and boundary_factor (default 1); Burgers on the pde loader takes its
 * points in x from domain_size (the data section is read first). */
static bk_status parse_pde_loss_keys(bk_run_config *c, json_t *l, const char *path, const char *fn, bk_loss *L)
{
    int pde = bk_loss_is_pde(L);
    char kp[1024];
    bk_status st = loss_key_unused(c, l, path, "diffusion_coeff", L->kind == BK_LOSS_BURGERS, fn, "Burgers_PDE");
    if (!st) st = loss_key_unused(c, l, path, "boundary_factor", pde, fn,
                                  "the PDE losses (Burgers_PDE, Poisson2D_PDE, Poisson3D_PDE)");
    if (!st) st = bk_json_get_double(&c->doc, l, path, "diffusion_coeff", 0.0, &L->nu);
    if (!st) st = bk_json_get_double(&c->doc, l, path, "boundary_factor", 1.0, &L->boundary_factor);
    if (st) return st;
    const char *bad = !(L->nu >= 0) || isinf(L->nu) ? "diffusion_coeff"
                      : !(L->boundary_factor >= 0) || isinf(L->boundary_factor) ? "boundary_factor" : NULL;
    if (bad) {
        bk_json_child_path(kp, sizeof kp, path, bad);
        return bk_json_error_at(&c->doc, kp, BK_ERR_INVALID, "must be a finite number, not negative");
    }
    if (L->kind == BK_LOSS_BURGERS && c->data.type == BK_DATA_PDE) L->pde_points = c->data.pde.domain_size;
    return BK_OK;
}

static bk_status parse_one_loss(bk_run_config *c, json_t *l, const char *path, bk_loss *L)
{
    static const char *const known[] = {"function", "weight", "source", "reduction", "smooth", "gamma", "alpha",
                                        "delta", "beta", "diffusion_coeff", "boundary_factor"};
    static const char *const names[] = {"NLL", "CrossEntropy", "BCE", "MSE", "L1", "Dice", "Jaccard", "Focal",
                                        "Huber", "SmoothL1", "Lovasz", "Burgers_PDE", "Poisson2D_PDE",
                                        "Poisson3D_PDE"};
    bk_json_doc *doc = &c->doc;
    bk_status st = bk_json_check_keys(doc, l, path, known, N_OF(known));
    const char *fn = NULL, *src = NULL, *red = NULL;
    if (!st) st = bk_json_get_string(doc, l, path, "function", NULL, &fn);
    if (!st) st = bk_json_get_string(doc, l, path, "source", "", &src);
    if (!st) st = bk_json_get_string(doc, l, path, "reduction", "mean", &red);
    if (st) return st;
    char fp[1024];
    bk_json_child_path(fp, sizeof fp, path, "function");
    if (!fn) return bk_json_error_at(doc, path, BK_ERR_INVALID, "no loss \"function\" (NLL, CrossEntropy, BCE, MSE, L1, "
                                     "Dice, Jaccard, Focal, Huber, SmoothL1, Lovasz, Burgers_PDE, Poisson2D_PDE or "
                                     "Poisson3D_PDE)");
    if (!strcasecmp(fn, "NLL")) L->kind = BK_LOSS_NLL;
    else if (!strcasecmp(fn, "CrossEntropy") || !strcasecmp(fn, "cross_entropy") || !strcasecmp(fn, "CE"))
        L->kind = BK_LOSS_CROSS_ENTROPY;
    else if (!strcasecmp(fn, "BCE")) L->kind = BK_LOSS_BCE;
    else if (!strcasecmp(fn, "MSE")) L->kind = BK_LOSS_MSE;
    else if (!strcasecmp(fn, "L1") || !strcasecmp(fn, "MAE")) L->kind = BK_LOSS_L1;
    else if (!strcasecmp(fn, "Dice")) L->kind = BK_LOSS_DICE;
    else if (!strcasecmp(fn, "Jaccard") || !strcasecmp(fn, "IoU")) L->kind = BK_LOSS_JACCARD;
    else if (!strcasecmp(fn, "Focal")) L->kind = BK_LOSS_FOCAL;
    else if (!strcasecmp(fn, "Huber")) L->kind = BK_LOSS_HUBER;
    else if (!strcasecmp(fn, "SmoothL1") || !strcasecmp(fn, "smooth_l1")) L->kind = BK_LOSS_SMOOTH_L1;
    else if (!strcasecmp(fn, "Lovasz")) L->kind = BK_LOSS_LOVASZ;
    else if (!strcasecmp(fn, "Burgers_PDE")) L->kind = BK_LOSS_BURGERS;
    else if (!strcasecmp(fn, "Poisson2D_PDE")) L->kind = BK_LOSS_POISSON2D;
    else if (!strcasecmp(fn, "Poisson3D_PDE")) L->kind = BK_LOSS_POISSON3D;
    else if (!strcasecmp(fn, "Wasserstein") || !strcasecmp(fn, "YOLOv3"))
        return bk_json_error_at(doc, fp, BK_ERR_UNSUPPORTED, "the %s loss (the reference's --app=%s) is not supported "
                                "by brisk", fn, fn[0] == 'W' || fn[0] == 'w' ? "gan" : "obj");
    else {
        return bk_json_unknown_name(doc, fp, BK_ERR_INVALID, "loss", fn, names, N_OF(names));
    }
    if (strcmp(red, "mean")) {
        bk_json_child_path(fp, sizeof fp, path, "reduction");
        return bk_json_error_at(doc, fp, BK_ERR_UNSUPPORTED, "only \"mean\" reduction is supported");
    }
    int overlap = L->kind == BK_LOSS_DICE || L->kind == BK_LOSS_JACCARD, focal = L->kind == BK_LOSS_FOCAL;
    st = loss_key_unused(c, l, path, "smooth", overlap, fn, "Dice and Jaccard");
    if (!st) st = loss_key_unused(c, l, path, "gamma", focal, fn, "Focal");
    if (!st) st = loss_key_unused(c, l, path, "alpha", focal, fn, "Focal");
    if (!st) st = loss_key_unused(c, l, path, "delta", L->kind == BK_LOSS_HUBER, fn, "Huber (SmoothL1 has \"beta\")");
    if (!st) st = loss_key_unused(c, l, path, "beta", L->kind == BK_LOSS_SMOOTH_L1, fn, "SmoothL1 (Huber has \"delta\")");
    if (!st) st = loss_key_unused(c, l, path, "weight",
                                  bk_loss_is_classification(L) && !overlap && L->kind != BK_LOSS_LOVASZ, fn,
                                  "NLL, CrossEntropy and multi-class Focal (per-class weights)");
    if (!st) st = parse_pde_loss_keys(c, l, path, fn, L);
    if (!st) st = bk_json_get_double(doc, l, path, "smooth", 1.0, &L->smooth);
    if (!st) st = bk_json_get_double(doc, l, path, "gamma", 2.0, &L->gamma);
    if (!st) st = bk_json_get_double(doc, l, path, "alpha", 0.25, &L->alpha); /* torchvision's defaults */
    if (!st) st = bk_json_get_double(doc, l, path, "delta", 1.0, &L->delta);
    if (!st && L->kind == BK_LOSS_SMOOTH_L1) st = bk_json_get_double(doc, l, path, "beta", 1.0, &L->delta);
    if (st) return st;
    const char *bad = overlap && L->smooth < 0 ? "smooth" : focal && L->gamma < 0 ? "gamma"
                      : focal && L->alpha > 1 ? "alpha" : L->kind == BK_LOSS_HUBER && L->delta <= 0 ? "delta"
                      : L->kind == BK_LOSS_SMOOTH_L1 && L->delta < 0 ? "beta" : NULL;
    if (bad) {
        bk_json_child_path(fp, sizeof fp, path, bad);
        return bk_json_error_at(doc, fp, BK_ERR_INVALID, "%s", !strcmp(bad, "alpha") ? "alpha must be in [0, 1] (or negative: no weighting)"
                                : !strcmp(bad, "delta") ? "delta must be positive" : "must not be negative");
    }
    if (*src) {
        static const char *const sources[] = {"sigmoid", "softmax", "log_softmax", "logits"};
        static const bk_loss_source kinds[] = {BK_SOURCE_SIGMOID, BK_SOURCE_SOFTMAX, BK_SOURCE_LOG_SOFTMAX, BK_SOURCE_LOGITS};
        int i = 0;
        while (i < N_OF(sources) && strcasecmp(src, sources[i])) i++;
        bk_json_child_path(fp, sizeof fp, path, "source");
        if (i == N_OF(sources)) return bk_json_unknown_name(doc, fp, BK_ERR_INVALID, "loss source", src, sources, N_OF(sources));
        L->source = kinds[i];
        L->from_logits = L->source == BK_SOURCE_LOGITS;
    }
    json_t *w = json_object_get(l, "weight");
    if (w) {
        char wp[1024];
        bk_json_child_path(wp, sizeof wp, path, "weight");
        if (!json_is_array(w) || json_array_size(w) == 0)
            return bk_json_error_at(doc, wp, BK_ERR_INVALID, "weight must be a list of per-class numbers");
        L->n_weights = (int64_t)json_array_size(w);
        L->class_weight = malloc((size_t)L->n_weights * sizeof(float));
        if (!L->class_weight) return bk_error(BK_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < json_array_size(w); i++) {
            json_t *e = json_array_get(w, i);
            if (!json_is_number(e) || json_number_value(e) < 0)
                return bk_json_error_at(doc, wp, BK_ERR_INVALID, "element %zu must be a non-negative number", i);
            L->class_weight[i] = (float)json_number_value(e);
        }
    }
    return BK_OK;
}

/* "loss": one loss object (for every output), or Keras compile()'s
 * per-output form {"outputs": {NAME: loss}, "weights": {NAME: number}}.
 * The names are checked against the model when it is built. */
static bk_status parse_loss(bk_run_config *c, json_t *l, const char *path)
{
    json_t *outs = json_object_get(l, "outputs");
    if (!outs && json_object_get(l, "weights")) {
        char wp[1024];
        bk_json_child_path(wp, sizeof wp, path, "weights");
        return bk_json_error_at(&c->doc, wp, BK_ERR_INVALID, "\"weights\" weighs the losses of several outputs; "
                                "give them as \"outputs\": {\"<output layer>\": {\"function\": ...}, ...}");
    }
    if (!outs) {
        bk_status st = parse_one_loss(c, l, path, &c->loss);
        c->has_loss = !st;
        return st;
    }
    static const char *const known[] = {"outputs", "weights"};
    bk_status st = bk_json_check_keys(&c->doc, l, path, known, N_OF(known));
    if (st) return st;
    char op[1024], wp[1024];
    bk_json_child_path(op, sizeof op, path, "outputs");
    bk_json_child_path(wp, sizeof wp, path, "weights");
    size_t n = json_is_object(outs) ? json_object_size(outs) : 0;
    if (n < 1 || n > N_OF(c->output_losses))
        return bk_json_error_at(&c->doc, op, BK_ERR_INVALID, "expected an object of 1 to %d entries: "
                                "output layer name -> loss object", N_OF(c->output_losses));
    const char *name;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(outs, tmp, name, v) {
        bk_output_loss *o = &c->output_losses[c->n_output_losses++];
        snprintf(o->output, sizeof o->output, "%.127s", name);
        bk_json_child_path(o->path, sizeof o->path, op, name);
        o->weight = 1.0;
        if (!json_is_object(v))
            return bk_json_error_at(&c->doc, o->path, BK_ERR_INVALID, "expected a loss object ({\"function\": ...})");
        if ((st = parse_one_loss(c, v, o->path, &o->loss))) return st;
    }
    json_t *w = json_object_get(l, "weights");
    if (w && !json_is_object(w))
        return bk_json_error_at(&c->doc, wp, BK_ERR_INVALID, "expected an object: output layer name -> weight");
    json_object_foreach_safe(w, tmp, name, v) {
        char ep[1024];
        bk_json_child_path(ep, sizeof ep, wp, name);
        int k = 0;
        while (k < c->n_output_losses && strcmp(c->output_losses[k].output, name)) k++;
        if (k == c->n_output_losses) {
            const char *names[8];
            for (int i = 0; i < c->n_output_losses; i++) names[i] = c->output_losses[i].output;
            return bk_json_unknown_name(&c->doc, ep, BK_ERR_INVALID, "output in weights (it has no loss in "
                                        "\"outputs\")", name, names, c->n_output_losses);
        }
        if (!json_is_number(v) || json_number_value(v) < 0)
            return bk_json_error_at(&c->doc, ep, BK_ERR_INVALID, "expected a non-negative number");
        c->output_losses[k].weight = json_number_value(v);
    }
    c->has_loss = 1;
    return BK_OK;
}

/* 1 when any loss of the run (either form) satisfies pred. */
static int any_loss(const bk_run_config *c, int (*pred)(const bk_loss *))
{
    if (!c->n_output_losses) return pred(&c->loss);
    for (int k = 0; k < c->n_output_losses; k++)
        if (pred(&c->output_losses[k].loss)) return 1;
    return 0;
}

static int is_overlap(const bk_loss *l) { return l->kind == BK_LOSS_DICE || l->kind == BK_LOSS_JACCARD; }

/* "metrics": a name or a list of names (accuracy, dice, miou). */
static bk_status parse_metrics(bk_run_config *c, json_t *v, const char *path)
{
    static const char *const names[] = {"accuracy", "dice", "miou", "mean_iou", "iou"};
    static const unsigned bits[] = {BK_METRIC_ACCURACY, BK_METRIC_DICE, BK_METRIC_MIOU, BK_METRIC_MIOU, BK_METRIC_MIOU};
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
        char ep[1024];
        if (json_is_array(v)) bk_json_index_path(ep, sizeof ep, path, i);
        else snprintf(ep, sizeof ep, "%s", path);
        if (!json_is_string(e))
            return bk_json_error_at(&c->doc, ep, BK_ERR_INVALID, "expected a metric name (accuracy, dice or miou) or a list of them");
        int k = 0;
        while (k < N_OF(names) && strcasecmp(json_string_value(e), names[k])) k++;
        if (k == N_OF(names))
            return bk_json_unknown_name(&c->doc, ep, BK_ERR_INVALID, "metric", json_string_value(e), names, 3);
        c->metrics |= bits[k];
    }
    return BK_OK;
}

static bk_status parse_scheduler(bk_run_config *c, json_t *s, const char *path)
{
    static const char *const known[] = {"type", "gamma", "step_size", "milestones", "num_epochs",
                                        "start_factor", "verbose", "T_max", "eta_min"};
    static const char *const names[] = {"Step", "MultiStep", "Exponential", "Warmup", "Cosine"};
    bk_json_doc *doc = &c->doc;
    bk_optim_config *o = &c->optim;
    const char *type = NULL;
    bk_status st = bk_json_check_keys(doc, s, path, known, N_OF(known));
    if (!st) st = bk_json_get_string(doc, s, path, "type", NULL, &type);
    if (!st) st = bk_json_get_double(doc, s, path, "gamma", 0.1, &o->gamma);
    if (!st) st = bk_json_get_int(doc, s, path, "step_size", 1, &o->step_size);
    if (!st) st = bk_json_get_int(doc, s, path, "num_epochs", 5, &o->warmup_epochs);
    if (!st) st = bk_json_get_double(doc, s, path, "start_factor", 1.0 / 3, &o->start_factor);
    if (!st) st = bk_json_get_bool(doc, s, path, "verbose", 0, &o->sched_verbose);
    if (!st) st = bk_json_get_int(doc, s, path, "T_max", c->num_epochs, &o->t_max);
    if (!st) st = bk_json_get_double(doc, s, path, "eta_min", 0.0, &o->eta_min);
    if (st) return st;
    char tp[1024];
    bk_json_child_path(tp, sizeof tp, path, "type");
    if (!type) return bk_json_error_at(doc, path, BK_ERR_INVALID, "lr_scheduler needs a \"type\"");
    if (!strcasecmp(type, "Step")) o->sched = BK_SCHED_STEP;
    else if (!strcasecmp(type, "MultiStep")) o->sched = BK_SCHED_MULTISTEP;
    else if (!strcasecmp(type, "Exponential")) o->sched = BK_SCHED_EXPONENTIAL;
    else if (!strcasecmp(type, "Warmup")) o->sched = BK_SCHED_WARMUP;
    else if (!strcasecmp(type, "Cosine")) o->sched = BK_SCHED_COSINE;
    else {
        return bk_json_unknown_name(doc, tp, BK_ERR_INVALID, "lr_scheduler", type, names, N_OF(names));
    }
    json_t *ms = json_object_get(s, "milestones");
    if (o->sched == BK_SCHED_MULTISTEP) {
        char mp[1024];
        bk_json_child_path(mp, sizeof mp, path, "milestones");
        if (!json_is_array(ms) || json_array_size(ms) > 32)
            return bk_json_error_at(doc, json_is_array(ms) ? mp : path, BK_ERR_INVALID, "MultiStep needs \"milestones\": a list of up to 32 epochs");
        for (size_t i = 0; i < json_array_size(ms); i++) {
            if (!json_is_integer(json_array_get(ms, i)))
                return bk_json_error_at(doc, mp, BK_ERR_INVALID, "element %zu must be an integer epoch", i);
            o->milestones[o->n_milestones++] = json_integer_value(json_array_get(ms, i));
        }
    }
    return BK_OK;
}

static bk_status parse_optimizer(bk_run_config *c, json_t *o, const char *path)
{
    static const char *const known[] = {"type", "learning_rate", "momentum", "weight_decay", "dampening",
                                        "nesterov", "beta1", "beta2", "eps", "amsgrad", "alpha", "centered",
                                        "lr_scheduler", "lr_decay", "initial_accumulator_value", "eta",
                                        "trust_coefficient", "max_iterations", "max_func_eval", "absolute_tolerance",
                                        "relative_tolerance"};
    static const char *const hessian_keys[] = {"max_iterations", "max_func_eval", "absolute_tolerance",
                                               "relative_tolerance"};
    static const char *const names[] = {"SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "LAMB", "LARS"};
    bk_json_doc *doc = &c->doc;
    bk_optim_config *oc = &c->optim;
    const char *type = NULL;
    bk_status st = bk_json_check_keys(doc, o, path, known, N_OF(known));
    if (!st) st = bk_json_get_string(doc, o, path, "type", NULL, &type);
    if (st) return st;
    char tp[1024];
    bk_json_child_path(tp, sizeof tp, path, "type");
    if (!type) return bk_json_error_at(doc, path, BK_ERR_INVALID, "optimizer needs a \"type\" (SGD, Adam, AdamW, RMSprop, "
                                       "Adagrad, LAMB or LARS)");
    if (!strcasecmp(type, "SGD")) oc->kind = BK_OPT_SGD;
    else if (!strcasecmp(type, "Adam")) oc->kind = BK_OPT_ADAM;
    else if (!strcasecmp(type, "AdamW")) oc->kind = BK_OPT_ADAMW;
    else if (!strcasecmp(type, "RMSprop")) oc->kind = BK_OPT_RMSPROP;
    else if (!strcasecmp(type, "Adagrad")) oc->kind = BK_OPT_ADAGRAD;
    else if (!strcasecmp(type, "LAMB")) oc->kind = BK_OPT_LAMB;
    else if (!strcasecmp(type, "LARS")) oc->kind = BK_OPT_LARS;
    else if (!strcasecmp(type, "Hessian"))
        /* the reference documents this optimizer's keys (max_iterations,
         * max_func_eval, tolerances) but not its algorithm, so brisk cannot
         * promise the same method under the same name */
        return bk_json_error_at(doc, tp, BK_ERR_UNSUPPORTED, "the second-order \"Hessian\" optimizer is not supported: "
                                "its algorithm is not documented by the reference CLI; use a first-order optimizer "
                                "(SGD, Adam, AdamW, RMSprop, Adagrad, LAMB or LARS)");
    else {
        return bk_json_unknown_name(doc, tp, BK_ERR_INVALID, "optimizer", type, names, N_OF(names));
    }
    st = unsupported_keys(c, o, path, hessian_keys, N_OF(hessian_keys),
                          "is a key of the reference's \"Hessian\" optimizer only; remove it");
    if (st) return st;
    double wd_default = oc->kind == BK_OPT_ADAMW ? 0.01 : 0.0; /* PyTorch's defaults */
    st = bk_json_get_double(doc, o, path, "learning_rate", 0.01, &oc->lr);
    if (!st) st = bk_json_get_double(doc, o, path, "momentum", 0.0, &oc->momentum);
    if (!st) st = bk_json_get_double(doc, o, path, "weight_decay", wd_default, &oc->weight_decay);
    if (!st) st = bk_json_get_double(doc, o, path, "dampening", 0.0, &oc->dampening);
    if (!st) st = bk_json_get_bool(doc, o, path, "nesterov", 0, &oc->nesterov);
    if (!st) st = bk_json_get_double(doc, o, path, "beta1", 0.9, &oc->beta1);
    if (!st) st = bk_json_get_double(doc, o, path, "beta2", 0.999, &oc->beta2);
    if (!st) st = bk_json_get_double(doc, o, path, "eps", oc->kind == BK_OPT_ADAGRAD ? 1e-10 : 1e-8, &oc->eps);
    if (!st) st = bk_json_get_bool(doc, o, path, "amsgrad", 0, &oc->amsgrad);
    if (!st) st = bk_json_get_double(doc, o, path, "alpha", 0.99, &oc->alpha);
    if (!st) st = bk_json_get_bool(doc, o, path, "centered", 0, &oc->centered);
    if (!st) st = bk_json_get_double(doc, o, path, "lr_decay", 0.0, &oc->lr_decay);
    if (!st) st = bk_json_get_double(doc, o, path, "initial_accumulator_value", 0.0, &oc->initial_accumulator_value);
    if (!st && json_object_get(o, "eta") && json_object_get(o, "trust_coefficient")) {
        bk_json_child_path(tp, sizeof tp, path, "trust_coefficient");
        st = bk_json_error_at(doc, tp, BK_ERR_INVALID, "\"eta\" and \"trust_coefficient\" are the same LARS setting; keep one");
    }
    if (!st) st = bk_json_get_double(doc, o, path, json_object_get(o, "eta") ? "eta" : "trust_coefficient", 1e-3, &oc->eta);
    if (st) return st;
    if (oc->kind == BK_OPT_LAMB && oc->amsgrad) {
        bk_json_child_path(tp, sizeof tp, path, "amsgrad");
        return bk_json_error_at(doc, tp, BK_ERR_UNSUPPORTED, "LAMB has no amsgrad variant; remove it");
    }
    const char *bad = oc->lr_decay < 0 ? "lr_decay" : oc->initial_accumulator_value < 0 ? "initial_accumulator_value"
                      : oc->eta <= 0 ? (json_object_get(o, "eta") ? "eta" : "trust_coefficient") : NULL;
    if (bad) {
        bk_json_child_path(tp, sizeof tp, path, bad);
        return bk_json_error_at(doc, tp, BK_ERR_INVALID, bad[0] == 'l' || bad[0] == 'i' ? "must not be negative"
                                                                                        : "must be positive");
    }
    if (oc->lr <= 0) {
        bk_json_child_path(tp, sizeof tp, path, "learning_rate");
        return bk_json_error_at(doc, tp, BK_ERR_INVALID, "learning_rate must be positive");
    }
    if (oc->nesterov && (oc->momentum <= 0 || oc->dampening != 0)) {
        bk_json_child_path(tp, sizeof tp, path, "nesterov");
        return bk_json_error_at(doc, tp, BK_ERR_INVALID, "nesterov needs momentum > 0 and dampening 0");
    }
    json_t *s = json_object_get(o, "lr_scheduler");
    if (s) {
        char sp[1024];
        bk_json_child_path(sp, sizeof sp, path, "lr_scheduler");
        if (!json_is_object(s)) return bk_json_error_at(doc, sp, BK_ERR_INVALID, "expected an object");
        return parse_scheduler(c, s, sp);
    }
    return BK_OK;
}

static bk_status parse_checkpoints(bk_run_config *c, json_t *o, const char *path)
{
    static const char *const known[] = {"save", "interval", "load"};
    bk_status st = bk_json_check_keys(&c->doc, o, path, known, N_OF(known));
    if (!st) st = get_path(c, o, path, "save", c->save_dir, sizeof c->save_dir);
    if (!st) st = get_path(c, o, path, "load", c->load_path, sizeof c->load_path);
    if (!st) st = bk_json_get_int(&c->doc, o, path, "interval", 1, &c->interval);
    if (!st && c->interval < 1) {
        char ip[1024];
        bk_json_child_path(ip, sizeof ip, path, "interval");
        st = bk_json_error_at(&c->doc, ip, BK_ERR_INVALID, "must be a positive number of epochs");
    }
    return st;
}

static bk_status parse_layers(bk_run_config *c, json_t *l, const char *path)
{
    if (json_is_string(l)) {
        char p[1024];
        const char *v = json_string_value(l);
        if (v[0] == '/') snprintf(p, sizeof p, "%s", v);
        else bk_path_join(p, sizeof p, c->config_dir, v);
        bk_status st = bk_json_load_file(&c->net_doc, p);
        if (st) return bk_error_context(st, "%s: %s: ", c->doc.file, path);
        c->net = c->net_doc.root;
        c->net_path[0] = 0;
        return BK_OK;
    }
    if (!json_is_array(l) && !json_is_object(l))
        return bk_json_error_at(&c->doc, path, BK_ERR_INVALID,
                                "expected a path to a Keras JSON file, a Keras model object or a list of layers");
    c->net = l;
    snprintf(c->net_path, sizeof c->net_path, "%s", path);
    return BK_OK;
}

/* Runs one section parser when its key is present and holds an object. */
static bk_status section(bk_run_config *c, json_t *nn, const char *key, int required,
                         bk_status (*fn)(bk_run_config *, json_t *, const char *))
{
    char p[256];
    bk_json_child_path(p, sizeof p, "neural_network", key);
    json_t *v = json_object_get(nn, key);
    if (!v) return required ? bk_json_error_at(&c->doc, "neural_network", BK_ERR_INVALID,
                                               "missing \"%s\"", key) : BK_OK;
    if (!json_is_object(v)) return bk_json_error_at(&c->doc, p, BK_ERR_INVALID, "expected an object");
    return fn(c, v, p);
}

/* network_only: what needs just the network (brisk summary) may leave out
 * data, loss and optimizer. */
static bk_status load(bk_run_config *c, const char *path, int network_only)
{
    static const char *const top_known[] = {"neural_network"};
    static const char *const nn_known[] = {"outfile", "num_epochs", "debug", "data", "layers", "loss",
                                           "optimizer", "checkpoints", "seed", "log_interval", "metrics", "sync_batchnorm"};
    memset(c, 0, sizeof *c);
    bk_status st = bk_json_load_file(&c->doc, path);
    if (st) return st;
    bk_path_dirname(c->config_dir, sizeof c->config_dir, path);
    bk_json_doc *doc = &c->doc;
    if (!json_is_object(doc->root)) return bk_json_error_at(doc, "", BK_ERR_INVALID, "expected a JSON object with \"neural_network\"");
    st = bk_json_check_keys(doc, doc->root, "", top_known, N_OF(top_known));
    if (st) return st;
    json_t *nn = json_object_get(doc->root, "neural_network");
    if (!json_is_object(nn)) return bk_json_error_at(doc, "", BK_ERR_INVALID, "missing the \"neural_network\" object");
    st = bk_json_check_keys(doc, nn, "neural_network", nn_known, N_OF(nn_known));
    const char *outfile = NULL;
    int64_t seed = 0;
    if (!st) st = bk_json_get_string(doc, nn, "neural_network", "outfile", "out.txt", &outfile);
    if (!st) st = bk_json_get_int(doc, nn, "neural_network", "num_epochs", 1, &c->num_epochs);
    if (!st) st = bk_json_get_int(doc, nn, "neural_network", "seed", 0, &seed);
    if (!st) st = bk_json_get_int(doc, nn, "neural_network", "log_interval", 50, &c->log_interval);
    if (!st) st = bk_json_get_bool(doc, nn, "neural_network", "debug", 0, &c->debug);
    if (!st) st = bk_json_get_bool(doc, nn, "neural_network", "sync_batchnorm", 0, &c->sync_batchnorm);
    if (st) return st;
    c->seed = (uint64_t)seed;
    if (outfile[0] == '/') snprintf(c->outfile, sizeof c->outfile, "%s", outfile);
    else bk_path_join(c->outfile, sizeof c->outfile, c->config_dir, outfile);
    if (c->num_epochs < 0) return bk_json_error_at(doc, "neural_network.num_epochs", BK_ERR_INVALID, "must not be negative");
    if (c->log_interval < 1) c->log_interval = 1;
    c->optim.kind = BK_OPT_SGD;
    c->optim.lr = 0.01;
    c->interval = 1;
    json_t *layers = json_object_get(nn, "layers");
    if (!layers) return bk_json_error_at(doc, "neural_network", BK_ERR_INVALID,
                                         "missing \"layers\" (a Keras model.to_json() file or inline network)");
    st = parse_layers(c, layers, "neural_network.layers");
    if (!st) st = section(c, nn, "data", !network_only, parse_data);
    if (!st) st = section(c, nn, "loss", 0, parse_loss);
    if (!st) st = section(c, nn, "optimizer", 0, parse_optimizer);
    if (!st) st = section(c, nn, "checkpoints", 0, parse_checkpoints);
    if (!st && json_object_get(nn, "metrics")) st = parse_metrics(c, json_object_get(nn, "metrics"), "neural_network.metrics");
    if (st) return st;
    if ((c->metrics & BK_METRIC_ACCURACY) && c->has_loss && !any_loss(c, bk_loss_has_accuracy))
        return bk_json_error_at(doc, "neural_network.metrics", BK_ERR_INVALID,
                                "accuracy needs a classification or segmentation loss (NLL, CrossEntropy, BCE, Dice, "
                                "Jaccard, Focal or Lovasz)");
    /* the reference CLI reports the Dice score of segmentation runs */
    if (c->has_loss && any_loss(c, is_overlap)) c->metrics |= BK_METRIC_DICE;
    if (network_only) return BK_OK;
    if ((c->data.input_path[0] || c->data.num_examples) && !c->has_loss)
        return bk_json_error_at(doc, "neural_network", BK_ERR_INVALID, "training needs a \"loss\" object");
    if (c->data.type == BK_DATA_PDE && !c->data.num_examples && !c->data.num_test_examples)
        return bk_json_error_at(doc, "neural_network.data", BK_ERR_INVALID,
                                "neither num_examples (training) nor num_test_examples (evaluation/inference) is set");
    if (c->data.type != BK_DATA_PDE && !c->data.input_path[0] && !c->data.test_input_path[0])
        return bk_json_error_at(doc, "neural_network.data", BK_ERR_INVALID,
                                "neither input_path (training) nor test_input_path (evaluation/inference) is set");
    return BK_OK;
}

bk_status bk_run_config_load(bk_run_config *c, const char *path) { return load(c, path, 0); }
bk_status bk_run_config_load_network(bk_run_config *c, const char *path) { return load(c, path, 1); }

void bk_run_config_free(bk_run_config *c)
{
    free(c->loss.class_weight);
    for (int k = 0; k < c->n_output_losses; k++) free(c->output_losses[k].loss.class_weight);
    json_decref(c->hub_refs);
    bk_json_free(&c->net_doc);
    bk_json_free(&c->doc);
    memset(c, 0, sizeof *c);
}
