#!/usr/bin/env bash
# The scientific examples' data simulators and evaluators (examples/*/):
# seeded runs give byte-identical files; datasets have the documented
# names, types, shapes and value ranges; the classic baselines score where
# they should; and each evaluator scores a perfect and a deliberately wrong
# prediction file as it must (so their figures can be trusted).
. "$(dirname "$0")/lib.sh"
EX="$(dirname "$BIN")/examples"
D=$(fresh_dir example_simulators)
cd "$D" || exit 1

for prog in braggnn_sim braggnn_eval cookie_sim cookie_eval unet_sim unet_eval; do
  [ -x "$EX/$prog" ] || { fail "$EX/$prog not built"; finish; exit 1; }
done

sim() { # name program args...: run a simulator twice, compare the files
  local name=$1 prog=$2; shift 2
  if "$EX/$prog" --out="$name.h5" "$@" >/dev/null && "$EX/$prog" --out="${name}_again.h5" "$@" >/dev/null; then
    cmp -s "$name.h5" "${name}_again.h5" && ok "$prog: same seed, byte-identical file" \
      || fail "$prog: the same seed gave different files"
  else
    fail "$prog $* failed"
  fi
}
sim bragg braggnn_sim --n=3000 --seed=4
sim cookie cookie_sim --n=40 --seed=4
sim shapes unet_sim --n=100 --seed=4
"$EX/braggnn_sim" --out=bragg_other.h5 --n=3000 --seed=5 >/dev/null
cmp -s bragg.h5 bragg_other.h5 && fail "braggnn_sim: another seed gave the same file" || ok "braggnn_sim: seeds differ"
"$EX/braggnn_sim" --n=3 >/dev/null 2>&1 && fail "braggnn_sim without --out succeeded" || ok "braggnn_sim without --out: usage error"

# contents, and prediction files for the evaluators: perfect and wrong ones
"$PY" - <<'PY' && ok "datasets: names, types, shapes, ranges" || fail "datasets (see above)"
import h5py, numpy as np
with h5py.File("bragg.h5") as f:
    x, y = f["patches"][:], f["centers"][:]
    assert x.shape == (3000, 11, 11, 1) and x.dtype == np.float32, x.shape
    assert y.shape == (3000, 2) and np.all(x.min((1, 2, 3)) == 0) and np.all(x.max((1, 2, 3)) == 1)
    # true centre within half a pixel (+-1 px shift) of the patch centre
    assert np.all(np.abs(y * 11 - 5) <= 1.5 + 1e-5), (y * 11).min()
    for k, t in (("peak_fidx", np.uint32), ("npeaks", np.uint16), ("peak_row", np.float32),
                 ("peak_col", np.float32), ("deviations", np.float32)):
        assert f[k].dtype == t and f[k].shape == (3000,), k
    npk = f["npeaks"][:]   # crowded frames: about half the patches hold a neighbour's tail
    assert set(np.unique(npk)) == {1, 2} and 0.4 < (npk == 2).mean() < 0.6, (npk == 2).mean()
    org = f["patch_origin"][:]
    assert np.allclose(f["peak_row"][:] - org[:, 0], y[:, 0] * 11, atol=1e-3)
    assert np.allclose(f["deviations"][:], np.hypot(*(y * 11 - 5).T), atol=1e-4)
    with h5py.File("bragg_perfect.h5", "w") as g:
        g["output"] = y
    with h5py.File("bragg_shifted.h5", "w") as g:
        g["output"] = y + np.float32(1 / 11) * np.array([1, 0], np.float32)   # 1 px off in rows
with h5py.File("cookie.h5") as f:
    X, Y = f["Ximg"][:], f["Ypdf"][:]
    assert X.dtype == np.uint8 and Y.dtype == np.float32 and X.shape == Y.shape == (40, 128, 128)
    assert np.allclose(Y.max((1, 2)), 1) and Y.min() > 0
    hits = X.reshape(40, -1).sum(1)
    assert 1300 < hits.mean() < 1700, hits.mean()   # Poisson(1500) hits
    assert 25 <= f["kick"][:].min() and f["kick"][:].max() <= 35
    # the hits follow the density: most land where Ypdf is high
    assert (X * (Y > 0.2)).sum() > 0.6 * X.sum()
    with h5py.File("cookie_perfect.h5", "w") as g:
        g["output"] = Y[:, None]
