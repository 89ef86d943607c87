/* Keras weight initializers, seeded so runs reproduce. */
#ifndef BK_NN_INIT_H
#define BK_NN_INIT_H
#include "graph.h"

typedef enum { BK_INIT_ZEROS, BK_INIT_ONES, BK_INIT_CONSTANT, BK_INIT_UNIFORM, BK_INIT_NORMAL,
               BK_INIT_TRUNC_NORMAL, BK_INIT_VARIANCE_SCALING } bk_init_kind;

typedef struct {
    bk_init_kind kind;
    double value, minval, maxval, mean, stddev; /* constant / uniform / normal */
    double scale;        /* variance scaling */
    int mode;            /* 0 fan_in, 1 fan_out, 2 fan_avg */
    int distribution;    /* 0 truncated normal, 1 untruncated normal, 2 uniform */
    int has_seed;
    uint64_t seed;
} bk_init;

/* Reads `key` (an initializer object or a name string); def when absent. */
bk_status bk_init_parse(const bk_json_doc *doc, json_t *cfg, const char *path, const char *key,
                        const bk_init *def, bk_init *out);
/* Fills data[0..count) drawing from rng (or from the initializer's own seed). */
void bk_init_fill(const bk_init *in, float *data, int64_t count, bk_fans fans, bk_rng *rng);

extern const bk_init bk_init_glorot_uniform, bk_init_zeros, bk_init_ones;
#endif
