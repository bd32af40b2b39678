#!/usr/bin/env python3
"""Synthesises Cochlea's two shipped speech datasets with espeak-ng and sox (Python stdlib only).

Called by tools/make_kws_dataset.sh (subcommand `kws`) and tools/make_speech_corpus.sh
(subcommand `corpus`); those scripts check that espeak-ng and sox are installed.

Everything random is drawn up front from one random.Random(seed), in a fixed order, before any
audio is made; espeak-ng and sox are deterministic (sox runs with -R, dithering off), so the same
seed and the same Debian packages give byte-identical files, whatever the number of jobs.

A "speaker" is one espeak-ng voice (accent) + variant with its own base speed, pitch, amplitude,
level and a little "microphone" colouring (high-pass, low-pass, sometimes a small room reverb);
each clip jitters speed, pitch and level around the speaker's values.
"""
import argparse
import concurrent.futures
import csv
import hashlib
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import wave
from array import array
from dataclasses import dataclass, field

SAMPLE_RATE = 16000

# espeak-ng 1.51 (Debian 12) English voices: the language-level voices in gmw/ (accents).
# ("en" is not the same voice as "en-gb": it picks its own entry.) mbrola voices are left out:
# they need the separate mbrola packages.
ACCENTS = ["en", "en-gb", "en-us", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp",
           "en-gb-x-gbcwmd", "en-029", "en-us-nyc"]

# Variants (voices/!v) that still sound like a person. Left out: whispers (whisper, whisperf,
# caleb), robots and effects (robosoft*, UniRobot, anikaRobot, RicishayMax*, Demonic, Tweaky,
# announcer, fast, "Mr serious"), and klatt6, whose output equals klatt's.
VARIANTS = [
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5",
    "klatt", "klatt2", "klatt3", "klatt4", "klatt5",
    "Alex", "Alicia", "Andrea", "Andy", "Annie", "AnxiousAndy", "Denis", "Diogo", "Gene", "Gene2",
    "Henrique", "Hugo", "Jacky", "Lee", "Marco", "Mario", "Michael", "Mike", "Nguyen", "Storm",
    "adam", "anika", "antonio", "aunty", "belinda", "benjamin", "boris", "croak", "david", "ed",
    "edward", "edward2", "grandma", "grandpa", "gustave", "iven", "iven2", "iven3", "iven4",
    "john", "kaukovalta", "linda", "marcelo", "max", "michel", "miguel", "norbert", "pablo",
    "paul", "pedro", "quincy", "rob", "robert", "sandro", "shelby", "steph", "steph2", "steph3",
    "travis", "victor", "zac",
]

KEYWORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
# The twenty auxiliary words of Speech Commands v1 (the unknown class).
OTHER_WORDS = ["bed", "bird", "cat", "dog", "eight", "five", "four", "happy", "house", "marvin",
               "nine", "one", "seven", "sheila", "six", "three", "tree", "two", "wow", "zero"]

LDC93S1_TEXT = "she had your dark suit in greasy wash water all year"

# TensorFlow speech_commands tutorial: MAX_NUM_WAVS_PER_CLASS and which_set().
MAX_NUM_WAVS_PER_CLASS = 2 ** 27 - 1


def which_set(filename, validation_percentage=10.0, testing_percentage=10.0):
    """The tutorial's stable hash split (input_data.which_set), bit for bit."""
    base_name = os.path.basename(filename)
    hash_name = re.sub(r"_nohash_.*$", "", base_name)
    hashed = hashlib.sha1(hash_name.encode("utf-8")).hexdigest()
    p = (int(hashed, 16) % (MAX_NUM_WAVS_PER_CLASS + 1)) * (100.0 / MAX_NUM_WAVS_PER_CLASS)
    if p < validation_percentage:
        return "validation"
    if p < testing_percentage + validation_percentage:
        return "testing"
    return "training"


@dataclass
class Speaker:
    sid: str            # 8 hex chars, as the real data set's hashed user ids
    split: str          # training | validation | testing (KWS) or train | dev | test (corpus)
    accent: str
    variant: str
    speed: int          # espeak-ng -s, words per minute
    pitch: int          # espeak-ng -p, 0..99
    amplitude: int      # espeak-ng -a (only changes how hard the synthesiser drives; level is set by sox)
    peak_db: float      # peak level of this speaker's clips, dBFS
    warp: float         # sox `speed` factor: shifts formants and pitch together (a longer or shorter vocal tract)
    highpass: int       # Hz
    lowpass: int        # Hz, 0 = none
    reverb: tuple = ()  # sox reverb (reverberance, HF damping, room scale, pre-delay ms, wet gain dB); () = dry
    floor: tuple = ()   # (kind, RMS dBFS): the room/microphone noise under the whole clip; () = digital silence
    engine: str = "espeak-ng"   # espeak-ng | flite | festival (training); pico | rhvoice | mbrola (held out)
    shift: int = 0      # sox `pitch` shift in cents (pitch alone, formants kept); 0 = none

    @property
    def voice(self):
        if self.engine == "espeak-ng":
            return f"{self.accent}+{self.variant}"
        return f"{self.engine}:{self.variant}"

    def describe_channel(self):
        parts = ([f"pitch {self.shift:+d} c"] if self.shift else []) + [f"warp {self.warp}", f"hp {self.highpass}"]
        parts.append(f"lp {self.lowpass}" if self.lowpass else "lp -")
        parts.append("reverb " + "/".join(str(x) for x in self.reverb) if self.reverb else "dry")
        if self.floor:
            parts.append(f"floor {self.floor[0]} {self.floor[1]} dB")
        return ", ".join(parts)


@dataclass
class Clip:
    text: str
    speaker: Speaker
    path: str           # output path relative to the data set root
    speed: int
    pitch: int
    peak_db: float
    lead: float         # KWS: position of the word in the free part of the clip, 0..1; corpus: seconds
    tail: float = 0.0   # corpus: seconds of silence after the speech
    extra: dict = field(default_factory=dict)


