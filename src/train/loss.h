/* Losses: the mean loss over a batch and its gradient w.r.t. the model
 * output, with PyTorch's definitions (the reference CLI's engine) where
 * PyTorch has the loss, and the formulas written in loss_seg.c where it
 * has not (Dice, Jaccard, Focal). */
#ifndef BK_TRAIN_LOSS_H
#define BK_TRAIN_LOSS_H
#include "brisk/tensor.h"

typedef enum { BK_LOSS_NLL, BK_LOSS_CROSS_ENTROPY, BK_LOSS_BCE, BK_LOSS_MSE, BK_LOSS_L1,
               BK_LOSS_DICE, BK_LOSS_JACCARD, BK_LOSS_FOCAL, BK_LOSS_HUBER, BK_LOSS_SMOOTH_L1,
               BK_LOSS_LOVASZ, BK_LOSS_BURGERS, BK_LOSS_POISSON2D, BK_LOSS_POISSON3D } bk_loss_kind;

/* What the model's last layer produced (config loss.source). DEFAULT means
 * probabilities for Dice/Jaccard/Focal/Lovasz (sigmoid with one output channel,
 * softmax over channels with several). */
typedef enum { BK_SOURCE_DEFAULT, BK_SOURCE_SIGMOID, BK_SOURCE_SOFTMAX, BK_SOURCE_LOG_SOFTMAX,
               BK_SOURCE_LOGITS } bk_loss_source;

typedef struct {
    bk_loss_kind kind;
    int from_logits;        /* BCE: output is a logit (source "logits") */
    bk_loss_source source;  /* Dice, Jaccard, Focal, Lovasz */
    float *class_weight;    /* NLL / cross-entropy / multi-class Focal per-class weights, or NULL; owned */
    int64_t n_weights;
    double smooth;          /* Dice, Jaccard: added to numerator and denominator */
    double gamma, alpha;    /* Focal: focusing exponent; binary weight of positives (< 0: none) */
    double delta;           /* Huber delta, SmoothL1 beta */
    double nu;              /* Burgers_PDE: diffusion_coeff */
    double boundary_factor; /* PDE losses: weight of the boundary (and initial) terms */
    int64_t pde_points;     /* Burgers_PDE: points in x (the pde loader's domain_size); 0: the output's last axis */
} bk_loss;

/* 1 when targets hold one value per sample/pixel rather than one per
 * output value: a class index, or for a one-channel Dice/Jaccard/Focal
 * output, the probability (mask value) of class 1. */
int bk_loss_is_classification(const bk_loss *l);
/* 1 when the loss's outputs have a predicted class to score (accuracy). */
int bk_loss_has_accuracy(const bk_loss *l);
/* 1 for the PDE losses (Burgers_PDE, Poisson2D_PDE, Poisson3D_PDE): the
 * target is the PDE's data (initial condition, diffusivity), not a
 * prediction to compare with, so runs report the loss only. */
int bk_loss_is_pde(const bk_loss *l);
/* Values per sample the targets of this loss hold for a model output of
 * shape out_shape (no batch axis). */
int64_t bk_loss_target_numel(const bk_loss *l, const bk_shape *out_shape);

/* out: [batch, out_shape]; target: [batch, spatial] (see
 * bk_loss_is_classification), [batch, x points] for Burgers_PDE (the
 * initial condition), else the same shape as out. Sets *loss to
 * the batch mean; when grad is not NULL writes dloss/dout there. Out-of-
 * range class indices are an error. */
bk_status bk_loss_compute(const bk_loss *l, const float *out, const bk_shape *out_shape,
                          const float *target, int64_t batch, float *grad, double *loss);
/* Dice, Jaccard, Focal (loss_seg.c) and Lovasz (loss_lovasz.c); same contract as bk_loss_compute. */
bk_status bk_loss_seg_compute(const bk_loss *l, const float *out, int64_t batch, int64_t c, int64_t sp,
                              const float *target, float *grad, double *loss);

/* Burgers_PDE, Poisson2D_PDE and Poisson3D_PDE (loss_pde.c); bk_loss_compute's
 * contract. When not NULL, *pde gets the PDE part of the loss (mean squared
 * residual, or mean FEM energy) and *bc the boundary (and initial) part
 * before its boundary_factor: *loss = *pde + boundary_factor * *bc. */
bk_status bk_loss_pde_compute(const bk_loss *l, const float *out, const bk_shape *out_shape, const float *target,
                              int64_t batch, float *grad, double *loss, double *pde, double *bc);

/* An error saying why a PDE loss cannot read a model output of shape
 * out_shape (no batch axis), so a run stops before its first batch. */
bk_status bk_loss_pde_check(const bk_loss *l, const bk_shape *out_shape);

/* Metrics a run reports besides the loss (config "metrics"). */
enum { BK_METRIC_ACCURACY = 1, BK_METRIC_DICE = 2, BK_METRIC_MIOU = 4 };
/* Classes the segmentation metrics track (a model with more outputs is refused). */
#define BK_SEG_MAX_CLASSES 256

/* Metric sums for a batch or epoch: correct predictions (classification)
 * and absolute / squared errors (regression), plus how many values
 * counted; for the segmentation metrics, per class: pixels predicted and
 * labelled that class, and both. */
typedef struct {
    double correct, abs_err, sq_err, count;
    int seg_classes;   /* 0: segmentation metrics off */
    double seg_inter[BK_SEG_MAX_CLASSES], seg_pred[BK_SEG_MAX_CLASSES], seg_true[BK_SEG_MAX_CLASSES];
} bk_metric_sums;
/* metrics: BK_METRIC_* bits; the segmentation sums are kept when DICE or
 * MIOU is set (bk_metric_seg_classes must accept the model first). */
void bk_metric_accumulate(const bk_loss *l, unsigned metrics, const float *out, const bk_shape *out_shape,
                          const float *target, int64_t batch, bk_metric_sums *acc);
/* How many classes the segmentation metrics score for this loss and model
 * output (2 for a one-channel output: background and foreground), or an
 * error saying why they cannot be scored. */
bk_status bk_metric_seg_classes(const bk_loss *l, const bk_shape *out_shape, int *classes);
/* Mean Dice score / IoU over the classes present (predicted or labelled)
 * in the sums; 1 when there are none. */
double bk_metric_dice(const bk_metric_sums *s);
double bk_metric_miou(const bk_metric_sums *s);
#endif
