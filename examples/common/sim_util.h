/* Helpers shared by the example simulators and evaluators (examples/<name>/):
 * a seeded random generator, and whole-dataset HDF5 reads and writes.
 * Example programs only: they print a message and exit on failure. */
#ifndef BK_EXAMPLE_SIM_UTIL_H
#define BK_EXAMPLE_SIM_UTIL_H
#include <hdf5.h>
#include <stdint.h>
#include <stddef.h>

/* xoshiro256** seeded by splitmix64: the same seed gives the same data on
 * every platform (no rand(), no libm differences in the integer stream). */
typedef struct { uint64_t s[4]; } sim_rng;
void sim_rng_seed(sim_rng *r, uint64_t seed);
uint64_t sim_rng_next(sim_rng *r);
double sim_uniform(sim_rng *r);                   /* [0, 1) */
double sim_uniform_in(sim_rng *r, double lo, double hi);
int sim_int(sim_rng *r, int lo, int hi);          /* lo..hi inclusive */
double sim_normal(sim_rng *r);                    /* standard normal */
int64_t sim_poisson(sim_rng *r, double mean);     /* exact for small means, normal approximation above 50 */

/* Writes a dataset of native type `type` (H5T_NATIVE_FLOAT, ...) with the
 * given shape into an open file; exits with a message on failure. */
void sim_h5_write(hid_t file, const char *name, hid_t type, int rank, const hsize_t *dims, const void *data);
/* Creates path (truncating); exits on failure. */
hid_t sim_h5_create(const char *path);
/* Reads a whole dataset as float32 (HDF5 converts integer types); returns
 * malloc'd data and fills rank/dims (up to 8). Exits on failure. */
float *sim_h5_read_float(const char *path, const char *name, int *rank, hsize_t *dims);

/* Value at quantile q in [0, 1] of n values (sorts v in place). */
double sim_quantile(double *v, size_t n, double q);
/* Parses "--key=value" options: returns value of key, or def. */
const char *sim_opt(int argc, char **argv, const char *key, const char *def);
#endif
