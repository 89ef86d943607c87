#!/usr/bin/python3
"""The reference CLI's tutorial workflows, run as its users write them.

Each of its nine tutorials (classification of birds, satellite images,
MNIST digits and natural images after self-supervised inpainting;
segmentation of brain MRI, breast cancer and pets; 3-D seismic facies;
the neural Poisson solver) has a training config and an inference
config. Here each pair is written with the tutorial's keys and values
(loaders, transforms, losses, optimizers, schedulers, checkpoint names,
output layout) and run on data made here in the tutorial's format, scaled
down (small images, small networks, few epochs) so the whole set runs in
a few minutes. Each run is checked for what it should produce: accuracy
above chance on separable classes, masks learned, the PDE loss falling,
predictions written in the documented layout.

usage: reference_tutorials.py BRISK_BIN WORK_DIR   (exit 0: all passed)
"""
import json
import os
import re
import subprocess
import sys

import h5py
import numpy as np
from PIL import Image

BIN, WORK = sys.argv[1], sys.argv[2]
passed = failed = 0
rng = np.random.default_rng(5)


def ok(msg):
    global passed
    passed += 1
    print("ok:", msg, flush=True)


def fail(msg):
    global failed
    failed += 1
    print("FAIL:", msg, flush=True)


def check(cond, msg, detail=""):
    ok(msg) if cond else fail(msg + (": " + detail if detail else ""))
    return cond


def brisk(d, cfg, *extra):
    """Runs brisk on config dict cfg written to d/<name>.json; returns (rc, log)."""
    name = cfg.pop("_name")
    path = os.path.join(d, name + ".json")
    json.dump(cfg, open(path, "w"), indent=1)
    p = subprocess.run([BIN, *extra, "--config=" + path, "--no-progress"], cwd=d, capture_output=True, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS="2"))
    log = p.stdout + p.stderr
    open(os.path.join(d, name + ".log"), "w").write(log)
    return p.returncode, log


def last_eval(log):
    m = re.findall(r"Eval Epoch \[ *\d+/ *\d+\] : Loss = ([-\d.naif]+)(?: \| Accuracy: ([\d.]+))?", log)
    return (float(m[-1][0]), float(m[-1][1]) if m[-1][1] else None) if m else (None, None)


# ---------------------------------------------------------------- networks
def layer(cls, name, inbound, **cfg):
    d = {"class_name": cls, "name": name, "config": dict(cfg, name=name)}
    d["inbound_nodes"] = [[[i, 0, 0, {}] for i in inbound]] if inbound else []
    return d


def functional(name, layers, out):
    return {"class_name": "Functional", "keras_version": "2.9.0", "backend": "tensorflow",
            "config": {"name": name, "layers": layers, "input_layers": [[layers[0]["name"], 0, 0]],
                       "output_layers": [[out, 0, 0]]}}


def classifier(shape, classes):
    """A small ResNet-like classifier (the tutorials use ResNet50): conv,
    batch norm, a residual block, global pooling, dense, log_softmax."""
    L = [layer("InputLayer", "input_1", None, batch_input_shape=[None] + shape, dtype="float32"),
         layer("Conv2D", "conv1", ["input_1"], filters=16, kernel_size=[3, 3], strides=[2, 2], padding="same"),
         layer("BatchNormalization", "bn_conv1", ["conv1"], axis=3, momentum=0.9, epsilon=0.001),
         layer("Activation", "relu1", ["bn_conv1"], activation="relu"),
         layer("Conv2D", "res2a", ["relu1"], filters=16, kernel_size=[3, 3], padding="same", activation="relu"),
         layer("Conv2D", "res2b", ["res2a"], filters=16, kernel_size=[3, 3], padding="same"),
         layer("Add", "add1", ["res2b", "relu1"]),
         layer("Activation", "relu2", ["add1"], activation="relu"),
         layer("GlobalAveragePooling2D", "avg_pool", ["relu2"]),
         layer("Dense", "fc_out", ["avg_pool"], units=classes),
         layer("Activation", "log_softmax", ["fc_out"], activation="log_softmax")]
    return functional("classifier", L, "log_softmax")


