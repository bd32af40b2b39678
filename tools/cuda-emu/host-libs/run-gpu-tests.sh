#!/usr/bin/env bash
# Runs the GPU test suite (TestCategory=Gpu) on the host emulator: builds the fake libraries, puts their folder
# first on LD_LIBRARY_PATH (CudaLibraries tries LD_LIBRARY_PATH folders before the loader's search, so the fakes
# win over any real libcuda/libnvrtc), uses a fresh kernel cache, and passes extra arguments to `dotnet test`
# (e.g. --filter "TestCategory=Gpu&FullyQualifiedName~CudaOpTests" replaces the filter).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
libs=${COCHLEA_EMU_LIBS:-/tmp/cochlea-host-libs}
bash "$here/build.sh" "$libs"
cache=$(mktemp -d /tmp/cochlea-emu-cache-XXXXXX)
trap 'rm -rf "$cache"' EXIT
echo "run-gpu-tests.sh: fake libraries in $libs: $(cd "$libs" && ls *.so.* | tr '\n' ' ')"
echo "run-gpu-tests.sh: kernel cache $cache"
filter=(--filter "TestCategory=Gpu")
for a in "$@"; do [[ "$a" == "--filter" ]] && filter=(); done
cd "$root"
LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" COCHLEA_CUDA_CACHE="$cache" \
  dotnet test -c Release tests/Cochlea.Tests "${filter[@]}" "$@"
