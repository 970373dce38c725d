#!/usr/bin/env bash
# Set up emote on a Debian/Ubuntu machine with Python 3.11, then animate the bundled example.
#
#   ./setup.sh            system packages (apt, needs root or sudo), .venv with emote, demo into out/
#   ./setup.sh --no-demo  the same without the demo
#   ./setup.sh --blender  also Blender 4.2 LTS and 5.0 as Python modules (bpy, about 1 GB each) in
#                         $EMOTE_CACHE_DIR/bpy-4.2 and bpy-5.0, for the add-on's tests
#
# Environment: PYTHON (default python3.11), EMOTE_CACHE_DIR (default ~/.cache/emote: built wheels
# such as PyTorch3D are kept there so later set-ups take seconds), EMOTE_SKIP_APT=1 to skip apt.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3.11}
CACHE=${EMOTE_CACHE_DIR:-$HOME/.cache/emote}
DEMO=1
BLENDER=0
for arg in "$@"; do
  case "$arg" in
    --no-demo) DEMO=0 ;;
    --blender) BLENDER=1 ;;
    *) echo "usage: ./setup.sh [--no-demo] [--blender]" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# -- system packages: audio decoding/encoding, headless OpenGL (Mesa EGL), and the TTS voices
# the data engine speaks with (espeak-ng, flite, festival) ---------------------------------------
APT_PACKAGES=(ffmpeg libsndfile1 libegl1 libegl-mesa0 libgl1-mesa-dri espeak-ng
              flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts
              libportaudio2 chromium nodejs)
# libportaudio2: `emote stream mic`; chromium: the browser test of `emote serve`; nodejs (+ npm): three.js
missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [[ ${#missing[@]} -gt 0 && "${EMOTE_SKIP_APT:-0}" != 1 ]]; then
  say "installing system packages: ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v npm >/dev/null 2>&1 && [[ "${EMOTE_SKIP_APT:-0}" != 1 ]]; then
  # Debian's nodejs comes without npm; NodeSource's includes it (and conflicts with Debian's npm).
  say "installing npm (three.js and the glTF validator come from the npm registry)"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq npm >/dev/null
fi

# -- the Khronos glTF validator (npm gltf-validator): the tests check every GLB emote writes with
# it; kept in $CACHE/gltf-validator ----------------------------------------------------------------
GLTF_VALIDATOR_VERSION=2.0.0-dev.3.10
if command -v npm >/dev/null 2>&1 && [[ ! -f "$CACHE/gltf-validator/node_modules/gltf-validator/package.json" ]]; then
  say "installing the Khronos glTF validator $GLTF_VALIDATOR_VERSION into $CACHE/gltf-validator"
  mkdir -p "$CACHE/gltf-validator"
  npm install --silent --no-audit --no-fund --prefix "$CACHE/gltf-validator" \
    "gltf-validator@$GLTF_VALIDATOR_VERSION" >/dev/null
fi

# -- Python environment ------------------------------------------------------------------------
if [[ ! -x .venv/bin/python ]]; then
  say "creating .venv with $PYTHON"
  "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip -q --disable-pip-version-check)
"${PIP[@]}" install --upgrade pip
# torch pinned: on this project's machines torch==2.13.0 resolves to the CPU build.
say "installing torch 2.13.0"
"${PIP[@]}" install "torch==2.13.0"
say "installing emote"
"${PIP[@]}" install -e ".[render,dev,live]"

# -- three.js for `emote serve`'s page, from the npm registry into an ignored folder, served locally
# (the page never loads anything from a CDN).
THREE_VERSION=0.170.0
if [[ ! -f emote/stream/web/node_modules/three/build/three.module.js ]]; then
  say "installing three.js $THREE_VERSION for emote serve"
  npm install --silent --no-audit --no-fund --no-save --prefix emote/stream/web "three@$THREE_VERSION"
fi

# -- PyTorch3D (the CUDA/differentiable renderer): no Linux package in the registry, so build it once
# against the installed torch and keep the wheel in $CACHE/wheels (about 30 CPU-minutes the first time).
PYTORCH3D_COMMIT=9381c4016376345bb795b97c45a6c2de66db354a
if ! .venv/bin/python -c "import torch, pytorch3d._C" >/dev/null 2>&1; then
  mkdir -p "$CACHE/wheels"
  wheel=$(ls "$CACHE"/wheels/pytorch3d-*-cp311-*.whl 2>/dev/null | head -n 1 || true)
  if [[ -z "$wheel" ]]; then
    archive=$(ls ../shared/vendor/pytorch3d-*.tar.gz 2>/dev/null | head -n 1 || true)
    src=${archive:-"git+https://github.com/facebookresearch/pytorch3d.git@$PYTORCH3D_COMMIT"}
    say "building PyTorch3D from $src (once; about 30 minutes on 2 cores)"
    "${PIP[@]}" install iopath
    MAX_JOBS=${MAX_JOBS:-$(nproc)} .venv/bin/python -m pip wheel -q --no-build-isolation --no-deps \
      -w "$CACHE/wheels" "$src"
    wheel=$(ls "$CACHE"/wheels/pytorch3d-*-cp311-*.whl | head -n 1)
  fi
  say "installing PyTorch3D from $wheel"
  "${PIP[@]}" install iopath "$wheel"
fi

# -- Blender as a Python module, for the add-on's tests (oldest LTS and newest for Python 3.11) ------
if [[ $BLENDER == 1 ]]; then
  for spec in "4.2|bpy==4.2.*|numpy<2" "5.0|bpy==5.0.*|"; do
    IFS='|' read -r version req extra <<<"$spec"
    venv="$CACHE/bpy-$version"
    if ! "$venv/bin/python" -c "import bpy" >/dev/null 2>&1; then
      say "installing Blender $version (bpy) into $venv"
      "$PYTHON" -m venv "$venv"
      "$venv/bin/python" -m pip -q --disable-pip-version-check install "$req" ${extra:+"$extra"}
    fi
  done
fi

if [[ $DEMO == 1 ]]; then
  say "animating examples/hello.wav (happy) into out/: curves, out/hello.mp4, out/hello.png"
  .venv/bin/emote animate examples/hello.wav --emotion happy --intensity 0.8 --render --preview-png -o out
fi
say "done: run the tests with  .venv/bin/python -m pytest"
