"""Parity with PyTorch: Keras HDF5 weights loaded by brisk (checkpoints.load)
give the outputs PyTorch computes from the same weights.

Keras itself is not installed here, so the weights files are written with
h5py in the layouts Keras writes (src/io/keras_h5.h):
  k2_model     Keras 2 model.save("x.h5"): model_weights, layer_names,
               weight_names "conv1/kernel:0" (fixed-length byte strings;
               weightless layers with an empty float array, as numpy
               makes of []), layer groups sorted by name;
  k2_weights   Keras 2 save_weights("x.h5"): the same at the root, with
               layer_names split into layer_names0/1 as Keras does for
               long lists;
  k3_legacy    Keras 3 model.save("x.h5"): model_weights again, but
               variable-length strings and weight names "conv1/kernel"
               (no ":0"), float64 datasets;
  k3_weights   Keras 3 save_weights("x.weights.h5"): layers/<key>/vars/<i>
               where <key> is the class in snake case plus a per-class
               count (Keras' to_snake_case, re-implemented here with its
               regular expressions), not the layer's name;
  k3_keras     a Keras 3 .keras archive: that file as model.weights.h5 in
               a zip with config.json and metadata.json.
Each network is inferred through the CLI (checkpoints.load = the file,
test_output_path = predictions); the torch side computes it in float64 from
the Keras arrays, converting layouts itself (kernels permuted, depthwise
[k, k, in, mult] -> [in*mult, 1, k, k], transposed kernels [k, k, out, in]
-> [in, out, k, k]) and flattening channels_last (NHWC) as Keras does, so a
Dense after a Flatten reads its kernel rows in Keras' order.

Negative controls: flattening channel-first (NCHW) on the torch side, and
reading a depthwise kernel multiplier-major, must be detected.
"""
import json
import os
import re
import subprocess
import sys
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import parity_common as pc  # noqa: E402
from parity_common import F, np, torch  # noqa: E402

import h5py  # noqa: E402

TOL = 1e-5  # max|brisk - torch| / max|torch| of the outputs (float32 vs float64)
N = 6       # samples


# ---- networks: Keras layer specs ------------------------------------------------

def layer(cls, name, **cfg):
    return {"class_name": cls, "config": {"name": name, **cfg}}


def conv(cls, name, filters, k, **cfg):
    c = {"filters": filters, "kernel_size": k, "strides": cfg.pop("strides", 1), "padding": cfg.pop("padding", "valid"),
         "data_format": "channels_last", "activation": cfg.pop("activation", "linear"), "use_bias": True}
    c.update(cfg)
    return layer(cls, name, **c)


def dense(name, units, activation="linear"):
    return layer("Dense", name, units=units, activation=activation, use_bias=True)


def sequential(name, shape, layers):
    return {"class_name": "Sequential", "keras_version": "2.13.1", "backend": "tensorflow",
            "config": {"name": name, "layers": [layer("InputLayer", "input", batch_input_shape=[None] + list(shape))]
                       + layers}}


