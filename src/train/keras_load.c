#include "keras_load.h"
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* How a Keras weight's layout becomes brisk's (keras_load.h). */
typedef enum { K_COPY, K_DENSE, K_CONV, K_DEPTHWISE, K_CHANNELS_LAST } conv_kind;

/* Which Keras variables may fill brisk parameter `suffix` of a layer of
 * class cls (at most two names: Keras 2 calls a DepthwiseConv's kernel
 * depthwise_kernel, Keras 3 kernel). 0 when brisk does not know the
 * parameter (a layer added to brisk without a mapping here). */
static int keras_vars(const char *cls, const char *suffix, const char **names, conv_kind *kind)
{
    int norm = strstr(cls, "Normalization") != NULL;
    names[1] = NULL;
    *kind = K_COPY;
    if (!strcmp(suffix, "running_mean")) names[0] = "moving_mean";
    else if (!strcmp(suffix, "running_var")) names[0] = "moving_variance";
    else if (!strcmp(suffix, "bias")) names[0] = norm ? "beta" : "bias";
    else if (!strcmp(suffix, "depthwise.weight")) names[0] = "depthwise_kernel", *kind = K_DEPTHWISE;
    else if (!strcmp(suffix, "pointwise.weight")) names[0] = "pointwise_kernel", *kind = K_CONV;
    else if (strcmp(suffix, "weight")) return 0;
    else if (norm) names[0] = "gamma";
    else if (!strcmp(cls, "Dense")) names[0] = "kernel", *kind = K_DENSE;
    else if (!strncmp(cls, "Conv", 4)) names[0] = "kernel", *kind = K_CONV;
    else if (!strncmp(cls, "DepthwiseConv", 13)) names[0] = "depthwise_kernel", names[1] = "kernel", *kind = K_DEPTHWISE;
    else if (!strcmp(cls, "PReLU")) names[0] = "alpha", *kind = K_CHANNELS_LAST;
    else return 0;
    return 1;
}

/* brisk's name for a Keras variable of a layer of class cls ("gamma" ->
 * "weight"), for naming file weights the model has no place for. */
static const char *brisk_suffix(const char *cls, const char *var)
{
    static const char *const suffixes[] = {"weight", "bias", "running_mean", "running_var", "depthwise.weight",
                                           "pointwise.weight"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        const char *names[2];
        conv_kind k;
        if (keras_vars(cls, suffixes[i], names, &k) && (!strcmp(names[0], var) || (names[1] && !strcmp(names[1], var))))
            return suffixes[i];
    }
    return var;
}

/* The permutation taking Keras' layout to brisk's: result axis i is Keras
 * axis perm[i]. A rank too small for the kind keeps the order (the shape
 * check then reports the mismatch). */
static void kind_perm(conv_kind k, int r, int *perm)
{
    for (int i = 0; i < r; i++) perm[i] = i;
    if (k == K_DENSE && r == 2) {
        perm[0] = 1, perm[1] = 0;
    } else if ((k == K_CONV || k == K_DEPTHWISE) && r >= 3) {
        /* conv [k..., in, out] -> [out, in, k...]; depthwise [k..., in, mult]
         * -> [in, mult, k...], which is [in*mult, 1, k...] in memory (output
         * channel c*mult + j, as TensorFlow orders them) */
        perm[0] = k == K_CONV ? r - 1 : r - 2;
        perm[1] = k == K_CONV ? r - 2 : r - 1;
        for (int i = 2; i < r; i++) perm[i] = i - 2;
    } else if (k == K_CHANNELS_LAST && r >= 2) {
        perm[0] = r - 1;
        for (int i = 1; i < r; i++) perm[i] = i - 1;
    }
}

/* The brisk shape a Keras weight of shape ks becomes. */
static bk_shape brisk_shape(conv_kind k, const bk_shape *ks)
{
    int perm[BK_MAX_DIMS];
    kind_perm(k, ks->ndim, perm);
    bk_shape s = {.ndim = ks->ndim};
    for (int i = 0; i < ks->ndim; i++) s.dims[i] = ks->dims[perm[i]];
    if (k == K_DEPTHWISE && ks->ndim >= 3) s.dims[0] *= s.dims[1], s.dims[1] = 1;
    return s;
}

