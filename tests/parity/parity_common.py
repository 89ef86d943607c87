"""Shared helpers of the PyTorch parity tests.

The brisk side runs in parity_runner (tests/parity/parity_runner.c): it
builds a network from Keras JSON, loads weights from safetensors, trains a
few steps on fixed batches and writes back, for every step, the state it
started from (weights and running statistics), the loss and the gradients.

The PyTorch side then checks every step against that trace ("teacher
forcing"), in float64 so the oracle's own rounding does not count:
  * forward/backward: at brisk's weights of step s, torch's loss, output and
    gradients must match brisk's;
  * running statistics: one torch forward pass from brisk's step-s
    statistics must move them as brisk moved them;
  * optimizer: torch.optim, fed brisk's gradients (its own state carried
    from step to step, its parameters reset to brisk's before each step),
    must make the same update brisk made, tensor by tensor.
Why not compare two free-running 20-step trajectories: with ReLU and max
pooling, a near-tie (two window values within float32 rounding) flips the
routed gradient under 1e-7 perturbations, after which the runs drift apart
by 1e-3..1e-1 -- PyTorch float32 against PyTorch float64 does the same. Each
step checked from the same state has no such drift, and checks every step
as tightly as the first.

Environment (set by tests/CMakeLists.txt): BRISK_PARITY_RUNNER, BRISK_TMP,
BRISK_SOURCE_DIR. Exit code 77 (ctest: skipped) when PyTorch is missing.
"""
import json
import os
import struct
import subprocess
import sys
import time

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:  # pragma: no cover
    print(f"parity test skipped: {e} (PyTorch and numpy are needed; the tests run with "
          f"{sys.executable})")
    sys.exit(77)

TORCH_DTYPE = torch.float64
VERBOSE = os.environ.get("BRISK_PARITY_VERBOSE", "") not in ("", "0")

# Tolerances, as max|brisk - torch| / max|torch| per tensor (ABS_FLOOR
# stands in for a tiny max|torch|).
TOL_LOSS = 1e-4      # the loss of every step (scalar relative error)
TOL_GRAD = 1e-4      # outputs and gradients of every step
# The change each step makes to every parameter and running statistic,
# relative to the largest change in that tensor (see UPDATE_FLOOR): far
# stricter than comparing the weights, which change by ~1e-3 a step.
TOL_UPDATE = 1e-3
TOL_LOAD = 1e-7      # the weights brisk starts from vs. the file written
ABS_FLOOR = 1e-12
# Gradients are compared relative to at least GRAD_FLOOR times the largest
# gradient of the step. A gradient that is zero in exact arithmetic (the bias
# of a layer followed by a batch norm, which removes any constant shift; the
# float64 reference has it below ZERO_GRAD times the largest gradient) is
# float32 cancellation noise in brisk (~1e-6 of the largest gradient): it
# must stay below TOL_ZERO_GRAD times the largest gradient, and its error is
# reported scaled to TOL_GRAD.
GRAD_FLOOR = 1e-6
ZERO_GRAD = 1e-10
TOL_ZERO_GRAD = 1e-4
# A gradient that misses TOL_GRAD is still accepted when PyTorch's own
# float32 evaluations miss by more than 1/COND_FACTOR of it (a sum that
# mostly cancels, whose float32 value is imprecise however it is computed).
COND_FACTOR = 10
# brisk stores weights in float32, so each stored update is off by up to
# half an ulp of its weight, and an update below that cannot be stored at
# all. Updates are therefore compared relative to at least UPDATE_FLOOR
# times the tensor's largest weight: a correct update is then within 2e-4
# (2^-24 / UPDATE_FLOOR) of its scale, and a tiny update must still be right
# to ~3e-7 of the weights' scale.
UPDATE_FLOOR = 3e-4


