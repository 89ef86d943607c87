"""Writes test images of every kind the images loader reads, with what
OpenCV's imread gives for each (the reference CLI reads with OpenCV), for
tests/unit/test_image_decode.c.

    image_refs.py OUTDIR

Each reference comes from an independent decoder or from the pixels the
file was written from: PIL for PNG and TIFF written by PIL, the array
itself for files written here byte by byte (16-bit colour PNG and TIFF,
which PIL cannot write) or by netpbm's pnmtopng (interlaced PNG), djpeg (libjpeg-turbo-progs) for JPEG, tiffcp
(libtiff-tools) for the TIFF variants (compression, tiles, planes, byte
order). OUTDIR/manifest.txt lists one case per line:
    ok FILE GRAY C H W REF     REF: float32 [C, H, W] (BGR or gray), raw little-endian
    err FILE GRAY TEXT         decoding must fail with TEXT in the message
"""
import os
import struct
import subprocess
import sys
import zlib

import numpy as np
from PIL import Image

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(12345)
lines = []


def p(name):
    return os.path.join(out, name)


def ok(name, gray, chw):
    chw = np.asarray(chw, dtype=np.float32)
    ref = name + (".g" if gray else ".c") + ".f32"
    chw.astype("<f4").tofile(p(ref))
    c, h, w = chw.shape
    lines.append(f"ok {name} {gray} {c} {h} {w} {ref}")


def err(name, gray, text):
    lines.append(f"err {name} {gray} {text}")


def scale(a):
    """Samples to floats in [0, 1] as the loader divides them."""
    m = 65535 if a.dtype == np.uint16 else 255
    return a.astype(np.float32) / np.float32(m)


def bgr_chw(rgb):
    """[H, W, 3] RGB -> [3, H, W] BGR."""
    return np.ascontiguousarray(rgb[:, :, ::-1].transpose(2, 0, 1))


def gray3(g):
    return np.stack([g, g, g])


def luma_cv(rgb):
    """OpenCV's cvtColor RGB->gray: 14-bit fixed point, rounded."""
    r, g, b = (rgb[..., k].astype(np.int64) for k in range(3))
    return ((b * 1868 + g * 9617 + r * 4899 + (1 << 13)) >> 14).astype(rgb.dtype)


def luma_png(rgb):
    """libpng's rgb_to_gray with OpenCV's weights (0.299, 0.587): 15-bit
    fixed point, truncated at 8 bits and rounded at 16; gray pixels pass."""
    r, g, b = (rgb[..., k].astype(np.int64) for k in range(3))
    rc, gc = 29900 * 32768 // 100000, 58700 * 32768 // 100000
    bc = 32768 - rc - gc
    y = rc * r + gc * g + bc * b
    y = y >> 15 if rgb.dtype == np.uint8 else (y + 16384) >> 15
    y = np.where((r == g) & (g == b), r, y)
    return y.astype(rgb.dtype)


def both(name, rgb, png=False):
    """Colour and gray references of an RGB image [H, W, 3]."""
    ok(name, 0, scale(bgr_chw(rgb)))
    ok(name, 1, scale((luma_png if png else luma_cv)(rgb))[None])


def gray_both(name, g):
    ok(name, 0, gray3(scale(g)))
    ok(name, 1, scale(g)[None])


# ---------------- PNG ----------------
def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def write_png(name, a, color_type):
    """A PNG written byte by byte from a (uint8 or uint16, [H, W] or [H, W, C])."""
    h, w = a.shape[:2]
    depth = 16 if a.dtype == np.uint16 else 8
    raw = a.astype(">u2" if depth == 16 else "u1").reshape(h, -1).tobytes()
    row = len(raw) // h
    data = b"".join(b"\0" + raw[y * row:(y + 1) * row] for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 0)
    with open(p(name), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(data))
                + png_chunk(b"IEND", b""))


def pil_png(name, a, mode):
    Image.fromarray(a, mode).save(p(name))
    back = np.asarray(Image.open(p(name)))
    assert np.array_equal(back, a), name  # PIL reads back what it wrote
    return back


