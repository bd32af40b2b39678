#!/usr/bin/env bash
# Makes data/speech_commands_mini: a small Speech Commands-style keyword data set synthesised with
# espeak-ng, flite, festival and sox (see data/speech_commands_mini/README.md for what is in it).
#
#   tools/make_kws_dataset.sh [--seed N] [--out DIR] [--jobs N] [--noise-floor] [--other-speakers N]
#
# The noises of _background_noise_ are made here with `sox synth`; the spoken clips, the split
# lists, speakers.csv and the README by tools/espeak_datasets.py (Python 3 stdlib only); then
# tools/check_datasets.py checks the result. Same seed + same Debian packages = same bytes.
# This script installs nothing: it says what is missing.
# --noise-floor puts a white/pink/brown noise floor (-72..-48 dBFS RMS) under ~75 % of the
# speakers' clips; without it (the committed data) everything outside the speech is digital silence.
# --other-speakers N (default 12, the committed data; 0: espeak-ng only): N training-only speakers
# made from flite's and festival's stock voices with sox (pitch shift, formant warp, rate,
# microphone), each saying the keywords and 3 other words, in the room of the espeak-ng training
# speakers' second takes. Validation and testing stay espeak-ng voices unheard in training.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
seed=1
out="$repo/data/speech_commands_mini"
jobs=2
other_speakers=12
extra=()

while [[ $# -gt 0 ]]; do
    case "$1" in
        --seed) seed="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --jobs) jobs="$2"; shift 2 ;;
        --noise-floor) extra+=(--noise-floor); shift ;;
        --other-speakers) other_speakers="$2"; shift 2 ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "make_kws_dataset.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done

missing=()
needed=(espeak-ng sox python3)
[[ "$other_speakers" != 0 ]] && needed+=(flite festival)
for tool in "${needed[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [[ "$other_speakers" != 0 ]]; then
    for v in english/kal_diphone english/ked_diphone english/rab_diphone english/don_diphone us/cmu_us_slt_arctic_hts; do
        [[ -d "/usr/share/festival/voices/$v" ]] || missing+=("festival voice $v")
    done
fi
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "make_kws_dataset.sh: missing ${missing[*]}." >&2
    echo "  On Debian/Ubuntu: sudo apt-get update && sudo apt-get install -y espeak-ng flite festival \\" >&2
    echo "    festvox-kallpc16k festvox-kdlpc16k festvox-rablpc16k festvox-don festvox-us-slt-hts sox python3" >&2
    exit 1
fi

mkdir -p "$out"
noise="$out/_background_noise_"
rm -rf "$noise"
mkdir -p "$noise"

# 10 s each, 16 kHz mono 16-bit, peak -3 dBFS. -R: sox's repeatable random numbers; -D: no dither.
# Each part is generated in its own sox and normalised by the outer one (norm in the same chain
# as `synth whitenoise` does not reach its target level).
part() { echo "|sox -R -D -V1 -n -r 16000 -c 1 -p synth 10 $*"; }
noise_file() {  # noise_file NAME [-v VOLUME PART]...  (one part, or several mixed)
    local name="$1"; shift
    local mixing=(); [[ $# -gt 1 ]] && mixing=(-m)
    sox -R -D -V1 "${mixing[@]}" "$@" -r 16000 -c 1 -b 16 -e signed-integer "$noise/$name.wav" norm -3
}

echo "noise: $noise"
noise_file white_noise "$(part whitenoise)"
noise_file pink_noise "$(part pinknoise)"
noise_file brown_noise "$(part brownnoise)"
# Mains hum: a 50 Hz buzz (odd harmonics of a square wave, softened) over a little hiss.
noise_file hum -v 1 "$(part square 50 lowpass 600)" -v 0.15 "$(part pinknoise)"
# Running tap: bright band-limited hiss whose level wobbles irregularly, over a low rumble.
noise_file running_tap -v 1 "$(part whitenoise highpass 700 lowpass 6500 tremolo 6.3 35 tremolo 11.7 25 tremolo 2.1 20)" \
    -v 0.4 "$(part brownnoise lowpass 400)"
# Exercise bike: a whoosh that swells about 1.3 times a second, with a faint mechanical tick.
noise_file exercise_bike -v 1 "$(part pinknoise bandpass 700 1.2q tremolo 1.3 85)" \
    -v 0.3 "$(part square 2.6 highpass 2000)"

python3 "$here/espeak_datasets.py" kws --out "$out" --seed "$seed" --jobs "$jobs" --other-speakers "$other_speakers" "${extra[@]}"
python3 "$here/check_datasets.py" kws "$out"
du -sh "$out"
