// Prediction on unlabelled audio files: each clip decoded (mono, 16 kHz), fitted to 1 s (cut or
// zero-padded, as the TF tutorial's decode_wav), classified (with optional TTA); and the Kaggle
// submission format of the TF speech challenge, `fname,label`, where the classes _silence_ and
// _unknown_ are written "silence" and "unknown" as the competition expects. Pseudo-labelling uses
// the same predictions, keeping clips whose top probability reaches a threshold.
using System.Text;
using Cochlea.Models.Data;

namespace Cochlea.Models.Kws;

/// <summary>The class a model gives one file.</summary>
/// <param name="Path">Full path of the audio file.</param>
/// <param name="Label">Index into the classifier's labels.</param>
/// <param name="LabelName">The class name.</param>
/// <param name="Probability">Probability of that class (averaged over the TTA views when TTA is on).</param>
public sealed record KwsPrediction(string Path, int Label, string LabelName, float Probability);

/// <summary>Classifies files and writes submissions.</summary>
public static class KwsPredictor
{
    /// <summary>
    /// Predicts a class for every file in <paramref name="files"/> (in order). Decoding runs on <paramref name="workers"/> threads;
    /// <paramref name="progress"/> gets (files done, total).
    /// </summary>
    public static IReadOnlyList<KwsPrediction> Predict(KwsClassifier classifier, IReadOnlyList<string> files, bool tta = false,
        int batchSize = 64, int workers = 1, Action<int, int>? progress = null, ClipDecoder? decoder = null)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(files);
        decoder ??= KwsData.Decoder();
        var result = new List<KwsPrediction>(files.Count);
        if (files.Count == 0) return result;
        int c = classifier.Labels.Count;
        using var loader = DataLoader.Create(files,
            (path, _) => new AudioExample(ClipLength.Fit(decoder(path), KwsClassifier.ClipSamples), 0),
            Collate.Audio(KwsClassifier.ClipSamples),
            new DataLoaderOptions { BatchSize = batchSize, Shuffle = false, Workers = workers });
        foreach (var batch in loader.Epoch(0))
            using (batch)
            {
                var p = KwsTta.Probabilities(classifier, batch.Audio, batch.Size, tta);
                for (int i = 0; i < batch.Size; i++)
                {
                    int k = KwsTta.ArgMax(p, i, c);
                    result.Add(new KwsPrediction(files[result.Count], k, classifier.Labels[k], p[i * c + k]));
                }
                progress?.Invoke(result.Count, files.Count);
            }
        return result;
    }

    /// <summary>The label as Kaggle's TF speech challenge writes it: _silence_ -> silence, _unknown_ -> unknown, words unchanged.</summary>
    public static string SubmissionLabel(string label) => label switch
    {
        SpeechCommandsDataset.SilenceLabel => "silence",
        SpeechCommandsDataset.UnknownLabel => "unknown",
        _ => label,
    };

    /// <summary>
    /// Writes the Kaggle submission <c>fname,label</c> (header, then one row per prediction, fname = the file's name) to
    /// <paramref name="path"/> atomically. Two files with the same name would make the submission ambiguous: that is an error.
    /// </summary>
    public static void WriteSubmission(string path, IReadOnlyList<KwsPrediction> predictions)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(predictions);
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        var sb = new StringBuilder("fname,label\n");
        foreach (var p in predictions)
        {
            string fname = System.IO.Path.GetFileName(p.Path);
            if (!seen.TryAdd(fname, p.Path))
                throw new ArgumentException($"two inputs share the file name '{fname}' ({seen[fname]} and {p.Path}); a submission names clips by file name only.");
            sb.Append(Csv(fname)).Append(',').Append(Csv(SubmissionLabel(p.LabelName))).Append('\n');
        }
        WriteAtomically(path, sb.ToString());
    }

    /// <summary>
    /// Pseudo-labels: the clips of <paramref name="files"/> whose top class probability is at least <paramref name="threshold"/>,
    /// as training entries labelled with that class.
    /// </summary>
    public static IReadOnlyList<SpeechCommandsItem> PseudoLabel(KwsClassifier classifier, IReadOnlyList<string> files, double threshold,
        int batchSize = 64, int workers = 1, ClipDecoder? decoder = null)
    {
        if (!(threshold >= 0 && threshold <= 1)) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "the pseudo-label threshold must be a probability in [0, 1].");
        return Predict(classifier, files, tta: false, batchSize, workers, decoder: decoder)
            .Where(p => p.Probability >= threshold)
            .Select(p => new SpeechCommandsItem(p.Path, p.Label, DataSplit.Training))
            .ToArray();
    }

    static string Csv(string field) =>
        field.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + field.Replace("\"", "\"\"") + "\"" : field;

    /// <summary>Writes <paramref name="text"/> to a temporary file next to <paramref name="path"/> and renames it over the target.</summary>
    internal static void WriteAtomically(string path, string text)
    {
        string full = System.IO.Path.GetFullPath(path);
        string? dir = System.IO.Path.GetDirectoryName(full);
        if (dir is not null) Directory.CreateDirectory(dir);
        string tmp = full + ".tmp";
        File.WriteAllText(tmp, text, new UTF8Encoding(false));
        File.Move(tmp, full, overwrite: true);
    }
}
