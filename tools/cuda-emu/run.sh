#!/usr/bin/env bash
# Checks the native/cuda kernels WITHOUT a GPU: compiles them for the host with g++ and a shim
# (serial: gridDim = blockDim = 1 for the grid-stride kernels; threads: one std::thread per CUDA
# thread with barriers for __syncthreads and warp shuffles) and compares them with the engine's
# CPU ops (dropout masks and optimizer steps bit for bit). Host libm stands in for CUDA's math
# functions, so this checks indexing, layouts and algorithms, not device rounding. Needs g++ >= 10.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); out=/tmp/cuda-emu; mkdir -p "$out"
for f in unary binary reduce softmax dropout indexing joining loss optim; do
  g++ -std=c++17 -O1 -shared -fPIC -include "$here/shim_serial.h" -x c++ "$here/../../native/cuda/$f.cu" -o "$out/lib$f.so"
done
for f in softmax loss reduce optim; do
  (cd "$here" && g++ -std=c++20 -O1 -shared -fPIC -pthread -include "$here/shim_threads.h" "launch_$f.cpp" -o "$out/libemu_$f.so")
done
for h in serial threads; do dotnet run -c Release --project "$here/$h" ; done