def env_paths():
    runner = os.environ.get("BRISK_PARITY_RUNNER")
    if not runner:
        # running by hand from the source tree: look in ./build
        src = os.environ.get("BRISK_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
        runner = os.path.join(src, "build", "tests", "parity_runner")
    if not os.path.exists(runner):
        print(f"error: parity_runner not found at {runner}; build the project first "
              f"(cmake --build build) or set BRISK_PARITY_RUNNER")
        sys.exit(1)
    tmp = os.environ.get("BRISK_TMP") or os.path.join(os.getcwd(), "test-tmp")
    src = os.environ.get("BRISK_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    return runner, tmp, src


_THREADS = [1]
# BRISK_PARITY_SEED varies the random weights and data (for sweeps; the
# default is fixed so that a failure reproduces).
SEED = int(os.environ.get("BRISK_PARITY_SEED", "0"))


def setup(test_name, threads=1):
    """Returns (runner, workdir, source_dir) and seeds torch/numpy. threads:
    for torch and for parity_runner (OMP_NUM_THREADS). Small networks run
    faster on one: a busy machine makes every parallel region of a tiny op
    wait for a descheduled thread."""
    runner, tmp, src = env_paths()
    work = os.path.join(tmp, test_name)
    os.makedirs(work, exist_ok=True)
    torch.set_num_threads(threads)
    _THREADS[0] = threads
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    return runner, work, src


# ---- safetensors (no `safetensors` package needed) -------------------------

_DTYPES = {"F32": ("<f4", 4), "F64": ("<f8", 8), "F16": ("<f2", 2), "I64": ("<i8", 8), "I32": ("<i4", 4)}


def write_safetensors(path, tensors, metadata=None):
    """Writes name -> array as F32 safetensors (8-byte LE header length,
    JSON header padded with spaces to a multiple of 8, raw data)."""
    header, blobs, off = {}, [], 0
    for name, arr in tensors.items():
        a = np.ascontiguousarray(np.asarray(arr, dtype="<f4"))
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """Reads a safetensors file into name -> numpy array (float dtypes as stored)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt, size = _DTYPES[info["dtype"]]
        b, e = info["data_offsets"]
        out[name] = np.frombuffer(data[b:e], dtype=dt).reshape(info["shape"]).copy()
    return out


def save_npy(path, arr):
    np.save(path, np.ascontiguousarray(arr, dtype=np.float32))


def f32(a):
    """Rounds to float32 (what brisk sees), kept as a float64 numpy array."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


# ---- the brisk side ---------------------------------------------------------

def run_brisk(runner, work, tag, net_path, weights_path, x_path, y_path, optimizer, loss, steps, batch,
              do_eval=True, trace=True, keep=False):
    """Runs parity_runner; returns its output as name -> array, plus
    "_seconds". The (large) trace file is removed unless keep."""
    tag = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in tag)
    spec = {"net": net_path, "weights": weights_path, "x": x_path, "y": y_path, "optimizer": optimizer,
            "loss": loss, "steps": steps, "batch": batch, "eval": do_eval, "trace": trace,
            "out": os.path.join(work, f"brisk_{tag}.safetensors")}
    spec_path = os.path.join(work, f"spec_{tag}.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f, indent=1)
    t0 = time.time()
    env = dict(os.environ, OMP_NUM_THREADS=str(_THREADS[0]))
    p = subprocess.run([runner, spec_path], capture_output=True, text=True, env=env)
    seconds = time.time() - t0
    if p.returncode != 0:
        raise RuntimeError(f"parity_runner failed ({p.returncode}) on {spec_path}:\n{p.stdout}{p.stderr}")
    res = read_safetensors(spec["out"])
    if not keep:
        os.remove(spec["out"])
    res["_seconds"] = seconds
    return res


# ---- the PyTorch side -------------------------------------------------------

def torch_optimizer(cfg, params):
    """The torch.optim optimizer for a parity_runner optimizer config."""
    t = cfg["type"].lower()
    lr = cfg.get("lr", 0.01)
    if t == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=cfg.get("momentum", 0.0), dampening=cfg.get("dampening", 0.0),
                               weight_decay=cfg.get("weight_decay", 0.0), nesterov=cfg.get("nesterov", False))
    if t in ("adam", "adamw"):
        cls = torch.optim.Adam if t == "adam" else torch.optim.AdamW
        wd = cfg.get("weight_decay", 0.0 if t == "adam" else 1e-2)
        return cls(params, lr=lr, betas=(cfg.get("beta1", 0.9), cfg.get("beta2", 0.999)), eps=cfg.get("eps", 1e-8),
                   weight_decay=wd, amsgrad=cfg.get("amsgrad", False))
    if t == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=cfg.get("alpha", 0.99), eps=cfg.get("eps", 1e-8),
                                   weight_decay=cfg.get("weight_decay", 0.0), momentum=cfg.get("momentum", 0.0),
                                   centered=cfg.get("centered", False))
    raise ValueError(f"unknown optimizer {cfg['type']}")