H, W = 23, 37
g8 = rng.integers(0, 256, (H, W), dtype=np.uint8)
rgb8 = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
rgb8[0, :5] = [[9, 9, 9], [0, 0, 0], [255, 255, 255], [1, 2, 3], [255, 254, 253]]  # gray pixels and extremes
a8 = rng.integers(0, 256, (H, W), dtype=np.uint8)
g16 = rng.integers(0, 65536, (H, W), dtype=np.uint16)
g16[0, :3] = [0, 65535, 257]
rgb16 = rng.integers(0, 65536, (H, W, 3), dtype=np.uint16)
rgb16[0, :2] = [[7, 7, 7], [65535, 0, 1]]
a16 = rng.integers(0, 65536, (H, W), dtype=np.uint16)

gray_both("gray8.png", pil_png("gray8.png", g8, "L"))
gray_both("gray_alpha8.png", pil_png("gray_alpha8.png", np.dstack([g8, a8]), "LA")[:, :, 0])
both("rgb8.png", pil_png("rgb8.png", rgb8, "RGB"), png=True)
both("rgba8.png", pil_png("rgba8.png", np.dstack([rgb8, a8]), "RGBA")[:, :, :3], png=True)
# palette, and palette with transparency (tRNS): alpha is dropped, never blended
pal = Image.fromarray(rgb8, "RGB").quantize(colors=50)
pal.save(p("palette.png"))
both("palette.png", np.asarray(Image.open(p("palette.png")).convert("RGB")), png=True)
pal.save(p("palette_trns.png"), transparency=3)
assert "transparency" in Image.open(p("palette_trns.png")).info
both("palette_trns.png", np.asarray(pal.convert("RGB")), png=True)
# 1-bit gray: 0 and 255
bits = rng.integers(0, 2, (H, W)).astype(bool)
Image.fromarray(bits).save(p("bilevel.png"))
gray_both("bilevel.png", np.where(bits, 255, 0).astype(np.uint8))
# 16-bit: PIL writes gray only; the colour kinds are written here
img = Image.fromarray(g16.astype(np.uint16))
img.save(p("gray16.png"))
assert np.array_equal(np.asarray(Image.open(p("gray16.png"))).astype(np.uint16), g16)
gray_both("gray16.png", g16)
write_png("gray_alpha16.png", np.dstack([g16, a16]), 4)
gray_both("gray_alpha16.png", g16)
write_png("rgb16.png", rgb16, 2)
both("rgb16.png", rgb16, png=True)
write_png("rgba16.png", np.dstack([rgb16, a16]), 6)
both("rgba16.png", rgb16, png=True)
# interlaced (Adam7), written by netpbm's pnmtopng from PPM/PGM files written here
def pnm(name, a):
    mx = 65535 if a.dtype == np.uint16 else 255
    magic = b"P6" if a.ndim == 3 else b"P5"
    with open(p(name), "wb") as f:
        f.write(magic + b"\n%d %d\n%d\n" % (a.shape[1], a.shape[0], mx) + a.astype(">u2" if mx > 255 else "u1").tobytes())


for name, a in (("interlaced_rgb8.png", rgb8), ("interlaced_rgb16.png", rgb16), ("interlaced_gray8.png", g8)):
    pnm(name + ".pnm", a)
    with open(p(name), "wb") as f:
        subprocess.run(["pnmtopng", "-interlace", p(name + ".pnm")], check=True, stdout=f, stderr=subprocess.DEVNULL)
    assert open(p(name), "rb").read()[28] == 1  # IHDR's interlace method: Adam7
    os.remove(p(name + ".pnm"))
    (gray_both(name, a) if a.ndim == 2 else both(name, a, png=True))
