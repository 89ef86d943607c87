#!/usr/bin/env bash
# Installs every Debian package brisk needs to build, train and test.
# (Open MPI: data-parallel runs under mpirun; see the README.)
# Idempotent: packages already present are skipped quietly.
#   scripts/install-deps.sh          build + runtime + example data
#   scripts/install-deps.sh --test   also the test oracles (PyTorch, numpy, h5py, OpenCV; PIL, djpeg,
#                                    tiffcp and pnmtopng for the image decoders) and
#                                    headless Chromium for the hub's web-page test
#   scripts/install-deps.sh --bench  also the hub benchmark's load generator and
#                                    reference server (wrk, nginx)
set -euo pipefail

BUILD_PKGS="build-essential cmake pkg-config libdnnl-dev libopenblas-openmp-dev
  libhdf5-dev libjansson-dev zlib1g-dev libzip-dev dataset-fashion-mnist
  libmicrohttpd-dev libsqlite3-dev libssl-dev libcurl4-openssl-dev libopenmpi-dev openmpi-bin
  libpng-dev libjpeg62-turbo-dev libtiff-dev"
TEST_PKGS="python3 python3-torch python3-numpy python3-h5py python3-opencv curl chromium
  python3-pil libjpeg-turbo-progs libtiff-tools netpbm"
BENCH_PKGS="wrk nginx curl"

pkgs="$BUILD_PKGS"
for a in "$@"; do
  case "$a" in
    --test) pkgs="$pkgs $TEST_PKGS" ;;
    --bench) pkgs="$pkgs $BENCH_PKGS" ;;
    *) echo "usage: $0 [--test] [--bench]" >&2; exit 2 ;;
  esac
done

missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
