/* Seeded random numbers (PCG32 for the stream, splitmix64 for deriving
 * independent streams). Deterministic across platforms so runs reproduce
 * and resumed runs match uninterrupted ones. */
#ifndef BK_CORE_RNG_H
#define BK_CORE_RNG_H
#include <stdint.h>

typedef struct { uint64_t state, inc; } bk_rng;

/* Stream `stream` of seed `seed`: the same pair gives the same numbers. */
void bk_rng_seed(bk_rng *r, uint64_t seed, uint64_t stream);
uint32_t bk_rng_u32(bk_rng *r);
/* Skips delta u32 draws in O(log delta) (PCG's jump-ahead), so a process
 * holding rows k.. of a batch draws what one process would for them. */
void bk_rng_advance(bk_rng *r, uint64_t delta);
/* Uniform in [0, 1). */
double bk_rng_uniform(bk_rng *r);
/* Standard normal (Box-Muller). */
double bk_rng_normal(bk_rng *r);
/* Uniform integer in [0, n). */
uint64_t bk_rng_below(bk_rng *r, uint64_t n);
/* Fisher-Yates shuffle of idx[0..n). */
void bk_rng_shuffle(bk_rng *r, int64_t *idx, int64_t n);
/* Mixes several values into one seed (splitmix64). */
uint64_t bk_rng_mix(uint64_t a, uint64_t b);
#endif
