"""Parity of the sample transforms (src/data/transforms.c) with the libraries
whose behaviour the reference CLI's transforms name: OpenCV (cv2.resize
INTER_LINEAR / INTER_NEAREST, cv2.warpAffine for rotate, cv2.cvtColor) and
PyTorch (F.interpolate bilinear with align_corners=False, the same
half-pixel rule as INTER_LINEAR).

brisk runs through tests/parity/tf_runner.c, which reads the transform list
with the real config reader. Images are [C, H, W] float32 in [0, 1];
OpenCV takes them as [H, W, C].

Tolerances: resize and colour conversions 1e-5 (float rounding); rotation
against cv2.warpAffine 2e-2 at most and 2e-3 on average, because OpenCV
quantises warp coordinates to 1/32 pixel where brisk interpolates exactly
(multiples of 90 degrees are exact in both). Without cv2 (Debian
python3-opencv, installed by scripts/install-deps.sh --test) the OpenCV
half is skipped and said so; the PyTorch half always runs.

Negative controls: the same resize against align_corners=True, and the
rotation against the counter-clockwise one, must both be far off.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

try:
    import cv2
except ImportError:  # the PyTorch half still runs
    cv2 = None

failures = 0
checks = 0


def runner_path():
    parity = os.environ.get("BRISK_PARITY_RUNNER")
    if parity:
        return os.path.join(os.path.dirname(parity), "tf_runner")
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, "..", "..", "build", "tests", "tf_runner")


TMP = tempfile.mkdtemp(prefix="tf_parity_", dir=os.environ.get("BRISK_TMP") or None)


def brisk(transforms, x, side=0, mask=False, epoch=0, sample=0):
    """x [C, H, W] float32 -> brisk's output array."""
    spec = os.path.join(TMP, "list.json")
    with open(spec, "w") as f:
        json.dump({"transforms": transforms, "target_is_mask": mask}, f)
    src, dst = os.path.join(TMP, "in.f32"), os.path.join(TMP, "out.f32")
    np.ascontiguousarray(x, np.float32).tofile(src)
    p = subprocess.run([runner_path(), spec, src, dst, str(side), str(epoch), str(sample)] +
                       [str(d) for d in x.shape], capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError(f"tf_runner failed: {p.stderr}")
    shape = [int(v) for v in p.stdout.split()]
    return np.fromfile(dst, np.float32).reshape(shape)


def check(name, got, want, max_tol, mean_tol=None):
    global failures, checks
    checks += 1
    if got.shape != want.shape:
        failures += 1
        print(f"FAIL {name}: shape {got.shape} vs {want.shape}")
        return
    err = np.abs(got.astype(np.float64) - want.astype(np.float64))
    bad = err.max() > max_tol or (mean_tol is not None and err.mean() > mean_tol)
    failures += bad
    print(f"{'FAIL' if bad else 'ok'} {name}: max {err.max():.3g} mean {err.mean():.3g}")


def far(name, got, want, min_err):
    """A negative control: got must differ from want by more than min_err."""
    global failures, checks
    checks += 1
    err = np.abs(got - want).max() if got.shape == want.shape else np.inf
    bad = not err > min_err
    failures += bad
    print(f"{'FAIL' if bad else 'ok'} control {name}: max diff {err:.3g} (must exceed {min_err})")


rng = np.random.default_rng(0)
img = rng.random((3, 37, 53), dtype=np.float32)
# a smooth image, where warp coordinate quantisation costs little
yy, xx = np.mgrid[0:41, 0:57].astype(np.float32)
smooth = np.stack([0.5 + 0.5 * np.sin(xx / 5 + c) * np.cos(yy / 7 - c) for c in range(3)]).astype(np.float32)

# ---- PyTorch: bilinear resize, half-pixel centres ----
for (sx, sy) in [(24, 19), (80, 61), (53, 37), (26, 18), (7, 50)]:
    got = brisk([{"resize": [sx, sy]}], img)
    want = F.interpolate(torch.from_numpy(img)[None], size=(sy, sx), mode="bilinear",
                         align_corners=False)[0].numpy()
    check(f"resize [{sx}, {sy}] vs torch bilinear", got, want, 1e-5)
got = brisk([{"resize": [80, 61]}], img)
far("resize vs align_corners=True", got,
    F.interpolate(torch.from_numpy(img)[None], size=(61, 80), mode="bilinear", align_corners=True)[0].numpy(), 1e-2)

# ---- OpenCV ----
if cv2 is None:
    print("skipped: the OpenCV half (no cv2; install python3-opencv)")
else:
    hwc = np.ascontiguousarray(img.transpose(1, 2, 0))
    for (sx, sy) in [(24, 19), (80, 61), (26, 18), (53, 37), (11, 90)]:
        want = cv2.resize(hwc, (sx, sy), interpolation=cv2.INTER_LINEAR).transpose(2, 0, 1)
        check(f"resize [{sx}, {sy}] vs cv2 INTER_LINEAR", brisk([{"resize": [sx, sy]}], img), want, 1e-5)
    labels = rng.integers(0, 5, (1, 37, 53)).astype(np.float32)
    for (sx, sy) in [(24, 19), (80, 61), (26, 18), (111, 74), (9, 9)]:
        want = cv2.resize(labels[0], (sx, sy), interpolation=cv2.INTER_NEAREST)[None]
        check(f"mask resize [{sx}, {sy}] vs cv2 INTER_NEAREST", brisk([{"resize": [sx, sy]}], labels, side=1,
                                                                       mask=True), want, 0)

    s_hwc = np.ascontiguousarray(smooth.transpose(1, 2, 0))
    h, w = smooth.shape[1:]
    for phi in [30, -17.5, 90, 180, 270, 123]:
        # OpenCV's positive angle turns counter-clockwise; rotate turns clockwise
        m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), -phi, 1.0)
        want = cv2.warpAffine(s_hwc, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                              borderValue=0).transpose(2, 0, 1)
        exact = phi % 90 == 0
        check(f"rotate {phi} vs cv2.warpAffine", brisk([{"rotate": phi}], smooth), want,
              1e-6 if exact else 2e-2, None if exact else 2e-3)
        if phi == 30:
            m_ccw = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), phi, 1.0)
            far("rotate 30 vs counter-clockwise", brisk([{"rotate": phi}], smooth),
                cv2.warpAffine(s_hwc, m_ccw, (w, h), flags=cv2.INTER_LINEAR).transpose(2, 0, 1), 0.1)
    sq = smooth[:, :41, :41].copy()
    check("rotate 90 vs numpy rot90 clockwise", brisk([{"rotate": 90}], sq), np.rot90(sq, k=-1, axes=(1, 2)), 0)

    codes = ["BGR2RGB", "RGB2BGR", "BGR2GRAY", "RGB2GRAY", "BGR2BGRA", "RGB2BGRA", "BGR2HSV", "RGB2HSV",
             "BGR2YCrCb", "RGB2YCrCb"]
    for code in codes:
        want = cv2.cvtColor(hwc, getattr(cv2, "COLOR_" + code))
        want = want[None] if want.ndim == 2 else want.transpose(2, 0, 1)
        tol = 1e-3 if "HSV" in code else 1e-5  # hue is in degrees
        check(f"convert_color {code} vs cv2.cvtColor", brisk([{"convert_color": code}], img), want, tol)
    for code, src in [("GRAY2BGR", img[:1]), ("GRAY2RGBA", img[:1]), ("BGRA2BGR", np.concatenate([img, img[:1]])),
                      ("RGBA2GRAY", np.concatenate([img, img[:1]]))]:
        s = np.ascontiguousarray(src.transpose(1, 2, 0)) if src.shape[0] > 1 else src[0]
        want = cv2.cvtColor(s, getattr(cv2, "COLOR_" + code))
        want = want[None] if want.ndim == 2 else want.transpose(2, 0, 1)
        check(f"convert_color {code} vs cv2.cvtColor", brisk([{"convert_color": code}], src), want, 1e-5)
    hsv = cv2.cvtColor(hwc, cv2.COLOR_BGR2HSV)
    for code in ["HSV2BGR", "HSV2RGB"]:
        want = cv2.cvtColor(hsv, getattr(cv2, "COLOR_" + code)).transpose(2, 0, 1)
        check(f"convert_color {code} vs cv2.cvtColor", brisk([{"convert_color": code}], hsv.transpose(2, 0, 1)),
              want, 1e-5)
    ycc = cv2.cvtColor(hwc, cv2.COLOR_BGR2YCrCb)
    for code in ["YCrCb2BGR", "YCrCb2RGB"]:
        want = cv2.cvtColor(ycc, getattr(cv2, "COLOR_" + code)).transpose(2, 0, 1)
        check(f"convert_color {code} vs cv2.cvtColor", brisk([{"convert_color": code}], ycc.transpose(2, 0, 1)),
              want, 1e-5)

print(f"test_parity_transforms: {checks - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
