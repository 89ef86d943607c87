/* Optimizers over the model's flat parameter buffer, with PyTorch's update
 * rules, and learning-rate schedules in closed form (lr as a function of
 * the epoch), so a resumed run needs only the epoch to continue. */
#ifndef BK_OPTIM_H
#define BK_OPTIM_H
#include "nn/graph.h"

typedef enum { BK_OPT_SGD, BK_OPT_ADAM, BK_OPT_ADAMW, BK_OPT_RMSPROP, BK_OPT_ADAGRAD, BK_OPT_LAMB,
               BK_OPT_LARS } bk_optim_kind;
typedef enum { BK_SCHED_NONE, BK_SCHED_STEP, BK_SCHED_MULTISTEP, BK_SCHED_EXPONENTIAL,
               BK_SCHED_WARMUP, BK_SCHED_COSINE } bk_sched_kind;

typedef struct {
    bk_optim_kind kind;
    double lr, momentum, dampening, weight_decay, beta1, beta2, eps, alpha;
    int nesterov, amsgrad, centered;
    double lr_decay, initial_accumulator_value; /* Adagrad */
    double eta;                                 /* LARS trust coefficient */
    /* schedule */
    bk_sched_kind sched;
    double gamma, start_factor, eta_min;
    int64_t step_size, warmup_epochs, t_max;
    int64_t milestones[32];
    int n_milestones;
    int sched_verbose;
} bk_optim_config;

typedef struct {
    bk_optim_config cfg;
    int64_t count;         /* floats per state slot (the model's param_count) */
    float *slot[3];        /* momentum / first moment, second moment, max or grad average */
    int n_slots;
    int64_t step;          /* optimizer steps taken (Adam bias correction) */
    int momentum_started;  /* SGD: PyTorch seeds the buffer with the first gradient */
} bk_optimizer;

/* Allocates state for m's parameters (zeros). */
bk_status bk_optim_init(bk_optimizer *o, const bk_optim_config *cfg, const bk_model *m);
void bk_optim_free(bk_optimizer *o);
/* One update of every trainable parameter with learning rate lr. */
void bk_optim_step(bk_optimizer *o, bk_model *m, double lr);
/* The learning rate for (0-based) epoch. */
double bk_sched_lr(const bk_optim_config *c, int64_t epoch);
/* Names of the state slots, for checkpoints ("exp_avg", ...). */
const char *bk_optim_slot_name(const bk_optimizer *o, int i);
#endif