with h5py.File("shapes.h5") as f:
    im, m, oh = f["images"][:], f["masks"][:], f["masks_onehot"][:]
    assert im.shape == (100, 64, 64, 1) and m.shape == (100, 64, 64) and oh.shape == (100, 4, 64, 64)
    assert set(np.unique(m)) == {0, 1, 2, 3} and np.all(oh.argmax(1) == m) and np.all(oh.sum(1) == 1)
    assert im[..., 0][m > 0].mean() > im[..., 0][m == 0].mean() + 0.2
    with h5py.File("shapes_perfect.h5", "w") as g:
        g["output"] = np.log(np.clip(oh.astype(np.float32), 1e-6, 1))
    with h5py.File("shapes_perfect_last.h5", "w") as g:   # channels_last is read too
        g["output"] = np.log(np.clip(oh.transpose(0, 2, 3, 1).astype(np.float32), 1e-6, 1))
    wrong = np.roll(oh, 1, axis=1)                      # every class renamed
    with h5py.File("shapes_wrong.h5", "w") as g:
        g["output"] = np.log(np.clip(wrong.astype(np.float32), 1e-6, 1))
PY

# num LABEL FIELD OUTPUT: the number after FIELD on the line starting with LABEL
num() { grep -F -- "$1" <<<"$3" | sed -n "s/.*$2 \([0-9.e+-]*\).*/\1/p" | head -1; }
in_range() { "$PY" -c "import sys; v=float('$1'); sys.exit(0 if $2 <= v <= $3 else 1)" 2>/dev/null; }

out=$("$EX/braggnn_eval" --test=bragg.h5 --pred=bragg_perfect.h5) || fail "braggnn_eval failed"
echo "$out"
med=$(num "centroid" "median" "$out"); p95=$(num "centroid" "95%" "$out")
in_range "$med" 0.15 0.6 && ok "centroid baseline median error $med px" || fail "centroid median error $med px"
in_range "$p95" 0.8 2.5 && ok "centroid baseline 95th percentile $p95 px" || fail "centroid 95% $p95 px"
bgmed=$(num "centroid - background" "median" "$out")
"$PY" -c "import sys; sys.exit(0 if 0 < $bgmed < $med else 1)" && ok "background-subtracted centroid ($bgmed px) beats the plain one" \
  || fail "background-subtracted centroid median $bgmed px vs plain $med px"
in_range "$(num "BraggNN" "95%" "$out")" 0 1e-5 && ok "braggnn_eval: exact predictions score 0 px" \
  || fail "braggnn_eval: exact predictions: $out"
out=$("$EX/braggnn_eval" --test=bragg.h5 --pred=bragg_shifted.h5)
in_range "$(num "BraggNN" "median" "$out")" 0.999 1.001 && ok "braggnn_eval: a 1 px offset scores 1 px" \
  || fail "braggnn_eval: 1 px offset: $out"
"$EX/braggnn_eval" --test=bragg.h5 --pred=cookie_perfect.h5 >/dev/null 2>&1 \
  && fail "braggnn_eval accepted predictions of another shape" || ok "braggnn_eval: mismatched predictions rejected"

out=$("$EX/cookie_eval" --test=cookie.h5 --pred=cookie_perfect.h5) || fail "cookie_eval failed"
echo "$out"
zero=$(num "all-zero" "MSE" "$out"); base=$(num "smoothed" "MSE" "$out")
"$PY" -c "import sys; sys.exit(0 if $base < 0.5 * $zero else 1)" && ok "smoothed-input baseline ($base) well below all-zero ($zero)" \
  || fail "smoothed baseline $base vs all-zero $zero"
in_range "$(num "CookieNetAE" "MSE" "$out")" 0 1e-12 && ok "cookie_eval: the true density scores MSE 0" \
  || fail "cookie_eval: perfect prediction: $out"

out=$("$EX/unet_eval" --test=shapes.h5 --pred=shapes_perfect.h5) || fail "unet_eval failed"
echo "$out"
in_range "$(num "threshold" "Dice" "$out")" 0.5 0.98 && ok "threshold baseline finds the shapes, imperfectly" \
  || fail "threshold baseline: $out"
in_range "$(num "mean Dice" "classes:" "$out")" 0.9999 1 && ok "unet_eval: the true masks score Dice 1" \
  || fail "unet_eval: perfect prediction: $out"
out=$("$EX/unet_eval" --test=shapes.h5 --pred=shapes_perfect_last.h5)
in_range "$(num "mean Dice" "classes:" "$out")" 0.9999 1 && ok "unet_eval: channels_last predictions read too" \
  || fail "unet_eval: channels_last perfect prediction: $out"
out=$("$EX/unet_eval" --test=shapes.h5 --pred=shapes_wrong.h5)
in_range "$(num "mean Dice" "classes:" "$out")" 0 0.01 && ok "unet_eval: renamed classes score Dice 0" \
  || fail "unet_eval: wrong classes: $out"
finish
