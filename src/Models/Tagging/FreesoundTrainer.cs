// Training FreesoundCnn on a Freesound-style folder (train.csv: fname,label[,manually_verified] + the audio folder), as
// the document describes: a 33 % validation split with a fixed seed, random 8000-sample crops (shorter clips zero-padded
// at a random offset), Adam 3e-4 with exponential decay 0.99 every 10k steps, global-norm clipping at 15, batch 32,
// cross-entropy. Each epoch: batch-norm statistics re-estimated on training crops (the reference's momentum of 0.001
// leaves them near their initial values for thousands of steps), MAP@1 and MAP@3 on the validation clips, whole and
// variable-length; last.safetensors every epoch, best.safetensors when validation MAP@3 improves, metrics.csv.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Cochlea.Checkpoints;
using Cochlea.Models.Audio;
using Cochlea.Models.Data;
using Cochlea.Models.Training;
using Cochlea.Optim;

namespace Cochlea.Models.Tagging;

/// <summary>Settings of a FreesoundCnn training run (defaults: the document's recipe).</summary>
public sealed record FreesoundTrainOptions
{
    /// <summary>The data folder (train.csv and the audio folder inside it).</summary>
    public required string DataDir { get; init; }
    /// <summary>The labels CSV (fname,label[,manually_verified]); relative paths are taken inside DataDir when not found as given.</summary>
    public string Csv { get; init; } = "train.csv";
    /// <summary>Audio folder; null: DataDir/audio_train when it exists, else DataDir.</summary>
    public string? AudioDir { get; init; }
    /// <summary>Where best.safetensors, last.safetensors and metrics.csv go.</summary>
    public required string OutDir { get; init; }
    /// <summary>Epochs.</summary>
    public int Epochs { get; init; } = 40;
    /// <summary>Clips per step.</summary>
    public int BatchSize { get; init; } = 32;
    /// <summary>Adam's initial learning rate.</summary>
    public float LearningRate { get; init; } = 3e-4f;
    /// <summary>Exponential decay: lr = lr0 * rate^(step / steps).</summary>
    public float DecayRate { get; init; } = 0.99f;
    /// <summary>Steps per decay period.</summary>
    public long DecaySteps { get; init; } = 10_000;
    /// <summary>Global gradient-norm clip.</summary>
    public float ClipNorm { get; init; } = 15f;
    /// <summary>Fraction of the clips held out for validation.</summary>
    public double ValidationFraction { get; init; } = 0.33;
    /// <summary>Training crop length in samples.</summary>
    public int CropSamples { get; init; } = 8000;
    /// <summary>Sample rate the clips are read at (resampled when they differ).</summary>
    public int SampleRate { get; init; } = 16000;
    /// <summary>Seed of the split, the crops, the initialisation and dropout.</summary>
    public int Seed { get; init; } = 1;
    /// <summary>Training crops used to re-estimate batch-norm statistics each epoch (0: off).</summary>
    public int BatchNormCalibrationClips { get; init; } = 64;

    /// <summary>Where the model trains: Device.Cpu or a CUDA device (batches are cropped on the host and copied over; metrics read back).</summary>
    public Device Device { get; init; } = Device.Cpu;

    /// <summary>Throws ArgumentException for settings that cannot run.</summary>
    public void Validate()
    {
        if (Epochs < 1) throw new ArgumentException($"epochs must be >= 1 (got {Epochs}).");
        if (BatchSize < 1) throw new ArgumentException($"batch must be >= 1 (got {BatchSize}).");
        if (!(LearningRate > 0)) throw new ArgumentException($"lr must be > 0 (got {LearningRate}).");
        if (!(ValidationFraction > 0 && ValidationFraction < 1)) throw new ArgumentException($"the validation fraction must be in (0, 1) (got {ValidationFraction}).");
        if (CropSamples < FreesoundCnn.MinSamples) throw new ArgumentException($"the crop must be at least {FreesoundCnn.MinSamples} samples (got {CropSamples}).");
    }
}