/* dst = src (Keras shape ks) permuted to brisk's layout. */
static void permute(conv_kind k, const bk_shape *ks, const float *src, float *dst)
{
    int r = ks->ndim, perm[BK_MAX_DIMS];
    kind_perm(k, r, perm);
    int64_t kstride[BK_MAX_DIMS], od[BK_MAX_DIMS], os[BK_MAX_DIMS], idx[BK_MAX_DIMS] = {0}, s = 1;
    for (int i = r - 1; i >= 0; i--) kstride[i] = s, s *= ks->dims[i];
    for (int i = 0; i < r; i++) od[i] = ks->dims[perm[i]], os[i] = kstride[perm[i]];
    int64_t n = bk_shape_numel(ks), off = 0;
    for (int64_t o = 0; o < n; o++) {
        dst[o] = src[off];
        for (int d = r - 1; d >= 0; d--) {
            off += os[d];
            if (++idx[d] < od[d]) break;
            off -= os[d] * od[d];
            idx[d] = 0;
        }
    }
}

/* Keras 3's key for a layer: its class in snake case (Keras'
 * naming.to_snake_case: "Conv2DTranspose" -> "conv2d_transpose",
 * "PReLU" -> "p_re_lu"), then "_<k>" for the k-th later one of the class. */
static void snake_case(const char *cls, char *out, size_t n)
{
    char a[128], b[160];
    size_t j = 0, len = 0;
    for (size_t i = 0; cls[i] && len + 1 < sizeof a; i++)
        if (isalnum((unsigned char)cls[i]) || cls[i] == '_') a[len++] = cls[i];
    a[len] = 0;
    /* (.)([A-Z][a-z]+) -> \1_\2 */
    for (size_t i = 0; i < len && j + 2 < sizeof b; i++) {
        if (i > 0 && isupper((unsigned char)a[i]) && i + 1 < len && islower((unsigned char)a[i + 1])) b[j++] = '_';
        b[j++] = a[i];
    }
    b[j] = 0;
    /* ([a-z])([A-Z]) -> \1_\2, then lower case */
    size_t o = 0;
    for (size_t i = 0; b[i] && o + 2 < n; i++) {
        if (i > 0 && islower((unsigned char)b[i - 1]) && isupper((unsigned char)b[i])) out[o++] = '_';
        out[o++] = (char)tolower((unsigned char)b[i]);
    }
    out[o] = 0;
}

/* Each node's key in the file ("" for internal nodes: activations, layouts). */
static void layer_keys(const bk_model *m, int v3, char (*keys)[BK_NAME_LEN + 16])
{
    for (int i = 0; i < m->n_nodes; i++) {
        const bk_node *n = &m->nodes[i];
        keys[i][0] = 0;
        if (n->hidden) continue;
        if (!v3) {
            snprintf(keys[i], sizeof keys[i], "%s", n->name);
            continue;
        }
        int count = 0;
        for (int j = 0; j < i; j++) count += !m->nodes[j].hidden && !strcmp(m->nodes[j].class_name, n->class_name);
        char sc[BK_NAME_LEN];
        snake_case(n->class_name, sc, sizeof sc);
        if (count) snprintf(keys[i], sizeof keys[i], "%s_%d", sc, count);
        else snprintf(keys[i], sizeof keys[i], "%s", sc);
    }
}

/* Appends "name" to the comma-separated list; ", ..." once it is full. */
static void add_missing(char *missing, size_t len, size_t *used, const char *name)
{
    if (!missing || len < 8) return;
    if (*used >= 3 && !strcmp(missing + *used - 3, "...")) return;
    if (*used + strlen(name) + 12 < len)
        *used += (size_t)snprintf(missing + *used, len - *used, "%s\"%s\"", *used ? ", " : "", name);
    else
        *used += (size_t)snprintf(missing + *used, len - *used, "%s...", *used ? ", " : "");
}

/* Logs a file layer the model lacks and its weights, as the reference CLI
 * does; the parameter names are what brisk would call them, guessed from
 * the Keras variable names alone (the class is the model's, which has no
 * such layer). */