def make_speaker(rng, sid, split, accent, variant, speed_range, level_range, noise_floor=False):
    reverb = ()
    if rng.random() < 0.3:
        reverb = (rng.randint(10, 50), rng.randint(30, 80), rng.randint(10, 40), rng.randint(0, 10), rng.randint(-8, -3))
    # --noise-floor: most recordings have one; a quarter of the speakers keep digital silence (as TTS
    # output has). Drawn only when asked, so the default output stays what is committed.
    floor = ()
    if noise_floor and rng.random() >= 0.25:
        floor = (rng.choice(["white", "pink", "brown"]), round(rng.uniform(-72.0, -48.0), 1))
    return Speaker(
        sid=sid, split=split, accent=accent, variant=variant,
        speed=rng.randint(*speed_range), pitch=rng.randint(15, 85), amplitude=rng.randint(40, 110),
        peak_db=round(rng.uniform(*level_range), 1), warp=round(rng.uniform(0.9, 1.12), 3),
        highpass=rng.choice([40, 60, 80, 100, 150, 200, 300]),
        lowpass=rng.choice([0, 0, 3400, 4000, 5000, 6000, 7000, 7600]),
        reverb=reverb, floor=floor)


def jitter(rng, sp, speed_jitter, pitch_jitter, level_jitter):
    speed = max(80, min(260, round(sp.speed * rng.uniform(1 - speed_jitter, 1 + speed_jitter))))
    pitch = max(0, min(99, sp.pitch + rng.randint(-pitch_jitter, pitch_jitter)))
    peak = round(min(-0.5, sp.peak_db + rng.uniform(-level_jitter, level_jitter)), 1)
    return speed, pitch, peak


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"command failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr}")


