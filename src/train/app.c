/* --app: the reference CLI's application switch, checked against the
 * config. brisk picks the application from the config itself (a PDE loss
 * is the PDE solver), so --app only confirms what the config says and
 * catches a config that does not match it. */
#include <strings.h>
#include "train/config.h"

static int has_pde_loss(const bk_run_config *c)
{
    if (!c->n_output_losses) return bk_loss_is_pde(&c->loss);
    for (int k = 0; k < c->n_output_losses; k++)
        if (bk_loss_is_pde(&c->output_losses[k].loss)) return 1;
    return 0;
}

bk_status bk_config_check_app(const bk_run_config *c, const char *app)
{
    if (!app || !*app) return BK_OK;
    if (!strcasecmp(app, "obj") || !strcasecmp(app, "gan"))
        return bk_error(BK_ERR_UNSUPPORTED, "--app=%s (%s) is not supported by brisk", app,
                        app[0] == 'o' || app[0] == 'O' ? "object detection with the YOLOv3 loss"
                                                       : "GAN training with the Wasserstein loss");
    if (strcasecmp(app, "pde"))
        return bk_error(BK_ERR_INVALID, "unknown --app \"%s\": the applications are pde (the PDE solvers; brisk "
                        "also runs them without --app), obj and gan (not supported); leave --app out for the generic "
                        "trainer", app);
    if (c && c->has_loss && !has_pde_loss(c))
        return bk_error(BK_ERR_INVALID, "%s: --app=pde runs the PDE losses (Burgers_PDE, Poisson2D_PDE, "
                        "Poisson3D_PDE), but this config's loss is not one of them; leave --app out", c->doc.file);
    return BK_OK;
}
