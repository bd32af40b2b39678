// The Speech Commands folder layout (one folder per word, _background_noise_ with long noise WAVs,
// validation_list.txt / testing_list.txt), indexed as the TensorFlow tutorial's prepare_data_index
// does: labels [_silence_, _unknown_, wanted words...], every other word folder feeding the unknown
// class, silence and unknown entries added per split at set percentages of that split's known
// words, and - when the list files are absent - the tutorial's stable SHA-1 hash split (which_set),
// reproduced bit for bit. Python's random module cannot be matched, so the unknown pick and the
// shuffles use Philox with a seed (TF's RANDOM_SEED 59185 by default): same data, same index.
using System.Security.Cryptography;
using System.Text;
using Cochlea.Models.Augment;

namespace Cochlea.Models.Data;

/// <summary>Partition of a data set.</summary>
public enum DataSplit
{
    /// <summary>Training set.</summary>
    Training,
    /// <summary>Validation (development) set.</summary>
    Validation,
    /// <summary>Test set.</summary>
    Testing,
}

/// <summary>One indexed clip: a file (null for a silence entry, which has no file: the foreground is muted), its label index and split.</summary>
/// <param name="Path">Full path of the WAV file; null for <c>_silence_</c> entries.</param>
/// <param name="Label">Index into <see cref="SpeechCommandsDataset.Labels"/>.</param>
/// <param name="Split">Partition.</param>
public sealed record SpeechCommandsItem(string? Path, int Label, DataSplit Split)
{
    /// <summary>True for <c>_silence_</c> entries (no file; background noise only).</summary>
    public bool IsSilence => Path is null;
}

/// <summary>How to index a Speech Commands folder (defaults: the TF tutorial's).</summary>
public sealed record SpeechCommandsOptions
{
    /// <summary>Words to recognise, in label order after _silence_ and _unknown_; null = every word folder (sorted), the "all words" mode.</summary>
    public IReadOnlyList<string>? WantedWords { get; init; } = SpeechCommandsDataset.Keywords;

    /// <summary>Silence entries per split, as a percentage of that split's wanted-word clips (rounded up).</summary>
    public double SilencePercentage { get; init; } = 10;

    /// <summary>Unknown-word clips per split, as a percentage of that split's wanted-word clips (rounded up; fewer if not available).</summary>
    public double UnknownPercentage { get; init; } = 10;

    /// <summary>Validation share of the hash split (used only without list files).</summary>
    public double ValidationPercentage { get; init; } = 10;

    /// <summary>Testing share of the hash split (used only without list files).</summary>
    public double TestingPercentage { get; init; } = 10;

    /// <summary>Use validation_list.txt / testing_list.txt when present (false: always the hash split).</summary>
    public bool UseListFiles { get; init; } = true;

    /// <summary>Seed of the unknown-word pick and the per-split shuffles (TF's RANDOM_SEED).</summary>
    public ulong Seed { get; init; } = 59185;
}

/// <summary>An indexed Speech Commands folder.</summary>
public sealed class SpeechCommandsDataset
{
    /// <summary>Label of entries with no spoken word (index 0).</summary>
    public const string SilenceLabel = "_silence_";

    /// <summary>Label of words outside the wanted list (index 1).</summary>
    public const string UnknownLabel = "_unknown_";

    /// <summary>Folder of long noise recordings, not a word.</summary>
    public const string BackgroundNoiseFolder = "_background_noise_";

    /// <summary>Index of <see cref="SilenceLabel"/>.</summary>
    public const int SilenceIndex = 0;

    /// <summary>Index of <see cref="UnknownLabel"/>.</summary>
    public const int UnknownIndex = 1;

    /// <summary>The ten keywords of the TF challenge (12 classes with silence and unknown).</summary>
    public static readonly IReadOnlyList<string> Keywords = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"];

    /// <summary>MAX_NUM_WAVS_PER_CLASS of the tutorial: 2^27 - 1.</summary>
    public const int MaxNumWavsPerClass = (1 << 27) - 1;

    SpeechCommandsDataset(string root, string[] labels, List<SpeechCommandsItem> items, string[] noise, bool usedLists)
    {
        Root = root;
        Labels = labels;
        Items = items;
        BackgroundNoiseFiles = noise;
        UsedListFiles = usedLists;
    }

    /// <summary>The data set folder (full path).</summary>
    public string Root { get; }

    /// <summary>Class names: [_silence_, _unknown_, wanted words...].</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>All entries: validation, then testing, then training, each split shuffled.</summary>
    public IReadOnlyList<SpeechCommandsItem> Items { get; }

    /// <summary>WAV files of <c>_background_noise_</c> (sorted); empty when the folder is absent.</summary>
    public IReadOnlyList<string> BackgroundNoiseFiles { get; }

