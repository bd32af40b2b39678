#!/usr/bin/env bash
# The GPU session's runs, on the device machine (bench/README.md, "On the GPU machine"), after
# `bash ../shared/device/pack.sh tests/Cochlea.Tests/Cochlea.Tests.csproj bench/Cochlea.Bench.csproj` and
# `cp -r ../shared/reference .device/reference` here. Each part fits one device command (600 s):
#   bash bench/gpu-session.sh measure   # Gpu + Nvrtc tests, compare gpu-gemm, compare gpu-train, gpu-audit
#   bash bench/gpu-session.sh check     # compute-sanitizer memcheck over the Gpu tests, racecheck over the op tests,
#                                       # and the gpu-train rows per forced depthwise / Linear-bias choice
#   bash bench/gpu-session.sh racecheck-dnn   # racecheck over the conv, batch-norm and optimizer tests (slow)
# Everything is written under $OUT (the device tool brings it back); a summary goes to stdout.
set -uo pipefail
cd "$(dirname "$0")/.."
: "${OUT:?set OUT to the folder the results go to}"
export COCHLEA_REFERENCE=$PWD/.device/reference COCHLEA_PYTHON=${COCHLEA_PYTHON:-$(command -v python3)}
RUN="bash .device/run.sh"                        # timeout runs programs, not shell functions
TRAIN="$RUN Cochlea.Bench compare gpu-train --json"
rows() { grep -h '^{' "$@" | sed -E 's/"anchor_name": "[^"]*", //; s/"threads": 0, //'; }

case ${1:-} in
measure)
    timeout 150 $RUN Cochlea.Tests --filter "TestCategory=Gpu|TestCategory=Nvrtc" > "$OUT/gpu-tests.txt" 2>&1
    grep -E "^failed |total:|failed:|succeeded:|skipped:" "$OUT/gpu-tests.txt"
    timeout 120 $RUN Cochlea.Bench compare gpu-gemm --json > "$OUT/gpu-gemm.jsonl" 2>&1
    timeout 240 $TRAIN > "$OUT/gpu-train.jsonl" 2>&1
    timeout 60 $RUN Cochlea.Bench gpu-audit > "$OUT/gpu-audit.txt" 2>&1
    rows "$OUT/gpu-gemm.jsonl" "$OUT/gpu-train.jsonl"; tail -5 "$OUT/gpu-audit.txt"
    ;;
check)
    cs=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
    # The sanitizer's only "errors" (6 on 2026-11-22) are deliberate: CUDA_ERROR_OUT_OF_MEMORY from cuMemAlloc in the
    # out-of-memory message test and the search-workspace halving test.
    timeout 240 "$cs" --tool memcheck --target-processes all --print-limit 30 \
        $RUN Cochlea.Tests --filter "TestCategory=Gpu" > "$OUT/memcheck.txt" 2>&1
    timeout 150 "$cs" --tool racecheck --target-processes all --print-limit 30 \
        $RUN Cochlea.Tests --filter "FullyQualifiedName~CudaOpTests" > "$OUT/racecheck.txt" 2>&1
    grep -hE "ERROR SUMMARY|RACECHECK SUMMARY|Invalid|Race|failed:" "$OUT/memcheck.txt" "$OUT/racecheck.txt" | sort | uniq -c | head -20
    for m in own cudnn; do COCHLEA_GPU_TRAIN_MODELS=WaveKws COCHLEA_CUDA_DEPTHWISE=$m timeout 60 $TRAIN; done > "$OUT/gpu-train-depthwise.jsonl" 2>&1
    COCHLEA_GPU_TRAIN_MODELS=DeepSpeechKws COCHLEA_CUDA_LT=off timeout 60 $TRAIN > "$OUT/gpu-train-lt-off.jsonl" 2>&1
    rows "$OUT/gpu-train-depthwise.jsonl" "$OUT/gpu-train-lt-off.jsonl" | grep -v MiB
    ;;
racecheck-dnn)
    # The shared-memory kernels CudaOpTests does not reach (depthwise, batch-norm planes, optimizers, clipping): over
    # 200 s under racecheck, so a command of its own.
    cs=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
    timeout 560 "$cs" --tool racecheck --target-processes all --print-limit 30 $RUN Cochlea.Tests --filter \
        "FullyQualifiedName~DepthwiseConvTests|FullyQualifiedName~BlasDnnOpTests|FullyQualifiedName~CudaOptimTests|FullyQualifiedName~CudaGradClip" \
        > "$OUT/racecheck-dnn.txt" 2>&1
    grep -hE "RACECHECK SUMMARY|total:|failed:" "$OUT/racecheck-dnn.txt"
    ;;
*)
    echo "usage: bash bench/gpu-session.sh measure|check|racecheck-dnn  (on the device machine, with OUT set)" >&2; exit 2
    ;;
esac
