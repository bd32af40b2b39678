#!/usr/bin/env bash
# Runs the GPU test suite (TestCategory=Gpu) on the host emulator (emu-env.sh: fake libraries first, fresh kernel
# cache) and passes extra arguments to `dotnet test` (e.g. --filter "TestCategory=Gpu&FullyQualifiedName~CudaOpTests"
# replaces the filter).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
who=run-gpu-tests.sh
source "$here/emu-env.sh"
filter=(--filter "TestCategory=Gpu")
for a in "$@"; do if [[ "$a" == "--filter" ]]; then filter=(); fi; done
cd "$root"
# The emulator's call counters on (written to a throw-away file unless the caller names one): tests that count host
# waits, copies or allocations (e.g. CudaGradClipTests) read them in-process and are skipped without them.
stats=${COCHLEA_EMU_STATS:-$cache/emu-stats.txt}
env "${emu_env[@]}" COCHLEA_EMU_STATS="$stats" dotnet test -c Release tests/Cochlea.Tests "${filter[@]}" "$@"