def unet(channels_in, channels_out, final):
    """A small UNet with free spatial sizes, as segmentation_models exports."""
    L = [layer("InputLayer", "input_1", None, batch_input_shape=[None, None, None, channels_in], dtype="float32"),
         layer("Conv2D", "enc1", ["input_1"], filters=12, kernel_size=[3, 3], padding="same", activation="relu"),
         layer("MaxPooling2D", "pool1", ["enc1"], pool_size=[2, 2]),
         layer("Conv2D", "enc2", ["pool1"], filters=24, kernel_size=[3, 3], padding="same", activation="relu"),
         layer("UpSampling2D", "up1", ["enc2"], size=[2, 2], interpolation="nearest"),
         layer("Concatenate", "cat1", ["up1", "enc1"], axis=3),
         layer("Conv2D", "dec1", ["cat1"], filters=12, kernel_size=[3, 3], padding="same", activation="relu"),
         layer("Conv2D", "head", ["dec1"], filters=channels_out, kernel_size=[1, 1], padding="same"),
         layer("Activation", "final", ["head"], activation=final)]
    return functional("unet", L, "final")


def unet3d(channels_out, final, norm=False):
    """A small 3-D fully convolutional net (the seismic and Poisson UNets)."""
    L = [layer("InputLayer", "input_1", None, batch_input_shape=[None, None, None, None, 1], dtype="float32"),
         layer("Conv3D", "c1", ["input_1"], filters=8, kernel_size=[3, 3, 3], padding="same")]
    last = "c1"
    if norm:  # the Poisson tutorial's PyTorch-form instance norm
        L.append(layer("InstanceNormalization", "n1", ["c1"], affine=False, track_running_stats=False,
                       momentum=0.1, epsilon=1e-5))
        last = "n1"
    L += [layer("LeakyReLU", "a1", [last], alpha=0.2),
          layer("MaxPooling3D", "p1", ["a1"], pool_size=[2, 2, 2]),
          layer("Conv3D", "c2", ["p1"], filters=16, kernel_size=[3, 3, 3], padding="same", activation="relu"),
          layer("UpSampling3D", "u1", ["c2"], size=[2, 2, 2]),
          layer("Concatenate", "cat", ["u1", "a1"], axis=4),
          layer("Conv3D", "c3", ["cat"], filters=8, kernel_size=[3, 3, 3], padding="same", activation="relu"),
          layer("Conv3D", "c4", ["c3"], filters=channels_out, kernel_size=[1, 1, 1]),
          layer("Activation", "out", ["c4"], activation=final)]
    return functional("unet3d", L, "out")


def write(d, name, obj):
    json.dump(obj, open(os.path.join(d, name), "w"))


