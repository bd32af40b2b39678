// A transcribed speech corpus ready for DeepSpeech: each clip of a DeepSpeech CSV decoded (16 kHz
// mono), turned into MFCC-with-context features once (cached per file for the run, and on disk across
// runs when a cache folder is given: SpeechFeatureCache), whitened per utterance as DeepSpeech.py's
// audiofile_to_input_vector did, and its transcript encoded as labels.
using Cochlea.Models.Audio;
using Cochlea.Models.Data;

namespace Cochlea.Models.Speech;

/// <summary>One utterance: features (Frames, InputsPerStep) row-major, and its label sequence.</summary>
public sealed record SpeechUtterance(string Path, string Transcript, float[] Features, int Frames, int[] Labels);

/// <summary>Loads DeepSpeech CSVs into <see cref="SpeechUtterance"/>s.</summary>
public sealed class SpeechCorpus
{
    readonly Dictionary<string, SpeechUtterance> _cache = new(StringComparer.Ordinal);

    /// <summary>The feature front end (26 MFCC, 9 frames of context each side by default).</summary>
    public DeepSpeechFeatures Features { get; }

    /// <summary>The alphabet transcripts are encoded with.</summary>
    public Alphabet Alphabet { get; }

    /// <summary>The on-disk feature cache, or null.</summary>
    public SpeechFeatureCache? DiskCache { get; }

    /// <summary>
    /// A corpus with DeepSpeech's features and alphabet unless given; with <paramref name="featureCacheFolder"/>, features
    /// are kept on disk there per file and reused by later corpora (and runs) while the file and the parameters are unchanged.
    /// </summary>
    public SpeechCorpus(DeepSpeechFeatures? features = null, Alphabet? alphabet = null, string? featureCacheFolder = null)
    {
        // Samples scaled to int16 range, as DeepSpeech.py read them with scipy (log energies then match its features).
        Features = features ?? new DeepSpeechFeatures(inputScale: 32768f);
        Alphabet = alphabet ?? Alphabet.DeepSpeech;
        if (featureCacheFolder is not null)
            DiskCache = new SpeechFeatureCache(featureCacheFolder, Features.Signature + " | 16 kHz mono | whitened per utterance");
    }

    /// <summary>Every clip of <paramref name="csvPath"/> (wav_filename,wav_filesize,transcript), features computed once per file.</summary>
    public IReadOnlyList<SpeechUtterance> Load(string csvPath)
    {
        var rows = DeepSpeechCsv.Load(csvPath);
        var list = new List<SpeechUtterance>(rows.Count);
        foreach (var row in rows) list.Add(Utterance(row.Path, row.Transcript));
        return list;
    }

    /// <summary>The utterance for one file (cached by full path).</summary>
    public SpeechUtterance Utterance(string path, string transcript)
    {
        if (_cache.TryGetValue(path, out var u) && u.Transcript == transcript) return u;
        var labels = Alphabet.Encode(transcript.ToLowerInvariant());
        var (features, frames) = Featurize(path);
        if (frames < labels.Length)
            throw new InvalidDataException($"{path}: {frames} feature frames cannot align {labels.Length} characters of \"{transcript}\"; the clip is too short for its transcript.");
        u = new SpeechUtterance(path, transcript, features, frames, labels);
        _cache[path] = u;
        return u;
    }

    /// <summary>Whitened features (frames, InputsPerStep) of an audio file, resampled to 16 kHz mono.</summary>
    public (float[] Features, int Frames) Featurize(string path)
    {
        (float[], int) Compute() => Featurize(AudioFile.Read(path, new AudioReadOptions { Mono = true, SampleRate = 16000 }).Samples);
        return DiskCache is null ? Compute() : DiskCache.GetOrCompute(path, Compute);
    }

    /// <summary>Whitened features of 16 kHz mono samples.</summary>
    public (float[] Features, int Frames) Featurize(float[] samples)
    {
        using var scope = Tensor.Scope();
        var x = Tensor.FromArray(samples, samples.Length);
        var f = Features.Forward(x);                 // (frames, 494)
        var v = f.ToArray();
        int frames = f.Size(0);
        double mean = 0, sq = 0;
        foreach (var a in v) { mean += a; sq += (double)a * a; }
        mean /= Math.Max(v.Length, 1);
        double std = Math.Sqrt(Math.Max(sq / Math.Max(v.Length, 1) - mean * mean, 1e-12));
        for (int i = 0; i < v.Length; i++) v[i] = (float)((v[i] - mean) / std);
        return (v, frames);
    }
}
