// A generated sound-event data set for demos and smoke tests, where no recordings ship:
// six classes that differ in spectral and temporal shape, each clip with random onset,
// duration, level, pitch and background noise, so a model must learn more than loudness.
namespace Cochlea.Models.Synthetic;

/// <summary>Labelled synthetic clips: (count, samples) waveforms in [-1, 1] and int labels.</summary>
public sealed record SoundSet(float[][] Clips, int[] Labels, string[] ClassNames, int SampleRate);

/// <summary>Generates <see cref="SoundSet"/>s deterministically from a seed.</summary>
public static class SyntheticSounds
{
    /// <summary>Class names, in label order.</summary>
    public static readonly string[] Classes = ["low-tone", "high-tone", "rising-chirp", "falling-chirp", "noise-burst", "click-train"];

    /// <summary><paramref name="count"/> clips of <paramref name="samples"/> samples at <paramref name="sampleRate"/> Hz, classes balanced.</summary>
    public static SoundSet Generate(int count, int samples, int sampleRate, int seed)
    {
        if (count < 0 || samples < 16 || sampleRate < 8000)
            throw new ArgumentOutOfRangeException(nameof(count), $"SyntheticSounds: need count >= 0, samples >= 16, sampleRate >= 8000 (got {count}, {samples}, {sampleRate}).");
        var rng = new Random(seed);
        var clips = new float[count][];
        var labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            int label = i % Classes.Length;
            labels[i] = label;
            clips[i] = Clip(label, samples, sampleRate, rng);
        }
        // Shuffle so batches mix classes (Fisher-Yates, same rng: deterministic).
        for (int i = count - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (clips[i], clips[j]) = (clips[j], clips[i]);
            (labels[i], labels[j]) = (labels[j], labels[i]);
        }
        return new SoundSet(clips, labels, Classes, sampleRate);
    }

    static float[] Clip(int label, int n, int sr, Random rng)
    {
        var x = new float[n];
        int len = (int)(n * (0.3 + 0.5 * rng.NextDouble()));
        int start = rng.Next(n - len + 1);
        double amp = 0.1 + 0.6 * rng.NextDouble();
        double phase = rng.NextDouble() * 2 * Math.PI;
        double lowPitch = 250 + 150 * rng.NextDouble();
        for (int t = 0; t < len; t++)
        {
            double u = (double)t / len;                         // position within the event, 0..1
            double env = Math.Sin(Math.PI * u);                  // smooth on/off
            double time = (double)t / sr;
            double v = label switch
            {
                0 => Math.Sin(phase + 2 * Math.PI * lowPitch * time),
                1 => Math.Sin(phase + 2 * Math.PI * 2500 * time),
                2 => Math.Sin(phase + 2 * Math.PI * (300 * time + 0.5 * 2500 * time * time / (len / (double)sr))),
                3 => Math.Sin(phase + 2 * Math.PI * (2800 * time - 0.5 * 2500 * time * time / (len / (double)sr))),
                4 => 2 * rng.NextDouble() - 1,
                _ => (t % (sr / 40)) < 8 ? 1.0 - (t % (sr / 40)) / 8.0 : 0.0,
            };
            x[start + t] = (float)(amp * env * v);
        }
        double noise = 0.02 + 0.05 * rng.NextDouble();
        for (int t = 0; t < n; t++) x[t] = Math.Clamp(x[t] + (float)(noise * (2 * rng.NextDouble() - 1)), -1f, 1f);
        return x;
    }

}
