// Clips labelled by a CSV file, as Freesound's train.csv (fname,label,manually_verified): one clip
// per row, a single class name per clip, the audio file found in a folder by its name. Class
// indices follow the sorted class names unless the caller fixes the list (so a test set and a
// training set share indices).
namespace Cochlea.Models.Data;

/// <summary>One labelled clip.</summary>
/// <param name="Path">Full path of the audio file (the CSV's file name inside the audio folder).</param>
/// <param name="Label">Index into <see cref="LabelledClipSet.Labels"/>.</param>
/// <param name="LabelName">Class name as written in the CSV.</param>
/// <param name="ManuallyVerified">The manually_verified flag when the column exists, else null.</param>
public sealed record LabelledClip(string Path, int Label, string LabelName, bool? ManuallyVerified);

/// <summary>Clips and class names read from a labels CSV.</summary>
public sealed class LabelledClipSet
{
    LabelledClipSet(string[] labels, LabelledClip[] clips) { Labels = labels; Clips = clips; }

    /// <summary>Class names in index order.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>Clips in file order.</summary>
    public IReadOnlyList<LabelledClip> Clips { get; }

    /// <summary>
    /// Reads <paramref name="csvPath"/> (columns <paramref name="fileColumn"/>, <paramref name="labelColumn"/>, optional
    /// manually_verified); audio paths are <paramref name="audioFolder"/>/fname. With <paramref name="labels"/> the class
    /// list is fixed and unknown classes are errors; without it, it is the sorted set of classes in the file.
    /// </summary>
    public static LabelledClipSet Load(string csvPath, string audioFolder, IReadOnlyList<string>? labels = null,
        string fileColumn = "fname", string labelColumn = "label")
    {
        ArgumentException.ThrowIfNullOrEmpty(audioFolder);
        ArgumentException.ThrowIfNullOrEmpty(fileColumn);
        ArgumentException.ThrowIfNullOrEmpty(labelColumn);
        var table = CsvTable.Load(csvPath);
        int fc = table.Column(fileColumn), lc = table.Column(labelColumn);
        int vc = table.TryColumn("manually_verified", out int v) ? v : -1;

        var names = new string[table.Rows.Count];
        for (int r = 0; r < names.Length; r++) names[r] = table.NonEmpty(r, lc);
        string[] classes = labels?.ToArray() ?? names.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < classes.Length; i++)
            if (string.IsNullOrEmpty(classes[i]) || !index.TryAdd(classes[i], i))
                throw new ArgumentException($"LabelledClipSet: class list entry {i} ('{classes[i]}') is empty or repeated.", nameof(labels));

        string folder = Path.GetFullPath(audioFolder);
        var firstLine = new Dictionary<string, int>(StringComparer.Ordinal);
        var clips = new LabelledClip[names.Length];
        for (int r = 0; r < clips.Length; r++)
        {
            string file = table.NonEmpty(r, fc);
            if (!firstLine.TryAdd(file, table.Rows[r].Line))
                throw table.Error(r, fc, $"'{file}' was already listed on line {firstLine[file]}");
            if (!index.TryGetValue(names[r], out int label))
                throw table.Error(r, lc, $"class '{names[r]}' is not in the class list ({classes.Length} classes)");
            clips[r] = new LabelledClip(Path.Combine(folder, file), label, names[r], vc >= 0 ? table.Boolean(r, vc) : null);
        }
        return new LabelledClipSet(classes, clips);
    }
}
