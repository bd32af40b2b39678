// `cochlea train species` / `predict species`: the Rainforest recipe of DESIGN.md model 4 on the
// AttentionTagger. Training examples are 10 s crops around each labelled call (train_tp.csv; jittered
// +-2 s), labelled with every species whose tp box overlaps the crop, plus crops around the verified false
// positives of train_fp.csv (--fp), labelled the same way from the tp boxes only; recordings are split into folds
// stratified by species (sorted by their rarest species, dealt round robin); per fold: Adam with cosine
// decay after a linear warm-up, BCE with label smoothing 0.2, mixup (Beta 0.1) on images and targets,
// SpecAugment masks. Validation and prediction score a recording as the max over its 10 s windows
// (hop 10 s) of the sigmoid outputs; validation reports LWLRAP. The best epoch's weights (by validation
// LWLRAP) go to OUT/fold<k>.safetensors; prediction averages the folds' (and backbones') probabilities.
using System.Globalization;
using Cochlea.Checkpoints;
using Cochlea.Models.Audio;
using Cochlea.Models.Augment;
using Cochlea.Models.Data;
using Cochlea.Optim;

namespace Cochlea.Models.Tagging;

/// <summary>Options of a species training run.</summary>
public sealed record SpeciesTrainOptions
{
    /// <summary>Folder of the training recordings (recording_id.flac).</summary>
    public required string AudioDir { get; init; }
    /// <summary>train_tp.csv.</summary>
    public required string TpCsv { get; init; }
    /// <summary>train_fp.csv (optional): calls verified NOT to be the species named. Each adds a training crop around
    /// the call whose targets come from the tp boxes only, so the named species is taught as absent there.</summary>
    public string? FpCsv { get; init; }
    /// <summary>Output folder (fold checkpoints, metrics.csv).</summary>
    public required string OutDir { get; init; }
    /// <summary>Backbone.</summary>
    public TaggerBackbone Backbone { get; init; } = TaggerBackbone.ResNet50;
    /// <summary>Number of folds (>= 2); <see cref="OnlyFold"/> trains one of them.</summary>
    public int Folds { get; init; } = 5;
    /// <summary>Train only this fold (0-based), or all when null.</summary>
    public int? OnlyFold { get; init; }
    /// <summary>Epochs per fold.</summary>
    public int Epochs { get; init; } = 10;
    /// <summary>Batch size.</summary>
    public int Batch { get; init; } = 8;
    /// <summary>Peak learning rate.</summary>
    public float LearningRate { get; init; } = 1e-3f;
    /// <summary>Warm-up epochs (linear), then cosine decay to 0.</summary>
    public double WarmupEpochs { get; init; } = 1;
    /// <summary>Backbone width scale (1 = torchvision's).</summary>
    public double WidthScale { get; init; } = 1;
    /// <summary>Backbone depth scale (1 = torchvision's).</summary>
    public double DepthScale { get; init; } = 1;
    /// <summary>Classes (species ids 0..Classes-1); null: 1 + the largest id in the csv.</summary>
    public int? Classes { get; init; }
    /// <summary>Seed.</summary>
    public int Seed { get; init; } = 1;
    /// <summary>Front end (image size etc.).</summary>
    public SpeciesFrontEnd FrontEnd { get; init; } = new();
    /// <summary>Label smoothing, mixup alpha (0 = off), SpecAugment masks (null = off).</summary>
    public float LabelSmoothing { get; init; } = 0.2f;
    /// <inheritdoc cref="LabelSmoothing"/>
    public double MixupAlpha { get; init; } = 0.1;
    /// <inheritdoc cref="LabelSmoothing"/>
    public SpecAugmentOptions? SpecAugment { get; init; } = new(FrequencyMasks: 2, MaxFrequencyWidth: 24, TimeMasks: 2, MaxTimeWidth: 40);
}

