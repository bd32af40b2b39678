#!/usr/bin/env bash
# Makes an evaluation set of keyword clips spoken by another synthesiser's stock voices, in Speech
# Commands layout, to measure how a model trained on data/speech_commands_mini does on voices it has
# never heard (pico, rhvoice, mbrola: engines never used for the shipped data). It never writes into the shipped data (it only copies its _background_noise_, so that
# the silence entries of `eval` get the same noises).
#
#   tools/make_kws_heldout.sh --engine pico|rhvoice|mbrola|flite|festival [--out DIR] [--seed N] [--jobs N] [--rates R1,..] [--unknown]
#
# Held out (never in training):
#   pico: SVOX Pico en-US, en-GB x 5 rates (100 keyword clips); apt-get install libttspico-utils (non-free)
#   rhvoice: RHVoice alan, bdl, clb, slt x 3 rates (120); apt-get install rhvoice rhvoice-english
#   mbrola: MBROLA us1, us2, us3, en1 via espeak-ng x 3 rates (120); apt-get install mbrola mbrola-us1
#     mbrola-us2 mbrola-us3 mbrola-en1
# Training engines of the shipped data (their stock voices, unaltered here; not held out):
#   flite: kal, kal16, awb, rms, slt x 3 rates; festival: kal_diphone, ked_diphone, cmu_us_slt_arctic_hts x 5
# Each voice says the ten keywords (and with --unknown the twenty other words) once per speaking rate;
# the clips are only trimmed, resampled to 16 kHz, set to a random peak level (-12..-1 dBFS) and placed
# at a random offset. Deterministic for a seed. Then:
#   cochlea eval --model runs/demo/best.safetensors --data DIR --split all
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
engine=""
out=""
args=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --engine) engine="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --seed|--jobs|--rates) args+=("$1" "$2"); shift 2 ;;
        --unknown) args+=(--unknown); shift ;;
        -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "make_kws_heldout.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done
case "$engine" in
    festival) tools=(festival sox python3) ;;
    flite) tools=(flite sox python3) ;;
    pico) tools=(pico2wave sox python3) ;;
    rhvoice) tools=(RHVoice-test sox python3) ;;
    mbrola) tools=(espeak-ng mbrola sox python3) ;;
    *) echo "make_kws_heldout.sh: --engine pico|rhvoice|mbrola|flite|festival is required" >&2; exit 2 ;;
esac
for tool in "${tools[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || { echo "make_kws_heldout.sh: missing $tool" >&2; exit 1; }
done
out="${out:-$repo/runs/heldout-$engine}"
case "$(cd "$(dirname "$out")" 2>/dev/null && pwd)/$(basename "$out")" in
    "$repo/data"|"$repo/data/"*) echo "make_kws_heldout.sh: --out must not be inside data/" >&2; exit 2 ;;
esac
mkdir -p "$out"
rm -rf "$out/_background_noise_"
cp -r "$repo/data/speech_commands_mini/_background_noise_" "$out/"
python3 "$here/espeak_datasets.py" heldout --engine "$engine" --out "$out" "${args[@]}"