# bad PNGs
data = open(p("rgb8.png"), "rb").read()
open(p("trunc.png"), "wb").write(data[:len(data) // 2])
err("trunc.png", 0, "corrupt PNG")
bad = bytearray(data)
bad[60] ^= 0xFF  # inside IDAT: its CRC no longer matches
open(p("badcrc.png"), "wb").write(bytes(bad))
err("badcrc.png", 0, "corrupt PNG")

# ---------------- JPEG ----------------
def djpeg(name, gray):
    """libjpeg-turbo's own decoder: [H, W, 3] RGB or [H, W] gray."""
    args = ["djpeg", "-pnm"] + (["-grayscale"] if gray else []) + [p(name)]
    ppm = subprocess.run(args, check=True, capture_output=True).stdout
    # header: 4 tokens, each followed by one whitespace byte; the pixels may start with "whitespace"
    tokens, at = [], 0
    while len(tokens) < 4:
        end = at
        while ppm[end:end + 1] not in (b" ", b"\n", b"\t", b"\r"):
            end += 1
        if end > at:
            tokens.append(ppm[at:end])
        at = end + 1
    magic, w, h, mx = tokens
    body = ppm[at:]
    assert int(mx) == 255
    a = np.frombuffer(body, dtype=np.uint8)
    return a.reshape(int(h), int(w), 3) if magic == b"P6" else a.reshape(int(h), int(w))


def jpeg_case(name, turn=lambda a: a):
    rgb = turn(djpeg(name, 0))
    ok(name, 0, scale(bgr_chw(rgb)) if rgb.ndim == 3 else gray3(scale(rgb)))
    ok(name, 1, scale(turn(djpeg(name, 1)))[None])


smooth = (np.linspace(0, 1, W)[None, :, None] * np.linspace(0.2, 1, H)[:, None, None]
          * np.array([255, 180, 90])).astype(np.uint8)
photo = np.clip(smooth.astype(int) + rng.integers(-20, 21, (H, W, 3)), 0, 255).astype(np.uint8)
Image.fromarray(photo).save(p("rgb420.jpg"), quality=90)
jpeg_case("rgb420.jpg")
Image.fromarray(photo).save(p("rgb444.jpg"), quality=95, subsampling=0)
jpeg_case("rgb444.jpg")
Image.fromarray(photo).save(p("progressive.jpg"), quality=85, progressive=True)
jpeg_case("progressive.jpg")
Image.fromarray(g8).save(p("gray.jpg"), quality=90)
jpeg_case("gray.jpg")
# EXIF orientation: turned upright as OpenCV does (6: rotate 90 clockwise, 3: 180, 8: 90 counter-clockwise)
for o, turn in ((6, lambda a: np.rot90(a, -1)), (3, lambda a: np.rot90(a, 2)), (8, lambda a: np.rot90(a, 1)),
                (2, lambda a: a[:, ::-1]), (5, lambda a: np.swapaxes(a, 0, 1))):
    ex = Image.Exif()
    ex[0x0112] = o
    Image.fromarray(photo).save(p(f"exif{o}.jpg"), quality=90, exif=ex.tobytes())
    jpeg_case(f"exif{o}.jpg", lambda a, t=turn: np.ascontiguousarray(t(a)))
# CMYK (Adobe, stored inverted): OpenCV's formula on libjpeg's raw values, which are 255 - PIL's
cmyk = rng.integers(0, 256, (H, W, 4), dtype=np.uint8)
Image.fromarray(cmyk, "CMYK").save(p("cmyk.jpg"), quality=95)
raw = 255 - np.asarray(Image.open(p("cmyk.jpg"))).astype(np.int64)
k = raw[..., 3]
c, m, y = (k - (((255 - raw[..., i]) * k) >> 8) for i in range(3))
cm_rgb = np.dstack([c, m, y]).astype(np.uint8)
ok("cmyk.jpg", 0, scale(bgr_chw(cm_rgb)))
ok("cmyk.jpg", 1, scale(luma_cv(cm_rgb))[None])
assert np.abs(cm_rgb.astype(int) - djpeg("cmyk.jpg", 0).astype(int)).max() <= 3  # djpeg's own CMYK->RGB is close
# bad JPEGs
data = open(p("rgb420.jpg"), "rb").read()
open(p("trunc.jpg"), "wb").write(data[:len(data) * 2 // 3])
err("trunc.jpg", 0, "truncated JPEG")
open(p("header_only.jpg"), "wb").write(data[:40])
err("header_only.jpg", 1, "JPEG")


# ---------------- TIFF ----------------
def write_tiff(name, a, photometric, extra=0, fmt=1, planar=False, tile=0):
    """An uncompressed little-endian TIFF written byte by byte: one strip
    (or tile x tile tiles), of all samples, or with planar=True of one
    sample each (planes stored apart)."""
    h, w = a.shape[:2]
    spp = 1 if a.ndim == 2 else a.shape[2]
    bps = a.dtype.itemsize * 8
    le = a.astype(a.dtype.newbyteorder("<")).reshape(h, w, spp)
    planes = [le[:, :, k:k + 1] for k in range(spp)] if planar else [le]
    if tile:
        th, tw = -(-h // tile), -(-w // tile)
        blocks = []
        for pl in planes:
            pad = np.zeros((th * tile, tw * tile, pl.shape[2]), pl.dtype)
            pad[:h, :w] = pl
            blocks += [pad[y * tile:(y + 1) * tile, x * tile:(x + 1) * tile].tobytes()
                       for y in range(th) for x in range(tw)]
        layout = [(322, 4, [tile]), (323, 4, [tile]), (324, 4, [0] * len(blocks)), (325, 4, [len(b) for b in blocks])]
    else:
        blocks = [pl.tobytes() for pl in planes]
        layout = [(273, 4, [0] * len(blocks)), (278, 4, [h]), (279, 4, [len(b) for b in blocks])]
    tags = [(256, 4, [w]), (257, 4, [h]), (258, 3, [bps] * spp), (259, 3, [1]), (262, 3, [photometric]),
            (277, 3, [spp]), (284, 3, [2 if planar else 1])] + layout
    if extra:
        tags.append((338, 3, [2] * extra))  # unassociated alpha
    tags.append((339, 3, [fmt] * spp))
    tags.sort()

    def pack(typ, vals):
        return b"".join(struct.pack("<H" if typ == 3 else "<I", v) for v in vals)

    ext_at = 8 + 2 + 12 * len(tags) + 4  # values over 4 bytes go after the IFD, then the pixels
    data_at = ext_at + sum(len(pack(t, v)) for _, t, v in tags if len(pack(t, v)) > 4)
    offsets = [data_at + sum(len(b) for b in blocks[:k]) for k in range(len(blocks))]
    body, ext = b"", b""
    for tag, typ, vals in tags:
        packed = pack(typ, offsets if tag in (273, 324) else vals)
        if len(packed) > 4:
            body += struct.pack("<HHII", tag, typ, len(vals), ext_at + len(ext))
            ext += packed
        else:
            body += struct.pack("<HHI", tag, typ, len(vals)) + packed.ljust(4, b"\0")
    with open(p(name), "wb") as f:
        f.write(b"II*\0" + struct.pack("<IH", 8, len(tags)) + body + b"\0\0\0\0" + ext + b"".join(blocks))


def tiff_variants(name, refs):
    """name re-written by tiffcp: compressed, tiled, several strips, big-endian."""
    base = name[:-4]
    for tag, args in (("lzw", ["-c", "lzw"]), ("zip", ["-c", "zip"]), ("packbits", ["-c", "packbits"]),
                      ("tiled", ["-t", "-w", "16", "-l", "16"]), ("strips", ["-r", "5"]), ("bigendian", ["-B"])):
        v = f"{base}_{tag}.tif"
        subprocess.run(["tiffcp"] + args + [p(name), p(v)], check=True, capture_output=True)
        refs(v)


for name, a, photo, extra in (("gray8.tif", g8, 1, 0), ("gray16.tif", g16, 1, 0),
                              ("gray_alpha8.tif", np.dstack([g8, a8]), 1, 1),
                              ("rgb8.tif", rgb8, 2, 0), ("rgb16.tif", rgb16, 2, 0),
                              ("rgba8.tif", np.dstack([rgb8, a8]), 2, 1), ("rgba16.tif", np.dstack([rgb16, a16]), 2, 1)):
    write_tiff(name, a, photo, extra)
    if photo == 1:
        refs = lambda v, g=(a if a.ndim == 2 else a[:, :, 0]): gray_both(v, g)
    else:
        refs = lambda v, c=a[:, :, :3]: both(v, c)
    refs(name)
    tiff_variants(name, refs)
    # tiles and planes written here too (tiffcp garbles 16-bit planes into tiles)
    write_tiff(name[:-4] + "_tiles16.tif", a, photo, extra, tile=16)
    refs(name[:-4] + "_tiles16.tif")
    if a.ndim == 3:  # one plane per sample, in strips and in tiles
        write_tiff(name[:-4] + "_planar.tif", a, photo, extra, planar=True)
        refs(name[:-4] + "_planar.tif")
        write_tiff(name[:-4] + "_planar_tiles.tif", a, photo, extra, planar=True, tile=16)
        refs(name[:-4] + "_planar_tiles.tif")
        if a.dtype == np.uint8:
            v = name[:-4] + "_planar_lzw.tif"
            subprocess.run(["tiffcp", "-t", "-w", "16", "-l", "16", "-c", "lzw", p(name[:-4] + "_planar.tif"), p(v)],
                           check=True, capture_output=True)
            refs(v)
    if a.dtype == np.uint8:  # PIL, an independent reader, agrees on the 8-bit ones
        pil = np.asarray(Image.open(p(name)))
        assert np.array_equal(pil, a), name
# written by PIL: palette and 1-bit (through libtiff's RGBA path)
pal.save(p("palette.tif"))
both("palette.tif", np.asarray(Image.open(p("palette.tif")).convert("RGB")))
Image.fromarray(bits).save(p("bilevel.tif"))
gray_both("bilevel.tif", np.where(bits, 255, 0).astype(np.uint8))
Image.fromarray(rgb8).save(p("pil_rgb.tif"), compression="tiff_deflate")
both("pil_rgb.tif", rgb8)
# bad TIFFs
data = open(p("rgb8_lzw.tif"), "rb").read()
open(p("trunc.tif"), "wb").write(data[:len(data) // 2])
err("trunc.tif", 0, "corrupt TIFF")
write_tiff("float.tif", rng.random((4, 5)).astype(np.float32), 1, fmt=3)
err("float.tif", 0, "floating-point")
write_tiff("mask_photometric.tif", g8, 4)  # a transparency mask: no picture libtiff can render
err("mask_photometric.tif", 0, "a TIFF whose pixels brisk cannot read")
# a header claiming 60000 x 60000 pixels over a few bytes of data
write_tiff("huge.tif", g8[:2, :2], 1)
huge = bytearray(open(p("huge.tif"), "rb").read())
for tag in (256, 257):  # ImageWidth, ImageLength: LONG values in their IFD entries
    at = huge.index(struct.pack("<HHI", tag, 4, 1))
    huge[at + 8:at + 12] = struct.pack("<I", 60000)
open(p("huge.tif"), "wb").write(bytes(huge))
err("huge.tif", 1, "more than the 1073741824 brisk decodes")

# ---------------- not images ----------------
open(p("empty.jpg"), "wb").close()
err("empty.jpg", 0, "the file is empty")
open(p("text.png"), "w").write("not an image\n")
err("text.png", 0, "not a PNG, JPEG or TIFF")
Image.fromarray(rgb8).save(p("picture.bmp"))
err("picture.bmp", 0, "a BMP image")

with open(p("manifest.txt"), "w") as f:
    f.write("\n".join(lines) + "\n")
print(f"{len(lines)} cases in {out}")
