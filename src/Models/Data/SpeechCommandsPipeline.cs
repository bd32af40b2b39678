// Turns one indexed Speech Commands entry into a fixed-length training example the way the TF
// tutorial's get_data does: decode and fit to N samples (truncate / zero-pad), mute silence
// entries, then - in training - random speed and random tempo (both off by default; applied to the
// decoded clip before it is fitted to N), random gain (off by default), random time shift in [-max, max),
// and background noise (with probability background_frequency at volume ~ U[0, background_volume),
// or at a random SNR), clamped to [-1, 1]. Silence entries always get noise at volume ~ U[0, 1),
// also outside training, as in the tutorial. Meant as the loader's per-item function.
using Cochlea.Models.Augment;

namespace Cochlea.Models.Data;

/// <summary>Augmentation settings of <see cref="SpeechCommandsPipeline"/> (defaults: the TF tutorial's train.py).</summary>
public sealed record KwsAugmentOptions
{
    /// <summary>Clip length N in samples (1 s at 16 kHz).</summary>
    public int Samples { get; init; } = 16000;

    /// <summary>Largest time shift in samples (train.py: 100 ms); 0 disables shifting.</summary>
    public int TimeShiftSamples { get; init; } = 1600;

    /// <summary>Probability that a training clip gets background noise.</summary>
    public double BackgroundFrequency { get; init; } = 0.8;

    /// <summary>Upper end of the noise volume range [0, BackgroundVolume).</summary>
    public double BackgroundVolume { get; init; } = 0.1;

    /// <summary>When set, noise is mixed at an SNR ~ U[MinSnrDb, MaxSnrDb) dB instead of at a volume.</summary>
    public (double MinSnrDb, double MaxSnrDb)? SnrRangeDb { get; init; }

    /// <summary>Random linear gain range for training clips; (1, 1) = off.</summary>
    public (float Min, float Max) GainRange { get; init; } = (1f, 1f);

    /// <summary>Random speed range for training clips (<see cref="SpeedPerturb"/>, tempo and pitch together); (1, 1) = off.</summary>
    public (double Min, double Max) SpeedRange { get; init; } = (1, 1);

    /// <summary>
    /// Random tempo range for training clips: a phase-vocoder time stretch (<see cref="TimeStretch"/>, pitch kept; 512-point
    /// frames (32 ms, short enough for speech) with hop 256: half the cost of hop 128, and artefacts an augmentation can
    /// afford), rate &gt; 1 faster; (1, 1) = off.
    /// </summary>
    public (double Min, double Max) TempoRange { get; init; } = (1, 1);

    /// <summary>
    /// Random equalisation of training word clips (<see cref="RandomEq"/>): this many peaking bands per clip, gains uniform in
    /// [-<see cref="EqMaxGainDb"/>, <see cref="EqMaxGainDb"/>) dB; 0 = off.
    /// </summary>
    public int EqBands { get; init; }

    /// <summary>Largest boost or cut of a random-equalisation band (dB).</summary>
    public double EqMaxGainDb { get; init; } = 12;

    internal void Validate()
    {
        if (Samples <= 0) throw new ArgumentOutOfRangeException(nameof(Samples), $"KwsAugmentOptions: Samples must be > 0 (got {Samples}).");
        if (TimeShiftSamples < 0) throw new ArgumentOutOfRangeException(nameof(TimeShiftSamples), $"KwsAugmentOptions: TimeShiftSamples must be >= 0 (got {TimeShiftSamples}).");
        if (!(BackgroundFrequency >= 0 && BackgroundFrequency <= 1)) throw new ArgumentOutOfRangeException(nameof(BackgroundFrequency), $"KwsAugmentOptions: BackgroundFrequency must be in [0, 1] (got {BackgroundFrequency}).");
        if (!(BackgroundVolume >= 0) || !double.IsFinite(BackgroundVolume)) throw new ArgumentOutOfRangeException(nameof(BackgroundVolume), $"KwsAugmentOptions: BackgroundVolume must be finite and >= 0 (got {BackgroundVolume}).");
        if (SnrRangeDb is { } snr && (!double.IsFinite(snr.MinSnrDb) || !double.IsFinite(snr.MaxSnrDb) || snr.MaxSnrDb < snr.MinSnrDb))
            throw new ArgumentOutOfRangeException(nameof(SnrRangeDb), $"KwsAugmentOptions: SnrRangeDb needs finite min <= max (got {snr}).");
        if (!(GainRange.Min >= 0) || !(GainRange.Max >= GainRange.Min) || !float.IsFinite(GainRange.Max))
            throw new ArgumentOutOfRangeException(nameof(GainRange), $"KwsAugmentOptions: GainRange needs 0 <= min <= max (got {GainRange}).");
        if (!(SpeedRange.Min >= 0.5) || !(SpeedRange.Max >= SpeedRange.Min) || !(SpeedRange.Max <= 2))
            throw new ArgumentOutOfRangeException(nameof(SpeedRange), $"KwsAugmentOptions: SpeedRange needs 0.5 <= min <= max <= 2 (got {SpeedRange}).");
        if (!(TempoRange.Min >= 0.5) || !(TempoRange.Max >= TempoRange.Min) || !(TempoRange.Max <= 2))
            throw new ArgumentOutOfRangeException(nameof(TempoRange), $"KwsAugmentOptions: TempoRange needs 0.5 <= min <= max <= 2 (got {TempoRange}).");
        if (EqBands < 0) throw new ArgumentOutOfRangeException(nameof(EqBands), $"KwsAugmentOptions: EqBands must be >= 0 (got {EqBands}).");
        if (!(EqMaxGainDb >= 0) || !double.IsFinite(EqMaxGainDb)) throw new ArgumentOutOfRangeException(nameof(EqMaxGainDb), $"KwsAugmentOptions: EqMaxGainDb must be finite and >= 0 (got {EqMaxGainDb}).");
    }
}

