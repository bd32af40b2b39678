// Data plumbing shared by KWS training, evaluation and prediction: the clip decoder (any WAV/FLAC,
// downmixed, resampled to 16 kHz), the class-set names of the CLI ("12", "all", or a word list),
// loading a Speech Commands folder with them, and collecting audio files from files and folders.
using System.Collections.Concurrent;
using Cochlea.Models.Audio;
using Cochlea.Models.Data;

namespace Cochlea.Models.Kws;

/// <summary>Audio and data-set helpers for keyword spotting.</summary>
public static class KwsData
{
    static readonly string[] AudioExtensions = [".wav", ".flac"];

    /// <summary>
    /// A thread-safe decoder: mono samples at 16 kHz (other rates resampled; the resampler of each input rate is designed
    /// once and shared). Clips keep their length; the pipeline fits them to 1 s.
    /// </summary>
    public static ClipDecoder Decoder()
    {
        var resamplers = new ConcurrentDictionary<int, Resampler>();
        return path =>
        {
            var info = AudioFile.ReadInfo(path);
            var options = info.SampleRate == KwsClassifier.SampleRate
                ? new AudioReadOptions { Mono = true }
                : new AudioReadOptions { Mono = true, SampleRate = KwsClassifier.SampleRate, Resampler = resamplers.GetOrAdd(info.SampleRate, r => new Resampler(r, KwsClassifier.SampleRate)) };
            return AudioFile.Read(path, options).Samples;
        };
    }

    /// <summary>
    /// The wanted words named by <paramref name="classes"/>: "12" (the ten keywords; with silence and unknown, 12 classes),
    /// "all" (every word folder: null, see <see cref="SpeechCommandsOptions.WantedWords"/>) or a comma-separated word list.
    /// </summary>
    public static IReadOnlyList<string>? ParseClasses(string classes)
    {
        ArgumentNullException.ThrowIfNull(classes);
        string c = classes.Trim();
        if (c == "12") return SpeechCommandsDataset.Keywords;
        if (c.Equals("all", StringComparison.OrdinalIgnoreCase)) return null;
        var words = c.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0 || words.Any(w => w.All(char.IsDigit)))
            throw new ArgumentException($"--classes must be 12, all, or a comma-separated word list (e.g. yes,no,up), got '{classes}'.");
        return words;
    }

    /// <summary>Indexes the Speech Commands folder <paramref name="dataDir"/> for <paramref name="wantedWords"/> (null: all words).</summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    public static SpeechCommandsDataset LoadDataset(string dataDir, IReadOnlyList<string>? wantedWords, double silencePercentage = 10, double unknownPercentage = 10)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataDir);
        if (!Directory.Exists(dataDir)) throw new DirectoryNotFoundException($"data folder not found: {Path.GetFullPath(dataDir)}");
        return SpeechCommandsDataset.Load(dataDir, new SpeechCommandsOptions
        {
            WantedWords = wantedWords,
            SilencePercentage = silencePercentage,
            UnknownPercentage = unknownPercentage,
        });
    }

    /// <summary>The entries of <paramref name="split"/> ("test", "validation", "train" or "all").</summary>
    public static IReadOnlyList<SpeechCommandsItem> Items(SpeechCommandsDataset dataset, string split)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        return split switch
        {
            "test" or "testing" => dataset.Split(DataSplit.Testing),
            "validation" or "val" => dataset.Split(DataSplit.Validation),
            "train" or "training" => dataset.Split(DataSplit.Training),
            "all" => dataset.Items,
            _ => throw new ArgumentException($"unknown split '{split}'; expected test, validation, train or all."),
        };
    }

    /// <summary>
    /// Audio files (.wav, .flac) named by <paramref name="paths"/>: files as given, folders searched recursively (sorted,
    /// ordinal, so runs agree). Missing paths and folders without audio are errors.
    /// </summary>
    public static IReadOnlyList<string> CollectAudioFiles(IEnumerable<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var files = new List<string>();
        foreach (var p in paths)
        {
            if (File.Exists(p)) { files.Add(Path.GetFullPath(p)); continue; }
            if (!Directory.Exists(p)) throw new FileNotFoundException($"no such file or folder: {Path.GetFullPath(p)}", p);
            var found = Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories)
                .Where(f => AudioExtensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
                .Select(Path.GetFullPath).Order(StringComparer.Ordinal).ToList();
            if (found.Count == 0) throw new FileNotFoundException($"no .wav or .flac files under {Path.GetFullPath(p)}", p);
            files.AddRange(found);
        }
        if (files.Count == 0) throw new ArgumentException("no audio files given.");
        return files;
    }
}
