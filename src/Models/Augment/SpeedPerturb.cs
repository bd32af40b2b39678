// Speed perturbation (Kaldi's / sox's "speed"): a clip played faster or slower, tempo and pitch
// together, by resampling - the clip is taken as if recorded at rate * speed and converted back to
// rate, so speed 1.1 gives a clip 1/1.1 as long and 10 % higher. It imitates what separates
// speakers (vocal-tract length, speaking rate), which is why speech recipes use it. Speeds are
// quantised to steps of 1/Grid (default 1/40) so each step's polyphase filter is designed once and
// shared (the filters are built lazily, thread-safe, and are short: 60 dB is plenty for augmentation).
using System.Collections.Concurrent;
using Cochlea.Models.Audio;

namespace Cochlea.Models.Augment;

/// <summary>Speed perturbation by resampling, with a cache of resamplers per quantised speed.</summary>
public sealed class SpeedPerturb
{
    readonly ConcurrentDictionary<int, Resampler> _resamplers = new();

    /// <summary>A perturber for clips at <paramref name="sampleRate"/> Hz, speeds quantised to 1/<paramref name="grid"/>.</summary>
    public SpeedPerturb(int sampleRate, int grid = 40)
    {
        if (sampleRate <= 0) throw new ArgumentOutOfRangeException(nameof(sampleRate), sampleRate, "SpeedPerturb: the sample rate must be > 0 Hz.");
        if (grid < 1 || sampleRate % grid != 0)
            throw new ArgumentOutOfRangeException(nameof(grid), grid, $"SpeedPerturb: grid must be >= 1 and divide the sample rate {sampleRate} (so quantised rates are whole Hz).");
        SampleRate = sampleRate;
        Grid = grid;
    }

    /// <summary>Rate of the clips.</summary>
    public int SampleRate { get; }

    /// <summary>Speeds are multiples of 1/Grid.</summary>
    public int Grid { get; }

    /// <summary>The speed actually applied for a requested one: round(speed * Grid) / Grid.</summary>
    public double Quantize(double speed) => Math.Round(speed * Grid, MidpointRounding.ToEven) / Grid;

    /// <summary>
    /// The clip at <paramref name="speed"/> (quantised; 1 returns a copy): ceil(N / speed) samples, output k = the band-limited
    /// input at time k * speed.
    /// </summary>
    public float[] Apply(ReadOnlySpan<float> clip, double speed)
    {
        if (!(speed >= 0.5 && speed <= 2)) throw new ArgumentOutOfRangeException(nameof(speed), speed, "SpeedPerturb: speed must be in [0.5, 2].");
        int step = (int)Math.Round(speed * Grid, MidpointRounding.ToEven);
        if (step == Grid) return clip.ToArray();
        // Input rate = rate * step / grid: the clip's samples are read as if recorded that fast, then converted to the rate.
        var r = _resamplers.GetOrAdd(step, s => new Resampler(SampleRate / Grid * s, SampleRate, passband: 0.9, attenuationDb: 60));
        return r.Process(clip);
    }

    /// <summary>Applies a speed drawn uniformly from [<paramref name="min"/>, <paramref name="max"/>] (then quantised); returns the clip and the speed.</summary>
    public (float[] Clip, double Speed) ApplyRandom(ReadOnlySpan<float> clip, double min, double max, Philox rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (!(min > 0) || !(max >= min)) throw new ArgumentOutOfRangeException(nameof(max), $"SpeedPerturb: need 0 < min <= max (got {min}, {max}).");
        double speed = Quantize(rng.NextUniform(min, max));
        return (Apply(clip, speed), speed);
    }
}