/// <summary>One epoch's numbers (a row of metrics.csv).</summary>
public sealed record FreesoundEpochMetrics(int Epoch, double TrainLoss, double TrainAccuracy, double ValLoss, double ValMap1, double ValMap3,
    double LearningRate, double Seconds, double ClipsPerSecond, bool IsBest)
{
    /// <summary>The CSV header.</summary>
    public const string Header = "epoch,train_loss,train_acc,val_loss,val_map1,val_map3,lr,seconds,clips_per_s";

    /// <summary>The CSV row.</summary>
    public string ToCsv() => string.Join(",", Epoch.ToString(CultureInfo.InvariantCulture), F(TrainLoss), F(TrainAccuracy), F(ValLoss), F(ValMap1), F(ValMap3),
        LearningRate.ToString("G6", CultureInfo.InvariantCulture), Seconds.ToString("F2", CultureInfo.InvariantCulture), ClipsPerSecond.ToString("F1", CultureInfo.InvariantCulture));

    static string F(double v) => v.ToString("F6", CultureInfo.InvariantCulture);
}

/// <summary>What a run reports as it goes (the CLI draws a progress bar from it).</summary>
public class FreesoundTrainingObserver
{
    /// <summary>The run starts: labels, clip counts, steps per epoch.</summary>
    public virtual void Started(IReadOnlyList<string> labels, long parameters, int trainClips, int validationClips, int epochs, int stepsPerEpoch) { }
    /// <summary>A step finished: running loss and accuracy of the epoch.</summary>
    public virtual void StepDone(int epoch, int step, int steps, double loss, double accuracy, double clipsPerSecond) { }
    /// <summary>An epoch finished.</summary>
    public virtual void EpochDone(FreesoundEpochMetrics metrics) { }
}

/// <summary>The result: checkpoints, metrics and the best epoch.</summary>
public sealed record FreesoundTrainResult(string BestCheckpoint, string LastCheckpoint, string MetricsCsv, int BestEpoch, double BestMap3, IReadOnlyList<FreesoundEpochMetrics> Epochs);

/// <summary>Runs a FreesoundCnn training.</summary>
public static class FreesoundTrainer
{
    /// <summary>Checkpoint file names.</summary>
    public const string BestFile = "best.safetensors", LastFile = "last.safetensors", MetricsFile = "metrics.csv";