/// <summary>Trains and applies species taggers; see the file header.</summary>
public static class SpeciesTrainer
{
    /// <summary>Folds stratified by species: recordings sorted by their rarest species (then id), dealt round robin. Returns recording id -> fold.</summary>
    public static Dictionary<string, int> StratifiedFolds(IReadOnlyList<AnnotatedRecording> recordings, int folds)
    {
        if (folds < 2) throw new ArgumentOutOfRangeException(nameof(folds), folds, "species folds: need at least 2.");
        var freq = recordings.SelectMany(r => r.Boxes.Select(b => b.SpeciesId).Distinct()).GroupBy(s => s).ToDictionary(g => g.Key, g => g.Count());
        var order = recordings
            .Select(r => (r.RecordingId, Key: r.Boxes.Select(b => b.SpeciesId).Distinct().OrderBy(s => freq[s]).ThenBy(s => s).First()))
            .OrderBy(x => freq[x.Key]).ThenBy(x => x.Key).ThenBy(x => x.RecordingId, StringComparer.Ordinal).ToList();
        var map = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < order.Count; i++) map[order[i].RecordingId] = i % folds;
        return map;
    }

    /// <summary>Trains the folds; progress lines go to <paramref name="log"/>. Returns the checkpoint paths.</summary>
    public static IReadOnlyList<string> Train(SpeciesTrainOptions o, Action<string> log)
    {
        var boxes = RainforestAnnotations.LoadBoxes(o.TpCsv);
        var recordings = RainforestAnnotations.GroupByRecording(boxes, o.AudioDir);
        int classes = o.Classes ?? boxes.Max(b => b.SpeciesId) + 1;
        if (boxes.Any(b => b.SpeciesId >= classes)) throw new InvalidDataException($"{o.TpCsv}: species id above --classes {classes}.");
        var folds = StratifiedFolds(recordings, o.Folds);
        var tpByRecording = recordings.ToDictionary(r => r.RecordingId, r => r.Boxes, StringComparer.Ordinal);
        var fpRecordings = o.FpCsv is null ? [] : RainforestAnnotations.GroupByRecording(RainforestAnnotations.LoadBoxes(o.FpCsv), o.AudioDir);
        foreach (var bx in fpRecordings.SelectMany(r => r.Boxes))
            if (bx.SpeciesId >= classes) throw new InvalidDataException($"{o.FpCsv}: species id {bx.SpeciesId} of recording {bx.RecordingId} is not below the {classes} classes of {o.TpCsv}.");
        var audio = new Dictionary<string, float[]>(StringComparer.Ordinal);
        float[] Audio(AnnotatedRecording r)
        {
            if (audio.TryGetValue(r.RecordingId, out var a)) return a;
            var clip = AudioFile.Read(r.Path);
            if (clip.SampleRate != o.FrontEnd.SampleRate) throw new InvalidDataException($"{r.Path}: {clip.SampleRate} Hz, expected {o.FrontEnd.SampleRate}.");
            return audio[r.RecordingId] = clip.Channel(0);
        }
        Directory.CreateDirectory(o.OutDir);
        var features = new SpeciesFeatures(o.FrontEnd);
        var paths = new List<string>();
        using var metrics = new StreamWriter(Path.Combine(o.OutDir, "metrics.csv"), append: false);
        metrics.WriteLine("fold,epoch,train_loss,val_lwlrap,lr,seconds");
        for (int fold = 0; fold < o.Folds; fold++)
        {
            if (o.OnlyFold is int only && only != fold) continue;
            var train = recordings.Where(r => folds[r.RecordingId] != fold).ToList();
            var val = recordings.Where(r => folds[r.RecordingId] == fold).ToList();
            // fp calls of validation recordings stay out (they would leak the fold); fp-only recordings always train.
            var examples = train.SelectMany(r => r.Boxes.Select(b => (Rec: r, Box: b)))
                .Concat(fpRecordings.Where(r => !folds.TryGetValue(r.RecordingId, out int f) || f != fold).SelectMany(r => r.Boxes.Select(b => (Rec: r, Box: b))))
                .ToList();
            using var model = AttentionTagger.Create(o.Backbone, classes, o.WidthScale, o.DepthScale, o.Seed + fold);
            var opt = new Adam(model.Parameters(), o.LearningRate);
            long stepsPerEpoch = (examples.Count + o.Batch - 1) / o.Batch, total = stepsPerEpoch * o.Epochs;
            var schedule = new CosineWithWarmup(o.LearningRate, Math.Min(total - 1, (long)(o.WarmupEpochs * stepsPerEpoch)), total);
            var rng = new Philox((ulong)(o.Seed * 1000 + fold));
            string best = Path.Combine(o.OutDir, $"fold{fold}.safetensors");
            double bestScore = double.NegativeInfinity;
            long step = 0;
            int plane = 3 * o.FrontEnd.Height * o.FrontEnd.Width, win = o.FrontEnd.WindowSamples;
            log($"fold {fold}: {train.Count} train recordings ({examples.Count} calls incl. false positives), {val.Count} validation; {model.ParameterCount} parameters");
            for (int epoch = 1; epoch <= o.Epochs; epoch++)
            {
                var t0 = System.Diagnostics.Stopwatch.StartNew();
                model.Train();
                var idx = Enumerable.Range(0, examples.Count).ToArray();
                rng.Shuffle(idx.AsSpan());
                double lossSum = 0;
                int batches = 0;
                for (int start = 0; start < idx.Length; start += o.Batch)
                {
                    int b = Math.Min(o.Batch, idx.Length - start);
                    var x = new float[b * plane];
                    var y = new float[b * classes];
                    for (int i = 0; i < b; i++)
                    {
                        var (rec, box) = examples[idx[start + i]];
                        var a = Audio(rec);
                        double centre = 0.5 * (box.TMin + box.TMax) + rng.NextUniform(-2, 2);
                        int s0 = (int)Math.Clamp((centre - o.FrontEnd.WindowSeconds / 2) * o.FrontEnd.SampleRate, 0, Math.Max(0, a.Length - win));
                        double t0s = (double)s0 / o.FrontEnd.SampleRate, t1s = t0s + o.FrontEnd.WindowSeconds;
                        features.Image(Window(a, s0, win), x.AsSpan(i * plane, plane), o.SpecAugment, rng);
                        foreach (var other in tpByRecording.GetValueOrDefault(rec.RecordingId, []))
                            if (other.TMax > t0s && other.TMin < t1s) y[i * classes + other.SpeciesId] = 1;
                    }
                    if (o.MixupAlpha > 0 && b > 1) Mixup.Apply(x, y, b, o.MixupAlpha, rng);
                    using var scope = Tensor.Scope();
                    schedule.Apply(opt, step);
                    opt.ZeroGrad();
                    var loss = Loss.BinaryCrossEntropyWithLogits(model.Forward(Tensor.FromArray(x, b, 3, o.FrontEnd.Height, o.FrontEnd.Width)),
                        Tensor.FromArray(y, b, classes), o.LabelSmoothing);
                    loss.Backward();
                    opt.Step();
                    lossSum += loss.Item();
                    batches++;
                    step++;
                }
                var scores = Score(model, features, val.Select(Audio).ToList());
                var truth = new float[val.Count * classes];
                for (int r = 0; r < val.Count; r++) foreach (var bx in val[r].Boxes) truth[r * classes + bx.SpeciesId] = 1;
                double lw = val.Count == 0 ? double.NaN : Lwlrap.Compute(scores, truth, val.Count, classes).Value;
                string lr = opt.LearningRate.ToString("G4", CultureInfo.InvariantCulture);
                log($"fold {fold} epoch {epoch}/{o.Epochs}: loss {lossSum / Math.Max(1, batches):F4}, val LWLRAP {lw:F4}, lr {lr}, {t0.Elapsed.TotalSeconds:F1} s");
                metrics.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{fold},{epoch},{lossSum / Math.Max(1, batches):F5},{lw:F5},{lr},{t0.Elapsed.TotalSeconds:F1}"));
                metrics.Flush();
                if (!(lw <= bestScore))
                {
                    bestScore = double.IsNaN(lw) ? bestScore : lw;
                    Checkpoint.Save(model, null, best, Metadata(o, classes, fold, epoch, lw));
                }
            }
            log($"fold {fold}: best validation LWLRAP {bestScore:F4} -> {best}");
            paths.Add(best);
        }
        return paths;
    }

    static Dictionary<string, string> Metadata(SpeciesTrainOptions o, int classes, int fold, int epoch, double lwlrap) => new()
    {
        ["species.backbone"] = o.Backbone.ToString(),
        ["species.classes"] = classes.ToString(CultureInfo.InvariantCulture),
        ["species.width_scale"] = o.WidthScale.ToString("R", CultureInfo.InvariantCulture),
        ["species.depth_scale"] = o.DepthScale.ToString("R", CultureInfo.InvariantCulture),
        ["species.height"] = o.FrontEnd.Height.ToString(CultureInfo.InvariantCulture),
        ["species.width"] = o.FrontEnd.Width.ToString(CultureInfo.InvariantCulture),
        ["species.fold"] = fold.ToString(CultureInfo.InvariantCulture),
        ["species.epoch"] = epoch.ToString(CultureInfo.InvariantCulture),
        ["species.val_lwlrap"] = lwlrap.ToString("R", CultureInfo.InvariantCulture),
    };

    static ReadOnlySpan<float> Window(float[] a, int start, int length)
    {
        if (start + length <= a.Length) return a.AsSpan(start, length);
        var w = new float[length];                      // a recording shorter than the window: zero-padded
        a.AsSpan(start, Math.Max(0, a.Length - start)).CopyTo(w);
        return w;
    }

    /// <summary>Per recording, the max over its 10 s windows (hop 10 s) of sigmoid(logits): (recordings, classes) row-major.</summary>
    public static float[] Score(AttentionTagger model, SpeciesFeatures features, IReadOnlyList<float[]> recordings)
    {
        var f = features.FrontEnd;
        int plane = 3 * f.Height * f.Width, win = f.WindowSamples, k = model.NumClasses;
        var result = new float[recordings.Count * k];
        model.Eval();
        for (int r = 0; r < recordings.Count; r++)
        {
            var a = recordings[r];
            int windows = Math.Max(1, (a.Length + win - 1) / win);
            var x = new float[windows * plane];
            for (int w = 0; w < windows; w++)
                features.Image(Window(a, Math.Max(0, Math.Min(w * win, a.Length - win)), win), x.AsSpan(w * plane, plane));
            using var scope = Tensor.Scope();
            using var ng = Tensor.NoGrad();
            var p = Ops.Sigmoid(model.Forward(Tensor.FromArray(x, windows, 3, f.Height, f.Width))).ToArray();
            for (int c = 0; c < k; c++)
            {
                float m = float.NegativeInfinity;
                for (int w = 0; w < windows; w++) m = Math.Max(m, p[w * k + c]);
                result[r * k + c] = m;
            }
        }
        return result;
    }

    /// <summary>Loads a fold checkpoint written by <see cref="Train"/>: the model and its front end.</summary>
    public static (AttentionTagger Model, SpeciesFrontEnd FrontEnd) Load(string path)
    {
        using var file = Cochlea.IO.SafeTensorsFile.Open(path);
        var m = file.Metadata;
        string Get(string key) => m.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"{path}: not a species checkpoint (no '{key}').");
        var kind = Enum.Parse<TaggerBackbone>(Get("species.backbone"));
        var model = AttentionTagger.Create(kind, int.Parse(Get("species.classes"), CultureInfo.InvariantCulture),
            double.Parse(Get("species.width_scale"), CultureInfo.InvariantCulture), double.Parse(Get("species.depth_scale"), CultureInfo.InvariantCulture));
        Checkpoint.Load(model, null, path);
        var fe = new SpeciesFrontEnd(Height: int.Parse(Get("species.height"), CultureInfo.InvariantCulture), Width: int.Parse(Get("species.width"), CultureInfo.InvariantCulture));
        return (model, fe);
    }

    /// <summary>
    /// Scores every .flac of <paramref name="audioDir"/> with each checkpoint and writes recording_id,s0..s{K-1} with the
    /// probabilities averaged over the checkpoints (folds, backbones). Returns the rows written.
    /// </summary>
    public static int Predict(IReadOnlyList<string> checkpoints, string audioDir, string outCsv, Action<string> log)
    {
        if (checkpoints.Count == 0) throw new ArgumentException("predict species: no checkpoints given.");
        var files = Directory.GetFiles(audioDir, "*.flac").Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0) throw new InvalidDataException($"{audioDir}: no .flac recordings.");
        var audio = files.Select(p => AudioFile.Read(p).Channel(0)).ToList();
        float[]? sum = null;
        int classes = 0;
        foreach (var ckpt in checkpoints)
        {
            var (model, fe) = Load(ckpt);
            using (model)
            {
                if (sum is null) { classes = model.NumClasses; sum = new float[files.Count * classes]; }
                else if (model.NumClasses != classes) throw new InvalidDataException($"{ckpt}: {model.NumClasses} classes, the others have {classes}.");
                var s = Score(model, new SpeciesFeatures(fe), audio);
                for (int i = 0; i < s.Length; i++) sum[i] += s[i] / checkpoints.Count;
            }
            log($"scored {files.Count} recordings with {ckpt}");
        }
        using var w = new StreamWriter(outCsv);
        w.WriteLine("recording_id," + string.Join(",", Enumerable.Range(0, classes).Select(c => $"s{c}")));
        for (int r = 0; r < files.Count; r++)
            w.WriteLine(Path.GetFileNameWithoutExtension(files[r]) + "," + string.Join(",", Enumerable.Range(0, classes).Select(c => sum![r * classes + c].ToString("G6", CultureInfo.InvariantCulture))));
        return files.Count;
    }
}
