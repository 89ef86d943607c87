#include "rng.h"
#include <math.h>

uint64_t bk_rng_mix(uint64_t a, uint64_t b)
{
    uint64_t z = a + 0x9E3779B97F4A7C15ull * (b + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void bk_rng_seed(bk_rng *r, uint64_t seed, uint64_t stream)
{
    r->state = 0;
    r->inc = (bk_rng_mix(stream, 0x51ED) << 1u) | 1u;
    bk_rng_u32(r);
    r->state += bk_rng_mix(seed, stream);
    bk_rng_u32(r);
}

uint32_t bk_rng_u32(bk_rng *r)
{
    uint64_t old = r->state;
    r->state = old * 6364136223846793005ull + r->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

void bk_rng_advance(bk_rng *r, uint64_t delta)
{
    /* the LCG step s -> a s + c applied delta times is s -> A s + C, with
     * A and C built by repeated squaring (Brown, "Random number generation
     * with arbitrary strides", 1994) */
    uint64_t a = 6364136223846793005ull, c = r->inc, acc_a = 1, acc_c = 0;
    while (delta) {
        if (delta & 1) {
            acc_a *= a;
            acc_c = acc_c * a + c;
        }
        c = (a + 1) * c;
        a *= a;
        delta >>= 1;
    }
    r->state = acc_a * r->state + acc_c;
}

double bk_rng_uniform(bk_rng *r)
{
    /* 53 random bits from two draws */
    uint64_t hi = bk_rng_u32(r) >> 5, lo = bk_rng_u32(r) >> 6;
    return (double)(hi * 67108864.0 + lo) / 9007199254740992.0;
}

double bk_rng_normal(bk_rng *r)
{
    double u1 = bk_rng_uniform(r), u2 = bk_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

uint64_t bk_rng_below(bk_rng *r, uint64_t n)
{
    if (n <= 1) return 0;
    uint64_t x = ((uint64_t)bk_rng_u32(r) << 32) | bk_rng_u32(r);
    return x % n; /* bias below 2^-32 for n < 2^32 */
}

void bk_rng_shuffle(bk_rng *r, int64_t *idx, int64_t n)
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)bk_rng_below(r, (uint64_t)i + 1);
        int64_t t = idx[i]; idx[i] = idx[j]; idx[j] = t;
    }
}