static void log_layer(const bk_keras_layer *L, FILE *log)
{
    static const char *const map[][2] = {{"kernel", "weight"}, {"gamma", "weight"}, {"alpha", "weight"},
                                         {"beta", "bias"}, {"moving_mean", "running_mean"},
                                         {"moving_variance", "running_var"}, {"pointwise_kernel", "pointwise.weight"}};
    int separable = 0;
    for (int j = 0; j < L->n_weights; j++) separable |= !strcmp(L->w[j].var, "pointwise_kernel");
    fprintf(log, "   Skipping layer %s: not found in model\n", L->name);
    for (int j = 0; j < L->n_weights; j++) {
        const char *v = L->w[j].var, *suffix = v;
        for (size_t k = 0; k < sizeof map / sizeof map[0]; k++)
            if (!strcmp(v, map[k][0])) suffix = map[k][1];
        if (!strcmp(v, "depthwise_kernel")) suffix = separable ? "depthwise.weight" : "weight";
        if (v[0]) fprintf(log, "   Skipping parameter %s.%s (%s): not found in model\n", L->name, suffix, L->w[j].name);
        else fprintf(log, "   Skipping parameter %s/%s: not found in model\n", L->name, L->w[j].name);
    }
}

/* Converts and stores Keras weight w into parameter p. */
static bk_status load_one(bk_model *m, const bk_keras_h5 *f, const char *path, const bk_node *n, bk_param *p,
                          const bk_keras_weight *w, conv_kind kind)
{
    bk_shape want = brisk_shape(kind, &w->shape);
    if (!bk_shape_equal(&want, &p->shape)) {
        char a[64], b[64], c[64];
        return bk_error(BK_ERR_SHAPE, "%s: layer \"%s\": Keras weight \"%s\" has shape %s (%s in brisk's layout) "
                        "but the model's %s is %s; the layer's config differs from the one the file was saved from",
                        path, n->name, w->name, bk_shape_str(&w->shape, a, sizeof a), bk_shape_str(&want, b, sizeof b),
                        p->name, bk_shape_str(&p->shape, c, sizeof c));
    }
    int64_t count = bk_shape_numel(&w->shape);
    float *raw = malloc(sizeof(float) * (size_t)(count ? count : 1));
    float *plain = malloc(sizeof(float) * (size_t)(count ? count : 1));
    bk_status st = raw && plain ? BK_OK : bk_error(BK_ERR_NOMEM, "out of memory for weight \"%s\" (%lld values)",
                                                   w->name, (long long)count);
    if (!st) st = bk_keras_h5_read(f, w, raw);
    for (int64_t i = 0; i < count && !st; i++)
        if (!isfinite(raw[i]))
            st = bk_error(BK_ERR_NUMERIC, "%s: layer \"%s\": Keras weight \"%s\" holds %g at index %lld; the file "
                          "is corrupt or was saved from a diverged model", path, n->name, w->name, (double)raw[i],
                          (long long)i);
    if (!st) {
        permute(kind, &w->shape, raw, plain);
        st = bk_param_from_plain(m, p, plain, p->data);
    }
    free(raw);
    free(plain);
    return st;
}

/* Pairs node n's parameters with file layer L's weights: by variable name
 * where the file names them, else by position (Keras 3, or names brisk
 * does not know), which is the order both declare them in. pick[k]: the
 * weight for parameter k, or -1. */
static bk_status pair_weights(const bk_node *n, bk_model *m, const bk_keras_layer *L, const char *path, int *pick,
                              conv_kind *kinds)
{
    int named = 0, by_name = 1;
    for (int k = 0; k < L->n_weights; k++) by_name &= L->w[k].var[0] != 0;
    for (int k = 0; k < n->n_params; k++) {
        const bk_param *p = bk_node_p(m, (bk_node *)n, k);
        const char *suffix = p->name + strlen(n->name) + 1, *names[2];
        if (!keras_vars(n->cls->name, suffix, names, &kinds[k]))
            return bk_error(BK_ERR_UNSUPPORTED, "%s: brisk does not know which Keras weight holds %s (layer class %s)",
                            path, p->name, n->cls->name);
        pick[k] = -1;
        for (int j = 0; j < L->n_weights && by_name && pick[k] < 0; j++) {
            int used = 0;
            for (int q = 0; q < k; q++) used |= pick[q] == j;
            if (!used && (!strcmp(L->w[j].var, names[0]) || (names[1] && !strcmp(L->w[j].var, names[1])))) pick[k] = j;
        }
        named += pick[k] >= 0;
    }
    if (named) return BK_OK;
    if (L->n_weights != n->n_params) {
        char list[512] = "";
        size_t used = 0;
        for (int j = 0; j < L->n_weights && used + 80 < sizeof list; j++) {
            char s[64];
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s %s", j ? ", " : "", L->w[j].name,
                                     bk_shape_str(&L->w[j].shape, s, sizeof s));
        }
        return bk_error(BK_ERR_SHAPE, "%s: layer \"%s\" (%s) has %d parameters but the file's layer \"%s\" holds %d "
                        "weights (%s); check use_bias, center and scale against the saved model", path, n->name,
                        n->cls->name, n->n_params, L->name, L->n_weights, L->n_weights ? list : "none");
    }
    for (int k = 0; k < n->n_params; k++) pick[k] = k;
    return BK_OK;
}

