#!/usr/bin/env bash
# Makes data/speech_corpus: a tiny DeepSpeech corpus synthesised with espeak-ng and sox from
# tools/speech_corpus_sentences.txt, plus an LDC93S1 stand-in for the overfit check (see
# data/speech_corpus/README.md for what is in it).
#
#   tools/make_speech_corpus.sh [--seed N] [--out DIR] [--jobs N] [--noise-floor]
#
# The audio, the DeepSpeech CSVs (wav_filename,wav_filesize,transcript) and the README are made by
# tools/espeak_datasets.py (Python 3 stdlib only); then tools/check_datasets.py checks the result.
# Same seed + same Debian packages = same bytes. This script installs nothing: it says what is missing.
# --noise-floor puts a white/pink/brown noise floor (-72..-48 dBFS RMS) under ~75 % of the
# speakers' clips; without it (the committed data) everything outside the speech is digital silence.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
seed=1
out="$repo/data/speech_corpus"
jobs=2
extra=()

while [[ $# -gt 0 ]]; do
    case "$1" in
        --seed) seed="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --jobs) jobs="$2"; shift 2 ;;
        --noise-floor) extra+=(--noise-floor); shift ;;
        -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "make_speech_corpus.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done

missing=()
for tool in espeak-ng sox python3; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "make_speech_corpus.sh: missing ${missing[*]}." >&2
    echo "  On Debian/Ubuntu: sudo apt-get update && sudo apt-get install -y espeak-ng sox python3" >&2
    exit 1
fi

python3 "$here/espeak_datasets.py" corpus --out "$out" --seed "$seed" --jobs "$jobs" "${extra[@]}" \
    --sentences "$here/speech_corpus_sentences.txt"
python3 "$here/check_datasets.py" corpus "$out"
du -sh "$out"
