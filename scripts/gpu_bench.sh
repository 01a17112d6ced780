#!/usr/bin/env bash
# One prepared GPU run (issue 13, section 3): tsdeq's deq_step bench on WebGPU (model on webgpu,
# and a wasm model with offload 'webgpu'), the wasm deq_step (the other side of the offload
# crossover), and TorchDEQ on CUDA (scripts/gpu/bench_torchdeq_cuda.py), in one command on a
# machine that has a GPU but no Node, no npm and no network.
#
#   scripts/gpu_bench.sh prepare TORCHDEQ_SRC   # here (a build machine with npm, apt and xz):
#                                               # packs everything into .gpu_bench/ (git-ignored)
#   scripts/gpu_bench.sh run [--cpu-adapter] [--quick] [--no-torch]
#                                               # there: unpacks and runs; results go to $OUT
#                                               # (or /tmp/gpu_bench_out)
#
# `prepare` builds the bench bundle (build/bench.js with the wasm kernels), copies it with npm
# `webgpu` (only its linux-x64 dawn.node), an xz-compressed copy of this machine's `node`
# binary, TorchDEQ's python package from TORCHDEQ_SRC (a checkout holding torchdeq/), and the
# Vulkan loader (Debian's libvulkan1, downloaded with apt-get) into .gpu_bench/ (about 40 MB).
# On the device machine (see /work/.library/device/README.md), with a few minutes left:
#   run(command="bash scripts/gpu_bench.sh run", carry=[".gpu_bench"], timeout_s=560)
# `run` unpacks node and dawn.node to /tmp, installs the Vulkan loader when the machine has none,
# points the loader at the NVIDIA ICD, prints the adapter, and runs, each under its own time
# limit: deq_step --backend webgpu, deq_step --offload, deq_step on wasm, and TorchDEQ CUDA at
# (d, B) = (256, 64), (1024, 64), (1024, 4096). Every output lands in $OUT as JSON and a log;
# summary.md puts tsdeq webgpu next to TorchDEQ CUDA.
# `--cpu-adapter` runs the same path on this machine's SwiftShader (CPU) adapter with --quick
# sizes and TorchDEQ on the CPU: a check of the script, never GPU speed (the tables say so).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PK="$ROOT/.gpu_bench"
cmd=${1:-}
shift || true

