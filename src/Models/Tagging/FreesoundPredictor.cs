// Prediction with a FreesoundCnn checkpoint on whole, variable-length clips (empty and very short clips are zero-padded
// to the model's minimum of 1520 samples), and Kaggle's submission: `fname,label` with the top 3 labels space-separated.
using System.Globalization;
using System.Text;
using System.Text.Json;
using Cochlea.Checkpoints;
using Cochlea.IO;
using Cochlea.Models.Audio;

namespace Cochlea.Models.Tagging;

/// <summary>One clip's prediction: its file name and its labels, best first.</summary>
public sealed record FreesoundPrediction(string FileName, IReadOnlyList<string> TopLabels);

/// <summary>Loads FreesoundCnn checkpoints and tags clips.</summary>
public static class FreesoundPredictor
{
    /// <summary>Checkpoint metadata keys.</summary>
    public const string ModelKey = "freesound.model", LabelsKey = "freesound.labels", SampleRateKey = "freesound.sample_rate";

    /// <summary>Reads a clip as mono at <paramref name="sampleRate"/> (resampled when it differs); an empty file gives no samples.</summary>
    public static float[] ReadClip(string path, int sampleRate) =>
        AudioFile.Read(path, new AudioReadOptions { Mono = true, SampleRate = sampleRate }).Samples;

    /// <summary>Logits (1, classes) of one whole clip; clips shorter than <see cref="FreesoundCnn.MinSamples"/> are zero-padded. On the model's device.</summary>
    public static Tensor Logits(FreesoundCnn model, float[] wave)
    {
        var w = FreesoundCnn.PadToMinimum(wave);
        var x = Tensor.FromArray(w, 1, w.Length);
        var device = model.Parameters().First().Device;   // the model's device: the clip is copied there
        return model.Forward(device.IsCpu ? x : x.To(device));
    }

    /// <summary>A checkpoint written by <c>cochlea train freesound</c>: the model in eval mode, its labels and sample rate.</summary>
    public static (FreesoundCnn Model, IReadOnlyList<string> Labels, int SampleRate) Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint not found: {Path.GetFullPath(path)}", path);
        IReadOnlyDictionary<string, string> meta;
        using (var f = SafeTensorsFile.Open(path)) meta = new Dictionary<string, string>(f.Metadata);
        if (!meta.TryGetValue(LabelsKey, out var labelsJson))
            throw new InvalidDataException($"{path} is not a FreesoundCnn checkpoint (no '{LabelsKey}' in its metadata; it was not written by `cochlea train freesound`).");
        var labels = JsonSerializer.Deserialize<string[]>(labelsJson) ?? throw new InvalidDataException($"{path}: bad '{LabelsKey}'.");
        int rate = meta.TryGetValue(SampleRateKey, out var r) ? int.Parse(r, CultureInfo.InvariantCulture) : 16000;
        var model = new FreesoundCnn(labels.Length);
        try { Checkpoint.Load(model, null, path); }
        catch { model.Dispose(); throw; }
        model.Eval();
        return (model, labels, rate);
    }

    /// <summary>The top <paramref name="k"/> labels of every file, in the given order.</summary>
    public static List<FreesoundPrediction> Predict(FreesoundCnn model, IReadOnlyList<string> labels, int sampleRate, IReadOnlyList<string> files, int k = 3,
        Action<int, int>? progress = null)
    {
        model.Eval();
        var result = new List<FreesoundPrediction>(files.Count);
        using var ng = Tensor.NoGrad();
        for (int i = 0; i < files.Count; i++)
        {
            using var scope = Tensor.Scope();
            var logits = Logits(model, ReadClip(files[i], sampleRate)).ToArray();
            result.Add(new FreesoundPrediction(Path.GetFileName(files[i]), TaggingMetrics.TopK(logits, k).Select(j => labels[j]).ToArray()));
            progress?.Invoke(i + 1, files.Count);
        }
        return result;
    }

    /// <summary>Writes Kaggle's submission: header <c>fname,label</c>, one row per clip with its labels space-separated.</summary>
    public static void WriteSubmission(string path, IEnumerable<FreesoundPrediction> predictions)
    {
        var sb = new StringBuilder("fname,label\n");
        foreach (var p in predictions) sb.Append(p.FileName).Append(',').Append(string.Join(' ', p.TopLabels)).Append('\n');
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        File.WriteAllText(path, sb.ToString());
    }
}