def torch_loss(loss, out, y):
    fn = loss["function"].lower()
    if fn == "nll":
        return F.nll_loss(out, y.long())
    if fn == "crossentropy":
        return F.cross_entropy(out, y.long())
    if fn == "mse":
        return F.mse_loss(out, y)
    if fn == "l1":
        return F.l1_loss(out, y)
    if fn == "bce":
        if loss.get("from_logits"):
            return F.binary_cross_entropy_with_logits(out, y)
        return F.binary_cross_entropy(out, y)
    raise ValueError(f"unknown loss {loss['function']}")


def _t(a, requires_grad=False, dtype=None):
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=dtype or TORCH_DTYPE, requires_grad=requires_grad)


class Ties:
    """Non-smooth decisions of the torch model (ReLU at 0, the winner of a
    max-pooling window) made explicit, so that near-ties can be found and
    decided the other way. brisk evaluates in float32: where a pre-activation
    is within float32 rounding of 0, or two window values are that close,
    brisk may legitimately take the other branch, which changes the
    gradient (not the forward values) by far more than rounding. A decision
    is ambiguous when its margin is below TAU times the largest
    magnitude in that tensor. TAU was 2e-6 until a ReLU after a batch norm
    in the UNet case (seed 0, step 7, with the transposed convolution run
    as a 1x1 convolution) sat at a margin between 2e-6 and 4e-6 of its
    tensor's largest value: float32 rounding of the convolution, amplified
    by the normalisation, reaches that far. replay: the `decisions` of an
    earlier pass, to take every branch as it did."""
    TAU = 4e-6

    def __init__(self, flips=(), replay=None):
        self.flips = set(flips)
        self.found = []
        self.replay = replay
        self.decisions = {}

    def _ambiguous(self, name, mask):
        keys = [(name, int(i)) for i in torch.nonzero(mask.flatten()).flatten()]
        self.found += keys
        return [k[1] for k in keys if k in self.flips]

    def relu(self, a, name, negative_slope=0.0):
        with torch.no_grad():
            pos = (a > 0).flatten()
            for i in self._ambiguous(name, a.abs() < self.TAU * a.abs().max()):
                pos[i] = ~pos[i]
            if self.replay is not None:
                pos = self.replay[name]
            self.decisions[name] = pos
            slope = torch.where(pos, torch.ones_like(pos, dtype=a.dtype),
                                torch.full_like(pos, negative_slope, dtype=a.dtype)).reshape(a.shape)
            # A pre-activation passed although it is <= 0 here was a tiny
            # positive value in brisk's float32: pass its magnitude, so that
            # a max pooling after it can pick it as brisk's did (over a
            # window of zeros); its gradient stays the slope's.
            lift = (pos.reshape(a.shape) & (a <= 0)).to(a.dtype) * (a.abs() - a)
        return a * slope + lift

    def max_pool2d(self, x, k, name):
        """Max pooling k x k, stride k, no padding."""
        n, c, h, w = x.shape
        win = x[:, :, :h // k * k, :w // k * k].unfold(2, k, k).unfold(3, k, k).reshape(n, c, h // k, w // k, k * k)
        with torch.no_grad():
            vals, order = win.sort(-1, descending=True)
            scale = x.abs().max()
            choice = order[..., 0].clone().flatten()
            amb = (vals[..., 0] - vals[..., 1] < self.TAU * scale) & (vals[..., 0] > self.TAU * scale)
            for i in self._ambiguous(name, amb):
                choice[i] = order[..., 1].flatten()[i]
            if self.replay is not None:
                choice = self.replay[name]
            self.decisions[name] = choice
        return win.gather(-1, choice.reshape(n, c, h // k, w // k, 1)).squeeze(-1)


MAX_TIES = 40   # near-ties tried in one step
MAX_FLIPS = 4   # of which at most this many decided the other way (the UNet
                # case's step 10 needs 4 with the summation order of the
                # transposed convolution run as a 1x1 convolution)


def check_trace(forward, brisk, x, y, optimizer, loss, steps, batch, init_params, init_buffers, penalty=None):
    """Checks a brisk trace step by step (see the module doc). batch: a
    size or a list of sizes used in turn, as parity_runner takes it.
    forward(params, buffers, x, training, ties) computes the torch model from
    dicts of float64 tensors named as brisk names them, with its ReLUs and
    max pooling through `ties` (a Ties); it must update the buffers (running
    statistics) in place when training. When brisk's gradients of a step
    differ, the step is recomputed with its near-ties decided the other way,
    greedily one more at a time (at most MAX_FLIPS of at most MAX_TIES), and
    the best match counts.
    penalty(params), when given, is added to the loss (Keras weight
    regularizers, which brisk adds to the loss it reports and minimises).
    Returns an ordered dict what -> (error, tolerance, worst step), the
    worst step-0 gradient error and the number of steps explained by ties."""
    pnames, bnames = list(init_params), list(init_buffers)
    res = {}
    grad0 = 0.0
    tie_steps = []

    ratio = {}

    def note(what, err, tol, step):
        """Keeps the worst step (relative to its tolerance) of each check."""
        r = err / tol if err == err else float("inf")  # NaN counts as the worst
        if what not in res or r > ratio[what]:
            res[what], ratio[what] = (err if err == err else float("inf"), tol, step), r

    # brisk starts from exactly the weights written for it
    for n in pnames + bnames:
        ref = init_params[n] if n in init_params else init_buffers[n]
        note(f"loaded {n}", rel_err(brisk.get(f"w0.{n}", np.array([])), f32(ref)), TOL_LOAD, 0)
    q = {n: _t(brisk["w0." + n], requires_grad=True) for n in pnames}
    opt = torch_optimizer(optimizer, list(q.values()))
    xs, ys = f32(x), f32(y)
    nsamp = xs.shape[0]
    sizes = batch if isinstance(batch, (list, tuple)) else [batch]
    first = 0

    def fwd_bwd(w, xb, yb, flips=(), dtype=None, replay=None):
        p = {n: _t(w[n], requires_grad=True, dtype=dtype) for n in pnames}
        bufs = {n: _t(w[n], dtype=dtype) for n in bnames}
        ties = Ties(flips, replay)
        out = forward(p, bufs, xb.to(p[pnames[0]].dtype), True, ties)
        lt = torch_loss(loss, out, yb.to(out.dtype))
        if penalty is not None:
            lt = lt + penalty(p)
        lt.backward()
        fwd_bwd.decisions = ties.decisions
        return (lt.item(), out.detach().double().numpy(), {n: p[n].grad.double().numpy() for n in pnames}, bufs,
                ties.found)

    def grad_errs_vs(ref, other):
        gmax = max(max(float(np.abs(g).max()) for g in ref.values()), 1e-30)
        return {n: (float(np.abs(other[n]).max()) / gmax / TOL_ZERO_GRAD * TOL_GRAD
                    if float(np.abs(ref[n]).max()) <= ZERO_GRAD * gmax
                    else rel_err(other[n], ref[n], floor=GRAD_FLOOR * gmax)) for n in pnames}

    def grad_errs(s, grads):
        return grad_errs_vs(grads, {n: brisk[f"g{s}.{n}"] for n in pnames})

    for s in range(steps):
        nb = sizes[s % len(sizes)]
        idx = [(first + i) % nsamp for i in range(nb)]
        first = (first + nb) % nsamp
        xb, yb = _t(xs[idx]), _t(ys[idx])
        w = {n: brisk[f"w{s}.{n}"] for n in pnames + bnames}
        nxt = {n: brisk[f"w{s + 1}.{n}"] if s + 1 < steps else brisk[f"final.{n}"] for n in pnames + bnames}
        lt, out, grads, bufs, amb = fwd_bwd(w, xb, yb)
        decisions = fwd_bwd.decisions
        note("loss", abs(float(brisk["losses"][s]) - lt) / max(abs(lt), ABS_FLOOR), TOL_LOSS, s)
        if s == 0:
            note("output", rel_err(brisk["output0"], out), TOL_GRAD, s)
        errs = grad_errs(s, grads)
        used = []
        if max(errs.values()) >= TOL_GRAD and 0 < len(amb) <= MAX_TIES:
            # greedily decide near-ties the other way, one at a time, as
            # long as that brings brisk's gradients closer
            best = max(errs.values())
            for _ in range(MAX_FLIPS):
                found = None
                for a in amb:
                    if a in used:
                        continue
                    g = fwd_bwd(w, xb, yb, used + [a])[2]
                    e = grad_errs(s, g)
                    if max(e.values()) < best:
                        best, found, best_errs, best_grads, best_decisions = max(e.values()), a, e, g, fwd_bwd.decisions
                if found is None:
                    break
                used.append(found)
                if best < TOL_GRAD:
                    break
            if best < TOL_GRAD:
                errs, grads, decisions = best_errs, best_grads, best_decisions
                tie_steps.append(s)
                print(f"     step {s}: brisk decided {len(used)} of {len(amb)} near-tie(s) the other way: "
                      f"{', '.join(f'{k[0]}[{k[1]}]' for k in used)}", flush=True)
            else:
                used = []
        tols = {n: TOL_GRAD for n in pnames}
        if max(errs.values()) >= TOL_GRAD:
            # an ill-conditioned gradient (a sum that mostly cancels) is
            # imprecise in any float32 evaluation: allow brisk COND_FACTOR
            # times the error of PyTorch's own float32 results (at the
            # weights and at two copies moved by an ulp or two, to sample
            # the float32 noise rather than trust one draw of it), which
            # take every ReLU/max-pool branch as the float64 pass did
            rng = np.random.default_rng(s)
            e32 = {n: 0.0 for n in pnames}
            for k in range(3):
                wk = w if k == 0 else {n: w[n] * (1 + rng.uniform(-2.0 ** -22, 2.0 ** -22, np.shape(w[n])))
                                       for n in w}
                ek = grad_errs_vs(grads, fwd_bwd(wk, xb, yb, dtype=torch.float32, replay=decisions)[2])
                e32 = {n: max(e32[n], ek[n]) for n in pnames}
            for n in pnames:
                if errs[n] >= TOL_GRAD and COND_FACTOR * e32[n] > TOL_GRAD:
                    tols[n] = COND_FACTOR * e32[n]
                    print(f"     step {s}: gradient of {n} is ill-conditioned in float32 (PyTorch float32 is off "
                          f"by {e32[n]:.1e}): tolerance {tols[n]:.1e}", flush=True)
        for n in pnames:
            note(f"gradient of {n}", errs[n], tols[n], s)
            if s == 0:
                grad0 = max(grad0, errs[n])
                # grad.<n> (always written) is the same step-0 gradient
                note(f"step-0 gradient of {n} (grad.*)", rel_err(brisk[f"grad.{n}"], brisk[f"g0.{n}"]), 1e-30, s)
        for n in bnames:
            note(f"running update of {n}", rel_err(nxt[n] - w[n], bufs[n].numpy() - w[n],
                                                   floor=UPDATE_FLOOR * float(np.abs(w[n]).max())), TOL_UPDATE, s)
        with torch.no_grad():
            for n in pnames:
                q[n].copy_(_t(w[n]))
                q[n].grad = _t(brisk[f"g{s}.{n}"])
        opt.step()
        for n in pnames:
            note(f"update of {n}", rel_err(nxt[n] - w[n], q[n].detach().numpy() - w[n],
                                           floor=UPDATE_FLOOR * float(np.abs(w[n]).max())), TOL_UPDATE, s)
    if "eval.output" in brisk:
        with torch.no_grad():
            p = {n: _t(brisk["final." + n]) for n in pnames}
            bufs = {n: _t(brisk["final." + n]) for n in bnames}
            ev = forward(p, bufs, _t(xs[[i % nsamp for i in range(sizes[0])]]), False, Ties()).numpy()
            note("inference output", rel_err(brisk["eval.output"], ev), TOL_GRAD, steps)
    return res, grad0, tie_steps


# ---- comparing ----------------------------------------------------------------

def rel_err(a, b, floor=ABS_FLOOR):
    """max|a - b| / max(max|b|, floor); b is the reference."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    if a.size == 0:
        return 0.0
    if not np.all(np.isfinite(a)):
        return float("inf")
    diff = float(np.max(np.abs(a - b)))
    return 0.0 if diff == 0 else diff / max(float(np.max(np.abs(b))), floor, 1e-300)


class Checker:
    """Collects comparisons, prints failures as they happen and a summary
    table at the end."""

    COLUMNS = [("loss", lambda w: w == "loss"),
               ("output", lambda w: w in ("output", "inference output")),
               ("grad@0", None),
               ("grads", lambda w: w.startswith("gradient of")),
               ("updates", lambda w: w.startswith("update of")),
               ("running", lambda w: w.startswith("running update of"))]

    def __init__(self, title):
        self.title = title
        self.passed = 0
        self.failed = 0
        self.rows = []
        self.failures = []

    def check(self, case, what, err, tol):
        ok = bool(err < tol)
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            msg = f"FAIL {case}: {what}: error {err:.3e} >= tolerance {tol:.0e}"
            self.failures.append(msg)
            print(msg, flush=True)
        return ok

    def record(self, case, res, grad0=None, ties=0, seconds=(0.0, 0.0)):
        """Adds the results of check_trace as one row; grad0 is the worst
        step-0 gradient error (for its own column)."""
        ok = True
        for what, (err, tol, step) in res.items():
            ok &= self.check(case, f"{what} (worst at step {step})", err, tol)
            if VERBOSE:
                print(f"     {case}: {what}: {err:.2e} (step {step})")
        row = {"case": case, "ok": ok, "seconds": seconds, "ties": ties}
        for col, pred in self.COLUMNS:
            vals = [e for w, (e, _, _) in res.items() if pred and pred(w)]
            row[col] = max(vals) if vals else None
        row["grad@0"] = grad0
        self.rows.append(row)
        return ok

    def expect_failure(self, case, what, res):
        """A negative control: passes when at least one comparison of res fails."""
        ratios = [(e / t if np.isfinite(e) else float("inf"), w) for w, (e, t, _) in res.items()]
        worst, where = max(ratios)
        if worst >= 1:
            self.passed += 1
            print(f"ok   {case}: {what} detected ({where}: {worst:.3g}x its tolerance)", flush=True)
        else:
            self.failed += 1
            msg = f"FAIL {case}: {what} went unnoticed (worst: {where}, {worst:.2f}x its tolerance)"
            self.failures.append(msg)
            print(msg, flush=True)

    def finish(self):
        print()
        print(f"{self.title}")
        print(f"max relative errors over all steps and tensors (tolerances: loss {TOL_LOSS:.0e}, "
              f"outputs/gradients {TOL_GRAD:.0e}, updates/running stats {TOL_UPDATE:.0e}); "
              f"ties: steps whose gradients brisk took through the other side of a near-tie")
        w = max([len(r["case"]) for r in self.rows] + [4])
        cols = [c for c, _ in self.COLUMNS]
        print(f"{'case':<{w}}  " + "  ".join(f"{c:>8}" for c in cols) + f"  {'ties':>4}  {'brisk s':>7}  {'torch s':>7}  result")
        for r in self.rows:
            cells = "  ".join(f"{r[c]:8.1e}" if r[c] is not None else f"{'-':>8}" for c in cols)
            print(f"{r['case']:<{w}}  {cells}  {r['ties']:4d}  {r['seconds'][0]:7.2f}  {r['seconds'][1]:7.2f}  "
                  f"{'ok' if r['ok'] else 'FAIL'}")
        if self.failures:
            print("\nfailures:")
            for f in self.failures:
                print("  " + f)
        print(f"\n{self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0


def run_case(chk, runner, work, case, forward, net_path, w_path, x_path, y_path, x, y, optimizer, loss, steps, batch,
             init_params, init_buffers, penalty=None):
    """Runs brisk and checks its trace; records one row. Returns the brisk
    result (None when the run failed)."""
    try:
        b = run_brisk(runner, work, case, net_path, w_path, x_path, y_path, optimizer, loss, steps, batch)
    except RuntimeError as e:
        chk.check(case, f"brisk run: {e}", float("inf"), 1)
        return None
    t0 = time.time()
    res, grad0, ties = check_trace(forward, b, x, y, optimizer, loss, steps, batch, init_params, init_buffers,
                                   penalty)
    chk.record(case, res, grad0=grad0, ties=len(ties), seconds=(b["_seconds"], time.time() - t0))
    return b