prepare() {
  local tsrc=${1:-${TORCHDEQ_SRC:-}}
  [ -n "$tsrc" ] && [ -d "$tsrc/torchdeq" ] || { echo "gpu_bench prepare: give TORCHDEQ_SRC (a folder holding torchdeq/)" >&2; exit 2; }
  cd "$ROOT"
  local ex
  ex=$(git rev-parse --git-path info/exclude)
  mkdir -p "$(dirname "$ex")"
  grep -qx '/.gpu_bench/' "$ex" 2>/dev/null || echo '/.gpu_bench/' >> "$ex"
  rm -rf "$PK" && mkdir -p "$PK/build/wasm" "$PK/node_modules/webgpu/dist/linux-x64" "$PK/debs" "$PK/torchdeq_src"
  [ -f build/wasm/tsdeq-relaxed.wasm ] || npm run build:wasm
  npm run build:bench
  cp build/bench.js "$PK/build/"
  cp build/wasm/*.wasm "$PK/build/wasm/"
  cp node_modules/webgpu/index.js node_modules/webgpu/package.json "$PK/node_modules/webgpu/"
  xz -T0 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node > "$PK/node_modules/webgpu/dist/linux-x64/dawn.node.xz"
  xz -T0 -6 -c "$(readlink -f "$(command -v node)")" > "$PK/node.xz"
  cp -r "$tsrc/torchdeq" "$PK/torchdeq_src/"
  find "$PK/torchdeq_src" -name __pycache__ -prune -exec rm -rf {} +
  local o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/gpu_bench_apt'
  mkdir -p /tmp/gpu_bench_apt/partial
  # shellcheck disable=SC2086
  apt-get $o update -qq && (cd "$PK/debs" && apt-get $o download libvulkan1) || echo "gpu_bench prepare: could not download libvulkan1 (the run then needs a machine with a Vulkan loader)" >&2
  du -sh "$PK"
}

run() {
  local cpu=0 quick=() torch=1
  for a in "$@"; do
    case "$a" in
      --cpu-adapter) cpu=1; quick=(--quick) ;;
      --quick) quick=(--quick) ;;
      --no-torch) torch=0 ;;
      *) echo "gpu_bench run: unknown flag $a" >&2; exit 2 ;;
    esac
  done
  [ -f "$PK/build/bench.js" ] || { echo "gpu_bench run: $PK is missing; run 'scripts/gpu_bench.sh prepare' first" >&2; exit 2; }
  local out=${OUT:-/tmp/gpu_bench_out}
  mkdir -p "$out"
  local tmp=/tmp/gpu_bench_run
  rm -rf "$tmp" && mkdir -p "$tmp"
  cp -r "$PK/build" "$tmp/"
  mkdir -p "$tmp/node_modules/webgpu/dist/linux-x64"
  cp "$PK/node_modules/webgpu/index.js" "$PK/node_modules/webgpu/package.json" "$tmp/node_modules/webgpu/"
  xz -dc "$PK/node_modules/webgpu/dist/linux-x64/dawn.node.xz" > "$tmp/node_modules/webgpu/dist/linux-x64/dawn.node"
  local node="$tmp/node"
  xz -dc "$PK/node.xz" > "$node"
  chmod +x "$node"
  export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
  if [ "$cpu" = 1 ]; then
    export VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
  else
    if ! ldconfig -p | grep -q 'libvulkan.so.1'; then
      for f in "$PK"/debs/*.deb; do [ -f "$f" ] && dpkg -x "$f" /; done
      ldconfig
    fi
    for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
      if [ -f "$icd" ]; then export VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd"; break; fi
    done
    (nvidia-smi -L || true) > "$out/gpu.txt" 2>&1
  fi
  local log="$out/run.log"
  : > "$log"
  echo "gpu_bench: node $("$node" --version), VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-unset}, $(date -u +%FT%TZ)" | tee -a "$log"
  local bench=("$node" --experimental-wasm-relaxed-simd "$tmp/build/bench.js" --only deq_step --json "${quick[@]}")
  # Time limits (s) that keep the whole run under 9 minutes on the device machine.
  local lw=150 lo=120
  [ "$cpu" = 1 ] && { lw=600; lo=600; }
  (cd "$tmp" && timeout "$lw" "${bench[@]}" --backend webgpu > "$out/webgpu.json" 2>> "$log") || echo "gpu_bench: deq_step --backend webgpu failed or timed out ($?)" | tee -a "$log"
  (cd "$tmp" && timeout "$lo" "${bench[@]}" --offload > "$out/offload.json" 2>> "$log") || echo "gpu_bench: deq_step --offload failed or timed out ($?)" | tee -a "$log"
  if [ "$cpu" = 0 ]; then
    (cd "$tmp" && env -u TORCHDEQ_SRC timeout 100 "${bench[@]}" > "$out/wasm.json" 2>> "$log") || echo "gpu_bench: deq_step on wasm failed or timed out ($?)" | tee -a "$log"
  fi
  if [ "$torch" = 1 ]; then
    local py=${PYTHON:-python3} dev=cuda sizes=256x64,1024x64,1024x4096 t=(--min-time 2)
    [ "$cpu" = 1 ] && { py=${PYTHON:-/usr/bin/python3}; dev=cpu; sizes=64x32; t=(--min-time 0.2 --min-runs 3 --warmup 1); }
    TORCHDEQ_SRC="$PK/torchdeq_src" timeout 120 "$py" "$ROOT/scripts/gpu/bench_torchdeq_cuda.py" --device "$dev" --sizes "$sizes" \
      "${t[@]}" --out "$out/torchdeq.json" 2>&1 | tee -a "$log" || echo "gpu_bench: TorchDEQ ($dev) failed or timed out" | tee -a "$log"
  fi
  "$node" "$ROOT/scripts/gpu/summary.mjs" "$out" > "$out/summary.md" 2>> "$log" || echo "gpu_bench: summary failed" | tee -a "$log"
  cat "$out/summary.md"
}

case "$cmd" in
  prepare) prepare "$@" ;;
  run) run "$@" ;;
  *) echo "usage: scripts/gpu_bench.sh prepare TORCHDEQ_SRC | run [--cpu-adapter] [--quick] [--no-torch]" >&2; exit 2 ;;
esac
