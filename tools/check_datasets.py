#!/usr/bin/env python3
"""Checks Cochlea's shipped speech datasets (Python stdlib only); exits 1 with a list of problems.

  python3 tools/check_datasets.py kws    data/speech_commands_mini [--max-mb 40]
  python3 tools/check_datasets.py corpus data/speech_corpus        [--max-mb 15]

kws: every clip a 16 kHz mono 16-bit PCM WAV of exactly 16000 samples named <8 hex>_nohash_<n>.wav;
the 10 keywords with >= 100 clips each and >= 12 other words; _background_noise_ files >= 10 s;
validation_list.txt / testing_list.txt with existing forward-slash paths; every speaker in exactly
one split, and the TF tutorial's hash split agreeing with the lists; >= 20 distinct voices (from
speakers.csv); size on disk. corpus: the DeepSpeech CSVs (header, files exist, wav_filesize equal to
the real size, transcripts of a-z, space and apostrophe), 16 kHz mono 16-bit WAVs, voices disjoint
between train/dev/test, the one-row LDC93S1 CSV; size on disk.
"""
import argparse
import csv
import hashlib
import os
import re
import struct
import sys
from collections import Counter, defaultdict

KEYWORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
MAX_NUM_WAVS_PER_CLASS = 2 ** 27 - 1


def which_set(filename, validation_percentage=10.0, testing_percentage=10.0):
    hash_name = re.sub(r"_nohash_.*$", "", os.path.basename(filename))
    h = int(hashlib.sha1(hash_name.encode("utf-8")).hexdigest(), 16)
    p = (h % (MAX_NUM_WAVS_PER_CLASS + 1)) * (100.0 / MAX_NUM_WAVS_PER_CLASS)
    if p < validation_percentage:
        return "validation"
    if p < testing_percentage + validation_percentage:
        return "testing"
    return "training"


