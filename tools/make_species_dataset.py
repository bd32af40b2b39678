#!/usr/bin/python3
"""Makes data/rainforest_mini: a small Rainforest-species-detection-like data set (DESIGN.md model 4).

  /usr/bin/python3 tools/make_species_dataset.py [--out DIR] [--train 12] [--test 4] [--seed 1] [--bed-db -84]

Layout (the Kaggle competition's): train/<recording_id>.flac, test/<recording_id>.flac (60 s, 48 kHz, mono,
16-bit FLAC), train_tp.csv (recording_id,species_id,songtype_id,t_min,f_min,t_max,f_max; seconds and Hz),
train_fp.csv (same columns: calls of another species that are present but labelled false positive, as in the
competition), sample_submission.csv (recording_id,s0..s7 for the test recordings) and test_truth.csv (the test
recordings' species, recording_id,species_id, for checking predictions; not a competition file).

Each recording is a noise bed made by sox (pink noise at --bed-db dBFS RMS: -84 by default, a couple of LSB, because
noise does not compress and the set lives in git: about 0.6 MB per 60 s file) with 1-3 "species" mixed in, each species with its own frequency band and rhythm
(SPECIES below), each present 1-3 times; every bout is one box in train_tp.csv. A train recording may also hold
one call of another species, listed in train_fp.csv. The calls are synthesised here with numpy; sox makes the
bed, mixes and encodes. Deterministic for a seed (numpy's Generator; sox -R).
"""
import argparse
import csv
import math
import os
import shutil
import subprocess
import sys
import tempfile
import wave

import numpy as np

SR = 48000
DURATION = 60.0

# id: (name, f_min, f_max, kind, note seconds, notes per bout, note period seconds)
SPECIES = {
    0: ("whistle", 2000, 2600, "tone", 0.30, 3, 0.50),
    1: ("up-chirp", 4000, 6000, "up", 0.15, 5, 0.25),
    2: ("down-sweep", 6000, 8000, "down", 0.40, 2, 0.70),
    3: ("trill", 1000, 1400, "trill", 1.20, 1, 1.50),
    4: ("harmonic", 550, 2500, "harmonic", 0.50, 2, 1.00),
    5: ("clicks", 10000, 14000, "clicks", 1.00, 1, 1.20),
    6: ("frog", 300, 500, "pulses", 1.50, 1, 1.80),
    7: ("high-whistle", 15000, 16000, "tone", 0.20, 4, 0.35),
}


def bursts(t, f, every, length, stop):
    """Hann-windowed sine bursts of frequency f, `length` s long, starting every `every` s before `stop` (clicks, frog pulses)."""
    x = np.zeros_like(t)
    for c in np.arange(0, stop, every):
        i = int(c * SR)
        n = int(length * SR)
        tt = np.arange(n) / SR
        x[i:i + n] += np.sin(2 * np.pi * f * tt) * np.hanning(n)
    return x


def note(kind, f0, f1, dur, rng):
    t = np.arange(int(dur * SR)) / SR
    env = np.sin(np.pi * t / dur) ** 2                      # smooth on/off
    if kind == "tone":
        f = rng.uniform(f0 + 0.2 * (f1 - f0), f1 - 0.2 * (f1 - f0))
        x = np.sin(2 * np.pi * f * t + 0.15 * np.sin(2 * np.pi * 6 * t))
    elif kind in ("up", "down"):
        a, b = (f0, f1) if kind == "up" else (f1, f0)
        phase = 2 * np.pi * (a * t + (b - a) * t ** 2 / (2 * dur))
        x = np.sin(phase)
    elif kind == "trill":
        f = 0.5 * (f0 + f1)
        x = np.sin(2 * np.pi * f * t + (f1 - f0) / 2 / 20 * np.sin(2 * np.pi * 20 * t)) * (0.55 + 0.45 * np.sin(2 * np.pi * 20 * t))
    elif kind == "harmonic":
        f = f0 + 50
        x = sum(np.sin(2 * np.pi * k * f * t) / k for k in range(1, 5))
    elif kind == "clicks":
        x = bursts(t, 0.5 * (f0 + f1), every=1 / 12, length=0.004, stop=dur - 0.01)
        env = np.ones_like(t)
    elif kind == "pulses":
        x = bursts(t, 0.5 * (f0 + f1), every=1 / 8, length=0.05, stop=dur - 0.06)
        env = np.ones_like(t)
    else:
        raise ValueError(kind)
    return x * env


def bout(species, rng):
    name, f0, f1, kind, dur, notes, period = SPECIES[species]
    length = (notes - 1) * period + dur
    y = np.zeros(int(math.ceil(length * SR)) + 1)
    for k in range(notes):
        n = note(kind, f0, f1, dur, rng)
        i = int(k * period * SR)
        y[i:i + len(n)] += n
    return y, length


