#!/usr/bin/env python3
"""Makes data/freesound_mini: a small Freesound-like audio-tagging data set synthesised with sox.

  python3 tools/make_freesound_dataset.py [--seed 1] [--out DIR] [--train-per-class 12] [--test-per-class 4]

Layout (the Kaggle "Freesound General-Purpose Audio Tagging" one, at 16 kHz mono 16-bit WAV):
  audio_train/<8 hex digits>.wav   train.csv  fname,label,manually_verified
  audio_test/<8 hex digits>.wav    test.csv   fname,label (the answers, to score a submission)
12 sound-event classes of varied length (0.2 s .. 1.4 s with padding; some shorter than the 8000-sample training crop),
each clip with random parameters (frequency, rate, gain -24..-3 dB, leading/trailing silence, and for half the clips
a white-noise floor 30..45 dB down). audio_test also holds an empty clip and a 0.05 s clip (label "tone"), so
prediction on variable-length and empty clips is exercised. Python 3 stdlib + sox only; same seed + same sox =
same bytes (sox -R: repeatable noise; -D: no dither).
"""
import argparse
import os
import random
import shutil
import subprocess
import sys
import wave

RATE = 16000


def tone(r, d):
    return ["synth", f"{d:.3f}", "sine", f"{r.uniform(200, 3000):.1f}"]


def chirp_up(r, d):
    f0 = r.uniform(200, 800)
    return ["synth", f"{d:.3f}", "sine", f"{f0:.1f}:{f0 * r.uniform(4, 8):.1f}"]


def chirp_down(r, d):
    f0 = r.uniform(2000, 5000)
    return ["synth", f"{d:.3f}", "sine", f"{f0:.1f}:{f0 / r.uniform(4, 8):.1f}"]


def sweep(r, d):
    # a slow linear sweep across most of the band, either way
    a, b = r.uniform(100, 400), r.uniform(4000, 7000)
    if r.random() < 0.5:
        a, b = b, a
    return ["synth", f"{d:.3f}", "sine", f"{a:.1f}-{b:.1f}"]


def white_noise(r, d):
    return ["synth", f"{d:.3f}", "whitenoise"]


def pink_noise(r, d):
    return ["synth", f"{d:.3f}", "pinknoise", "highpass", "200"]


def rumble(r, d):
    return ["synth", f"{d:.3f}", "brownnoise", "lowpass", f"{r.uniform(150, 400):.0f}"]


def clicks(r, d):
    # edges of a slow square wave, high-passed: a click train of 4..16 clicks per second
    return ["synth", f"{d:.3f}", "square", f"{r.uniform(2, 8):.2f}", "highpass", "3000"]


def harmonics(r, d):
    # a bright sawtooth (every harmonic), low-passed a little
    return ["synth", f"{d:.3f}", "sawtooth", f"{r.uniform(80, 400):.1f}", "lowpass", "5000"]


def buzz(r, d):
    # square wave: odd harmonics only
    return ["synth", f"{d:.3f}", "square", f"{r.uniform(80, 400):.1f}", "lowpass", "5000"]


def beeps(r, d):
    # a tone gated on and off 4..10 times per second
    return ["synth", f"{d:.3f}", "sine", f"{r.uniform(600, 2500):.1f}", "synth", "square", "amod", f"{r.uniform(4, 10):.2f}"]


def pluck(r, d):
    return ["synth", f"{d:.3f}", "pluck", f"{r.uniform(110, 880):.1f}"]


CLASSES = {
    "tone": (tone, 0.3, 1.0), "chirp_up": (chirp_up, 0.2, 0.5), "chirp_down": (chirp_down, 0.2, 0.5),
    "sweep": (sweep, 0.6, 1.2), "white_noise": (white_noise, 0.2, 0.8), "pink_noise": (pink_noise, 0.2, 0.8),
    "rumble": (rumble, 0.3, 0.9), "clicks": (clicks, 0.5, 1.0), "harmonics": (harmonics, 0.3, 0.8),
    "buzz": (buzz, 0.3, 0.8), "beeps": (beeps, 0.5, 1.0), "pluck": (pluck, 0.25, 0.7),
}


def make_clip(r, path, label):
    make, lo, hi = CLASSES[label]
    d = r.uniform(lo, hi)
    fade = min(0.02, d / 4)
    effects = make(r, d) + ["fade", "q", f"{fade:.3f}", f"{d:.3f}", f"{fade:.3f}", "gain", "-n", f"{-r.uniform(3, 24):.1f}",
                            "pad", f"{r.uniform(0, 0.1):.3f}", f"{r.uniform(0, 0.1):.3f}"]
    fmt = ["-r", str(RATE), "-b", "16", "-c", "1"]
    if r.random() < 0.5:
        # a noise floor 30..45 dB under the event: the event, and the floor as long as the padded event, mixed
        tmp = path + ".event.wav"
        run(["sox", "-R", "-D", "-n", *fmt, tmp, *effects])
        total = float(subprocess.check_output(["soxi", "-D", tmp]).decode().strip())
        run(["sox", "-R", "-D", "-m", tmp, "-v", "1", "|sox -R -D -n -r 16000 -b 16 -c 1 -p synth %.4f whitenoise gain -n %.1f"
             % (total, -r.uniform(33, 48)), *fmt, path])
        os.remove(tmp)
    else:
        run(["sox", "-R", "-D", "-n", *fmt, path, *effects])


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"make_freesound_dataset.py: {' '.join(cmd)} failed: {p.stderr.strip()}")


def write_raw(path, samples):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(b"".join(int(s).to_bytes(2, "little", signed=True) for s in samples))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "freesound_mini"))
    ap.add_argument("--train-per-class", type=int, default=12)
    ap.add_argument("--test-per-class", type=int, default=4)
    a = ap.parse_args()
    if shutil.which("sox") is None:
        sys.exit("make_freesound_dataset.py: sox is missing (Debian/Ubuntu: sudo apt-get install -y sox)")
    r = random.Random(a.seed)
    names = set()

    def fname():
        while True:
            n = "%08x.wav" % r.getrandbits(32)
            if n not in names:
                names.add(n)
                return n

    for split, per_class, csv_name in (("audio_train", a.train_per_class, "train.csv"), ("audio_test", a.test_per_class, "test.csv")):
        folder = os.path.join(a.out, split)
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        rows = []
        for label in CLASSES:
            for _ in range(per_class):
                n = fname()
                make_clip(r, os.path.join(folder, n), label)
                rows.append((n, label, "1" if r.random() < 0.6 else "0"))
        if split == "audio_test":
            for samples in ([], [int(8000 * (1 if (i // 10) % 2 else -1)) for i in range(800)]):  # empty; 0.05 s square
                n = fname()
                write_raw(os.path.join(folder, n), samples)
                rows.append((n, "tone", ""))   # the empty clip's label is arbitrary (it has no sound)
        rows.sort()
        with open(os.path.join(a.out, csv_name), "w") as f:
            if split == "audio_train":
                f.write("fname,label,manually_verified\n")
                f.writelines(f"{n},{lab},{mv}\n" for n, lab, mv in rows)
            else:
                f.write("fname,label\n")
                f.writelines(f"{n},{lab}\n" for n, lab, _ in rows)
        print(f"{split}: {len(rows)} clips")


if __name__ == "__main__":
    main()
