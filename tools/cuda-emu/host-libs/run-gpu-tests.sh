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
env "${emu_env[@]}" dotnet test -c Release tests/Cochlea.Tests "${filter[@]}" "$@"