def write_wav(path, x):
    pcm = np.clip(np.round(x * 32767), -32768, 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(pcm.tobytes())


def place(track, species, rng, taken):
    """Adds one bout of `species` at a free random time; returns (t_min, t_max) or None."""
    y, length = bout(species, rng)
    for _ in range(50):
        t0 = round(rng.uniform(0.5, DURATION - length - 0.5), 3)
        if all(t0 + length + 0.3 < a or t0 > b + 0.3 for a, b in taken):
            i = int(t0 * SR)
            track[i:i + len(y)] += y * rng.uniform(0.08, 0.2)
            taken.append((t0, t0 + length))
            return t0, round(t0 + length, 3)
    return None


def make_recording(path, rid, rng, seed, bed_db, tmp, fp_allowed):
    track = np.zeros(int(DURATION * SR))
    taken = []
    k = int(rng.integers(1, 4))
    present = sorted(rng.choice(len(SPECIES), size=k, replace=False).tolist())
    tp, fp = [], []
    for s in present:
        for _ in range(int(rng.integers(1, 4))):
            span = place(track, s, rng, taken)
            if span:
                tp.append((rid, s, 1, span[0], SPECIES[s][1], span[1], SPECIES[s][2]))
    if fp_allowed and rng.random() < 0.4:
        others = [s for s in SPECIES if s not in present]
        s = int(rng.choice(others))
        span = place(track, s, rng, taken)
        if span:
            fp.append((rid, s, 1, span[0], SPECIES[s][1], span[1], SPECIES[s][2]))
    calls = os.path.join(tmp, "calls.wav")
    write_wav(calls, track)
    # The bed: pink noise at bed_db RMS (sox -R: repeatable noise per seed and file).
    bed = os.path.join(tmp, "bed.wav")
    vol = 10 ** (bed_db / 20) * math.sqrt(3)                # uniform-amplitude synth: RMS = peak / sqrt(3)
    subprocess.run(["sox", "-R", "-D", "-V1", "-n", "-r", str(SR), "-c", "1", "-b", "16", bed, "synth", str(DURATION),
                    "pinknoise", "vol", f"{vol:.6f}"], check=True)
    subprocess.run(["sox", "-D", "-V1", "-m", bed, calls, "-r", str(SR), "-c", "1", "-b", "16", "-C", "8", path], check=True)
    return present, tp, fp


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(here), "data", "rainforest_mini"))
    ap.add_argument("--train", type=int, default=12)
    ap.add_argument("--test", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bed-db", type=float, default=-84.0)
    a = ap.parse_args()
    if shutil.which("sox") is None:
        sys.exit("make_species_dataset.py: sox is missing (Debian/Ubuntu: apt-get install -y sox)")
    rng = np.random.default_rng(a.seed)
    for sub in ("train", "test"):
        shutil.rmtree(os.path.join(a.out, sub), ignore_errors=True)
        os.makedirs(os.path.join(a.out, sub))
    cols = ["recording_id", "species_id", "songtype_id", "t_min", "f_min", "t_max", "f_max"]
    tp_rows, fp_rows, truth = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(a.train + a.test):
            split = "train" if i < a.train else "test"
            rid = f"{a.seed:02d}{i:04d}{'t' if split == 'train' else 'x'}"
            path = os.path.join(a.out, split, rid + ".flac")
            present, tp, fp = make_recording(path, rid, rng, a.seed, a.bed_db, tmp, fp_allowed=split == "train")
            if split == "train":
                tp_rows += tp
                fp_rows += fp
            else:
                truth += [(rid, s) for s in present]
            print(f"{split}/{rid}.flac: species {present}, {os.path.getsize(path)} bytes", flush=True)
    for name, rows in (("train_tp.csv", tp_rows), ("train_fp.csv", fp_rows)):
        with open(os.path.join(a.out, name), "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(cols)
            w.writerows(rows)
    with open(os.path.join(a.out, "test_truth.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["recording_id", "species_id"])
        w.writerows(truth)
    test_ids = sorted({r for r, _ in truth} | {f[:-5] for f in os.listdir(os.path.join(a.out, "test"))})
    with open(os.path.join(a.out, "sample_submission.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["recording_id"] + [f"s{k}" for k in range(len(SPECIES))])
        for r in test_ids:
            w.writerow([r] + [0] * len(SPECIES))
    with open(os.path.join(a.out, "README.md"), "w") as f:
        f.write("# rainforest_mini\n\nMade by `tools/make_species_dataset.py` (seed %d, %d train and %d test recordings, "
                "noise bed %.0f dBFS). Species (id: name, band Hz, call kind, note s, notes per bout, period s):\n\n"
                % (a.seed, a.train, a.test, a.bed_db))
        for s, (name, f0, f1, kind, dur, notes, period) in SPECIES.items():
            f.write(f"- {s}: {name}, {f0}-{f1} Hz, {kind}, {dur} s, {notes} x every {period} s\n")
        f.write("\ntrain_tp.csv / train_fp.csv: one row per bout (t_min..t_max covers the whole bout, f_min..f_max the "
                "species' band). test_truth.csv lists the species present in each test recording.\n")
    print(f"{a.out}: {len(tp_rows)} tp boxes, {len(fp_rows)} fp boxes, {len(truth)} test labels")


if __name__ == "__main__":
    main()
