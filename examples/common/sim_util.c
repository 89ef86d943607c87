#include "sim_util.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void sim_rng_seed(sim_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) r->s[i] = splitmix(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t sim_rng_next(sim_rng *r)
{
    uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

double sim_uniform(sim_rng *r) { return (double)(sim_rng_next(r) >> 11) * 0x1.0p-53; }

double sim_uniform_in(sim_rng *r, double lo, double hi) { return lo + (hi - lo) * sim_uniform(r); }

int sim_int(sim_rng *r, int lo, int hi) { return lo + (int)(sim_uniform(r) * (hi - lo + 1)); }

double sim_normal(sim_rng *r)
{
    /* Box-Muller; the second value is dropped to keep the stream simple */
    double u = sim_uniform(r), v = sim_uniform(r);
    return sqrt(-2.0 * log(1.0 - u)) * cos(2.0 * M_PI * v);
}

int64_t sim_poisson(sim_rng *r, double mean)
{
    if (mean <= 0) return 0;
    if (mean > 50) {
        double k = floor(mean + sqrt(mean) * sim_normal(r) + 0.5);
        return k < 0 ? 0 : (int64_t)k;
    }
    double l = exp(-mean), p = 1.0;
    int64_t k = 0;
    do {
        k++;
        p *= sim_uniform(r);
    } while (p > l);
    return k - 1;
}

hid_t sim_h5_create(const char *path)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) {
        fprintf(stderr, "%s: cannot create (does the folder exist and is it writable?)\n", path);
        exit(1);
    }
    return f;
}

void sim_h5_write(hid_t file, const char *name, hid_t type, int rank, const hsize_t *dims, const void *data)
{
    hid_t space = H5Screate_simple(rank, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    /* no modification times in the object headers: the same seed gives a
     * byte-identical file */
    H5Pset_obj_track_times(dcpl, 0);
    hid_t d = space < 0 ? -1 : H5Dcreate2(file, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (d < 0 || H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
        fprintf(stderr, "writing dataset \"%s\" failed (disk full?)\n", name);
        exit(1);
    }
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(space);
}

float *sim_h5_read_float(const char *path, const char *name, int *rank, hsize_t *dims)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        fprintf(stderr, "%s: cannot open as HDF5\n", path);
        exit(1);
    }
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) {
        fprintf(stderr, "%s: no dataset \"%s\"\n", path, name);
        exit(1);
    }
    hid_t s = H5Dget_space(d);
    *rank = H5Sget_simple_extent_ndims(s);
    if (*rank < 1 || *rank > 8) {
        fprintf(stderr, "%s: \"%s\" has rank %d (1..8 expected)\n", path, name, *rank);
        exit(1);
    }
    H5Sget_simple_extent_dims(s, dims, NULL);
    size_t n = 1;
    for (int i = 0; i < *rank; i++) n *= dims[i];
    float *v = malloc(n ? n * sizeof *v : 1);
    if (!v || H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0) {
        fprintf(stderr, "%s: reading \"%s\" failed\n", path, name);
        exit(1);
    }
    H5Sclose(s);
    H5Dclose(d);
    H5Fclose(f);
    return v;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double sim_quantile(double *v, size_t n, double q)
{
    if (n == 0) return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    double pos = q * (double)(n - 1);
    size_t i = (size_t)pos;
    double f = pos - (double)i;
    return i + 1 < n ? v[i] * (1 - f) + v[i + 1] * f : v[i];
}

const char *sim_opt(int argc, char **argv, const char *key, const char *def)
{
    size_t k = strlen(key);
    for (int i = 1; i < argc; i++)
        if (!strncmp(argv[i], "--", 2) && !strncmp(argv[i] + 2, key, k) && argv[i][2 + k] == '=')
            return argv[i] + 3 + k;
    return def;
}