    /// <summary>Trains per <paramref name="o"/>, reporting to <paramref name="observer"/>.</summary>
    public static FreesoundTrainResult Run(FreesoundTrainOptions o, FreesoundTrainingObserver? observer = null)
    {
        o.Validate();
        observer ??= new FreesoundTrainingObserver();
        string csv = File.Exists(o.Csv) || Path.IsPathRooted(o.Csv) ? o.Csv : Path.Combine(o.DataDir, o.Csv);
        string audio = o.AudioDir ?? (Directory.Exists(Path.Combine(o.DataDir, "audio_train")) ? Path.Combine(o.DataDir, "audio_train") : o.DataDir);
        var set = LabelledClipSet.Load(csv, audio);
        if (set.Clips.Count < 2) throw new InvalidDataException($"{csv}: need at least 2 clips to split off a validation set, got {set.Clips.Count}.");
        var labels = set.Labels;
        var waves = set.Clips.Select(c => FreesoundPredictor.ReadClip(c.Path, o.SampleRate)).ToArray();

        // The split: a seeded shuffle, the first 33 % for validation.
        var order = Enumerable.Range(0, set.Clips.Count).ToArray();
        new Random(o.Seed).Shuffle(order);
        int nVal = Math.Clamp((int)Math.Round(o.ValidationFraction * order.Length), 1, order.Length - 1);
        var val = order[..nVal];
        var train = order[nVal..];

        using var model = new FreesoundCnn(labels.Count, seed: o.Seed);
        model.To(o.Device);   // before the optimizer: its state is made on the parameters' device
        using var opt = new Adam(model.Parameters(), o.LearningRate) { Schedule = new ExponentialDecay(o.LearningRate, o.DecayRate, o.DecaySteps) };
        Directory.CreateDirectory(o.OutDir);
        string best = Path.Combine(o.OutDir, BestFile), last = Path.Combine(o.OutDir, LastFile), metrics = Path.Combine(o.OutDir, MetricsFile);
        File.WriteAllText(metrics, FreesoundEpochMetrics.Header + "\n");
        int steps = (train.Length + o.BatchSize - 1) / o.BatchSize;
        observer.Started(labels, model.ParameterCount, train.Length, val.Length, o.Epochs, steps);

        var rows = new List<FreesoundEpochMetrics>();
        double bestMap3 = -1;
        int bestEpoch = 0;
        for (int epoch = 1; epoch <= o.Epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            var rng = EpochRandom(o.Seed, epoch, 0x5EED);
            var perm = (int[])train.Clone();
            rng.Shuffle(perm);
            model.Train();
            double lossSum = 0;
            int correct = 0, seen = 0;
            // On CUDA step s's loss and correct count are read after step s+1 is enqueued (LaggedStepStats): the NaN check
            // stops one step late there, naming the step whose loss it was, and before any checkpoint of this epoch.
            using var stats = new LaggedStepStats(o.Device, labels.Count);
            void Report(StepStats r)
            {
                if (!float.IsFinite(r.Loss)) throw new InvalidOperationException($"the training loss became {r.Loss} at epoch {epoch}, step {r.Step}; lower --lr.");
                lossSum += (double)r.Loss * r.Size;
                correct += r.Correct;
                seen += r.Size;
                observer.StepDone(epoch, r.Step, steps, lossSum / seen, (double)correct / seen, seen / clock.Elapsed.TotalSeconds);
            }
            for (int s = 0; s < steps; s++)
            {
                var idx = perm[(s * o.BatchSize)..Math.Min(perm.Length, (s + 1) * o.BatchSize)];
                using var scope = Tensor.Scope();
                var x = OnDevice(CropBatch(waves, idx, o.CropSamples, rng), o.Device);
                var y = OnDevice(Tensor.FromArray(idx.Select(i => (long)set.Clips[i].Label).ToArray(), idx.Length), o.Device);
                var logits = model.Forward(x);
                var loss = Loss.CrossEntropy(logits, y);
                opt.ZeroGrad();
                loss.Backward();
                GradClip.ClipByGlobalNormTensor(model.Parameters(), o.ClipNorm);   // the norm stays on the device (no wait); the scope frees it
                opt.Step();
                if (stats.Push(s + 1, loss, logits, y) is { } done) Report(done);
            }
            if (stats.Finish() is { } final) Report(final);
            double trainSeconds = clock.Elapsed.TotalSeconds;
            if (o.BatchNormCalibrationClips > 0) Recalibrate(model, waves, train, o, epoch);

            var (valLoss, map1, map3) = Evaluate(model, waves, val, set, labels.Count, o.Device);
            bool isBest = map3 > bestMap3;
            var meta = Metadata(labels, o, epoch);
            Checkpoint.Save(model, opt, last, meta);
            if (isBest) { bestMap3 = map3; bestEpoch = epoch; File.Copy(last, best, overwrite: true); }
            var row = new FreesoundEpochMetrics(epoch, lossSum / seen, (double)correct / seen, valLoss, map1, map3, opt.LearningRate,
                clock.Elapsed.TotalSeconds, seen / trainSeconds, isBest);
            File.AppendAllText(metrics, row.ToCsv() + "\n");
            rows.Add(row);
            observer.EpochDone(row);
        }
        return new FreesoundTrainResult(best, last, metrics, bestEpoch, bestMap3, rows);
    }

    /// <summary><paramref name="t"/> itself on the CPU, else its copy on <paramref name="device"/> (the host tensor is left to the scope, or disposed).</summary>
    static Tensor OnDevice(Tensor t, Device device, bool disposeHost = false)
    {
        if (t.Device == device) return t;
        var d = t.To(device);
        if (disposeHost) t.Dispose();
        return d;
    }

