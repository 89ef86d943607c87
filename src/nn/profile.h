/* Per-layer timing of training passes, for finding where a step's time
 * goes. BRISK_PROFILE=1 in the environment turns it on when a model plans
 * its first training pass; the trainer prints the table when training
 * ends. */
#ifndef BRISK_NN_PROFILE_H
#define BRISK_NN_PROFILE_H

#include <stdio.h>
#include "graph.h"

struct bk_profile {
    double *fwd_s, *bwd_s;        /* per node: seconds summed over the passes */
    int64_t fwd_passes, bwd_passes;
    int64_t batch;                /* rows of the last profiled pass */
    int skip_fwd, skip_bwd;       /* passes still to leave out (the first builds the plans) */
};

/* Attaches a profile to m when BRISK_PROFILE is set to anything but "0";
 * does nothing when one is attached or the variable is unset. */
bk_status bk_profile_attach_if_wanted(bk_model *m);
/* Attaches one unconditionally (tests, benchmarks); the first forward and
 * backward pass after it are left out. */
bk_status bk_profile_attach(bk_model *m);
/* Forgets what was measured (after warm-up steps). */
void bk_profile_reset(bk_model *m);
void bk_profile_free(bk_model *m);
/* Records one node's pass. */
void bk_profile_add(bk_model *m, int node, int backward, double seconds);
/* Counts a finished pass. */
void bk_profile_pass_done(bk_model *m, int backward, int64_t batch);
/* Prints the table to f, slowest layer first: milliseconds per forward and
 * backward pass, share of the total and, for convolutions and dense
 * layers, the GFLOP/s they reached. Nothing when no pass was recorded. */
void bk_profile_print(const bk_model *m, FILE *f);

/* Multiply-adds x2 of a convolution's or dense layer's forward pass, per
 * sample; 0 for every other layer. */
double bk_node_forward_flops(const bk_model *m, const bk_node *n);

#endif
