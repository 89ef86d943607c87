"""Parity with PyTorch of the Lovasz losses (src/train/loss_lovasz.c)
against the reference algorithm of Berman, Triki & Blaschko (CVPR 2018),
written out below as in the paper's code (lovasz_grad as cumulative
Jaccard differences of the labels sorted by decreasing error), per batch
(per_image=False), classes="present". torch.sort with stable=True keeps
tied errors in pixel order, as brisk breaks ties.

Training: a small segmentation network (Conv2D 4 3x3 same relu -> Conv2D
1x1) trains 20 steps with
  * Lovasz-Softmax: 3 classes, Activation softmax, source "softmax";
  * Lovasz hinge: one channel, no activation, source "logits";
  * Lovasz hinge on a sigmoid output (source "sigmoid": brisk recovers the
    logits from the float32 probabilities; the float64 reference's
    logit(sigmoid(z)) is the pre-sigmoid z, the paper's input);
every step checked against float64 PyTorch from brisk's state of that step
(parity_common).

Loss alone (tests/parity/lossopt_runner.c, which reads the loss section
with the real config reader): random outputs and targets, for every source
(softmax, log_softmax, logits; one channel: sigmoid, logits), a class
absent from the labels, a volume; loss to 1e-6, gradient to 1e-5.

Negative controls (must be detected): classes="all" (an absent class
counted), per_image=True, errors sorted in increasing order, and the
sigmoid training case checked with the hinge on the probabilities.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import parity_common as pc  # noqa: E402
from parity_common import F, np, torch  # noqa: E402

STEPS, BATCH, SAMPLES, HW, CIN = 20, 4, 24, 6, 2
TOL_LOSS, TOL_GRAD = 1e-6, 1e-5


# ---- the paper's reference algorithm -----------------------------------------

def lovasz_grad(gt_sorted):
    """Gradient of the Lovasz extension w.r.t. the sorted errors."""
    gts = gt_sorted.sum()
    intersection = gts - gt_sorted.cumsum(0)
    union = gts + (1 - gt_sorted).cumsum(0)
    jaccard = 1.0 - intersection / union
    jaccard[1:] = jaccard[1:] - jaccard[:-1].clone()
    return jaccard


def sort_desc(errors, ascending=False):
    return torch.sort(errors, stable=True, dim=0, descending=not ascending)


def lovasz_softmax_flat(probas, labels, classes="present", ascending=False):
    """probas [P, C], labels [P]."""
    losses = []
    for c in range(probas.shape[1]):
        fg = (labels == c).to(probas.dtype)
        if classes == "present" and fg.sum() == 0:
            continue
        errors = (fg - probas[:, c]).abs()
        errors_sorted, perm = sort_desc(errors, ascending)
        losses.append(torch.dot(errors_sorted, lovasz_grad(fg[perm])))
    return sum(losses) / len(losses)


def lovasz_hinge_flat(logits, labels, ascending=False):
    """logits [P], labels [P] (0/1)."""
    signs = 2.0 * labels - 1.0
    errors = 1.0 - logits * signs
    errors_sorted, perm = sort_desc(errors, ascending)
    return torch.dot(F.relu(errors_sorted), lovasz_grad(labels[perm]))


def ref_lovasz(out, y, loss, per_image=False, classes="present", ascending=False, hinge_on=None):
    """out [N, C, spatial...] as the model produced it; y [N, spatial...]."""
    n, c, src = out.shape[0], out.shape[1], loss.get("source", "")
    if per_image:
        return sum(ref_lovasz(out[i:i + 1], y[i:i + 1], loss, False, classes, ascending, hinge_on)
                   for i in range(n)) / n
    if c == 1:
        x = out.reshape(-1)
        if hinge_on is not None:
            x = hinge_on(x)
        elif src != "logits":  # sigmoid probabilities: the logits they came from
            x = torch.log(x) - torch.log1p(-x)
        return lovasz_hinge_flat(x, y.reshape(-1).to(out.dtype), ascending)
    p = out.exp() if src == "log_softmax" else torch.softmax(out, 1) if src == "logits" else out
    probas = p.movedim(1, -1).reshape(-1, c)
    return lovasz_softmax_flat(probas, y.reshape(-1), classes, ascending)


# ---- training parity -----------------------------------------------------------

def layer(cls, name, **cfg):
    return {"class_name": cls, "config": dict(name=name, **cfg)}


def seg_net(out_ch, act, version):
    layers = [{"class_name": "InputLayer", "config": {"batch_input_shape": [None, HW, HW, CIN], "name": "in"}},
              layer("Conv2D", "c1", filters=4, kernel_size=[3, 3], padding="same", activation="relu"),
              layer("Conv2D", "c2", filters=out_ch, kernel_size=[1, 1], padding="same")]
    if act:
        layers.append(layer("Activation", "act", activation=act))
    return {"class_name": "Sequential", "config": {"name": "seg", "layers": layers}, "keras_version": version}


def seg_forward(act):
    def fwd(p, b, x, training, ties):
        h = F.conv2d(x.permute(0, 3, 1, 2), p["c1.weight"], p["c1.bias"], padding=1)
        h = ties.relu(h, "c1/relu")
        z = F.conv2d(h, p["c2.weight"], p["c2.bias"])
        return torch.softmax(z, 1) if act == "softmax" else torch.sigmoid(z) if act == "sigmoid" else z
    return fwd


def seg_weights(out_ch, seed):
    g = torch.Generator().manual_seed(seed + pc.SEED)

    def u(shape, lim):
        return ((torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1) * lim).float().numpy()
    return {"c1.weight": u((4, CIN, 3, 3), 0.5), "c1.bias": u((4,), 0.1),
            "c2.weight": u((out_ch, 4, 1, 1), 0.8), "c2.bias": u((out_ch,), 0.1)}


def training_cases(chk, runner, work):
    g = torch.Generator().manual_seed(11 + pc.SEED)
    x = torch.randn((SAMPLES, HW, HW, CIN), generator=g, dtype=torch.float64).float().numpy()
    # labels that depend on the input, so that training has something to learn
    s = x.sum(-1)
    y3 = np.where(s > 0.6, 2, np.where(s < -0.6, 0, 1)).astype(np.float32)
    y2 = (x[..., 0] > 0.2).astype(np.float32)
    paths = {}
    for name, arr in (("x", x), ("y3", y3), ("y2", y2)):
        paths[name] = os.path.join(work, f"{name}.npy")
        pc.save_npy(paths[name], arr)
    orig_loss = pc.torch_loss

    def torch_loss(loss, out, yb):
        # sigmoid outputs: the hinge on their logits (in float64, the sigmoid's input)
        return ref_lovasz(out, yb, loss) if loss["function"].lower() == "lovasz" else orig_loss(loss, out, yb)
    pc.torch_loss = torch_loss

    cases = [("lovasz_softmax/sgd", 3, "softmax", "y3", {"function": "Lovasz", "source": "softmax"},
              {"type": "SGD", "lr": 0.5, "momentum": 0.9}),
             ("lovasz_softmax_default/adam", 3, "softmax", "y3", {"function": "lovasz"}, {"type": "Adam", "lr": 0.02}),
             ("lovasz_hinge_logits/sgd", 1, None, "y2", {"function": "Lovasz", "source": "logits"},
              {"type": "SGD", "lr": 0.05, "momentum": 0.9}),
             ("lovasz_hinge_sigmoid/adam", 1, "sigmoid", "y2", {"function": "Lovasz", "source": "sigmoid"},
              {"type": "Adam", "lr": 0.01})]
    results = {}
    for i, (case, ch, act, ykey, loss, opt) in enumerate(cases):
        net, w = seg_net(ch, act, "3.3.3"), seg_weights(ch, 100 + i)
        npath, wpath = os.path.join(work, f"net_{i}.json"), os.path.join(work, f"w_{i}.safetensors")
        with open(npath, "w") as f:
            json.dump(net, f)
        pc.write_safetensors(wpath, w)
        yv = y3 if ykey == "y3" else y2
        results[case] = (pc.run_case(chk, runner, work, case, seg_forward(act), npath, wpath, paths["x"],
                                     paths[ykey], x, yv, opt, loss, STEPS, BATCH, w, {}), x, yv, opt, loss, w, act)
    # controls: the same traces against a reference with one ingredient changed
    for case, what, variant in (("lovasz_softmax/sgd", "errors sorted in increasing order",
                                 lambda o, y, l: ref_lovasz(o, y, l, ascending=True)),
                                ("lovasz_hinge_logits/sgd", "per_image=True",
                                 lambda o, y, l: ref_lovasz(o, y, l, per_image=True)),
                                ("lovasz_hinge_sigmoid/adam", "the hinge on the probabilities",
                                 lambda o, y, l: ref_lovasz(o, y, l, hinge_on=lambda v: v))):
        b, xv, yv, opt, loss, w, act = results[case]
        if b is None:
            continue
        pc.torch_loss = lambda l, o, yy: variant(o, yy, l)
        res = pc.check_trace(seg_forward(act), b, xv, yv, opt, loss, 1, BATCH, w, {})[0]
        chk.expect_failure("control", what, {k: v for k, v in res.items() if not k.startswith("update of")})
    pc.torch_loss = orig_loss


# ---- the loss alone, through the config reader ---------------------------------

def lossopt_runner():
    parity = os.environ.get("BRISK_PARITY_RUNNER") or pc.env_paths()[0]
    return os.path.join(os.path.dirname(parity), "lossopt_runner")


def run_loss(work, tag, loss, x, t):
    xp, tp = os.path.join(work, f"lx_{tag}.npy"), os.path.join(work, f"lt_{tag}.npy")
    np.save(xp, x.astype(np.float32))
    np.save(tp, t.astype(np.float32))
    cfg = {"neural_network": {"layers": "net.json", "loss": loss,
                              "data": {"type": "numpy", "test_input_path": "unused.npy"}}}
    cp, sp, rp = (os.path.join(work, f"{k}_{tag}.{e}") for k, e in (("cfg", "json"), ("spec", "json"),
                                                                   ("res", "safetensors")))
    with open(cp, "w") as f:
        json.dump(cfg, f)
    with open(sp, "w") as f:
        json.dump({"config": cp, "mode": "loss", "out": xp, "target": tp, "result": rp}, f)
    p = subprocess.run([lossopt_runner(), sp], capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    if p.returncode != 0:
        raise RuntimeError(f"lossopt_runner failed on {sp}:\n{p.stdout}{p.stderr}")
    import struct
    with open(rp, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        meta = json.loads(f.read(n))["__metadata__"]
    return float(meta["loss"]), pc.read_safetensors(rp)["grad"]


# (name, loss section, C, spatial, outputs, absent class or None, negative control kwargs or None)
LOSS_CASES = [
    ("softmax_absent_class", {"function": "Lovasz"}, 4, (6, 5), "probs", 2, {"classes": "all"}),
    ("softmax_per_batch", {"function": "LOVASZ", "source": "softmax"}, 3, (5, 5), "probs", None, {"per_image": True}),
    ("log_softmax", {"function": "lovasz", "source": "log_softmax"}, 4, (5, 6), "log_softmax", None,
     {"ascending": True}),
    ("logits_3cls", {"function": "Lovasz", "source": "logits"}, 3, (4, 6), "logits", None, None),
    ("logits_volume_2cls", {"function": "Lovasz", "source": "logits"}, 2, (3, 4, 5), "logits", None, None),
    ("hinge_logits", {"function": "Lovasz", "source": "logits"}, 1, (8, 8), "logits", None, {"per_image": True}),
    ("hinge_sigmoid_default", {"function": "Lovasz"}, 1, (7, 5), "probs", None, None),
]


def loss_cases(chk, work):
    rng = np.random.default_rng(pc.SEED + 17)
    with open(os.path.join(work, "net.json"), "w") as f:  # every config names it
        json.dump(seg_net(3, None, "3.3.3"), f)
    for name, loss, c, hw, kind, absent, neg in LOSS_CASES:
        n = 4
        z = rng.normal(0, 1.5, (n, c) + hw)
        if kind == "logits":
            x = z
        elif kind == "log_softmax":
            x = z - np.log(np.exp(z).sum(1, keepdims=True))
        elif c == 1:
            x = rng.uniform(0.02, 0.98, z.shape)
        else:
            x = np.exp(z) / np.exp(z).sum(1, keepdims=True)
        if c == 1:
            t = (rng.uniform(0, 1, (n,) + hw) > 0.6).astype(np.float64)
        else:
            t = rng.integers(0, c - (absent is not None), (n,) + hw)
            if absent is not None:
                t[t >= absent] += 1
        try:
            bl, bg = run_loss(work, name, loss, x, t)
        except RuntimeError as e:
            chk.check(name, f"brisk run: {e}", float("inf"), 1)
            continue

        def ref(**kw):
            xt = torch.tensor(pc.f32(x), requires_grad=True)
            lt = ref_lovasz(xt, torch.tensor(t), loss, **kw)
            lt.backward()
            return lt.item(), xt.grad.numpy()

        lt, gt = ref()
        el, eg = abs(bl - lt) / max(abs(lt), 1e-12), pc.rel_err(bg, gt)
        chk.check(name, f"loss {bl:.8g} vs torch {lt:.8g}", el, TOL_LOSS)
        chk.check(name, "gradient", eg, TOL_GRAD)
        chk.rows.append({"case": "loss/" + name, "ok": el < TOL_LOSS and eg < TOL_GRAD, "seconds": (0, 0), "ties": 0,
                         "loss": el, "output": None, "grad@0": eg, "grads": None, "updates": None, "running": None})
        if neg:
            nl, ng = ref(**neg)
            worst = max(abs(bl - nl) / max(abs(nl), 1e-12) / TOL_LOSS, pc.rel_err(bg, ng) / TOL_GRAD)
            if chk.check(name, f"negative control {neg} goes unnoticed", 1 / worst if worst > 0 else float("inf"), 1):
                print(f"ok   {name}: negative control {neg} detected ({worst:.3g}x the tolerance)")


def main():
    runner, work, _ = pc.setup("parity_lovasz")
    if not os.path.exists(lossopt_runner()):
        print(f"error: {lossopt_runner()} not found; build the project first")
        return 1
    chk = pc.Checker(f"Lovasz parity: {STEPS} training steps of batch {BATCH}; the loss alone for every source")
    training_cases(chk, runner, work)
    loss_cases(chk, work)
    return chk.finish()


if __name__ == "__main__":
    sys.exit(main())