CASES = {
    # the subtle one: the Dense kernel's rows follow Keras' NHWC flatten
    "flatten_dense": ((10, 9, 3), [
        conv("Conv2D", "c1", 5, [3, 2], activation="relu"),
        conv("Conv2D", "c2", 4, [2, 2]),
        layer("Flatten", "flat"),
        dense("fc1", 7, "relu"),
        dense("fc2", 3)]),
    "depthwise": ((8, 7, 3), [
        layer("DepthwiseConv2D", "dw", kernel_size=[2, 3], depth_multiplier=2, strides=1, padding="valid",
              data_format="channels_last", activation="linear", use_bias=True),
        layer("Flatten", "flat"),
        dense("fc", 4)]),
    "separable": ((8, 7, 3), [
        layer("SeparableConv2D", "sep", filters=5, kernel_size=[3, 2], depth_multiplier=2, strides=1,
              padding="valid", data_format="channels_last", activation="linear", use_bias=True),
        layer("Flatten", "flat"),
        dense("fc", 3)]),
    "transpose": ((5, 4, 3), [
        conv("Conv2DTranspose", "up", 4, [3, 2], strides=2, output_padding=None),
        layer("Flatten", "flat"),
        dense("fc", 3)]),
    "batchnorm": ((7, 6, 2), [
        conv("Conv2D", "c1", 4, 3, padding="same"),
        layer("BatchNormalization", "bn1", axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True),
        layer("BatchNormalization", "bn2", axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=False),
        layer("Flatten", "flat"),
        dense("fc", 3)]),
    "norms_prelu": ((6, 5, 2), [
        conv("Conv2D", "c1", 4, 3),
        layer("PReLU", "act", shared_axes=None),
        layer("LayerNormalization", "ln", axis=-1, epsilon=1e-3, center=True, scale=True),
        layer("GroupNormalization", "gn", groups=2, axis=-1, epsilon=1e-3, center=True, scale=True),
        layer("Flatten", "flat"),
        dense("fc", 3)]),
    # 16 channels from conv to conv: kernels stored blocked (graph.h),
    # run also with BRISK_CHANNEL_BLOCK=8 / 16 and BRISK_PLAIN_LAYOUT=1
    "blocked": ((6, 5, 8), [
        conv("Conv2D", "c1", 16, 3, padding="same", activation="relu"),
        conv("Conv2D", "c2", 16, [3, 2], padding="same"),
        layer("BatchNormalization", "bn", axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True),
        conv("Conv2D", "c3", 8, 1),
        layer("Flatten", "flat"),
        dense("fc", 3)]),
    "conv1d": ((12, 3), [
        conv("Conv1D", "c1", 4, [3]),
        conv("Conv1DTranspose", "up", 2, [3], strides=2, output_padding=None),
        layer("Flatten", "flat"),
        dense("fc", 3)]),
}


# ---- weights in Keras' layouts ------------------------------------------------------

def keras_weights(spec_layers, shape, rng):
    """layer name -> [(variable name, array in Keras' layout)], in the
    order Keras creates them."""
    out = {}
    ch = shape[-1]
    sp = list(shape[:-1])
    for L in spec_layers:
        c, name, cls = L["config"], L["config"]["name"], L["class_name"]
        u = lambda *s: rng.uniform(-0.5, 0.5, s).astype(np.float32)  # noqa: E731
        if cls in ("Conv1D", "Conv2D"):
            k = c["kernel_size"] if isinstance(c["kernel_size"], list) else [c["kernel_size"]] * len(sp)
            out[name] = [("kernel", u(*k, ch, c["filters"])), ("bias", u(c["filters"]))]
            assert c["padding"] == "valid" or all(kk % 2 for kk in k) or c["strides"] == 1
            if c["padding"] == "valid":
                sp = [s - kk + 1 for s, kk in zip(sp, k)]
            ch = c["filters"]
        elif cls in ("Conv1DTranspose", "Conv2DTranspose"):
            k = c["kernel_size"]
            out[name] = [("kernel", u(*k, c["filters"], ch)), ("bias", u(c["filters"]))]
            sp = [s * c["strides"] + max(kk - c["strides"], 0) for s, kk in zip(sp, k)]
            ch = c["filters"]
        elif cls == "DepthwiseConv2D":
            k, m = c["kernel_size"], c["depth_multiplier"]
            out[name] = [("depthwise_kernel", u(*k, ch, m)), ("bias", u(ch * m))]
            sp = [s - kk + 1 for s, kk in zip(sp, k)]
            ch *= m
        elif cls == "SeparableConv2D":
            k, m = c["kernel_size"], c["depth_multiplier"]
            out[name] = [("depthwise_kernel", u(*k, ch, m)), ("pointwise_kernel", u(1, 1, ch * m, c["filters"])),
                         ("bias", u(c["filters"]))]
            sp = [s - kk + 1 for s, kk in zip(sp, k)]
            ch = c["filters"]
        elif cls == "BatchNormalization":
            w = []
            if c["scale"]:
                w.append(("gamma", rng.uniform(0.5, 1.5, ch).astype(np.float32)))
            if c["center"]:
                w.append(("beta", u(ch)))
            w += [("moving_mean", u(ch)), ("moving_variance", rng.uniform(0.3, 2.0, ch).astype(np.float32))]
            out[name] = w
        elif cls in ("LayerNormalization", "GroupNormalization"):
            out[name] = [("gamma", rng.uniform(0.5, 1.5, ch).astype(np.float32)), ("beta", u(ch))]
        elif cls == "PReLU":
            out[name] = [("alpha", rng.uniform(0.05, 0.5, (*sp, ch)).astype(np.float32))]
        elif cls == "Flatten":
            ch, sp = int(np.prod(sp)) * ch, []
        elif cls == "Dense":
            out[name] = [("kernel", u(ch, c["units"])), ("bias", u(c["units"]))]
            ch = c["units"]
    return out