# ------------------------------------------------------------------- data
def stripes(k, h, w, gray=False):
    """Class k of 3: a bright bar, horizontal, vertical or diagonal, at a
    random place and colour on noise."""
    a = rng.normal(70, 20, (h, w, 3))
    c = rng.uniform(170, 255, 3)
    if k == 0:
        p = rng.integers(2, h - 6); a[p:p + max(3, h // 8), 2:w - 2] = c
    elif k == 1:
        p = rng.integers(2, w - 6); a[2:h - 2, p:p + max(3, w // 8)] = c
    else:
        for i in range(min(h, w) - 4):
            a[2 + i, max(0, 2 + i - 2):2 + i + 2] = c
    a = np.clip(a, 0, 255).astype(np.uint8)
    return a.mean(axis=2).astype(np.uint8) if gray else a


def class_folders(root, n, sizes, ext="jpg", gray=False, names=("cats", "dogs", "owls")):
    """n images per class under root/<class>/, sizes drawn from `sizes`."""
    truth = {}
    for k, cname in enumerate(names):
        os.makedirs(os.path.join(root, cname), exist_ok=True)
        for i in range(n):
            h, w = (int(v) for v in rng.choice(sizes, 2))
            f = os.path.join(root, cname, f"{cname}_{i:03d}.{ext}")
            Image.fromarray(stripes(k, h, w, gray)).save(f)
            truth[os.path.relpath(f, root)] = k
    return truth


def blobs(root_img, root_mask, n, size, classes=2, mask_values=(0, 255), ext="png"):
    """Images with 1 or 2 shapes on noise and their masks (class k drawn as
    mask_values[k]); returns the masks as class maps."""
    os.makedirs(root_img, exist_ok=True)
    os.makedirs(root_mask, exist_ok=True)
    truth = {}
    for i in range(n):
        img = rng.normal(60, 15, (size, size, 3))
        m = np.zeros((size, size), np.uint8)
        yy, xx = np.mgrid[:size, :size]
        for k in range(1, classes):
            cy, cx = rng.integers(size // 5, 4 * size // 5, 2)
            r = rng.integers(size // 8, size // 4)
            sel = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r if k == 1 else (abs(yy - cy) <= r) & (abs(xx - cx) <= r)
            m[sel] = k
            img[sel] = rng.uniform(150, 230) if k == 1 else rng.uniform(100, 140)
        name = f"case_{i:03d}"
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(os.path.join(root_img, name + "." + ext))
        Image.fromarray(np.array(mask_values, np.uint8)[m]).save(os.path.join(root_mask, name + ".png"))
        truth[name] = m
    return truth


def keras_h5(path, weights):
    """A Keras 2 save_weights file: {layer: [(var, array), ...]} in Keras'
    layouts (the tutorials start from such ImageNet files)."""
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"2.9.0"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["layer_names"] = np.array([n.encode() for n in weights])
        for name, ws in weights.items():
            g = f.create_group(name)
            g.attrs["weight_names"] = np.array([f"{name}/{v}:0".encode() for v, _ in ws])
            for v, a in ws:
                g.create_dataset(f"{name}/{v}:0", data=a.astype(np.float32))


def output_file(d):
    return h5py.File(os.path.join(d, "output_1.h5"), "r")


def dataset_names(f):
    names = []
    f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
    return sorted(names)


# ----------------------------------------------------------- the tutorials
def birds_and_satellite(name, size, start_h5, epochs, lr, gamma):
    """Image classification from class folders, starting from Keras .h5
    weights (the tutorials' ImageNet ResNet50), then inference on a folder."""
    d = os.path.join(WORK, name)
    os.makedirs(d, exist_ok=True)
    class_folders(os.path.join(d, "data/train"), 40, [size - 8, size, size + 12])
    class_folders(os.path.join(d, "data/valid"), 12, [size - 8, size + 12])
    truth = class_folders(os.path.join(d, "test_samples"), 6, [size + 20, size + 30])
    write(d, "layers.json", classifier([size, size, 3], 3))
    if start_h5:  # backbone weights only, as a Keras file with its own names
        keras_h5(os.path.join(d, start_h5), {
            "conv1": [("kernel", rng.normal(0, 0.2, (3, 3, 3, 16))), ("bias", np.zeros(16))],
            "bn_conv1": [("gamma", np.ones(16)), ("beta", np.zeros(16)), ("moving_mean", np.zeros(16)),
                         ("moving_variance", np.ones(16))],
            "fc1000": [("kernel", rng.normal(0, 0.1, (16, 1000))), ("bias", np.zeros(1000))]})
    train = {"_name": "config_train", "neural_network": {
        "num_epochs": epochs, "outfile": "out_classifier.txt", "layers": "./layers.json",
        "checkpoints": {"load": "./" + start_h5, "save": "model_checkpoints_save/", "interval": 2},
        "data": {"input_type": "images", "target_type": "labels", "input_path": "./data/train/",
                 "test_input_path": "./data/valid/", "batch_size": 16, "test_batch_size": 32, "preload": True,
                 "transforms": [{"resize": [size, size]}]},
        "optimizer": {"type": "Adam", "learning_rate": lr, "lr_scheduler": {"type": "Exponential", "gamma": gamma}},
        "loss": {"function": "NLL"}}}
    rc, log = brisk(d, train)
    _, acc = last_eval(log)
    check(rc == 0 and acc is not None and acc >= 0.8, f"{name}: trains from class folders to validation "
          f"accuracy {acc} (chance 0.33)", log[-400:])
    check(re.search(r"Loading model checkpoint from HDF5 file: \S*/" + start_h5, log) and "Skipping layer fc1000" in log,
          f"{name}: starts from the Keras .h5 backbone, skipping its ImageNet head", log[:600])
    ckpt = sorted(os.listdir(os.path.join(d, "model_checkpoints_save")))
    check(f"model_epoch_{epochs}.safetensors" in ckpt and "model_epoch_2.safetensors" in ckpt,
          f"{name}: checkpoints every 2 epochs", str(ckpt))
    test = {"_name": "config_test", "neural_network": {
        "layers": "./layers.json", "checkpoints": {"load": f"./model_checkpoints_save/model_checkpoint_{epochs}.pt"},
        "data": {"input_type": "images", "test_input_path": "./test_samples/", "test_output_path": "./predictions/",
                 "transforms": [{"resize": [size, size]}]}}}
    rc, log = brisk(d, test)
    if not check(rc == 0, f"{name}: inference from model_checkpoint_{epochs}.pt", log[-400:]):
        return
    with output_file(os.path.join(d, "predictions")) as f:
        names = dataset_names(f)
        right = sum(int(np.argmax(f[n][()])) == truth[n] for n in names)
        check(names == sorted(truth) and all(f[n].shape == (3,) for n in names),
              f"{name}: predictions/output_1.h5 holds one (3,) dataset per image, in class groups", str(names[:4]))
        check(right >= 0.8 * len(truth), f"{name}: {right}/{len(truth)} test images classified right (argmax)")


def mnist():
    d = os.path.join(WORK, "mnist_classification")
    os.makedirs(d, exist_ok=True)
    class_folders(os.path.join(d, "mnist/training"), 40, [28], gray=True, names=("0", "1", "2"))
    class_folders(os.path.join(d, "mnist/testing"), 12, [28], gray=True, names=("0", "1", "2"))
    truth = class_folders(os.path.join(d, "mnist_digits"), 5, [28], ext="png", gray=True, names=("0", "1", "2"))
    write(d, "mnist_keras_net.json", classifier([28, 28, 1], 3))
    rc, log = brisk(d, {"_name": "config_mnist_training", "neural_network": {
        "outfile": "out_mnist.txt", "num_epochs": 6, "layers": "./mnist_keras_net.json",
        "checkpoints": {"save": "./mnist_model/", "interval": 6},
        "data": {"input_type": "images", "target_type": "labels", "input_path": "./mnist/training/",
                 "test_input_path": "./mnist/testing/", "batch_size": 16, "grayscale": True, "preload": True},
        "optimizer": {"type": "Adam", "learning_rate": 1e-2}, "loss": {"function": "NLL"}}})
    _, acc = last_eval(log)
    check(rc == 0 and acc is not None and acc >= 0.8, f"mnist: grayscale digits train to accuracy {acc}", log[-300:])
    rows = [l.split("\t") for l in open(os.path.join(d, "out_mnist_test.txt")).read().split("\n") if l]
    check(len(rows) == 7 and rows[0][0] == "epoch", "mnist: out_mnist_test.txt has a row per epoch", str(rows[:2]))
    rc, log = brisk(d, {"_name": "config_mnist_test", "neural_network": {
        "layers": "./mnist_keras_net.json", "checkpoints": {"load": "./mnist_model/model_checkpoint_6.pt"},
        "data": {"input_type": "images", "test_input_path": "./mnist_digits/",
                 "test_output_path": "./mnist_predictions/", "grayscale": True}}})
    if check(rc == 0, "mnist: inference on a folder of digits", log[-300:]):
        with output_file(os.path.join(d, "mnist_predictions")) as f:
            right = sum(int(np.argmax(f[n][()])) == truth[n] for n in dataset_names(f))
            check(right >= 0.8 * len(truth), f"mnist: {right}/{len(truth)} digits right from output_1.h5")


def segmentation(name, size, loss, source, train_keys, test_keys, classes, mask_values, start_h5=None,
                 test_loss=None):
    d = os.path.join(WORK, name)
    os.makedirs(d, exist_ok=True)
    blobs(f"{d}/data/train_image", f"{d}/data/train_mask", 48, size, classes, mask_values, ext="jpg")
    blobs(f"{d}/data/test_image", f"{d}/data/test_mask", 12, size, classes, mask_values, ext="jpg")
    truth = blobs(f"{d}/data/sample", f"{d}/data/sample_mask", 4, size + 16, classes, mask_values, ext="jpg")
    out_ch = 1 if source == "sigmoid" else classes
    write(d, "layers_resunet.json", unet(3, out_ch, "sigmoid" if source == "sigmoid" else "softmax"))
    ckpt = {}
    if start_h5:
        keras_h5(os.path.join(d, start_h5), {"enc1": [("kernel", rng.normal(0, 0.2, (3, 3, 3, 12))), ("bias", np.zeros(12))]})
        ckpt["load"] = "./" + start_h5
    ckpt.update({"save": "model_segmentation/", "interval": 10})
    data = {"type": "images", "input_path": "./data/train_image/", "target_path": "./data/train_mask/",
            "test_input_path": "./data/test_image/", "test_target_path": "./data/test_mask/",
            "batch_size": 8, "test_batch_size": 16, "preload": True, "target_grayscale": True, "target_is_mask": True}
    data.update(train_keys)
    cfg = {"_name": "config_train", "neural_network": {
        "outfile": "out_segmentation.txt", "num_epochs": 10, "layers": "./layers_resunet.json", "checkpoints": ckpt,
        "data": data, "optimizer": {"type": "adam", "learning_rate": 3e-3,
                                    "lr_scheduler": {"type": "Exponential", "gamma": 0.95, "verbose": True}},
        "loss": {"function": loss, "source": source}}}
    rc, log = brisk(d, cfg)
    first, _ = last_eval(log.split("Eval Epoch [  2/")[0])
    lossv, acc = last_eval(log)
    check(rc == 0 and lossv is not None and lossv < first and acc is not None and acc > 0.6,
          f"{name}: {loss} ({source}) falls {first} -> {lossv}, Dice {acc}", log[-400:])
    check("learning rate" in log, f"{name}: the verbose scheduler prints the rate", log[:300])
    test = {"_name": "config_test", "neural_network": {
        "layers": "./layers_resunet.json", "checkpoints": {"load": "./model_segmentation/model_checkpoint_10.pt"},
        "data": dict({"type": "images", "test_input_path": "./data/sample/", "test_output_path": "./predictions/",
                      "test_batch_size": 16}, **test_keys)}}
    if test_loss:  # inference with targets also scores them
        test["neural_network"]["loss"] = test_loss
    rc, log = brisk(d, test)
    if not check(rc == 0, f"{name}: inference on whole images", log[-400:]):
        return
    with output_file(os.path.join(d, "predictions")) as f:
        names = dataset_names(f)
        shape_ok = all(f[n].shape == (out_ch, size, size) for n in names)
        check(names == sorted(k + ".jpg" for k in truth) and shape_ok,
              f"{name}: one ({out_ch}, {size}, {size}) map per image named by its file",
              str([(n, f[n].shape) for n in names[:2]]))
        # masks learned: resize the prediction back to the truth's grid (nearest)
        agree = []
        for n in names:
            p = f[n][()]
            lab = (p[0] > 0.5).astype(int) if out_ch == 1 else np.argmax(p, 0)
            t = truth[n[:-4]]
            ys = (np.arange(t.shape[0]) * size // t.shape[0])
            agree.append(np.mean(lab[np.ix_(ys, ys)] == t))
        base = np.mean([np.mean(truth[k] == 0) for k in truth])
        check(np.mean(agree) > base + 0.02, f"{name}: pixel agreement {np.mean(agree):.3f} over all-background {base:.3f}")


def poisson():
    d = os.path.join(WORK, "neural_Poisson3D_PDE_solver")
    os.makedirs(os.path.join(d, "diffusivity_maps"), exist_ok=True)
    os.makedirs(os.path.join(d, "data"), exist_ok=True)
    n = 12
    x = np.linspace(0, 1, n)
    for i in range(24):  # log-permeability fields, one .npy per sample (1, n, n, n)
        a = rng.uniform(-1, 1, 3)
        field = np.exp(a[0] * np.cos(np.pi * x)[:, None, None] + a[1] * np.sin(np.pi * x)[None, :, None]
                       + a[2] * np.cos(2 * np.pi * x)[None, None, :])
        np.save(f"{d}/diffusivity_maps/diffusivity_{i}.npy", field[None].astype(np.float32))
    np.save(f"{d}/data/nu.npy", np.ones((1, n, n, n), np.float32))
    write(d, "unet3d_poisson.json", unet3d(1, "sigmoid", norm=True))
    rc, log = brisk(d, {"_name": "config_poisson3d_pde", "neural_network": {
        "outfile": "out_dnn_poisson3d.txt", "num_epochs": 12, "layers": "./unet3d_poisson.json",
        "checkpoints": {"save": "./model_poisson3d/", "interval": 4},
        "data": {"type": "numpy", "input_path": "./diffusivity_maps/", "target_path": "./diffusivity_maps/",
                 "batch_size": 8, "preload": True},
        "optimizer": {"type": "Adam", "learning_rate": 3e-3}, "loss": {"function": "Poisson3D_PDE"}}}, "--app=pde")
    rows = [l.split("\t") for l in open(os.path.join(d, "out_dnn_poisson3d_train.txt")).read().split("\n") if l] \
        if rc == 0 else [["loss"], ["nan"]]
    losses = [float(r[rows[0].index("loss")]) for r in rows[1:]]
    check(rc == 0 and losses[-1] < 0.7 * losses[0], f"poisson: --app=pde, folder of .npy maps, the PDE loss falls "
          f"{losses[0]:.3g} -> {losses[-1]:.3g}", log[-400:])
    rc, log = brisk(d, {"_name": "config_poisson3d_pde_inference", "neural_network": {
        "layers": "./unet3d_poisson.json", "checkpoints": {"load": "./model_poisson3d/model_checkpoint_12.pt"},
        "data": {"type": "numpy", "test_input_path": "./data/nu.npy", "test_target_path": "./data/nu.npy",
                 "test_output_path": "./prediction/"},
        "loss": {"function": "Poisson3D_PDE"}}}, "--app=pde")
    if check(rc == 0, "poisson: inference with the PDE loss", log[-300:]):
        with output_file(os.path.join(d, "prediction")) as f:
            check(dataset_names(f) == ["nu.npy"] and f["nu.npy"].shape == (1, n, n, n),
                  "poisson: prediction/output_1.h5['nu.npy'] is (1, D, H, W)", str(dataset_names(f)))
            u = f["nu.npy"][()][0]
            # constant diffusivity: the solution falls from 1 at x = 0 to 0 at x = 1
            prof = u.mean(axis=(1, 2))
            check(prof[0] > prof[-1] + 0.3, f"poisson: u falls along x ({prof[0]:.2f} -> {prof[-1]:.2f})")


def seismic():
    d = os.path.join(WORK, "seismic_facies_classification")
    os.makedirs(os.path.join(d, "parihaka"), exist_ok=True)
    shape = (24, 20, 40)  # a small volume; facies are layers in depth (the last axis)
    for split in ("train", "test"):
        depth = np.arange(shape[2])[None, None, :] + rng.integers(-2, 3, shape[:2])[..., None]
        facies = np.clip(depth // 10, 0, 3).astype(np.int64)
        amp = np.array([0.2, -0.5, 0.8, -0.1])[facies] + rng.normal(0, 0.1, shape)
        with h5py.File(f"{d}/parihaka/input3D_{split}.h5", "w") as f:
            f.create_dataset("input", data=amp.astype(np.float32))
        with h5py.File(f"{d}/parihaka/target3D_{split}.h5", "w") as f:
            f.create_dataset("target", data=facies.astype(np.float32))
    write(d, "unet3d_seismic.json", unet3d(4, "log_softmax"))
    rc, log = brisk(d, {"_name": "config_dnn_seismic3d", "neural_network": {
        "outfile": "out_seismic3d.txt", "checkpoints": {"save": "./model_seismic3d/", "interval": 2},
        "layers": "./unet3d_seismic.json", "num_epochs": 8,
        "data": {"type": "hdf5", "input_path": "./parihaka/input3D_train.h5",
                 "target_path": "./parihaka/target3D_train.h5", "test_input_path": "./parihaka/input3D_test.h5",
                 "test_target_path": "./parihaka/target3D_test.h5", "batch_size": 8, "test_batch_size": 8,
                 "preload": True, "slicers": [{"name": "samples", "sizes": [8, 8, 16], "strides": [8, 8, 6],
                                               "discard_remainders": True}]},
        "optimizer": {"type": "Adam", "learning_rate": 3e-3}, "loss": {"function": "NLL"}}})
    _, acc = last_eval(log)
    check(rc == 0 and acc is not None and acc > 0.5, f"seismic: bricks sliced from HDF5 train to voxel accuracy {acc} "
          "(chance 0.25)", log[-400:])
    check("Num samples" in log or "samples" in log, "seismic: the slicer reports its samples")
    rc, log = brisk(d, {"_name": "config_dnn_seismic3d_inference", "neural_network": {
        "checkpoints": {"load": "./model_seismic3d/model_checkpoint_8.pt"}, "layers": "./unet3d_seismic.json",
        "data": {"type": "hdf5", "test_input_path": "./parihaka/input3D_test.h5",
                 "test_target_path": "./parihaka/target3D_test.h5", "hdf5_outfile": "./prediction.h5",
                 "test_batch_size": 1, "slicers": [{"name": "pred", "sizes": [8, 20, 40], "discard_remainders": True}]},
        "loss": {"function": "Dice", "source": "log_softmax"}}})
    if check(rc == 0, "seismic: whole-slab inference with hdf5_outfile", log[-400:]):
        with h5py.File(os.path.join(d, "prediction.h5"), "r") as f, \
                h5py.File(f"{d}/parihaka/target3D_test.h5", "r") as t:
            p = f["pred"][()]
            check(p.shape == (4,) + shape, f"seismic: prediction.h5['pred'] is [4, {shape}]", str(p.shape))
            acc = np.mean(np.argmax(p, 0) == t["target"][()])
            check(acc > 0.5, f"seismic: reassembled volume voxel accuracy {acc:.3f} (chance 0.25)")


def inpainting():
    d = os.path.join(WORK, "self_supervised_inpainting")
    os.makedirs(d, exist_ok=True)
    class_folders(os.path.join(d, "natural_images/training"), 30, [40, 48])
    class_folders(os.path.join(d, "natural_images/testing"), 10, [40, 48])
    # the feature extractor: an encoder-decoder with the classifier's first layers' names
    enc = classifier([32, 32, 3], 3)["config"]["layers"][:4]
    dec = [layer("UpSampling2D", "up", ["relu1"], size=[2, 2]),
           layer("Conv2D", "rec", ["up"], filters=3, kernel_size=[3, 3], padding="same"),
           layer("Activation", "sig", ["rec"], activation="sigmoid")]
    write(d, "network_resnet50_feature_extract.json", functional("inpaint", enc + dec, "sig"))
    write(d, "network_resnet50_classifier.json", classifier([32, 32, 3], 3))
    rc, log = brisk(d, {"_name": "config_inpaint_feature_extraction", "neural_network": {
        "num_epochs": 4, "outfile": "out_inpaint_feature_extraction.txt",
        "layers": "./network_resnet50_feature_extract.json",
        "checkpoints": {"save": "./model_checkpoints/", "interval": 2},
        "data": {"type": "images", "input_path": "./natural_images/training/",
                 "target_path": "./natural_images/training/", "batch_size": 16, "preload": True,
                 "transforms": [{"resize": [32, 32]}, {"random_patches": {"number": 4, "size": 6}}]},
        "optimizer": {"type": "Adam", "learning_rate": 1e-3}, "loss": {"function": "BCE"}}})
    rows = [l.split("\t") for l in open(os.path.join(d, "out_inpaint_feature_extraction_train.txt")).read().split("\n")
            if l] if rc == 0 else [["loss"], ["nan"]]
    losses = [float(r[rows[0].index("loss")]) for r in rows[1:]]
    check(rc == 0 and losses[-1] < losses[0], f"inpainting: the patch reconstruction loss falls {losses[0]:.3f} -> "
          f"{losses[-1]:.3f}", log[-300:])
    rc, log = brisk(d, {"_name": "config_inpaint_classifier", "neural_network": {
        "num_epochs": 8, "outfile": "out_inpaint_classifier.txt", "layers": "./network_resnet50_classifier.json",
        "checkpoints": {"load": "./model_checkpoints/model_checkpoint_4.pt"},
        "data": {"input_type": "images", "target_type": "labels", "input_path": "./natural_images/training/",
                 "test_input_path": "./natural_images/testing", "batch_size": 16, "test_batch_size": 64,
                 "preload": True, "transforms": [{"resize": [32, 32]}]},
        "optimizer": {"type": "Adam", "learning_rate": 1e-2}, "loss": {"function": "NLL"}}})
    _, acc = last_eval(log)
    check(rc == 0 and "model_epoch_4.safetensors" in log and "Skipping layer rec" in log and "bn_conv1" not in
          log.split("warning:")[-1],
          "inpainting: the classifier starts from the feature extractor's shared layers", log[:500])
    check(acc is not None and acc >= 0.8, f"inpainting: the classifier reaches accuracy {acc}", log[-300:])


def main():
    os.makedirs(WORK, exist_ok=True)
    birds_and_satellite("birds_image_classification", 40, "model_resnet50_imagenet.h5", 6, 1e-2, 0.5)
    birds_and_satellite("satellite_image_classification", 32, "model_resnet50_imagenet_10classes.h5", 6, 1e-2, 0.95)
    mnist()
    segmentation("brain_MRI_image_segmentation", 32, "Dice", "sigmoid", {"transforms": [{"resize": [32, 32]}]},
                 {"transforms": [{"resize": [32, 32]}]}, 2, (0, 255), start_h5="model_resunet_imagenet.h5")
    segmentation("breast_cancer_segmentation", 32, "BCE", "sigmoid", {"transforms": [{"resize": [32, 32]}]},
                 {"test_target_path": "./data/sample_mask/", "target_grayscale": True, "target_is_mask": True,
                  "transforms": [{"resize": [32, 32]}]},
                 2, (0, 255), test_loss={"function": "BCE", "source": "sigmoid"})
    segmentation("pets_image_segmentation", 32, "Dice", "softmax",
                 {"transforms": [{"resize": [32, 32]}, {"normalize": {"mean": 0.0, "std": 0.003921568}}]},
                 {"transforms": [{"resize": [32, 32]}, {"normalize": {"std": 0.003921568}}]}, 3, (0, 1, 2))
    poisson()
    seismic()
    inpainting()
    print(f"reference_tutorials: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