def wav_info(path):
    """(sample rate, channels, bits, format tag, frames, header bytes, peak) of a RIFF WAV, read by hand."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    pos, fmt, frames, header, peak = 12, None, None, None, 0
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        if cid == b"fmt ":
            tag, ch, rate, _, align, bits = struct.unpack_from("<HHIIHH", data, pos + 8)
            fmt = (rate, ch, bits, tag)
        elif cid == b"data":
            if fmt is None:
                raise ValueError("data chunk before fmt chunk")
            frames = size // (fmt[1] * fmt[2] // 8)
            header = pos + 8
            if fmt[2] == 16 and size:
                samples = struct.unpack_from(f"<{size // 2}h", data, pos + 8)
                peak = max(max(samples), -min(samples))
            if pos + 8 + size > len(data):
                raise ValueError("data chunk runs past the end of the file")
        pos += 8 + size + (size & 1)
    if fmt is None or frames is None:
        raise ValueError("no fmt or data chunk")
    return (*fmt, frames, header, peak)


def check_format(path, problems, frames=None, min_frames=None):
    try:
        rate, ch, bits, tag, n, header, peak = wav_info(path)
    except (ValueError, struct.error) as e:
        problems.append(f"{path}: {e}")
        return None
    if (rate, ch, bits, tag) != (16000, 1, 16, 1):
        problems.append(f"{path}: {rate} Hz, {ch} channel(s), {bits} bit, format {tag}; want 16000 Hz mono 16-bit PCM")
    if frames is not None and n != frames:
        problems.append(f"{path}: {n} samples, want {frames}")
    if min_frames is not None and n < min_frames:
        problems.append(f"{path}: {n} samples, want at least {min_frames}")
    if peak == 0:
        problems.append(f"{path}: all samples are zero")
    if peak >= 32767:
        problems.append(f"{path}: clipped (peak at full scale)")
    return n, peak


def du_bytes(root):
    """Disk usage as `du` counts it (allocated blocks)."""
    total = 0
    for d, _, files in os.walk(root):
        total += os.lstat(d).st_blocks * 512
        for f in files:
            total += os.lstat(os.path.join(d, f)).st_blocks * 512
    return total


def check_kws(root, max_mb):
    problems = []
    words = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)) and d != "_background_noise_")
    clips = {}                                         # relative path -> speaker
    per_word = Counter()
    peaks = []
    for w in words:
        for f in sorted(os.listdir(os.path.join(root, w))):
            rel = f"{w}/{f}"
            m = re.fullmatch(r"([0-9a-f]{8})_nohash_(\d+)\.wav", f)
            if not m:
                problems.append(f"{rel}: name is not <8 hex>_nohash_<n>.wav")
                continue
            r = check_format(os.path.join(root, rel), problems, frames=16000)
            if r:
                peaks.append(r[1])
            clips[rel] = m.group(1)
            per_word[w] += 1
    for k in KEYWORDS:
        if per_word[k] < 100:
            problems.append(f"keyword '{k}': {per_word[k]} clips, want >= 100")
    others = [w for w in words if w not in KEYWORDS]
    if len(others) < 12:
        problems.append(f"{len(others)} other words, want >= 12")

    noise_dir = os.path.join(root, "_background_noise_")
    noises = sorted(f for f in os.listdir(noise_dir) if f.endswith(".wav")) if os.path.isdir(noise_dir) else []
    if len(noises) < 3:
        problems.append(f"_background_noise_: {len(noises)} WAVs, want a few")
    noise_secs = {}
    for f in noises:
        r = check_format(os.path.join(noise_dir, f), problems, min_frames=10 * 16000)
        if r:
            noise_secs[f] = r[0] / 16000

    split_of = {}
    for name, split in (("validation_list.txt", "validation"), ("testing_list.txt", "testing")):
        path = os.path.join(root, name)
        if not os.path.isfile(path):
            problems.append(f"{name} missing")
            continue
        with open(path, encoding="utf-8", newline="") as f:
            for lineno, line in enumerate(f.read().splitlines(), 1):
                if "\\" in line or line.startswith("/"):
                    problems.append(f"{name}:{lineno}: not a relative forward-slash path: {line!r}")
                if line not in clips:
                    problems.append(f"{name}:{lineno}: no such clip: {line!r}")
                if line in split_of:
                    problems.append(f"{name}:{lineno}: {line} is also in the {split_of[line]} list")
                split_of[line] = split
    speaker_splits = defaultdict(set)
    hash_disagrees = 0
    for rel, sid in clips.items():
        split = split_of.get(rel, "training")
        speaker_splits[sid].add(split)
        if which_set(rel) != split:
            hash_disagrees += 1
    for sid, s in sorted(speaker_splits.items()):
        if len(s) > 1:
            problems.append(f"speaker {sid} is in several splits: {sorted(s)}")
    if hash_disagrees:
        problems.append(f"{hash_disagrees} clips where the tutorial's hash split disagrees with the lists")
    spk_count = Counter(next(iter(s)) for s in speaker_splits.values())
    clip_count = Counter(split_of.get(rel, "training") for rel in clips)

    voices = set()
    spk_csv = os.path.join(root, "speakers.csv")
    if os.path.isfile(spk_csv):
        with open(spk_csv, newline="") as f:
            for row in csv.DictReader(f):
                voices.add(row["voice"])
                if row["split"] not in speaker_splits.get(row["speaker_id"], {row["split"]}):
                    problems.append(f"speakers.csv: {row['speaker_id']} listed as {row['split']}")
    if len(voices) < 20:
        problems.append(f"{len(voices)} distinct voice/variant settings in speakers.csv, want >= 20")

    size = du_bytes(root)
    if size > max_mb * 1e6:
        problems.append(f"{size / 1e6:.1f} MB on disk, limit {max_mb} MB")

    print(f"kws {root}")
    print(f"  words: {len(words)} ({len(KEYWORDS)} keywords + {len(others)} others)")
    print("  clips per word: " + ", ".join(f"{w} {per_word[w]}" for w in KEYWORDS + others))
    print(f"  speakers: {len(speaker_splits)} (training {spk_count['training']}, validation {spk_count['validation']}, "
          f"testing {spk_count['testing']}); voice settings: {len(voices)}")
    print(f"  clips: {len(clips)} (training {clip_count['training']}, validation {clip_count['validation']}, "
          f"testing {clip_count['testing']}); hash split agrees with the lists: {hash_disagrees == 0}")
    if peaks:
        peaks.sort()
        print(f"  clip peaks: min {peaks[0]}, median {peaks[len(peaks) // 2]}, max {peaks[-1]} (of 32767)")
    print("  noise: " + ", ".join(f"{f} {s:.1f} s" for f, s in noise_secs.items()))
    print(f"  size on disk: {size / 1e6:.1f} MB ({size / 2**20:.1f} MiB)")
    return problems


def check_corpus(root, max_mb):
    problems = []
    voices_of = {}
    summary = []
    for split in ("train", "dev", "test"):
        rows = read_ds_csv(os.path.join(root, f"{split}.csv"), problems)
        vs, secs = set(), 0.0
        for wav, size, text in rows:
            vs.add(os.path.basename(wav).split("_")[0])
            r = check_format(wav, problems)
            if r:
                secs += r[0] / 16000
        voices_of[split] = vs
        summary.append(f"{split} {len(rows)} utterances, {len(vs)} voices, {secs / 60:.1f} min")
    for a, b in (("train", "dev"), ("train", "test"), ("dev", "test")):
        common = voices_of[a] & voices_of[b]
        if common:
            problems.append(f"voices in both {a} and {b}: {sorted(common)}")
    ldc = read_ds_csv(os.path.join(root, "ldc93s1", "ldc93s1.csv"), problems)
    if len(ldc) != 1:
        problems.append(f"ldc93s1.csv: {len(ldc)} rows, want 1")
    else:
        check_format(ldc[0][0], problems)
        if ldc[0][2] != "she had your dark suit in greasy wash water all year":
            problems.append(f"ldc93s1.csv: transcript {ldc[0][2]!r}")
    size = du_bytes(root)
    if size > max_mb * 1e6:
        problems.append(f"{size / 1e6:.1f} MB on disk, limit {max_mb} MB")
    print(f"corpus {root}")
    for s in summary:
        print("  " + s)
    print(f"  voices disjoint between splits: {not any('voices in both' in p for p in problems)}")
    print(f"  size on disk: {size / 1e6:.1f} MB ({size / 2**20:.1f} MiB)")
    return problems


def read_ds_csv(path, problems):
    """Rows (full wav path, wav_filesize, transcript) of a DeepSpeech CSV, checked."""
    rows = []
    if not os.path.isfile(path):
        problems.append(f"{path} missing")
        return rows
    folder = os.path.dirname(path)
    with open(path, newline="", encoding="utf-8") as f:
        r = csv.reader(f)
        header = next(r, None)
        if header != ["wav_filename", "wav_filesize", "transcript"]:
            problems.append(f"{path}: header {header}, want wav_filename,wav_filesize,transcript")
            return rows
        for lineno, row in enumerate(r, 2):
            if len(row) != 3:
                problems.append(f"{path}:{lineno}: {len(row)} fields")
                continue
            name, size, text = row
            if os.path.isabs(name) or "\\" in name:
                problems.append(f"{path}:{lineno}: wav_filename should be relative with forward slashes: {name}")
            wav = os.path.join(folder, name)
            if not os.path.isfile(wav):
                problems.append(f"{path}:{lineno}: no such file {name}")
                continue
            if int(size) != os.path.getsize(wav):
                problems.append(f"{path}:{lineno}: wav_filesize {size} but the file has {os.path.getsize(wav)} bytes")
            if not re.fullmatch(r"[a-z']+( [a-z']+)*", text):
                problems.append(f"{path}:{lineno}: transcript outside a-z, space, apostrophe: {text!r}")
            rows.append((wav, int(size), text))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("kind", choices=["kws", "corpus"])
    ap.add_argument("root")
    ap.add_argument("--max-mb", type=float, help="size limit on disk in MB (10^6 bytes); default 40 for kws, 15 for corpus")
    args = ap.parse_args()
    if args.kind == "kws":
        problems = check_kws(args.root, args.max_mb or 40)
    else:
        problems = check_corpus(args.root, args.max_mb or 15)
    if problems:
        print(f"{len(problems)} problem(s):")
        for p in problems[:50]:
            print("  " + p)
        if len(problems) > 50:
            print(f"  ... and {len(problems) - 50} more")
        sys.exit(1)
    print("  ok")


if __name__ == "__main__":
    main()
