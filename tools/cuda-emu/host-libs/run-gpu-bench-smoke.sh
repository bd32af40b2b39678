#!/usr/bin/env bash
# A functional smoke run of `compare gpu-gemm` and `compare gpu-train` on the host emulator (emu-env.sh): the bench
# code end to end with COCHLEA_BENCH_SMOKE=1 (GEMMs of 256, batch 2, two timed steps, memory at steps 10 and 30).
# Its numbers are not measurements; the PyTorch anchor is absent unless python3's torch sees CUDA (never here).
# Extra arguments replace the suites (e.g. `run-gpu-bench-smoke.sh gpu-gemm --json`).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
who=run-gpu-bench-smoke.sh
source "$here/emu-env.sh"
args=("$@")
[[ ${#args[@]} -eq 0 ]] && args=(gpu-gemm gpu-train)
cd "$root"
env "${emu_env[@]}" COCHLEA_BENCH_SMOKE=1 dotnet run -c Release --project bench -- compare "${args[@]}"
