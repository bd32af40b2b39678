#!/usr/bin/env bash
# The host emulator's own checks: builds the fakes into $1 (default /tmp/cochlea-host-libs) and runs check.cpp
# against them (driver state, memory guards, launch validation, NVRTC options, barriers and shuffles, alignment,
# call statistics), then again under COCHLEA_EMU_SKIP_WORK=1 and under COCHLEA_EMU_ORDER=reverse.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
libs=${1:-/tmp/cochlea-host-libs}
bash "$here/build.sh" "$libs" >/dev/null
${CXX:-g++} -std=c++17 -O1 -pthread "$here/check.cpp" -o "$libs/check" -ldl
"$libs/check" "$libs" "$here/../../../native/cuda/common.cuh"
COCHLEA_EMU_SKIP_WORK=1 "$libs/check" "$libs" "$here/../../../native/cuda/common.cuh" --skip-work
COCHLEA_EMU_ORDER=reverse "$libs/check" "$libs" "$here/../../../native/cuda/common.cuh" --reverse
