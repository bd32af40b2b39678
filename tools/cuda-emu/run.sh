#!/usr/bin/env bash
# Checks the native/cuda kernels WITHOUT a GPU: compiles them for the host with g++ and a shim
# (serial: gridDim = blockDim = 1 for the grid-stride kernels; threads: one std::thread per CUDA
# thread with barriers for __syncthreads and warp shuffles) and compares them with the engine's
# CPU ops (dropout masks and optimizer steps bit for bit). Host libm stands in for CUDA's math
# functions, so this checks indexing, layouts and algorithms, not device rounding. Needs g++ >= 10.
# Then golden/: dnn_planes.cu on real threads against float64 (planes.cpp), and recurrence, spectral
# and conv_pad against PyTorch float64 autograd (check.py; only where python3 has numpy and torch).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); out=/tmp/cuda-emu; mkdir -p "$out"
for f in unary binary reduce softmax dropout indexing joining loss optim; do
  g++ -std=c++17 -O1 -shared -fPIC -include "$here/shim_serial.h" -x c++ "$here/../../native/cuda/$f.cu" -o "$out/lib$f.so"
done
for f in softmax loss reduce optim; do
  (cd "$here" && g++ -std=c++20 -O1 -shared -fPIC -pthread -include "$here/shim_threads.h" "launch_$f.cpp" -o "$out/libemu_$f.so")
done
for h in serial threads; do dotnet run -c Release --project "$here/$h" ; done
g++ -O1 -std=c++20 -w -pthread "$here/golden/planes.cpp" -o "$out/planes"   # no `&&`: set -e must see a failed build
"$out/planes"
g++ -O1 -std=c++17 -w "$here/golden/host.cpp" -o "$out/host"
py=""   # the first python with numpy and torch (Debian's /usr/bin/python3 has them when python3 on PATH does not)
for p in python3 /usr/bin/python3; do if "$p" -c "import numpy, torch" 2>/dev/null; then py=$p; break; fi; done
if [ -n "$py" ]; then
  (mkdir -p "$out/golden" && cd "$out/golden" && "$py" "$here/golden/check.py" "$out/host")
else
  echo "golden/check.py skipped: python3 lacks numpy or torch (host.cpp built as $out/host)"
fi
