"""OpenCV's time for the operations bench/tf_bench times, on the same
3x375x500 float32 image and one thread, as a reference point: the reference
CLI's transforms are OpenCV calls. Best of 5 rounds of ~0.2 s each, ms per
call (the image as OpenCV holds it, [H, W, C]; no layout conversion timed).
Needs Debian's python3-opencv. Run by hand: python3 bench/tf_bench_cv2.py"""
import time

import cv2
import numpy as np

cv2.setNumThreads(1)
img = (np.arange(3 * 375 * 500, dtype=np.uint64) * 2654435761 >> 24 & 255).astype(np.float32) / 255
img = np.ascontiguousarray(img.reshape(3, 375, 500).transpose(1, 2, 0))
mask = np.ascontiguousarray(img[:, :, 0])
h, w = img.shape[:2]
rot15 = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), -15, 1.0)
rot90 = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), -90, 1.0)
mean = np.array([0.45] * 3, np.float32)
std = np.array([0.225] * 3, np.float32)
cases = [
    ("copy", lambda: img.copy()),
    ("resize 500x375 -> 224x224 INTER_LINEAR", lambda: cv2.resize(img, (224, 224), interpolation=cv2.INTER_LINEAR)),
    ("resize 500x375 -> 224x224 INTER_NEAREST (1 ch)",
     lambda: cv2.resize(mask, (224, 224), interpolation=cv2.INTER_NEAREST)),
    ("resize 500x375 -> 1000x750 INTER_LINEAR", lambda: cv2.resize(img, (1000, 750), interpolation=cv2.INTER_LINEAR)),
    ("flip horizontal", lambda: cv2.flip(img, 1)),
    ("flip vertical", lambda: cv2.flip(img, 0)),
    ("warpAffine rotate 90", lambda: cv2.warpAffine(img, rot90, (w, h), flags=cv2.INTER_LINEAR)),
    ("warpAffine rotate 15", lambda: cv2.warpAffine(img, rot15, (w, h), flags=cv2.INTER_LINEAR)),
    ("cvtColor BGR2RGB", lambda: cv2.cvtColor(img, cv2.COLOR_BGR2RGB)),
    ("cvtColor BGR2HSV", lambda: cv2.cvtColor(img, cv2.COLOR_BGR2HSV)),
    ("normalize (numpy (x - mean) / std)", lambda: (img - mean) / std),
]
print(f"{'OpenCV ' + cv2.__version__ + ' (one 375x500x3 float image, 1 thread)':<60} {'ms/call':>10}")
for name, fn in cases:
    best = 1e30
    for _ in range(5):
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < 0.2:
            fn()
            n += 1
        best = min(best, (time.perf_counter() - t0) * 1e3 / n)
    print(f"{name:<60} {best:10.3f}")