def snake_case(name):
    """Keras' naming.to_snake_case (Keras 3 weights files key layers by it)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name)
    return name.lower()


def sbytes(names):
    """A list as Keras 2 stores it: numpy fixed-length bytes, or for an
    empty list what np.asarray([]) gives (a float64 array)."""
    return np.array([n.encode("utf8") for n in names]) if names else np.asarray([])


def write_keras2(path, net, weights, at_root, vlen=False, colon=True, dtype=np.float32, split_names=False):
    """Keras 2 model.save (at_root False) or save_weights (True); with vlen,
    colon False and float64 it is Keras 3's legacy .h5 save."""
    names = [L["config"]["name"] for L in net["config"]["layers"]]
    strs = (lambda lst: np.array(lst, dtype=h5py.string_dtype())) if vlen else sbytes
    with h5py.File(path, "w") as f:
        if not at_root:
            f.attrs["keras_version"] = b"2.13.1"
            f.attrs["backend"] = b"tensorflow"
            f.attrs["model_config"] = json.dumps(net).encode()
            g = f.create_group("model_weights")
        else:
            g = f
        if split_names:
            half = len(names) // 2
            g.attrs["layer_names0"] = strs(names[:half])
            g.attrs["layer_names1"] = strs(names[half:])
        else:
            g.attrs["layer_names"] = strs(names)
        g.attrs["backend"] = b"tensorflow"
        g.attrs["keras_version"] = b"2.13.1"
        for name in sorted(names):
            lg = g.create_group(name)
            ws = weights.get(name, [])
            wn = [f"{name}/{v}:0" if colon else f"{name}/{v}" for v, _ in ws]
            lg.attrs["weight_names"] = strs(wn) if wn or not vlen else np.asarray([])
            for n, (_, a) in zip(wn, ws):
                lg.create_dataset(n, data=a.astype(dtype))


def write_keras3(path, net, weights):
    """Keras 3 save_weights: layers/<snake class>[_k]/vars/<i>, every layer
    with a vars group (empty for weightless ones), plus the model's own."""
    with h5py.File(path, "w") as f:
        f.create_group("vars")
        counts = {}
        for L in net["config"]["layers"]:
            key = snake_case(L["class_name"])
            k = counts.get(key, -1) + 1
            counts[key] = k
            if k:
                key = f"{key}_{k}"
            v = f.create_group(f"layers/{key}/vars")
            for i, (_, a) in enumerate(weights.get(L["config"]["name"], [])):
                v.create_dataset(str(i), data=a)
        f.create_group("optimizer/vars")


def write_keras_zip(path, h5_path, net):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.3.3"}))
        z.writestr("config.json", json.dumps(net))
        z.write(h5_path, "model.weights.h5")


LAYOUTS = {
    "k2_model": lambda p, net, w: write_keras2(p, net, w, at_root=False),
    "k2_weights": lambda p, net, w: write_keras2(p, net, w, at_root=True, split_names=True),
    "k3_legacy": lambda p, net, w: write_keras2(p, net, w, at_root=False, vlen=True, colon=False, dtype=np.float64),
    "k3_weights": write_keras3,
}


# ---- the torch side, from the Keras arrays ------------------------------------------

def t(a):
    return torch.tensor(np.asarray(a, dtype=np.float64))