def read_pcm16(path, rate=SAMPLE_RATE):
    with wave.open(path, "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2 and w.getframerate() == rate, path
        samples = array("h")
        samples.frombytes(w.readframes(w.getnframes()))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


def write_pcm16(path, samples, rate=SAMPLE_RATE):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = array("h", samples)
    if sys.byteorder == "big":
        data.byteswap()
    tmp = path + ".part"
    with wave.open(tmp, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(data.tobytes())
    os.replace(tmp, path)


def trim_zeros(samples, floor=2):
    """Drops the synthesiser's digital silence at both ends (|x| <= floor). A level threshold (sox
    silence) would also cut quiet fricatives: the /f/ of "off" can sit 35 dB below the vowel."""
    first = next((i for i, x in enumerate(samples) if abs(x) > floor), len(samples))
    last = next((i for i in range(len(samples) - 1, -1, -1) if abs(samples[i]) > floor), -1)
    return samples[first:last + 1]


def stretch_of(speed):
    """flite/festival duration stretch for a speaking rate given in espeak-ng's words per minute."""
    return "%.3f" % (170.0 / speed)


def synthesise_raw(clip, raw, workdir):
    """The synthesiser's own output for the clip, as a WAV at its own rate."""
    sp = clip.speaker
    if sp.engine == "espeak-ng":
        run(["espeak-ng", "-v", sp.voice, "-s", str(clip.speed), "-p", str(clip.pitch),
             "-a", str(sp.amplitude), "-w", raw, clip.text])
    elif sp.engine == "flite":
        run(["flite", "-voice", sp.variant, "--setf", f"duration_stretch={stretch_of(clip.speed)}",
             "-t", clip.text, "-o", raw])
    elif sp.engine == "festival":
        # Diphone voices follow Duration_Stretch; HTS voices ignore it (their rate is set with sox tempo).
        script = os.path.join(workdir, "say.scm")
        with open(script, "w") as f:
            f.write(f"(voice_{sp.variant})\n(Parameter.set 'Duration_Stretch {stretch_of(clip.speed)})\n"
                    f"(utt.save.wave (SynthText \"{clip.text}\") \"{raw}\" 'riff)\n")
        run(["festival", "-b", script])
    elif sp.engine == "mbrola":
        # espeak-ng's front end driving an MBROLA diphone voice (-v mb-us1): held out, never trained on.
        run(["espeak-ng", "-v", sp.variant, "-s", str(clip.speed), "-w", raw, clip.text])
    elif sp.engine == "pico":
        run(["pico2wave", "-l", sp.variant, "-w", raw, clip.text])
    elif sp.engine == "rhvoice":
        r = subprocess.run(["RHVoice-test", "-p", sp.variant, "-o", raw], input=clip.text,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"RHVoice-test failed ({r.returncode}) for {clip.text!r} with voice {sp.variant}\n{r.stderr}")
    else:
        raise ValueError(f"unknown engine {sp.engine!r}")


def synthesise(clip, workdir, max_len=None):
    """synthesiser -> sox (16 kHz mono 16-bit, silence trimmed, channel colouring, peak level); returns the samples."""
    sp = clip.speaker
    raw = os.path.join(workdir, "raw.wav")
    out = os.path.join(workdir, "trimmed.wav")
    synthesise_raw(clip, raw, workdir)
    with wave.open(raw, "rb") as w:
        espeak_rate = w.getframerate()
    speech = trim_zeros(read_pcm16(raw, espeak_rate))
    if not speech:
        raise RuntimeError(f"{sp.engine} made no sound for {clip.text!r} with voice {sp.voice}")
    write_pcm16(raw, speech, espeak_rate)
    # flite's voices are 8 or 16 kHz: upsample first (espeak-ng's 22050 Hz), so that the microphone
    # low-pass (up to 7.6 kHz) stays below Nyquist after the formant warp.
    effects = ["rate", "-v", "22050"] if espeak_rate < 22050 else []
    cents = clip.extra.get("cents", 0)
    if cents:
        effects += ["pitch", str(cents)]
    tempo = clip.extra.get("tempo", 1.0)
    if tempo != 1.0:
        effects += ["tempo", "-s", "%.3f" % tempo]
    effects += ["speed", str(sp.warp), "highpass", str(sp.highpass)]
    if sp.lowpass:
        effects += ["lowpass", str(sp.lowpass)]
    if sp.reverb:
        rev, damp, room, pre, wet = sp.reverb
        effects += ["reverb", str(rev), str(damp), str(room), "100", str(pre), str(wet),
                    # end the reverb tail where it falls below -60 dBFS (before the level is set)
                    "reverse", "silence", "1", "0.002", "-60d", "reverse"]
    effects += ["rate", "-v", str(SAMPLE_RATE), "norm", str(clip.peak_db)]
    run(["sox", "-R", "-D", "-V1", raw, "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer", out] + effects)
    speech = read_pcm16(out)
    if max_len and len(speech) > max_len:
        # Too long for the clip (slow speaker, drawling variant, reverb): speed it up, pitch kept.
        fitted = os.path.join(workdir, "fitted.wav")
        run(["sox", "-R", "-D", "-V1", out, fitted, "tempo", "-s", "%.4f" % (len(speech) / max_len * 1.02)])
        speech = read_pcm16(fitted)[:max_len]
    fade_in(speech, 48)       # 3 ms and 20 ms fades: no click where the silence was cut
    fade_out(speech, 320)
    return speech


def fade_in(samples, n):
    n = min(n, len(samples))
    for i in range(n):
        samples[i] = int(samples[i] * i / n)


def fade_out(samples, n):
    n = min(n, len(samples))
    for i in range(n):
        k = len(samples) - n + i
        samples[k] = int(samples[k] * (n - i) / n)


def noise_floor(kind, rms_db, n, seed):
    """n samples of white, pink (Paul Kellet's filter) or brown (leaky integrator) noise at rms_db dBFS."""
    rng = random.Random(seed)
    g = rng.gauss
    out = [0.0] * n
    if kind == "white":
        for i in range(n):
            out[i] = g(0.0, 1.0)
    elif kind == "pink":
        b0 = b1 = b2 = 0.0
        for i in range(n):
            w = g(0.0, 1.0)
            b0 = 0.99765 * b0 + w * 0.0990460
            b1 = 0.96300 * b1 + w * 0.2965164
            b2 = 0.57000 * b2 + w * 1.0526913
            out[i] = b0 + b1 + b2 + w * 0.1848
    else:
        b = 0.0
        for i in range(n):
            b = 0.98 * b + g(0.0, 1.0)
            out[i] = b
    mean = sum(out) / n
    rms = (sum((x - mean) ** 2 for x in out) / n) ** 0.5
    scale = 32768 * 10 ** (rms_db / 20) / rms
    return [(x - mean) * scale for x in out]


def add_floor(samples, speaker, seed):
    if not speaker.floor:
        return samples
    noise = noise_floor(speaker.floor[0], speaker.floor[1], len(samples), seed)
    return array("h", (max(-32768, min(32767, int(round(x + v)))) for x, v in zip(samples, noise)))


def render_kws(clip, root, workdir):
    margin = 160                                  # keep 10 ms of silence at least at each end
    room = SAMPLE_RATE - 2 * margin
    speech = synthesise(clip, workdir, max_len=room)
    offset = margin + int(round(clip.lead * (room - len(speech))))
    out = array("h", bytes(2 * offset))
    out.extend(speech)
    out.extend(array("h", bytes(2 * (SAMPLE_RATE - len(out)))))
    assert len(out) == SAMPLE_RATE
    write_pcm16(os.path.join(root, clip.path), add_floor(out, clip.speaker, clip.extra["noise_seed"]))
    return clip.path, len(speech)


def render_corpus(clip, root, workdir):
    speech = synthesise(clip, workdir)
    lead, tail = int(clip.lead * SAMPLE_RATE), int(clip.tail * SAMPLE_RATE)
    out = array("h", bytes(2 * lead))
    out.extend(speech)
    out.extend(array("h", bytes(2 * tail)))
    write_pcm16(os.path.join(root, clip.path), add_floor(out, clip.speaker, clip.extra["noise_seed"]))
    return clip.path, len(out)


def render_all(clips, root, render, jobs):
    """Renders the clips with `jobs` parallel workers (each with its own scratch folder)."""
    scratch = tempfile.mkdtemp(prefix="cochlea-espeak-")
    try:
        workers = [os.path.join(scratch, f"w{i}") for i in range(jobs)]
        for w in workers:
            os.makedirs(w)
        chunks = [clips[i::jobs] for i in range(jobs)]

        def work(i):
            done = []
            for c in chunks[i]:
                done.append(render(c, root, workers[i]))
            return done

        results = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
            for part in ex.map(work, range(jobs)):
                results.extend(part)
        return dict(results)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def new_sid(rng, used, want_split=None):
    """A fresh 8-hex-char speaker id; with want_split, one that the tutorial's hash split also puts there."""
    while True:
        sid = "%08x" % rng.getrandbits(32)
        if sid in used:
            continue
        if want_split is not None and which_set(sid + "_nohash_0.wav") != want_split:
            continue
        used.add(sid)
        return sid


def pick_voices(rng, n):
    """n speakers' (accent, variant): all variants distinct, accents spread evenly."""
    if n > len(VARIANTS):
        raise SystemExit(f"at most {len(VARIANTS)} speakers (one per variant), asked for {n}")
    variants = rng.sample(VARIANTS, n)
    accents = []
    while len(accents) < n:
        block = ACCENTS[:]
        rng.shuffle(block)
        accents += block
    return list(zip(accents[:n], variants))


# ----------------------------------------------------------------------------------------- kws

def plan_kws(args):
    rng = random.Random(args.seed)
    n = args.speakers
    n_val = max(1, round(n * args.validation_percent / 100))
    n_test = max(1, round(n * args.testing_percent / 100))
    splits = ["validation"] * n_val + ["testing"] * n_test + ["training"] * (n - n_val - n_test)
    used = set()
    speakers = []
    for (accent, variant), split in zip(pick_voices(rng, n), splits):
        # Ids are chosen so that the TF tutorial's hash split (10 % / 10 %) gives the same split as
        # the list files: a loader that ignores the lists still keeps these speakers apart.
        sid = new_sid(rng, used, split)
        speakers.append(make_speaker(rng, sid, split, accent, variant, (90, 180), (-20.0, -1.0), args.noise_floor))
    rng.shuffle(speakers)

    clips = []
    # Keywords: every speaker says every keyword once; `extra` speakers (different ones per word)
    # say it a second time, so each keyword has speakers + extra clips.
    for word in KEYWORDS:
        twice = set(rng.sample(range(n), args.clips_per_keyword - n)) if args.clips_per_keyword > n else set()
        if args.clips_per_keyword < n:
            raise SystemExit("--clips-per-keyword must be at least --speakers")
        for i, sp in enumerate(speakers):
            for rep in range(2 if i in twice else 1):
                clips.append(kws_clip(rng, sp, word, rep))
    # Unknown words: dealt out round robin over a shuffled deck so each word gets about the same count;
    # the first `unknown_clips mod speakers` speakers say one more.
    deck = []
    while len(deck) < args.unknown_clips:
        block = OTHER_WORDS[:]
        rng.shuffle(block)
        deck += block
    deck = deck[:args.unknown_clips]
    per = [0] * n
    k = 0
    counts = {}
    while k < len(deck):
        for i in range(n):
            if k == len(deck):
                break
            per[i] += 1
            k += 1
    k = 0
    for i, sp in enumerate(speakers):
        for _ in range(per[i]):
            word = deck[k]
            k += 1
            rep = counts.get((word, sp.sid), 0)
            counts[(word, sp.sid)] = rep + 1
            clips.append(kws_clip(rng, sp, word, rep))
    if args.other_speakers:
        speakers, clips = add_other_speakers(args, speakers, clips, used)
    return speakers, clips


# Training-only voices of two more synthesisers, so that a model hears more than espeak-ng's voice.
# flite 2.2 (Debian 12): two diphone voices of one speaker (8 and 16 kHz) and three clustergen
# voices of CMU ARCTIC speakers (awb_time is a talking clock and left out). festival 2.5: four
# diphone voices and one HTS voice (its mbrola voices us1..us3/en1 are left out: MBROLA is held out).
FLITE_VOICES = ["kal", "kal16", "awb", "rms", "slt"]
FESTIVAL_VOICES = ["kal_diphone", "ked_diphone", "rab_diphone", "don_diphone", "cmu_us_slt_arctic_hts"]
OTHER_VOICES = [("flite", v) for v in FLITE_VOICES] + [("festival", v) for v in FESTIVAL_VOICES]


def rate_by_tempo(engine, voice):
    """Engines/voices whose speaking rate is set with sox tempo (HTS voices ignore festival's
    Duration_Stretch; pico2wave and RHVoice-test take no rate)."""
    return voice.endswith("_hts") or engine in ("pico", "rhvoice")


def add_other_speakers(args, speakers, clips, used):
    """Training-only speakers made with flite and festival, each a stock voice changed by sox (pitch
    shift, formant warp, rate, microphone), drawn from their own random stream so the espeak-ng clips
    keep their bytes. Each says every keyword once and `other_unknown` other words, so that no voice
    means "keyword" (speakers who said keywords only made the model call unknown words keywords).
    Room for them in the 40 MB: most of the training espeak-ng speakers' second takes of keywords go
    (validation and testing keep theirs, so the test split stays what it was)."""
    rng = random.Random(args.seed * 1000003 + 7)
    # Of those second takes, keep just enough (the first by path) for clips_per_keyword per keyword.
    second = lambda c: (c.speaker.split == "training" and c.extra["word"] in KEYWORDS
                        and not c.path.endswith("_nohash_0.wav"))
    keep = set()
    for word in KEYWORDS:
        others = sum(1 for c in clips if c.extra["word"] == word and not second(c))
        takes = sorted(c.path for c in clips if c.extra["word"] == word and second(c))
        keep.update(takes[:max(0, args.clips_per_keyword - others - args.other_speakers)])
    clips = [c for c in clips if not second(c) or c.path in keep]
    new = []
    for i in range(args.other_speakers):
        engine, voice = OTHER_VOICES[i % len(OTHER_VOICES)]
        sp = make_speaker(rng, new_sid(rng, used, "training"), "training", "", voice, (120, 220), (-20.0, -1.0))
        sp.engine = engine
        sp.warp = round(rng.uniform(0.9, 1.12), 3)
        sp.shift = rng.randint(-300, 300)
        new.append(sp)
    deck = []
    for sp in new:
        words = KEYWORDS[:]
        for _ in range(args.other_unknown):
            if not deck:
                deck = OTHER_WORDS[:]
                rng.shuffle(deck)
            words.append(deck.pop())
        said = {}
        for word in words:
            said[word] = said.get(word, -1) + 1
            clips.append(other_clip(rng, sp, word, said[word]))
    return speakers + new, clips


def other_clip(rng, sp, word, rep):
    c = kws_clip(rng, sp, word, rep)
    c.extra["cents"] = max(-1200, min(1200, sp.shift + rng.randint(-80, 80)))
    if rate_by_tempo(sp.engine, sp.variant):
        c.extra["tempo"] = round(c.speed / 170.0, 3)
    return c


def kws_clip(rng, sp, word, rep):
    speed, pitch, peak = jitter(rng, sp, 0.12, 8, 3.0)
    # A little prosody: a plain word, a statement, a question or an exclamation.
    text = word + rng.choice(["", "", ".", "?", "!"])
    return Clip(text=text, speaker=sp, path=f"{word}/{sp.sid}_nohash_{rep}.wav",
                speed=speed, pitch=pitch, peak_db=peak, lead=rng.random(),
                extra={"word": word, "noise_seed": rng.getrandbits(32) if sp.floor else 0})


# ------------------------------------------------------------------------------------- heldout

# Voices for evaluation sets (never written into the shipped data). pico (SVOX Pico, Debian
# non-free libttspico-utils), rhvoice (RHVoice, rhvoice-english: HTS voices) and mbrola (MBROLA
# diphones driven by espeak-ng's front end; mbrola-us1..3, mbrola-en1) are never used in training;
# flite and festival are training engines of the shipped data (their stock voices, unaltered here).
HELDOUT_VOICES = {
    "pico": ["en-US", "en-GB"],
    "rhvoice": ["alan", "bdl", "clb", "slt"],
    "mbrola": ["mb-us1", "mb-us2", "mb-us3", "mb-en1"],
    "flite": FLITE_VOICES,
    "festival": ["kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts"],
}
# Speaking rates (relative to the voice's own): 100-150 keyword clips per engine.
HELDOUT_RATES = {"pico": "0.8,0.9,1.0,1.12,1.25", "rhvoice": "0.8,1.0,1.25", "mbrola": "0.8,1.0,1.25",
                 "flite": "0.8,1.0,1.25", "festival": "0.8,0.9,1.0,1.12,1.25"}


def cmd_heldout(args):
    """Keyword clips of one synthesiser's stock voices at a few speaking rates, unprocessed apart from
    trimming, 16 kHz, a peak level and a random place in the 1 s clip; Speech Commands layout."""
    rng = random.Random(args.seed)
    voices = HELDOUT_VOICES[args.engine]
    rates = [float(r) for r in (args.rates or HELDOUT_RATES[args.engine]).split(",")]
    used, clips, speakers = set(), [], []
    for voice in voices:
        for rate in rates:
            sp = Speaker(sid=new_sid(rng, used), split="all", accent="", variant=voice, speed=170, pitch=50,
                         amplitude=100, peak_db=-3.0, warp=1.0, highpass=20, lowpass=0, engine=args.engine)
            hts = rate_by_tempo(args.engine, voice)
            for word in KEYWORDS + (OTHER_WORDS if args.unknown else []):
                # rate: speaking rate relative to the voice's own (engine duration stretch 1/rate, or sox tempo)
                speed = 170 if hts else round(170 * rate)
                clips.append(Clip(text=word, speaker=sp, path=f"{word}/{sp.sid}_nohash_0.wav", speed=speed, pitch=50,
                                  peak_db=round(rng.uniform(-12.0, -1.0), 1), lead=rng.random(),
                                  extra={"word": word, "noise_seed": 0, "tempo": rate if hts else 1.0}))
            speakers.append((sp, rate))
    for d in KEYWORDS + OTHER_WORDS:
        shutil.rmtree(os.path.join(args.out, d), ignore_errors=True)
    os.makedirs(args.out, exist_ok=True)
    print(f"heldout: {args.engine}, {len(speakers)} voice/rate settings, {len(clips)} clips -> {args.out}", flush=True)
    render_all(clips, args.out, render_kws, args.jobs)
    with open(os.path.join(args.out, "speakers.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["speaker_id", "engine", "voice", "rate"])
        for sp, rate in speakers:
            w.writerow([sp.sid, sp.engine, sp.variant, rate])
    print("heldout: done", flush=True)


def cmd_kws(args):
    root = args.out
    speakers, clips = plan_kws(args)
    for d in KEYWORDS + OTHER_WORDS:
        shutil.rmtree(os.path.join(root, d), ignore_errors=True)
    os.makedirs(root, exist_ok=True)
    print(f"kws: {len(speakers)} speakers, {len(clips)} clips -> {root} ({args.jobs} jobs)", flush=True)
    lengths = render_all(clips, root, render_kws, args.jobs)

    by_split = {"validation": [], "testing": []}
    for c in clips:
        if c.speaker.split in by_split:
            by_split[c.speaker.split].append(c.path)
    for split, name in (("validation", "validation_list.txt"), ("testing", "testing_list.txt")):
        with open(os.path.join(root, name), "w", newline="\n") as f:
            for p in sorted(by_split[split]):
                f.write(p + "\n")

    with open(os.path.join(root, "speakers.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        shifted = any(sp.shift for sp in speakers)     # the pitch-shift column only when there are flite speakers
        w.writerow(["speaker_id", "split", "voice", "speed_wpm", "pitch", "amplitude", "peak_dbfs",
                    "warp", "highpass_hz", "lowpass_hz", "reverb", "noise_floor"] + (["pitch_shift_cents"] if shifted else []))
        for sp in sorted(speakers, key=lambda s: (s.split, s.sid)):
            w.writerow([sp.sid, sp.split, sp.voice, sp.speed, sp.pitch, sp.amplitude, sp.peak_db,
                        sp.warp, sp.highpass, sp.lowpass, " ".join(map(str, sp.reverb)), " ".join(map(str, sp.floor))]
                       + ([sp.shift] if shifted else []))
    write_kws_readme(root, args, speakers, clips, lengths)
    print("kws: done", flush=True)


def write_kws_readme(root, args, speakers, clips, lengths):
    words = KEYWORDS + OTHER_WORDS
    per_word = {w: {"training": 0, "validation": 0, "testing": 0} for w in words}
    for c in clips:
        per_word[c.extra["word"]][c.speaker.split] += 1
    spk = {s: sum(1 for sp in speakers if sp.split == s) for s in ("training", "validation", "testing")}
    noises = sorted(f for f in os.listdir(os.path.join(root, "_background_noise_")) if f.endswith(".wav"))
    speech_ms = sorted(v * 1000 // SAMPLE_RATE for v in lengths.values())
    others = [sp for sp in speakers if sp.engine != "espeak-ng"]
    lines = [
        "# speech_commands_mini",
        "",
        "A small keyword-spotting data set in the exact layout of Google's Speech Commands, made",
        "entirely by `tools/make_kws_dataset.sh` with Debian's `espeak-ng` (1.51)" + (", `flite` (2.2), `festival` (2.5)" if others else "") + " and `sox` - no",
        "recordings of people. It exists so that Cochlea's KWS training, evaluation and demo run on a",
        "machine without internet; the real Speech Commands v1/v2 folders work with the same commands.",
        "",
        "Regenerate (byte-identical with the same seed and the same Debian packages):",
        "",
        "```bash",
        "apt-get install -y espeak-ng sox" + (" flite festival festvox-kallpc16k festvox-kdlpc16k festvox-rablpc16k festvox-don festvox-us-slt-hts" if others else "") + "   # once",
        f"tools/make_kws_dataset.sh --seed {args.seed}" + (" --noise-floor" if args.noise_floor else "")
        + (f" --other-speakers {args.other_speakers}" if args.other_speakers != 12 else ""),
        "python3 tools/check_datasets.py kws data/speech_commands_mini",
        "```",
        "",
        "## Layout",
        "",
        "- one folder per word with 1 s clips: 16 kHz, mono, 16-bit PCM WAV, exactly 16000 samples;",
        "  names `<speaker id>_nohash_<n>.wav` as in the real data set (8 hex chars per speaker, `n`",
        "  counts that speaker's repetitions of the word);",
        f"- `_background_noise_/`: {len(noises)} generated noises of 10 s ({', '.join(noises)}), made with `sox synth`;",
        "- `validation_list.txt`, `testing_list.txt`: clip paths relative to this folder (forward",
        "  slashes); every other clip is training. Splits are by speaker: a speaker's clips are all in",
        "  one split. The speaker ids were drawn so that the TF tutorial's hash split (`which_set`, 10 % /",
        "  10 %) gives the same split as the lists, so a loader that uses either agrees;",
        "- `speakers.csv`: each speaker's voice and settings.",
        "",
        "## How a clip is made",
        "",
        "Each speaker is one espeak-ng accent + variant (`-v en-gb-scotland+f3`; all variants distinct,",
        "so no variant heard in training occurs in validation or testing) with a base speed (`-s`",
        "90..180 wpm), pitch (`-p` 15..85), amplitude (`-a`), level (peak -20..-1 dBFS), a formant",
        "warp (sox `speed` 0.9..1.12: a shorter or longer vocal tract) and a",
        "\"microphone\": a high-pass (40..300 Hz), often a low-pass (3.4..7.6 kHz) and for about 30 % of",
        "speakers a small room reverb. Each clip jitters speed (+-12 %), pitch (+-8) and level (+-3 dB),",
        "adds a random end mark (none, `.`, `?`, `!`) for different intonation, trims the synthesiser's",
        "silence, resamples to 16 kHz and places the word at a random offset in the 1 s clip",
        f"(speech length: median {speech_ms[len(speech_ms) // 2]} ms, {speech_ms[0]}..{speech_ms[-1]} ms).",
    ] + ([
        "",
        f"{len(others)} more training-only speakers come from two other synthesisers, so that a model hears",
        "more than one engine: each is one stock voice of flite (" + ", ".join(FLITE_VOICES) + ") or",
        "festival (" + ", ".join(FESTIVAL_VOICES) + ")",
        "changed by sox: a pitch shift (`pitch`, -300..+300 cents,",
        "+-80 per clip), a formant warp (`speed` 0.9..1.12), a speaking rate (0.77..1.42 with +-12 % per",
        "clip; flite `duration_stretch`, festival `Duration_Stretch`, sox `tempo` for the HTS voice) and the",
        f"same kind of \"microphone\". Each says every keyword once and {args.other_unknown} other words, so that no voice",
        "means \"keyword\". Their room in the 40 MB comes from the espeak-ng training speakers, most of whom",
        "say each keyword once (validation and testing speakers keep their second takes). Validation and",
        "testing are espeak-ng voices unheard in training. No pico, RHVoice or MBROLA voice is used at all:",
        "`tools/make_kws_heldout.sh` makes held-out sets from those engines.",
        "",
    ] if others else []) + ([
        "Made with `--noise-floor`: about 75 % of the speakers have a noise floor (white, pink or brown",
        "noise at -72..-48 dBFS RMS, fresh for every clip) under the whole clip; the others keep digital",
        "silence, as synthesiser output has, so a model meets both.",
    ] if args.noise_floor else [
        "The rest of the clip is digital silence (`--noise-floor` would put a room/microphone noise floor",
        "under most speakers' clips instead). Mix `_background_noise_` in training as usual.",
    ]) + [
        "",
        "## Counts",
        "",
        f"{len(speakers)} speakers: {spk['training']} training, {spk['validation']} validation, {spk['testing']} testing. "
        f"{len(clips)} clips.",
        "",
        "| word | clips | training | validation | testing |",
        "|---|---:|---:|---:|---:|",
    ]
    for w in words:
        c = per_word[w]
        lines.append(f"| {w}{' (keyword)' if w in KEYWORDS else ''} | {sum(c.values())} | {c['training']} | {c['validation']} | {c['testing']} |")
    tot = {s: sum(per_word[w][s] for w in words) for s in ("training", "validation", "testing")}
    lines.append(f"| **all** | {len(clips)} | {tot['training']} | {tot['validation']} | {tot['testing']} |")
    lines += [
        "",
        "## Voices",
        "",
        "| speaker | split | voice (`-v`) | speed | pitch | level dBFS | channel |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for sp in sorted(speakers, key=lambda s: ({"training": 0, "validation": 1, "testing": 2}[s.split], s.sid)):
        lines.append(f"| {sp.sid} | {sp.split} | {sp.voice} | {sp.speed} | {sp.pitch} | {sp.peak_db} | {sp.describe_channel()} |")
    lines += [
        "",
        "## License",
        "",
        "The audio is synthetic: output of espeak-ng (GPL-3.0-or-later program; its output audio is not",
        "covered by the GPL), flite and festival with their voices (permissive licences; festvox-rablpc16k",
        "and festvox-don come from Debian contrib) and sox's noise generators. The word list follows Speech Commands, but no",
        "audio of that data set is included. Use it freely, like the rest of Cochlea.",
        "",
        "Synthetic voices are far more regular than people: accuracy on this set says that the pipeline",
        "works, not how a model does on real speech. Train on the real Speech Commands for that.",
        "",
    ]
    with open(os.path.join(root, "README.md"), "w", newline="\n") as f:
        f.write("\n".join(lines))


# -------------------------------------------------------------------------------------- corpus

def read_sentences(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            if not re.fullmatch(r"[a-z']+( [a-z']+)*", s):
                raise SystemExit(f"{path}:{lineno}: only lowercase letters, apostrophes and single spaces: {s!r}")
            out.append(s)
    if len(set(out)) != len(out):
        raise SystemExit(f"{path}: duplicate sentences")
    return out


def plan_corpus(args):
    rng = random.Random(args.seed)
    sentences = read_sentences(args.sentences)
    counts = {"train": args.train_voices, "dev": args.dev_voices, "test": args.test_voices}
    n = sum(counts.values())
    splits = [s for s in ("train", "dev", "test") for _ in range(counts[s])]
    used = set()
    speakers = [make_speaker(rng, new_sid(rng, used), split, a, v, (170, 215), (-9.0, -1.0), args.noise_floor)
                for (a, v), split in zip(pick_voices(rng, n), splits)]
    # Each sentence is spoken once; sentences are split like the voices (disjoint), so dev and test
    # measure new voices saying new sentences.
    order = list(range(len(sentences)))
    rng.shuffle(order)
    n_dev = round(len(sentences) * args.dev_percent / 100)
    n_test = round(len(sentences) * args.test_percent / 100)
    part = {"dev": order[:n_dev], "test": order[n_dev:n_dev + n_test], "train": order[n_dev + n_test:]}
    clips = []
    for split in ("train", "dev", "test"):
        voices = [sp for sp in speakers if sp.split == split]
        # part[split] is in random order: dealing it round robin gives each voice random sentences.
        for j, si in enumerate(part[split]):
            sp = voices[j % len(voices)]
            speed, pitch, peak = jitter(rng, sp, 0.08, 5, 1.5)
            clips.append(Clip(text=sentences[si], speaker=sp, path=f"{split}/{sp.sid}_{si:03d}.wav",
                              speed=speed, pitch=pitch, peak_db=peak,
                              lead=round(rng.uniform(0.03, 0.12), 3), tail=round(rng.uniform(0.03, 0.12), 3),
                              extra={"split": split, "noise_seed": rng.getrandbits(32) if sp.floor else 0}))
    clips.sort(key=lambda c: c.path)
    # LDC93S1: TIMIT's "she had your dark suit..." (a woman's voice, 2.9 s); here one fixed clean voice.
    ldc_voice = Speaker(sid="ldc93s1", split="ldc93s1", accent="en-us", variant="f3", speed=175, pitch=55,
                        amplitude=80, peak_db=-1.0, warp=1.0, highpass=40, lowpass=0)
    ldc = Clip(text=LDC93S1_TEXT, speaker=ldc_voice, path="ldc93s1/LDC93S1.wav", speed=175, pitch=55,
               peak_db=-1.0, lead=0.15, tail=0.15, extra={"split": "ldc93s1", "noise_seed": 0})
    return sentences, speakers, clips, ldc


def cmd_corpus(args):
    root = args.out
    sentences, speakers, clips, ldc = plan_corpus(args)
    for d in ("train", "dev", "test", "ldc93s1"):
        shutil.rmtree(os.path.join(root, d), ignore_errors=True)
    os.makedirs(root, exist_ok=True)
    print(f"corpus: {len(speakers)} voices, {len(clips)} utterances + LDC93S1 -> {root} ({args.jobs} jobs)", flush=True)
    lengths = render_all(clips + [ldc], root, render_corpus, args.jobs)

    def write_csv(path, rows):
        folder = os.path.dirname(path)
        with open(path, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["wav_filename", "wav_filesize", "transcript"])
            for c in rows:
                wav = os.path.join(root, c.path)
                w.writerow([os.path.relpath(wav, folder).replace(os.sep, "/"), os.path.getsize(wav), c.text])

    for split in ("train", "dev", "test"):
        write_csv(os.path.join(root, f"{split}.csv"), [c for c in clips if c.extra["split"] == split])
    write_csv(os.path.join(root, "ldc93s1", "ldc93s1.csv"), [ldc])

    with open(os.path.join(root, "speakers.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["speaker_id", "split", "voice", "speed_wpm", "pitch", "amplitude", "peak_dbfs",
                    "warp", "highpass_hz", "lowpass_hz", "reverb", "noise_floor"])
        for sp in speakers:
            w.writerow([sp.sid, sp.split, sp.voice, sp.speed, sp.pitch, sp.amplitude, sp.peak_db,
                        sp.warp, sp.highpass, sp.lowpass, " ".join(map(str, sp.reverb)), " ".join(map(str, sp.floor))])
    write_corpus_readme(root, args, sentences, speakers, clips, lengths)
    print("corpus: done", flush=True)


def write_corpus_readme(root, args, sentences, speakers, clips, lengths):
    rows = []
    for split in ("train", "dev", "test"):
        cs = [c for c in clips if c.extra["split"] == split]
        secs = sum(lengths[c.path] for c in cs) / SAMPLE_RATE
        words = sum(len(c.text.split()) for c in cs)
        nv = sum(1 for sp in speakers if sp.split == split)
        rows.append(f"| {split} | `{split}.csv` | {nv} | {len(cs)} | {words} | {secs / 60:.1f} min |")
    ldc_s = lengths["ldc93s1/LDC93S1.wav"] / SAMPLE_RATE
    lines = [
        "# speech_corpus",
        "",
        "A tiny English speech corpus for DeepSpeech (model 5), made entirely by",
        "`tools/make_speech_corpus.sh` with Debian's `espeak-ng` (1.51) and `sox` from the sentences",
        f"in `tools/speech_corpus_sentences.txt` ({len(sentences)} short sentences of 3..8 words, written for",
        "this project). It is for checking the pipeline end to end - CSV input, features, CTC",
        "training, decoding, WER - on a machine without internet, not for a useful recogniser.",
        "",
        "```bash",
        "apt-get install -y espeak-ng sox       # once",
        f"tools/make_speech_corpus.sh --seed {args.seed}" + (" --noise-floor" if args.noise_floor else ""),
        "python3 tools/check_datasets.py corpus data/speech_corpus",
        "```",
        "",
        "## Files",
        "",
        "- `train.csv`, `dev.csv`, `test.csv`: DeepSpeech's import format `wav_filename,wav_filesize,transcript`;",
        "  `wav_filename` is relative to the CSV's folder (`train/3f2a91c0_017.wav`), `wav_filesize` in bytes;",
        "  transcripts are lowercase `a-z`, space and apostrophe (DeepSpeech's 28 characters + blank).",
        "- WAVs: 16 kHz, mono, 16-bit PCM; names `<voice id>_<sentence number>.wav` (the sentence's",
        "  index in the sentence file, from 0).",
        f"- `ldc93s1/LDC93S1.wav` + `ldc93s1/ldc93s1.csv` (one row): \"{LDC93S1_TEXT}\",",
        f"  {ldc_s:.2f} s, voice en-us+f3 - a stand-in for TIMIT's LDC93S1 sample for the classic check",
        "  that a model overfits one utterance to WER 0 (the real LDC93S1.wav works the same way).",
        "- `speakers.csv`: each voice's settings.",
        "",
        "## Splits (by voice: no voice in two splits; the sentences are disjoint too)",
        "",
        "| split | csv | voices | utterances | words | audio |",
        "|---|---|---:|---:|---:|---:|",
    ] + rows + [
        "",
        "Each sentence is spoken once, by one voice: at 16 kHz / 16-bit the 15 MB budget holds about",
        "300 utterances of ~1.5 s, so more voices per sentence would mean fewer sentences.",
        "",
        "A voice is an espeak-ng accent + variant (all variants distinct) with its own speed (170..215",
        "wpm), pitch, level, formant warp (sox `speed` 0.9..1.12) and a mild \"microphone\" (high-pass,",
        "sometimes low-pass or a small reverb" + (", for about 75 % of voices a noise floor at -72..-48 dBFS RMS);" if args.noise_floor else ");"),
        "each utterance jitters speed (+-8 %), pitch and level and gets 30..120 ms of silence before and",
        "after the speech.",
        "",
        "| voice id | split | voice (`-v`) | speed | pitch | channel |",
        "|---|---|---|---:|---:|---|",
    ]
    for sp in speakers:
        lines.append(f"| {sp.sid} | {sp.split} | {sp.voice} | {sp.speed} | {sp.pitch} | {sp.describe_channel()} |")
    lines += [
        "",
        "## License",
        "",
        "Synthetic audio from espeak-ng (GPL-3.0-or-later program; its output is not covered by the GPL);",
        "the sentences were written for Cochlea. The LDC93S1 clip is synthesised here, not TIMIT's",
        "recording. Use it freely, like the rest of Cochlea.",
        "",
    ]
    with open(os.path.join(root, "README.md"), "w", newline="\n") as f:
        f.write("\n".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("kws", help="the Speech Commands-style keyword data set (clips and lists; noises come from the shell script)")
    k.add_argument("--out", required=True)
    k.add_argument("--seed", type=int, default=1)
    k.add_argument("--jobs", type=int, default=2)
    k.add_argument("--speakers", type=int, default=64)
    k.add_argument("--clips-per-keyword", type=int, default=100)
    k.add_argument("--unknown-clips", type=int, default=112, help="espeak-ng clips of the other words, in all")
    k.add_argument("--validation-percent", type=float, default=10)
    k.add_argument("--testing-percent", type=float, default=10)
    k.add_argument("--noise-floor", action="store_true", help="give ~75%% of the speakers a noise floor under their clips (off: digital silence, the committed set)")
    k.add_argument("--other-speakers", type=int, default=12, help="training-only flite/festival speakers (0: espeak-ng only)")
    k.add_argument("--other-unknown", type=int, default=3, help="other words (unknown class) per flite/festival speaker")
    h = sub.add_parser("heldout", help="an evaluation set of another synthesiser's stock voices")
    h.add_argument("--out", required=True)
    h.add_argument("--engine", required=True, choices=sorted(HELDOUT_VOICES))
    h.add_argument("--seed", type=int, default=1)
    h.add_argument("--jobs", type=int, default=2)
    h.add_argument("--rates", help="comma-separated speaking rates (default: HELDOUT_RATES of the engine)")
    h.add_argument("--unknown", action="store_true", help="also the other words (the unknown class)")
    c = sub.add_parser("corpus", help="the tiny DeepSpeech corpus")
    c.add_argument("--out", required=True)
    c.add_argument("--seed", type=int, default=1)
    c.add_argument("--jobs", type=int, default=2)
    c.add_argument("--sentences", required=True)
    c.add_argument("--train-voices", type=int, default=10)
    c.add_argument("--dev-voices", type=int, default=2)
    c.add_argument("--test-voices", type=int, default=2)
    c.add_argument("--dev-percent", type=float, default=10)
    c.add_argument("--test-percent", type=float, default=10)
    c.add_argument("--noise-floor", action="store_true", help="give ~75%% of the voices a noise floor (off: digital silence, the committed set)")
    args = ap.parse_args()
    if args.jobs < 1:
        raise SystemExit("--jobs must be at least 1")
    {"kws": cmd_kws, "corpus": cmd_corpus, "heldout": cmd_heldout}[args.cmd](args)


if __name__ == "__main__":
    main()