    /// <summary>True when the split came from validation_list.txt / testing_list.txt, false for the hash split.</summary>
    public bool UsedListFiles { get; }

    /// <summary>The entries of one split, in index order.</summary>
    public IReadOnlyList<SpeechCommandsItem> Split(DataSplit split) => Items.Where(i => i.Split == split).ToArray();

    /// <summary>Decodes the background-noise clips with <paramref name="decode"/>; null when there are none.</summary>
    public BackgroundNoise? LoadBackgroundNoise(ClipDecoder decode)
    {
        ArgumentNullException.ThrowIfNull(decode);
        if (BackgroundNoiseFiles.Count == 0) return null;
        return new BackgroundNoise(BackgroundNoiseFiles.Select(f => decode(f)).ToArray(), BackgroundNoiseFiles.Select(Path.GetFileName).ToArray()!);
    }

    /// <summary>Indexes the folder at <paramref name="root"/>.</summary>
    public static SpeechCommandsDataset Load(string root, SpeechCommandsOptions? options = null)
    {
        options ??= new SpeechCommandsOptions();
        ArgumentException.ThrowIfNullOrEmpty(root);
        Validate(options);
        root = Path.GetFullPath(root);
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"SpeechCommands: folder not found: {root}");

        // Word folders and their clips, sorted so the index does not depend on the file system's order.
        var clipsByWord = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var dir in Directory.EnumerateDirectories(root).Order(StringComparer.Ordinal))
        {
            string word = Path.GetFileName(dir).ToLowerInvariant();
            if (word == BackgroundNoiseFolder || word.StartsWith('.')) continue;
            var wavs = WavFiles(dir);
            if (wavs.Count == 0) continue;
            if (!clipsByWord.TryGetValue(word, out var list)) clipsByWord[word] = list = new List<string>();
            list.AddRange(wavs);
        }
        if (clipsByWord.Count == 0) throw new InvalidDataException($"SpeechCommands: no .wav files in any word folder under {root}.");

        var wanted = options.WantedWords?.Select(w => w.ToLowerInvariant()).ToArray() ?? clipsByWord.Keys.ToArray();
        var wantedIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < wanted.Length; i++)
        {
            if (wanted[i] is SilenceLabel or UnknownLabel || string.IsNullOrWhiteSpace(wanted[i]))
                throw new ArgumentException($"SpeechCommands: '{wanted[i]}' cannot be a wanted word.", nameof(options));
            if (!wantedIndex.TryAdd(wanted[i], i + 2)) throw new ArgumentException($"SpeechCommands: wanted word '{wanted[i]}' is listed twice.", nameof(options));
            if (!clipsByWord.ContainsKey(wanted[i]))
                throw new InvalidDataException($"SpeechCommands: wanted word '{wanted[i]}' has no folder with .wav files under {root} (found: {string.Join(", ", clipsByWord.Keys)}).");
        }

        var (splitOf, usedLists) = SplitAssigner(root, options);
        var known = NewPerSplit();
        var unknown = NewPerSplit();
        foreach (var (word, paths) in clipsByWord)
            foreach (var path in paths)
            {
                var split = splitOf(path);
                if (wantedIndex.TryGetValue(word, out int label)) known[(int)split].Add(new SpeechCommandsItem(path, label, split));
                else unknown[(int)split].Add(new SpeechCommandsItem(path, UnknownIndex, split));
            }

        // Splits in the tutorial's order (validation, testing, training), one random stream for all of them.
        var rng = new Philox(options.Seed);
        var items = new List<SpeechCommandsItem>();
        foreach (var split in new[] { DataSplit.Validation, DataSplit.Testing, DataSplit.Training })
        {
            var set = known[(int)split];
            int setSize = set.Count;
            int silence = (int)Math.Ceiling(setSize * options.SilencePercentage / 100);
            for (int i = 0; i < silence; i++) set.Add(new SpeechCommandsItem(null, SilenceIndex, split));
            var unk = unknown[(int)split].ToArray();
            rng.Shuffle(unk.AsSpan());
            int unknownCount = (int)Math.Ceiling(setSize * options.UnknownPercentage / 100);
            set.AddRange(unk.Take(unknownCount));
            var shuffled = set.ToArray();
            rng.Shuffle(shuffled.AsSpan());
            items.AddRange(shuffled);
        }

        string noiseDir = Path.Combine(root, BackgroundNoiseFolder);
        var noise = Directory.Exists(noiseDir) ? WavFiles(noiseDir).ToArray() : [];
        if (Directory.Exists(noiseDir) && noise.Length == 0)
            throw new InvalidDataException($"SpeechCommands: {noiseDir} exists but holds no .wav files.");
        return new SpeechCommandsDataset(root, [SilenceLabel, UnknownLabel, .. wanted], items, noise, usedLists);
    }

    /// <summary>
    /// The tutorial's stable split of a file: the base name with everything from "_nohash_" removed, SHA-1 of its
    /// UTF-8 bytes, p = (int(hex, 16) mod (2^27 - 1 + 1)) * (100 / (2^27 - 1)); validation if p &lt; val,
    /// testing if p &lt; test + val, else training.
    /// </summary>
    public static DataSplit WhichSet(string fileName, double validationPercentage, double testingPercentage)
    {
        double p = HashPercentage(fileName);
        if (p < validationPercentage) return DataSplit.Validation;
        if (p < testingPercentage + validationPercentage) return DataSplit.Testing;
        return DataSplit.Training;
    }

    /// <summary>The percentage in [0, 100] that <see cref="WhichSet"/> compares (see there).</summary>
    public static double HashPercentage(string fileName)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        // os.path.basename: after the last separator (the tutorial runs on POSIX, so only '/'; '\' is accepted too).
        string baseName = fileName[(fileName.LastIndexOfAny(['/', '\\']) + 1)..];
        // re.sub(r'_nohash_.*$', '', name): everything from the first "_nohash_" on.
        int cut = baseName.IndexOf("_nohash_", StringComparison.Ordinal);
        string hashName = cut >= 0 ? baseName[..cut] : baseName;
        byte[] digest = SHA1.HashData(Encoding.UTF8.GetBytes(hashName));
        // int(hex, 16) mod 2^27 is the low 27 bits of the big-endian digest: its last four bytes suffice.
        uint low = (uint)(digest[16] << 24 | digest[17] << 16 | digest[18] << 8 | digest[19]);
        double bucket = low & MaxNumWavsPerClass;
        return bucket * (100.0 / MaxNumWavsPerClass);
    }

    // ------------------------------------------------------------------ helpers

    static List<string> WavFiles(string dir) =>
        Directory.EnumerateFiles(dir)
            .Where(f => f.EndsWith(".wav", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal).ToList();

    static List<SpeechCommandsItem>[] NewPerSplit() => [new(), new(), new()];

    static (Func<string, DataSplit> SplitOf, bool UsedLists) SplitAssigner(string root, SpeechCommandsOptions options)
    {
        string valPath = Path.Combine(root, "validation_list.txt"), testPath = Path.Combine(root, "testing_list.txt");
        bool hasVal = File.Exists(valPath), hasTest = File.Exists(testPath);
        if (!options.UseListFiles || (!hasVal && !hasTest))
            return (p => WhichSet(p, options.ValidationPercentage, options.TestingPercentage), false);
        if (hasVal != hasTest)
            throw new InvalidDataException($"SpeechCommands: found {(hasVal ? valPath : testPath)} but not {(hasVal ? testPath : valPath)}; provide both lists, or neither for the hash split.");
        var val = ReadList(valPath);
        var test = ReadList(testPath);
        return (p =>
        {
            string rel = Path.GetRelativePath(root, p).Replace('\\', '/');
            return val.Contains(rel) ? DataSplit.Validation : test.Contains(rel) ? DataSplit.Testing : DataSplit.Training;
        }, true);
    }

    static HashSet<string> ReadList(string path)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        int line = 0;
        foreach (var raw in File.ReadLines(path))
        {
            line++;
            string entry = raw.Trim().TrimStart('\uFEFF').Replace('\\', '/');
            if (entry.Length == 0) continue;
            if (entry.StartsWith('/') || entry.Split('/').Length != 2)
                throw new InvalidDataException($"SpeechCommands: {Path.GetFileName(path)}, line {line}: '{raw}' is not a 'word/file.wav' path relative to the data set folder.");
            set.Add(entry);
        }
        return set;
    }

    static void Validate(SpeechCommandsOptions o)
    {
        static void Pct(double v, string name)
        {
            if (!(v >= 0 && v <= 100)) throw new ArgumentOutOfRangeException(name, $"SpeechCommands: {name} must be in [0, 100] (got {v}).");
        }
        Pct(o.SilencePercentage, nameof(o.SilencePercentage));
        Pct(o.UnknownPercentage, nameof(o.UnknownPercentage));
        Pct(o.ValidationPercentage, nameof(o.ValidationPercentage));
        Pct(o.TestingPercentage, nameof(o.TestingPercentage));
        if (o.ValidationPercentage + o.TestingPercentage > 100)
            throw new ArgumentOutOfRangeException(nameof(o.TestingPercentage), $"SpeechCommands: validation + testing percentages exceed 100 ({o.ValidationPercentage} + {o.TestingPercentage}).");
    }
}
