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
# What CudaLibraries will load for each library: the first soname found in $libs, else the loader's pick.
for entry in "cuda libcuda.so.1" "nvrtc libnvrtc.so.13 libnvrtc.so.12 libnvrtc.so.11.2" "cublas libcublas.so.13 libcublas.so.12 libcublas.so.11" "cudnn libcudnn.so.9"; do
  read -r name sonames <<<"$entry"; found=""   # (not `set --`: "$@" is dotnet test's arguments)
  for so in $sonames; do if [[ -f "$libs/$so" ]]; then found="$libs/$so (fake)"; break; fi; done
  if [[ -z "$found" ]]; then
    for so in $sonames; do
      p=$(ldconfig -p 2>/dev/null | awk -v s="$so" '$1 == s { print $NF; exit }' || true)
      if [[ -n "$p" ]]; then found="$p (NOT a fake: the system's)"; break; fi
    done
  fi
  echo "run-gpu-tests.sh: $name -> ${found:-none (tests needing it fail to load it)}"
done
echo "run-gpu-tests.sh: kernel cache $cache"
filter=(--filter "TestCategory=Gpu")
for a in "$@"; do if [[ "$a" == "--filter" ]]; then filter=(); fi; done
cd "$root"
LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" COCHLEA_CUDA_CACHE="$cache" \
  dotnet test -c Release tests/Cochlea.Tests "${filter[@]}" "$@"
