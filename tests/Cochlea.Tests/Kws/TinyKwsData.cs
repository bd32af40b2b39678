// A tiny Speech Commands-style data set made of tones and chirps, written as 1 s, 16 kHz WAVs with
// validation/testing lists and a _background_noise_ folder: each "word" is a distinct sound, so a
// small WaveKws learns it in a few epochs and the KWS tests run train -> eval -> predict in seconds.
using Cochlea.Models.Audio;

namespace Cochlea.Tests.Kws;

/// <summary>Generates and owns a temporary KWS data set.</summary>
public sealed class TinyKwsData : IDisposable
{
    /// <summary>The words the tests recognise (passed as --classes).</summary>
    public static readonly string[] Words = ["yes", "no", "up", "down"];

    /// <summary>Words that feed the unknown class.</summary>
    public static readonly string[] UnknownWords = ["cat", "dog"];

    /// <summary>--classes value for <see cref="Words"/>.</summary>
    public const string Classes = "yes,no,up,down";

    readonly TempDir _dir = new("kws-data");
    readonly TempDir _scratch = new("kws-out");   // outside the data folder: runs must not show up as words

    /// <summary>Writes the data set: <paramref name="speakers"/> speakers per word (the last two of each word validation and testing).</summary>
    public TinyKwsData(int speakers = 10, int seed = 7)
    {
        var rng = new Random(seed);
        var val = new List<string>();
        var test = new List<string>();
        var words = Words.Concat(UnknownWords).ToArray();
        for (int w = 0; w < words.Length; w++)
            for (int s = 0; s < speakers; s++)
            {
                string word = words[w];
                string rel = $"{word}/{(0x10000000 + s * 7919 + w * 104729):x8}_nohash_0.wav";
                Directory.CreateDirectory(System.IO.Path.GetDirectoryName(_dir[rel])!);
                AudioFile.WriteWav(_dir[rel], Sound(word, rng), 16000);
                if (s == speakers - 2) val.Add(rel);
                else if (s == speakers - 1) test.Add(rel);
            }
        _dir.WriteText("validation_list.txt", string.Join("\n", val) + "\n");
        _dir.WriteText("testing_list.txt", string.Join("\n", test) + "\n");
        var noise = new float[32000];
        for (int i = 0; i < noise.Length; i++) noise[i] = (float)(rng.NextDouble() * 2 - 1) * 0.3f;
        Directory.CreateDirectory(_dir["_background_noise_"]);
        AudioFile.WriteWav(_dir["_background_noise_/white_noise.wav"], noise, 16000);
    }

    /// <summary>The data set folder.</summary>
    public string Path => _dir.Path;

    /// <summary>A path inside a fresh scratch folder next to the data (for runs and outputs).</summary>
    public string Scratch(string name) => _scratch[name];

    /// <summary>
    /// One clip: the word's sound (tone or chirp, 0.3-0.5 s, Hann-shaped) at a random offset and level, in 1 s of silence.
    /// Frequencies jitter by +-3 % per clip, so clips of a word differ but words stay apart.
    /// </summary>
    public static float[] Sound(string word, Random rng)
    {
        const int rate = 16000;
        var clip = new float[rate];
        int len = rng.Next(4800, 8000), start = rng.Next(0, rate - len);
        double jitter = 1 + (rng.NextDouble() - 0.5) * 0.06, amp = 0.3 + 0.4 * rng.NextDouble();
        (double f0, double f1) = word switch
        {
            "yes" => (400.0, 400.0),
            "no" => (1200.0, 1200.0),
            "up" => (300.0, 1500.0),
            "down" => (1500.0, 300.0),
            "cat" => (2500.0, 2500.0),
            "dog" => (700.0, 2800.0),
            _ => throw new ArgumentException($"no sound for '{word}'"),
        };
        double phase = 0;
        for (int i = 0; i < len; i++)
        {
            double t = (double)i / len;
            phase += 2 * Math.PI * (f0 + (f1 - f0) * t) * jitter / rate;
            clip[start + i] = (float)(amp * Math.Sin(Math.PI * t) * Math.Sin(phase));
        }
        return clip;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _dir.Dispose();
        _scratch.Dispose();
    }
}