bk_status bk_keras_load(bk_model *m, const bk_keras_h5 *f, const char *path, FILE *log, char *missing,
                        size_t missing_len)
{
    if (missing && missing_len) missing[0] = 0;
    size_t used = 0;
    int nf = bk_keras_h5_count(f);
    char (*keys)[BK_NAME_LEN + 16] = malloc(sizeof *keys * (size_t)(m->n_nodes ? m->n_nodes : 1));
    int *matched = calloc((size_t)(m->n_nodes ? m->n_nodes : 1), sizeof(int));
    if (!keys || !matched) {
        free(keys), free(matched);
        return bk_error(BK_ERR_NOMEM, "out of memory");
    }
    layer_keys(m, bk_keras_h5_layout_of(f) == BK_KERAS_H5_V3, keys);
    bk_status st = BK_OK;
    int loaded = 0;
    for (int i = 0; i < nf && !st; i++) {
        const bk_keras_layer *L = bk_keras_h5_layer(f, i);
        if (!L->n_weights) continue; /* pooling, activations, inputs: nothing to load or miss */
        int at = -1;
        for (int j = 0; j < m->n_nodes && at < 0; j++)
            if (keys[j][0] && !strcmp(keys[j], L->name)) at = j;
        bk_node *n = at >= 0 ? &m->nodes[at] : NULL;
        if (!n || !n->n_params) {
            if (log) log_layer(L, log);
            continue;
        }
        matched[at] = 1;
        int pick[BK_MAX_PARAMS];
        conv_kind kinds[BK_MAX_PARAMS];
        st = pair_weights(n, m, L, path, pick, kinds);
        for (int k = 0; k < n->n_params && !st; k++) {
            bk_param *p = bk_node_p(m, n, k);
            if (pick[k] < 0) {
                add_missing(missing, missing_len, &used, p->name);
                continue;
            }
            st = load_one(m, f, path, n, p, &L->w[pick[k]], kinds[k]);
            loaded += !st;
        }
        for (int j = 0; j < L->n_weights && !st && log; j++) {
            int taken = 0;
            for (int k = 0; k < n->n_params; k++) taken |= pick[k] == j;
            if (!taken)
                fprintf(log, "   Skipping parameter %s.%s (%s): not found in model\n", n->name,
                        brisk_suffix(n->cls->name, L->w[j].var), L->w[j].name);
        }
    }
    for (int j = 0; j < m->n_nodes && !st; j++)
        if (m->nodes[j].n_params && !matched[j]) add_missing(missing, missing_len, &used, m->nodes[j].name);
    if (!st && loaded == 0 && m->n_params > 0) {
        char have[512] = "";
        size_t hu = 0;
        for (int i = 0; i < nf && hu + 64 < sizeof have; i++)
            if (bk_keras_h5_layer(f, i)->n_weights)
                hu += (size_t)snprintf(have + hu, sizeof have - hu, "%s\"%s\"", hu ? ", " : "", bk_keras_h5_layer(f, i)->name);
        st = bk_error(BK_ERR_INVALID, "%s: none of its layers with weights (%s) is a layer of this model, "
                      "matched %s; it was saved from another network", path, hu ? have : "there are none",
                      bk_keras_h5_layout_of(f) == BK_KERAS_H5_V3
                          ? "by Keras 3's keys (class and count: \"conv2d_1\" is the second Conv2D)"
                          : "by layer name");
    }
    free(keys);
    free(matched);
    return st;
}