    /// <summary>Random crops of <paramref name="crop"/> samples: a random window of longer clips, shorter clips zero-padded at a random offset.</summary>
    static Tensor CropBatch(float[][] waves, int[] idx, int crop, Random rng)
    {
        var data = new float[idx.Length * crop];
        for (int i = 0; i < idx.Length; i++)
        {
            var w = waves[idx[i]];
            if (w.Length >= crop) w.AsSpan(rng.Next(w.Length - crop + 1), crop).CopyTo(data.AsSpan(i * crop));
            else w.CopyTo(data.AsSpan(i * crop + rng.Next(crop - w.Length + 1)));
        }
        return Tensor.FromArray(data, idx.Length, crop);
    }

    // A stream per (seed, epoch, purpose) that is the same in every process (HashCode.Combine is randomised per process,
    // so --seed did not make two runs alike).
    static Random EpochRandom(int seed, int epoch, ulong purpose) => new((int)(Seeds.Derive((ulong)seed, (ulong)epoch, purpose) & int.MaxValue));

    static void Recalibrate(FreesoundCnn model, float[][] waves, int[] train, FreesoundTrainOptions o, int epoch)
    {
        var rng = EpochRandom(o.Seed, epoch, 0xCA11B);
        var batches = new List<Tensor>();
        for (int seen = 0; seen < o.BatchNormCalibrationClips;)
        {
            var idx = Enumerable.Range(0, Math.Min(o.BatchSize, o.BatchNormCalibrationClips - seen)).Select(_ => train[rng.Next(train.Length)]).ToArray();
            using (TensorScope.Suspend()) batches.Add(OnDevice(CropBatch(waves, idx, o.CropSamples, rng), o.Device, disposeHost: true));
            seen += idx.Length;
        }
        try { BatchNormCalibration.Recalibrate(model, batches, model.Forward); }
        finally { foreach (var b in batches) b.Dispose(); }
    }

    // Validation on whole clips (each its own length; short ones padded to the model's minimum): loss, MAP@1, MAP@3.
    static (double Loss, double Map1, double Map3) Evaluate(FreesoundCnn model, float[][] waves, int[] val, LabelledClipSet set, int classes, Device device)
    {
        model.Eval();
        var scores = new float[val.Length * classes];
        var y = new int[val.Length];
        double loss = 0;
        using var ng = Tensor.NoGrad();
        for (int i = 0; i < val.Length; i++)
        {
            using var scope = Tensor.Scope();
            var logits = FreesoundPredictor.Logits(model, waves[val[i]]);
            y[i] = set.Clips[val[i]].Label;
            loss += Loss.CrossEntropy(logits, OnDevice(Tensor.FromArray(new long[] { y[i] }, 1), device)).Item();
            logits.ToArray().CopyTo(scores, i * classes);
        }
        model.Train();
        return (loss / val.Length, TaggingMetrics.MeanAveragePrecision(scores, y, classes, 1), TaggingMetrics.MeanAveragePrecision(scores, y, classes, 3));
    }

    static Dictionary<string, string> Metadata(IReadOnlyList<string> labels, FreesoundTrainOptions o, int epoch) => new()
    {
        [FreesoundPredictor.ModelKey] = "FreesoundCnn",
        [FreesoundPredictor.LabelsKey] = JsonSerializer.Serialize(labels),
        [FreesoundPredictor.SampleRateKey] = o.SampleRate.ToString(CultureInfo.InvariantCulture),
        ["freesound.epoch"] = epoch.ToString(CultureInfo.InvariantCulture),
        ["freesound.seed"] = o.Seed.ToString(CultureInfo.InvariantCulture),
        ["freesound.recipe"] = JsonSerializer.Serialize(new { o.BatchSize, o.LearningRate, o.DecayRate, o.DecaySteps, o.ClipNorm, o.ValidationFraction, o.CropSamples }),
    };
}
