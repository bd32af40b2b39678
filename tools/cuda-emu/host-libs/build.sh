#!/usr/bin/env bash
# Builds the host emulator's fake CUDA libraries into $1 (default /tmp/cochlea-host-libs), each source under its
# real soname, and copies the kernel runtime headers the fake NVRTC compiles kernels with beside them.
# Sources that are not here are skipped (libcublas.cpp, libcublasLt.cpp and libcudnn.cpp come from their own work).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-/tmp/cochlea-host-libs}
mkdir -p "$out"
cxx=${CXX:-g++}
while read -r src soname; do
  [[ -z "$src" || "$src" == \#* ]] && continue
  if [[ ! -f "$here/$src" ]]; then echo "build.sh: $src absent, $soname not built"; continue; fi
  "$cxx" -std=c++17 -O2 -g -shared -fPIC -Wall -Wl,-soname,"$soname" "$here/$src" -o "$out/$soname" -ldl -lpthread
  echo "build.sh: $out/$soname"
done <<'TABLE'
# source        soname
libcuda.cpp     libcuda.so.1
libnvrtc.cpp    libnvrtc.so.13
libcublas.cpp   libcublas.so.13
libcublasLt.cpp libcublasLt.so.13
libcudnn.cpp    libcudnn.so.9
TABLE
cp "$here/kernel_runtime.h" "$here/../shim_common.h" "$out/"
