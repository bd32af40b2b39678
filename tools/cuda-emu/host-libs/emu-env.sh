# Sourced by run-gpu-tests.sh and run-gpu-bench-smoke.sh: builds the fake libraries into $COCHLEA_EMU_LIBS (default
# /tmp/cochlea-host-libs), says which library each logical name will load (fake, the system's, or none), and sets
# `emu_env`, the environment a command needs to run on the emulator: the fakes' folder first on LD_LIBRARY_PATH
# (CudaLibraries tries LD_LIBRARY_PATH folders before the loader's search, so they win over any real libcuda/libnvrtc)
# and a fresh kernel cache (removed at exit). Expects `here` (this folder) and `who` (the caller's name for messages).
libs=${COCHLEA_EMU_LIBS:-/tmp/cochlea-host-libs}
bash "$here/build.sh" "$libs"
cache=$(mktemp -d /tmp/cochlea-emu-cache-XXXXXX)
trap 'rm -rf "$cache"' EXIT
for entry in "cuda libcuda.so.1" "nvrtc libnvrtc.so.13 libnvrtc.so.12 libnvrtc.so.11.2" "cublas libcublas.so.13 libcublas.so.12 libcublas.so.11" "cublasLt libcublasLt.so.13 libcublasLt.so.12 libcublasLt.so.11" "cudnn libcudnn.so.9"; do
  read -r name sonames <<<"$entry"; found=""   # (not `set --`: "$@" is the caller's arguments)
  for so in $sonames; do if [[ -f "$libs/$so" ]]; then found="$libs/$so (fake)"; break; fi; done
  if [[ -z "$found" ]]; then
    for so in $sonames; do
      p=$(ldconfig -p 2>/dev/null | awk -v s="$so" '$1 == s { print $NF; exit }' || true)
      if [[ -n "$p" ]]; then found="$p (NOT a fake: the system's)"; break; fi
    done
  fi
  echo "$who: $name -> ${found:-none (what needs it fails to load it)}"
done
echo "$who: kernel cache $cache"
emu_env=(LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" COCHLEA_CUDA_CACHE="$cache")