def torch_forward(net, weights, x_cl, flatten_nchw=False, dw_mult_major=False):
    """The network in float64 on channels_last input x_cl; channel-first inside."""
    h = t(x_cl)
    h = h.permute(0, h.dim() - 1, *range(1, h.dim() - 1))  # NHWC -> NCHW
    for L in net["config"]["layers"][1:]:
        c, name, cls = L["config"], L["config"]["name"], L["class_name"]
        w = {v: t(a) for v, a in weights.get(name, [])}
        nd = h.dim() - 2
        if cls in ("Conv1D", "Conv2D"):
            k = w["kernel"].permute(nd + 1, nd, *range(nd))  # [k.., in, out] -> [out, in, k..]
            conv = F.conv1d if nd == 1 else F.conv2d
            if c["padding"] == "same":
                # TensorFlow's "same": the odd padding pixel at the end
                pads = []
                for kk in reversed(k.shape[2:]):
                    pads += [(kk - 1) // 2, kk - 1 - (kk - 1) // 2]
                h = F.pad(h, pads)
            h = conv(h, k, w["bias"])
            if c["activation"] == "relu":
                h = F.relu(h)
        elif cls in ("Conv1DTranspose", "Conv2DTranspose"):
            k = w["kernel"].permute(nd + 1, nd, *range(nd))  # [k.., out, in] -> [in, out, k..]
            convt = F.conv_transpose1d if nd == 1 else F.conv_transpose2d
            h = convt(h, k, w["bias"], stride=c["strides"])
        elif cls in ("DepthwiseConv2D", "SeparableConv2D"):
            dk = w["depthwise_kernel"]  # [kh, kw, in, mult]
            cin, m = dk.shape[2], dk.shape[3]
            if dw_mult_major:
                dk = dk.permute(0, 1, 3, 2)
            dk = dk.reshape(dk.shape[0], dk.shape[1], cin * m).permute(2, 0, 1).unsqueeze(1)
            h = F.conv2d(h, dk, None if cls == "SeparableConv2D" else w["bias"], groups=cin)
            if cls == "SeparableConv2D":
                h = F.conv2d(h, w["pointwise_kernel"].permute(3, 2, 0, 1), w["bias"])
        elif cls == "BatchNormalization":
            g = w.get("gamma", torch.ones_like(w["moving_mean"]))
            b = w.get("beta", torch.zeros_like(w["moving_mean"]))
            h = F.batch_norm(h, w["moving_mean"], w["moving_variance"], g, b, False, 0.0, c["epsilon"])
        elif cls == "PReLU":
            a = w["alpha"].permute(nd, *range(nd))  # [h, w, C] -> [C, h, w]
            h = torch.clamp(h, min=0) + a * torch.clamp(h, max=0)
        elif cls == "LayerNormalization":
            hl = h.permute(0, *range(2, nd + 2), 1)
            hl = F.layer_norm(hl, hl.shape[-1:], w["gamma"], w["beta"], c["epsilon"])
            h = hl.permute(0, nd + 1, *range(1, nd + 1))
        elif cls == "GroupNormalization":
            h = F.group_norm(h, c["groups"], w["gamma"], w["beta"], c["epsilon"])
        elif cls == "Flatten":
            h = h.flatten(1) if flatten_nchw else h.permute(0, *range(2, nd + 2), 1).flatten(1)
        elif cls == "Dense":
            h = h @ w["kernel"] + w["bias"]
            if c["activation"] == "relu":
                h = F.relu(h)
        else:
            raise ValueError(cls)
    return h.numpy()


# ---- the brisk side -------------------------------------------------------------------

def brisk_infer(bin_path, work, tag, net_path, weights_path, x_path, env=None):
    out = os.path.join(work, f"pred_{tag}.h5")
    cfg = {"neural_network": {"layers": net_path, "checkpoints": {"load": weights_path},
                              "data": {"type": "numpy", "test_input_path": x_path, "test_output_path": out,
                                       "test_batch_size": N}}}
    cfg_path = os.path.join(work, f"infer_{tag}.json")
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    p = subprocess.run([bin_path, f"--config={cfg_path}", "--no-progress"], capture_output=True, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS="1", **(env or {})))
    if p.returncode != 0:
        raise RuntimeError(f"brisk failed ({p.returncode}) on {cfg_path}:\n{p.stdout}{p.stderr}")
    with h5py.File(out, "r") as f:
        return f["output"][:], p.stdout + p.stderr


