"""Parity with PyTorch of the segmentation/robust losses and of the Adagrad,
LAMB and LARS optimizers, each in isolation (tests/parity/lossopt_runner.c
is the brisk side; it reads the loss and optimizer from a real run config).

Losses: for each case, random model outputs and targets (per-pixel class
indices [N, H, W], also stored as [N, H, W, 1]; one-channel masks; dense
regression targets) go to brisk, which returns the batch loss and its
gradient w.r.t. the outputs. The reference is float64 PyTorch autograd:
torch.nn.functional.nll_loss / cross_entropy with per-class weights,
HuberLoss, SmoothL1Loss, and -- torch has no Dice, Jaccard or multi-class
focal loss -- those written out below from their formulas (binary focal is
torchvision.ops.sigmoid_focal_loss's formula). Tolerances: 1e-6 relative
for the loss (brisk sums in double), 1e-5 for the gradient (float32).

Optimizers: a small Conv2D + Dense network's parameters (one bias all
zeros, so LAMB/LARS take their zero-norm branch) take 20 steps on a fixed
sequence of random gradients; brisk's weights after every step are
compared with torch.optim.Adagrad, and with LAMB (You et al. 2019,
Algorithm 2) and LARS (You et al. 2017, Algorithm 1 in PyTorch's SGD
momentum form) written below in float64 torch. The brisk run saves its
optimizer state after step 10 and continues from a fresh optimizer that
loads it, so the state's save and restore is inside the comparison.
Tolerance: 1e-4 of how far the weights have moved.

Negative controls (references with one ingredient removed: LAMB without
the trust ratio or the bias correction, LARS without the trust ratio,
Adagrad without lr_decay, Dice without smoothing, focal without alpha,
unweighted NLL) must be detected.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import parity_common as pc  # noqa: E402
from parity_common import F, np, torch  # noqa: E402

TOL_LOSS, TOL_GRAD, TOL_TRAJ = 1e-6, 1e-5, 1e-4
STEPS = 20


def runner_path():
    parity = os.environ.get("BRISK_PARITY_RUNNER") or pc.env_paths()[0]
    return os.path.join(os.path.dirname(parity), "lossopt_runner")


def run_brisk(work, tag, config_extra, spec):
    cfg = {"neural_network": dict({
        "layers": "net.json",
        "data": {"type": "numpy", "test_input_path": "unused.npy"}}, **config_extra)}
    cfg_path = os.path.join(work, f"cfg_{tag}.json")
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    spec = dict(spec, config=cfg_path, result=os.path.join(work, f"res_{tag}.safetensors"))
    spec_path = os.path.join(work, f"spec_{tag}.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    p = subprocess.run([runner_path(), spec_path], capture_output=True, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS="1"))
    if p.returncode != 0:
        raise RuntimeError(f"lossopt_runner failed on {spec_path}:\n{p.stdout}{p.stderr}")
    return spec["result"]


def read_meta(path):
    import struct
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n)).get("__metadata__", {})


# ---- torch references of the losses (float64, autograd) --------------------

def probs(x, source, c):
    if source == "log_softmax":
        return x.exp()
    if source == "logits":
        return torch.sigmoid(x) if c == 1 else torch.softmax(x, 1)
    return x  # sigmoid / softmax: already probabilities


def onehot(t, c, like):
    if c == 1:
        return t.reshape(like.shape).to(like.dtype)
    return F.one_hot(t.reshape(t.shape[0], *like.shape[2:]).long(), c).movedim(-1, 1).to(like.dtype)


def ref_overlap(x, t, loss):
    c = x.shape[1]
    p, y = probs(x, loss.get("source", ""), c), onehot(t, c, x)
    dims = [0] + list(range(2, x.dim()))
    s = loss.get("smooth", 1.0)
    inter, ps, ts = (p * y).sum(dims), p.sum(dims), y.sum(dims)
    if loss["function"].lower() == "dice":
        score = (2 * inter + s) / (ps + ts + s)
    else:
        score = (inter + s) / (ps + ts - inter + s)
    return 1 - score.mean()


def ref_focal(x, t, loss):
    c, src = x.shape[1], loss.get("source", "")
    g, a = loss.get("gamma", 2.0), loss.get("alpha", 0.25)
    if c == 1:  # torchvision.ops.sigmoid_focal_loss, mean reduction
        y = t.reshape(x.shape)
        if src == "logits":
            p = torch.sigmoid(x)
            ce = F.binary_cross_entropy_with_logits(x, y, reduction="none")
        else:
            p = x
            ce = F.binary_cross_entropy(x, y, reduction="none")
        pt = p * y + (1 - p) * (1 - y)
        l = ce * (1 - pt) ** g
        if a >= 0:
            l = l * (a * y + (1 - a) * (1 - y))
        return l.mean()
    logp = x if src == "log_softmax" else F.log_softmax(x, 1) if src == "logits" else x.log()
    tt = t.reshape(x.shape[0], *x.shape[2:]).long()
    lpt = logp.gather(1, tt.unsqueeze(1)).squeeze(1)
    w = torch.tensor(loss["weight"], dtype=x.dtype)[tt] if "weight" in loss else torch.ones_like(lpt)
    return (-w * (1 - lpt.exp()) ** g * lpt).sum() / w.sum()


def ref_loss(x, t, loss):
    fn = loss["function"].lower()
    w = torch.tensor(loss["weight"], dtype=x.dtype) if "weight" in loss else None
    tt = t.reshape(x.shape[0], *x.shape[2:]).long() if fn in ("nll", "crossentropy") else None
    if fn == "nll":
        return F.nll_loss(x, tt, weight=w)
    if fn == "crossentropy":
        return F.cross_entropy(x, tt, weight=w)
    if fn in ("dice", "jaccard"):
        return ref_overlap(x, t, loss)
    if fn == "focal":
        return ref_focal(x, t, loss)
    if fn == "huber":
        return torch.nn.HuberLoss(delta=loss.get("delta", 1.0))(x, t.reshape(x.shape))
    if fn == "smoothl1":
        return torch.nn.SmoothL1Loss(beta=loss.get("beta", 1.0))(x, t.reshape(x.shape))
    raise ValueError(fn)


def make_data(rng, kind, n, c, hw, source):
    """Outputs of the kind `source` names, and targets (class indices, a
    0/1 mask for one channel, or dense values)."""
    shape = (n, c) + hw
    if kind == "dense":
        t = rng.normal(0, 1, shape)
        return t + rng.normal(0, 1.5, shape), t
    z = rng.normal(0, 1.5, shape)
    if source == "logits":
        x = z
    elif source == "log_softmax":
        x = z - np.log(np.exp(z).sum(1, keepdims=True))
    elif c == 1:
        x = rng.uniform(0.02, 0.98, shape)
    else:
        x = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    if c == 1:
        return x, (rng.uniform(0, 1, (n,) + hw) > 0.6).astype(np.float64)
    return x, rng.integers(0, c, (n,) + hw).astype(np.int64)


# (name, loss section, target kind, C, spatial, outputs, negative control: a
# reference loss that must NOT match, or None)
LOSS_CASES = [
    ("nll_weights_pixels", {"function": "NLL", "weight": [0.5, 2.0, 1.0, 0.25]}, "idx", 4, (6, 5), "log_softmax",
     {"function": "NLL"}),
    ("nll_weights_pixels_t_hw1", {"function": "nll", "weight": [1.5, 0.5, 1.0]}, "idx_hw1", 3, (4, 7), "log_softmax", None),
    ("ce_weights_pixels", {"function": "CrossEntropy", "weight": [0.2, 1.0, 3.0]}, "idx", 3, (5, 4), "logits", None),
    ("dice_softmax", {"function": "Dice", "source": "softmax"}, "idx", 3, (6, 6), "",
     {"function": "Dice", "source": "softmax", "smooth": 0.0}),
    ("dice_log_softmax_smooth0.5", {"function": "dice", "source": "log_softmax", "smooth": 0.5}, "idx", 4, (5, 6),
     "log_softmax", None),
    ("dice_sigmoid_binary", {"function": "Dice", "source": "sigmoid"}, "idx", 1, (8, 8), "", None),
    ("dice_logits_3d", {"function": "Dice", "source": "logits"}, "idx", 2, (3, 4, 5), "logits", None),
    ("jaccard_softmax", {"function": "Jaccard"}, "idx", 3, (6, 6), "", None),
    ("jaccard_logits_binary", {"function": "JACCARD", "source": "logits", "smooth": 0.1}, "idx", 1, (7, 5), "logits",
     None),
    ("focal_logits_binary", {"function": "Focal", "source": "logits"}, "idx", 1, (6, 6), "logits",
     {"function": "Focal", "source": "logits", "alpha": -1}),
    ("focal_sigmoid_binary_g1", {"function": "Focal", "source": "sigmoid", "gamma": 1.0, "alpha": 0.6}, "idx", 1,
     (6, 6), "", None),
    ("focal_log_softmax_weights", {"function": "Focal", "source": "log_softmax", "gamma": 2.0,
                                   "weight": [1.0, 0.3, 2.0]}, "idx", 3, (5, 5), "log_softmax", None),
    ("focal_logits_3cls", {"function": "focal", "source": "logits", "gamma": 0.5}, "idx", 3, (4, 6), "logits", None),
    ("focal_softmax_g0_is_nll", {"function": "Focal", "gamma": 0.0, "weight": [0.5, 1.0, 2.0, 1.0]}, "idx", 4, (3, 3), "",
     None),
    ("huber_delta0.7", {"function": "Huber", "delta": 0.7}, "dense", 3, (4, 4), "", {"function": "Huber", "delta": 1.0}),
    ("smoothl1_beta0.5", {"function": "SmoothL1", "beta": 0.5}, "dense", 2, (5,), "", None),
    ("smoothl1_default", {"function": "smoothl1"}, "dense", 4, (), "", None),
]


def loss_cases(chk, work):
    rng = np.random.default_rng(pc.SEED + 5)
    for name, loss, tkind, c, hw, src, neg in LOSS_CASES:
        x, t = make_data(rng, "dense" if tkind == "dense" else "idx", 4, c, hw, src)
        xp, tp = os.path.join(work, f"x_{name}.npy"), os.path.join(work, f"t_{name}.npy")
        np.save(xp, x.astype(np.float32))
        np.save(tp, t[..., None] if tkind == "idx_hw1" else t.astype(np.float32) if tkind == "dense" else t)
        try:
            res = run_brisk(work, name, {"loss": loss}, {"mode": "loss", "out": xp, "target": tp})
        except RuntimeError as e:
            chk.check(name, f"brisk run: {e}", float("inf"), 1)
            continue
        bl = float(read_meta(res)["loss"])
        bg = pc.read_safetensors(res)["grad"]

        def ref(lcfg):
            xt = torch.tensor(pc.f32(x), requires_grad=True)
            lt = ref_loss(xt, torch.tensor(pc.f32(t)), lcfg)
            lt.backward()
            return lt.item(), xt.grad.numpy()

        lt, gt = ref(loss)
        el, eg = abs(bl - lt) / max(abs(lt), 1e-12), pc.rel_err(bg, gt)
        chk.check(name, f"loss {bl:.8g} vs torch {lt:.8g}", el, TOL_LOSS)
        chk.check(name, "gradient", eg, TOL_GRAD)
        chk.rows.append({"case": name, "ok": el < TOL_LOSS and eg < TOL_GRAD, "seconds": (0, 0), "ties": 0,
                         "loss": el, "output": None, "grad@0": eg, "grads": None, "updates": None, "running": None})
        if neg:
            nl, ng = ref(neg)
            worst = max(abs(bl - nl) / max(abs(nl), 1e-12) / TOL_LOSS, pc.rel_err(bg, ng) / TOL_GRAD)
            if chk.check(name, f"negative control {neg} goes unnoticed", 1 / worst if worst > 0 else float("inf"), 1):
                print(f"ok   {name}: negative control {neg} detected ({worst:.3g}x the tolerance)")


# ---- optimizers ----------------------------------------------------------------

NET = {"class_name": "Sequential", "config": {"name": "opt", "layers": [
    {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 6, 6, 2], "name": "in"}},
    {"class_name": "Conv2D", "config": {"name": "conv", "filters": 4, "kernel_size": 3, "activation": "relu"}},
    {"class_name": "Flatten", "config": {"name": "flat"}},
    {"class_name": "Dense", "config": {"name": "fc", "units": 5}},
    {"class_name": "Dense", "config": {"name": "head", "units": 3}}]}}
SHAPES = {"conv.weight": (4, 2, 3, 3), "conv.bias": (4,), "fc.weight": (5, 64), "fc.bias": (5,),
          "head.weight": (3, 5), "head.bias": (3,)}


class Lamb:
    """LAMB, You et al. 2019 (arXiv:1904.00962v5), Algorithm 2 with phi the
    identity: Adam's bias-corrected ratio plus decoupled weight decay,
    scaled per tensor by ||w|| / ||update|| (1 when either is 0)."""

    def __init__(self, params, lr, b1=0.9, b2=0.999, eps=1e-8, wd=0.0, trust=True, bias_correction=True):
        self.p, self.lr, self.b1, self.b2, self.eps, self.wd = params, lr, b1, b2, eps, wd
        self.trust, self.bc = trust, bias_correction
        self.m = {k: torch.zeros_like(v) for k, v in params.items()}
        self.v = {k: torch.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def step(self, grads):
        self.t += 1
        for k, w in self.p.items():
            g = grads[k]
            self.m[k] = self.b1 * self.m[k] + (1 - self.b1) * g
            self.v[k] = self.b2 * self.v[k] + (1 - self.b2) * g * g
            mh = self.m[k] / (1 - self.b1 ** self.t) if self.bc else self.m[k]
            vh = self.v[k] / (1 - self.b2 ** self.t) if self.bc else self.v[k]
            u = mh / (vh.sqrt() + self.eps) + self.wd * w
            wn, un = w.norm(), u.norm()
            ratio = wn / un if (self.trust and wn > 0 and un > 0) else 1.0
            self.p[k] = w - self.lr * ratio * u


class Lars:
    """LARS, You, Gitman, Ginsburg 2017 (arXiv:1708.03888), Algorithm 1:
    local lr = eta ||w|| / (||g|| + wd ||w||) per tensor (1 when either norm
    is 0), applied to g + wd w, then PyTorch SGD momentum (buffer seeded
    with the first step's value; lr applied after the buffer)."""

    def __init__(self, params, lr, momentum=0.0, wd=0.0, eta=1e-3, trust=True):
        self.p, self.lr, self.mu, self.wd, self.eta, self.trust = params, lr, momentum, wd, eta, trust
        self.buf = {}

    def step(self, grads):
        for k, w in self.p.items():
            g = grads[k]
            wn, gn = w.norm(), g.norm()
            ratio = self.eta * wn / (gn + self.wd * wn) if (self.trust and wn > 0 and gn > 0) else 1.0
            d = ratio * (g + self.wd * w)
            if self.mu:
                self.buf[k] = d if k not in self.buf else self.mu * self.buf[k] + d
                d = self.buf[k]
            self.p[k] = w - self.lr * d


class TorchOpt:
    def __init__(self, cls, params, **kw):
        self.p = {k: v.clone().requires_grad_(False) for k, v in params.items()}
        self.t = {k: torch.nn.Parameter(v.clone()) for k, v in params.items()}
        self.opt = cls(list(self.t.values()), **kw)

    def step(self, grads):
        for k, v in self.t.items():
            v.grad = grads[k].clone()
        self.opt.step()
        self.p = {k: v.detach().clone() for k, v in self.t.items()}


# (name, brisk optimizer section, reference factory, negative-control factory)
OPT_CASES = [
    ("adagrad", {"type": "Adagrad", "learning_rate": 0.05, "lr_decay": 0.05, "weight_decay": 0.01,
                 "initial_accumulator_value": 0.1, "eps": 1e-10},
     lambda p: TorchOpt(torch.optim.Adagrad, p, lr=0.05, lr_decay=0.05, weight_decay=0.01,
                        initial_accumulator_value=0.1, eps=1e-10),
     lambda p: TorchOpt(torch.optim.Adagrad, p, lr=0.05, weight_decay=0.01, initial_accumulator_value=0.1, eps=1e-10)),
    ("adagrad_defaults", {"type": "adagrad", "learning_rate": 0.02},
     lambda p: TorchOpt(torch.optim.Adagrad, p, lr=0.02), None),
    ("lamb", {"type": "LAMB", "learning_rate": 0.01, "weight_decay": 0.01},
     lambda p: Lamb(p, 0.01, wd=0.01), lambda p: Lamb(p, 0.01, wd=0.01, trust=False)),
    ("lamb_betas_no_wd", {"type": "lamb", "learning_rate": 0.005, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6},
     lambda p: Lamb(p, 0.005, b1=0.8, b2=0.99, eps=1e-6),
     lambda p: Lamb(p, 0.005, b1=0.8, b2=0.99, eps=1e-6, bias_correction=False)),
    ("lars_momentum", {"type": "LARS", "learning_rate": 0.5, "momentum": 0.9, "weight_decay": 5e-4, "eta": 0.02},
     lambda p: Lars(p, 0.5, momentum=0.9, wd=5e-4, eta=0.02),
     lambda p: Lars(p, 0.5, momentum=0.9, wd=5e-4, eta=0.02, trust=False)),
    ("lars_trust_coefficient", {"type": "Lars", "learning_rate": 1.0, "trust_coefficient": 0.01},
     lambda p: Lars(p, 1.0, eta=0.01), None),
]


def optim_cases(chk, work):
    rng = np.random.default_rng(pc.SEED + 11)
    w0 = {k: rng.normal(0, 0.3, s) for k, s in SHAPES.items()}
    w0["fc.bias"][:] = 0  # a zero-norm tensor: the trust ratios' fallback
    wpath = os.path.join(work, "w0.safetensors")
    pc.write_safetensors(wpath, w0)
    grads = [{k: rng.normal(0, 0.1 * (1 + s % 3), v.shape) for k, v in w0.items()} for s in range(STEPS)]
    gpath = os.path.join(work, "grads.safetensors")
    pc.write_safetensors(gpath, {f"g{s}.{k}": g for s, gs in enumerate(grads) for k, g in gs.items()})
    for name, section, make_ref, make_neg in OPT_CASES:
        try:
            res = run_brisk(work, name, {"optimizer": section},
                            {"mode": "optim", "weights": wpath, "grads": gpath, "steps": STEPS, "reload_at": 10})
        except RuntimeError as e:
            chk.check(name, f"brisk run: {e}", float("inf"), 1)
            continue
        b = pc.read_safetensors(res)

        def trajectory_err(make):
            o = make({k: torch.tensor(pc.f32(v)) for k, v in w0.items()})
            worst, where = 0.0, ""
            for s in range(STEPS):
                o.step({k: torch.tensor(pc.f32(g)) for k, g in grads[s].items()})
                for k in w0:
                    ref = o.p[k].numpy()
                    moved = float(np.abs(ref - pc.f32(w0[k])).max())
                    e = float(np.abs(b[f"w{s + 1}.{k}"] - ref).max()) / max(moved, 1e-12)
                    if e > worst:
                        worst, where = e, f"{k} at step {s + 1}"
            return worst, where

        err, where = trajectory_err(make_ref)
        ok = chk.check(name, f"weights over {STEPS} steps (worst: {where})", err, TOL_TRAJ)
        chk.rows.append({"case": name, "ok": ok, "seconds": (0, 0), "ties": 0, "loss": None, "output": None,
                         "grad@0": None, "grads": None, "updates": err, "running": None})
        if make_neg:
            nerr, nwhere = trajectory_err(make_neg)
            if chk.check(name, f"negative control goes unnoticed (worst {nerr:.2e} at {nwhere})",
                         TOL_TRAJ / nerr if nerr > 0 else float("inf"), 1):
                print(f"ok   {name}: negative control detected ({nerr / TOL_TRAJ:.3g}x the tolerance at {nwhere})")


def main():
    _, work, _ = pc.setup("parity_losses_optim")
    if not os.path.exists(runner_path()):
        print(f"error: {runner_path()} not found; build the project first")
        return 1
    with open(os.path.join(work, "net.json"), "w") as f:  # every run config names it
        json.dump(NET, f)
    chk = pc.Checker("PyTorch parity: segmentation/robust losses; Adagrad, LAMB, LARS")
    loss_cases(chk, work)
    optim_cases(chk, work)
    return chk.finish()


if __name__ == "__main__":
    sys.exit(main())