/// <summary>Per-item loading and augmentation of Speech Commands entries. Thread-safe if the decoder is.</summary>
public sealed class SpeechCommandsPipeline
{
    readonly ClipDecoder _decode;
    readonly BackgroundNoise? _noise;
    readonly KwsAugmentOptions _options;
    readonly SpeedPerturb? _speed;

    /// <summary>A pipeline decoding with <paramref name="decode"/> and mixing <paramref name="noise"/> (null: no noise, silence stays zeros).</summary>
    public SpeechCommandsPipeline(ClipDecoder decode, BackgroundNoise? noise, KwsAugmentOptions? options = null)
    {
        _decode = decode ?? throw new ArgumentNullException(nameof(decode));
        _noise = noise;
        _options = options ?? new KwsAugmentOptions();
        _options.Validate();
        // Speeds are quantised to 1/40; the clips are assumed to be at 16 kHz (the pipeline's clip length is 1 s there).
        if (_options.SpeedRange != (1, 1)) _speed = new SpeedPerturb(16000);
    }

    /// <summary>Settings in use.</summary>
    public KwsAugmentOptions Options => _options;

    /// <summary>
    /// The example for <paramref name="item"/>: audio (N) and label. Augmentation only when <paramref name="training"/>
    /// (silence entries get noise in every split). All randomness comes from <paramref name="rng"/>.
    /// </summary>
    public AudioExample Load(SpeechCommandsItem item, Philox rng, bool training)
    {
        ArgumentNullException.ThrowIfNull(item);
        ArgumentNullException.ThrowIfNull(rng);
        var audio = new float[_options.Samples];
        // Always copy into a fresh buffer: a caching decoder may hand out the same array again.
        if (!item.IsSilence)
        {
            var clip = _decode(item.Path!);
            if (training && _speed is not null) clip = _speed.ApplyRandom(clip, _options.SpeedRange.Min, _options.SpeedRange.Max, rng).Clip;
            if (training && _options.TempoRange != (1, 1))
                clip = TimeStretch.Apply(clip, rng.NextUniform(_options.TempoRange.Min, _options.TempoRange.Max), nFft: 512, hop: 256);
            ClipLength.FitInto(clip, audio);
        }
        if (training && !item.IsSilence)
        {
            if (_options.EqBands > 0) RandomEq.ApplyRandom(audio, _options.EqBands, _options.EqMaxGainDb, 16000, rng);
            if (_options.GainRange != (1f, 1f)) Gain.ApplyRandom(audio, _options.GainRange.Min, _options.GainRange.Max, rng);
            TimeShift.ApplyRandom(audio, _options.TimeShiftSamples, rng);
        }
        if (_noise is not null)
        {
            if (item.IsSilence)
            {
                var seg = new float[audio.Length];
                _noise.Segment(seg, rng);
                BackgroundNoise.AddAtVolume(audio, seg, (float)rng.NextDouble());
            }
            else if (training && _options.SnrRangeDb is { } snr)
            {
                if (rng.NextBool(_options.BackgroundFrequency)) _noise.AddAtRandomSnr(audio, snr.MinSnrDb, snr.MaxSnrDb, rng);
            }
            else if (training)
            {
                _noise.AddAtRandomVolume(audio, _options.BackgroundFrequency, _options.BackgroundVolume, rng);
            }
        }
        return new AudioExample(audio, item.Label);
    }
}