def main():
    bin_path = os.environ.get("BRISK_BIN")
    if not bin_path:
        print("error: BRISK_BIN must name the brisk binary")
        return 1
    _, work, _ = pc.setup("keras_h5")
    chk = pc.Checker("Keras HDF5 weights: brisk inference vs PyTorch float64")
    rng = np.random.default_rng(pc.SEED + 11)
    worst = 0.0
    for case, (shape, layers) in CASES.items():
        net = sequential(case, shape, layers)
        # Keras 3 keys by class and count, never by name: the names here
        # ("c1", "fc2") are not the keys ("conv2d", "dense_1")
        net_path = os.path.join(work, f"{case}.json")
        with open(net_path, "w") as f:
            json.dump(net, f)
        weights = keras_weights(layers, shape, rng)
        x = rng.normal(0, 1, (N, *shape)).astype(np.float32)
        x_path = os.path.join(work, f"{case}_x.npy")
        np.save(x_path, x)
        ref = torch_forward(net, weights, x)
        files = {}
        for lay, write in LAYOUTS.items():
            files[lay] = os.path.join(work, f"{case}_{lay}.h5")
            write(files[lay], net, weights)
        files["k3_keras"] = os.path.join(work, f"{case}.keras")
        write_keras_zip(files["k3_keras"], files["k3_weights"], net)
        runs = [(lay, path, None) for lay, path in files.items()]
        if case == "blocked":
            runs += [(f"k2_model_block{b}", files["k2_model"], {"BRISK_CHANNEL_BLOCK": str(b)}) for b in (8, 16)]
            runs += [("k3_weights_plain", files["k3_weights"], {"BRISK_PLAIN_LAYOUT": "1"})]
        for lay, path, env in runs:
            tag = f"{case}_{lay}"
            try:
                out, log = brisk_infer(bin_path, work, tag, net_path, path, x_path, env)
            except RuntimeError as e:
                chk.check(tag, f"brisk run: {e}", float("inf"), 1)
                continue
            err = pc.rel_err(out, ref)
            worst = max(worst, err)
            chk.check(tag, "output", err, TOL)
            chk.check(tag, "no layer skipped or missing", float("Skipping" in log or "warning" in log), 0.5)
            print(f"ok   {tag}: max rel diff {err:.2e}, max abs diff {float(np.abs(out - ref).max()):.2e}"
                  if err < TOL else f"     {tag}: {err:.2e}", flush=True)
            if case == "flatten_dense" and lay == "k2_model":
                # negative control: a channel-first flatten must not match
                bad = pc.rel_err(out, torch_forward(net, weights, x, flatten_nchw=True))
                ok = chk.check(tag, "NCHW flatten (negative control) detected", 0.0 if bad > 100 * TOL else 1.0, 0.5)
                print(f"{'ok' if ok else 'FAIL'}   {tag}: NCHW flatten differs by {bad:.2e}", flush=True)
            if case in ("depthwise", "separable") and lay == "k2_model":
                bad = pc.rel_err(out, torch_forward(net, weights, x, dw_mult_major=True))
                ok = chk.check(tag, "multiplier-major depthwise (negative control) detected",
                               0.0 if bad > 100 * TOL else 1.0, 0.5)
                print(f"{'ok' if ok else 'FAIL'}   {tag}: multiplier-major depthwise differs by {bad:.2e}", flush=True)
    print(f"\nworst max|brisk - torch| / max|torch| over {len(CASES)} networks x {len(LAYOUTS) + 1} layouts: "
          f"{worst:.2e} (tolerance {TOL:.0e})")
    print(f"{chk.passed} passed, {chk.failed} failed")
    return 1 if chk.failed else 0


if __name__ == "__main__":
    sys.exit(main())
