/* Image decoding speed: images per second per core for the files of a
 * folder (bench/images_bench.sh makes them), decoded as the images loader
 * decodes them (file read, decode, float [C, H, W]) on one thread, timed
 * by that thread's CPU clock so other processes on a shared machine do not
 * count; then through an images dataset's read() at 1 thread and at all
 * cores (wall clock, and the process's CPU seconds per image), which shows
 * what the worker pool adds.
 *
 *   image_bench DIR [--gray] [--seconds S]
 *
 * Prints one line: files, size, images/s on one core, and dataset images/s
 * at 1 and N threads. Never part of ctest. */
#include "brisk/data.h"
#include "data/image_decode.h"
#include "data/image_files.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double now_s(void) { return clock_s(CLOCK_MONOTONIC); }

/* Decodes the listed files round-robin on this thread for about `seconds`
 * of its CPU time; images per CPU second. */
static double decode_rate(const char *dir, const bk_image_list *l, int gray, double seconds, int *w, int *h)
{
    double t0 = clock_s(CLOCK_THREAD_CPUTIME_ID), t = t0;
    int64_t done = 0;
    float *buf = NULL;
    while (t - t0 < seconds || done < l->n) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, l->rel[done % l->n]);
        bk_image im;
        if (bk_image_read(path, gray, 0, &im)) {
            fprintf(stderr, "image_bench: %s\n", bk_last_error());
            exit(1);
        }
        if (!buf) {
            *w = im.width;
            *h = im.height;
            buf = malloc((size_t)im.width * im.height * im.channels * sizeof *buf);
            if (!buf) exit(1);
        }
        bk_image_to_chw(&im, buf);
        bk_image_free(&im);
        done++;
        if ((done & 15) == 0) t = clock_s(CLOCK_THREAD_CPUTIME_ID);
    }
    t = clock_s(CLOCK_THREAD_CPUTIME_ID);
    free(buf);
    return (double)done / (t - t0);
}

/* Reads the dataset in batches of 64 for about `seconds` on `threads`
 * threads: images per wall-clock second; *cpu_us gets the process's CPU
 * microseconds per image. */
static double dataset_rate(const char *dir, int gray, int threads, double seconds, double *cpu_us)
{
    bk_images_options o = {.input_path = dir, .input_grayscale = gray, .threads = threads};
    bk_dataset *ds;
    if (bk_dataset_open_images(&ds, &o)) {
        fprintf(stderr, "image_bench: %s\n", bk_last_error());
        exit(1);
    }
    int64_t b = 64, xs = bk_shape_numel(&ds->input_shape);
    float *x = malloc((size_t)(b * xs) * sizeof *x);
    int64_t idx[64];
    if (!x) exit(1);
    double t0 = now_s(), t = t0, c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    int64_t done = 0;
    while (t - t0 < seconds) {
        for (int64_t i = 0; i < b; i++) idx[i] = (done + i) % ds->count;
        if (ds->read(ds, idx, b, x, NULL)) {
            fprintf(stderr, "image_bench: %s\n", bk_last_error());
            exit(1);
        }
        done += b;
        t = now_s();
    }
    *cpu_us = 1e6 * (clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0) / (double)done;
    free(x);
    bk_dataset_destroy(ds);
    return (double)done / (t - t0);
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    int gray = 0;
    double seconds = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--gray")) gray = 1;
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else if (argv[i][0] != '-') dir = argv[i];
        else {
            fprintf(stderr, "usage: image_bench DIR [--gray] [--seconds S]\n");
            return 2;
        }
    }
    if (!dir) {
        fprintf(stderr, "usage: image_bench DIR [--gray] [--seconds S]\n");
        return 2;
    }
    bk_image_list l;
    if (bk_image_scan(dir, &l)) {
        fprintf(stderr, "image_bench: %s\n", bk_last_error());
        return 1;
    }
    int w = 0, h = 0, cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    double one = decode_rate(dir, &l, gray, seconds, &w, &h);
    double c1, cn;
    double ds1 = dataset_rate(dir, gray, 1, seconds, &c1);
    double dsn = dataset_rate(dir, gray, cores, seconds, &cn);
    printf("%s: %lld files, %dx%d %s: %.0f images/s per core (%.1f us CPU each); dataset read, batch 64: "
           "%.0f images/s on 1 thread (%.1f us CPU each), %.0f on %d (%.1f us CPU each)\n", dir, (long long)l.n, w, h,
           gray ? "gray" : "BGR", one, 1e6 / one, ds1, c1, dsn, cores, cn);
    bk_image_list_free(&l);
    return 0;
}
