// Training of the keyword spotters on a Speech Commands folder, the TF tutorial's way: labels
// [_silence_, _unknown_, words...], silence and unknown entries at set percentages, training clips
// time-shifted and mixed with _background_noise_ (background_frequency, background_volume), one
// validation pass per epoch, the best checkpoint by validation accuracy and the last one, and a
// metrics CSV. Recipes of the documents on top:
//   distillation: loss = (1 - a) * CE(student, labels) + a * KlDivDistill(student, teacher, T), where
//     KlDivDistill = T^2 * KL(softmax(teacher / T) || softmax(student / T)) (batch mean), so a = 0 is
//     plain training and a = 1 learns from the teacher's softened probabilities alone;
//   pseudo-labels: clips of an unlabelled folder whose top probability under the teacher (or, without
//     one, the resumed model) is >= threshold join the training set with that label.
// Determinism: batches depend only on (seed, epoch, batch), the model's dropout offsets and the
// optimizer state are checkpointed, so resuming from epoch k's last checkpoint gives the weights an
// uninterrupted run would have.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Cochlea.Checkpoints;
using Cochlea.Models.Data;
using Cochlea.Models.Training;
using Cochlea.Optim;

namespace Cochlea.Models.Kws;

/// <summary>Optimizers the KWS recipes use.</summary>
public enum KwsOptimizer
{
    /// <summary>SGD with momentum 0.9.</summary>
    Sgd,
    /// <summary>Adam (betas 0.9, 0.999).</summary>
    Adam,
    /// <summary>RMSprop in TensorFlow 1's form (decay 0.9, eps 1e-10 inside the root), which the TF challenge recipes were tuned with.</summary>
    RmsProp,
}

/// <summary>Learning-rate schedules of a KWS run.</summary>
public enum KwsSchedule
{
    /// <summary>The learning rate stays at its initial value.</summary>
    Constant,
    /// <summary>Cosine decay from the initial value to 0 over all epochs, after a warm-up of <see cref="KwsTrainOptions.WarmupEpochs"/>.</summary>
    Cosine,
}

/// <summary>Settings of a KWS training run (defaults: the TF tutorial's augmentation and a 20-epoch Adam run).</summary>
public sealed record KwsTrainOptions
{
    /// <summary>The Speech Commands folder.</summary>
    public required string DataDir { get; init; }

    /// <summary>Where checkpoints (best.safetensors, last.safetensors) and metrics.csv go.</summary>
    public required string OutDir { get; init; }

    /// <summary>The architecture; null: the resumed checkpoint's, else wave.</summary>
    public KwsModelKind? Model { get; init; }

    /// <summary>Total epochs: a resumed run continues from the checkpoint's epoch up to this number.</summary>
    public int Epochs { get; init; } = 20;

    /// <summary>Clips per training step.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Initial learning rate; null: <see cref="DefaultLearningRate"/>.</summary>
    public float? LearningRate { get; init; }

    /// <summary>The optimizer.</summary>
    public KwsOptimizer Optimizer { get; init; } = KwsOptimizer.Adam;

    /// <summary>The learning-rate schedule.</summary>
    public KwsSchedule Schedule { get; init; } = KwsSchedule.Constant;

    /// <summary>Linear warm-up of the cosine schedule, in epochs (may be fractional; 0 for none).</summary>
    public double WarmupEpochs { get; init; }

    /// <summary>Class set: "12" (ten keywords + silence + unknown), "all" (every word folder) or a comma-separated word list.</summary>
    public string Classes { get; init; } = "12";

    /// <summary>Seed of the initial weights, the data order and every augmentation draw; null: the resumed checkpoint's, else 1.</summary>
    public int? Seed { get; init; }

    /// <summary>Checkpoint to continue from (its model, optimizer state, epoch count and random state).</summary>
    public string? Resume { get; init; }

    /// <summary>Loader threads decoding and augmenting clips ahead of the trainer.</summary>
    public int Workers { get; init; } = 1;

    /// <summary>Teacher checkpoint for distillation (same classes); null: none.</summary>
    public string? Teacher { get; init; }

    /// <summary>Label smoothing ls of the cross-entropy: targets (1 - ls) one-hot + ls / classes.</summary>
    public float LabelSmoothing { get; init; }

    /// <summary>Distillation temperature T.</summary>
    public float Temperature { get; init; } = 2f;

    /// <summary>Distillation weight a in [0, 1] (see the file header).</summary>
    public float DistillWeight { get; init; } = 0.5f;

    /// <summary>Folder of unlabelled clips to pseudo-label; null: none.</summary>
    public string? PseudoDir { get; init; }

    /// <summary>Minimum top-class probability for a pseudo-labelled clip to be kept.</summary>
    public double PseudoThreshold { get; init; } = 0.6;

    /// <summary>Silence entries per split, percent of its keyword clips (TF: 10).</summary>
    public double SilencePercentage { get; init; } = 10;

    /// <summary>Unknown-word entries per split, percent of its keyword clips (TF: 10).</summary>
    public double UnknownPercentage { get; init; } = 10;

    /// <summary>Time shift and background noise (TF tutorial defaults).</summary>
    public KwsAugmentOptions Augment { get; init; } = new();

    /// <summary>
    /// Training clips (augmented, as in training) whose batch statistics replace the batch-norm running statistics after each
    /// epoch ("precise BN", see <see cref="Training.BatchNormCalibration"/>); 0 keeps the running averages.
    /// </summary>
    public int BatchNormCalibrationClips { get; init; } = 512;

    /// <summary>Per-clip level normalisation in the model's front end (saved with the checkpoint; ignored on resume).</summary>
    public KwsInputNormalization InputNormalization { get; init; } = KwsInputNormalization.None;

    /// <summary>
    /// Where the network (and the teacher) trains: Device.Cpu or a CUDA device. Clips are decoded, augmented and put through the
    /// front end on the host; each batch's features and labels are copied to the device, metrics read back to the host.
    /// </summary>
    public Device Device { get; init; } = Device.Cpu;

    /// <summary>WaveKws block widths (null: the document's); for quick experiments and tests.</summary>
    public int[]? Widths { get; init; }

    /// <summary>The learning rate used when none is given: the documents' (DeepSpeechKws: Adam 8e-5), else 1e-3 (0.01 for SGD).</summary>
    public static float DefaultLearningRate(KwsModelKind model, KwsOptimizer optimizer) =>
        model == KwsModelKind.DeepSpeech && optimizer == KwsOptimizer.Adam ? 8e-5f : optimizer == KwsOptimizer.Sgd ? 1e-2f : 1e-3f;

    /// <summary>Checks every setting; the message names the CLI option.</summary>
    /// <exception cref="ArgumentException">A setting is out of range.</exception>
    public void Validate()
    {
        ArgumentException.ThrowIfNullOrEmpty(DataDir);
        ArgumentException.ThrowIfNullOrEmpty(OutDir);
        if (Epochs < 1) throw new ArgumentException($"--epochs must be >= 1 (got {Epochs}).");
        if (BatchSize < 1) throw new ArgumentException($"--batch must be >= 1 (got {BatchSize}).");
        if (LearningRate is float lr && !(lr > 0 && float.IsFinite(lr))) throw new ArgumentException($"--lr must be a positive number (got {lr}).");
        if (Workers < 0 || Workers > 64) throw new ArgumentException($"--workers must be in [0, 64] (got {Workers}).");
        if (!(LabelSmoothing >= 0 && LabelSmoothing < 1)) throw new ArgumentException($"--label-smoothing must be in [0, 1) (got {LabelSmoothing}).");
        if (!(Temperature > 0 && float.IsFinite(Temperature))) throw new ArgumentException($"--temperature must be a positive number (got {Temperature}).");
        if (!(DistillWeight >= 0 && DistillWeight <= 1)) throw new ArgumentException($"--distill-weight must be in [0, 1] (got {DistillWeight}).");
        if (!(PseudoThreshold >= 0 && PseudoThreshold <= 1)) throw new ArgumentException($"--pseudo-threshold must be in [0, 1] (got {PseudoThreshold}).");
        if (BatchNormCalibrationClips < 0) throw new ArgumentException($"the batch-norm calibration needs >= 0 clips (got {BatchNormCalibrationClips}).");
        if (!(WarmupEpochs >= 0) || !double.IsFinite(WarmupEpochs)) throw new ArgumentException($"the warm-up must be >= 0 epochs (got {WarmupEpochs}).");
    }
}

/// <summary>What a run is about to do, reported once before the first epoch.</summary>
/// <param name="Model">Architecture.</param>
/// <param name="Parameters">Trainable parameters.</param>
/// <param name="Labels">Class names.</param>
/// <param name="TrainClips">Training entries per epoch (pseudo-labelled clips included).</param>
/// <param name="PseudoClips">Pseudo-labelled clips added (0 without --pseudo).</param>
/// <param name="ValidationClips">Validation entries.</param>
/// <param name="FirstEpoch">First epoch to run (1, or the checkpoint's count + 1).</param>
/// <param name="Epochs">Last epoch to run.</param>
/// <param name="BatchesPerEpoch">Training steps per epoch.</param>
/// <param name="Optimizer">Optimizer, learning rate and schedule in words.</param>
/// <param name="Device">Where the network trains.</param>
public sealed record KwsTrainingInfo(KwsModelKind Model, long Parameters, IReadOnlyList<string> Labels, int TrainClips, int PseudoClips,
    int ValidationClips, int FirstEpoch, int Epochs, int BatchesPerEpoch, string Optimizer, Device Device);

/// <summary>Running figures of the current epoch after a training step.</summary>
/// <param name="Epoch">Epoch (1-based).</param>
/// <param name="Batch">Steps done in this epoch.</param>
/// <param name="Batches">Steps per epoch.</param>
/// <param name="Loss">Mean training loss so far this epoch.</param>
/// <param name="Accuracy">Training accuracy so far this epoch.</param>
/// <param name="ClipsPerSecond">Training throughput so far this epoch.</param>
public readonly record struct KwsBatchProgress(int Epoch, int Batch, int Batches, double Loss, double Accuracy, double ClipsPerSecond);

/// <summary>One row of the metrics CSV.</summary>
/// <param name="Epoch">Epoch (1-based).</param>
/// <param name="TrainLoss">Mean training loss.</param>
/// <param name="TrainAccuracy">Training accuracy (on augmented clips, dropout on).</param>
/// <param name="ValLoss">Validation negative log-likelihood.</param>
/// <param name="ValAccuracy">Validation accuracy.</param>
/// <param name="LearningRate">Learning rate of the epoch's last step.</param>
/// <param name="Seconds">Wall time of the epoch (training, validation and checkpoints).</param>
/// <param name="ClipsPerSecond">Training throughput.</param>
/// <param name="IsBest">True when this epoch became the best checkpoint.</param>
public sealed record KwsEpochMetrics(int Epoch, double TrainLoss, double TrainAccuracy, double ValLoss, double ValAccuracy,
    double LearningRate, double Seconds, double ClipsPerSecond, bool IsBest)
{
    /// <summary>The CSV header.</summary>
    public const string CsvHeader = "epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds,clips_per_s";

    /// <summary>The CSV row (invariant culture; accuracies as fractions in [0, 1]).</summary>
    public string ToCsv() => string.Join(",",
        Epoch.ToString(CultureInfo.InvariantCulture), F(TrainLoss, "F6"), F(TrainAccuracy, "F6"), F(ValLoss, "F6"), F(ValAccuracy, "F6"),
        F(LearningRate, "G6"), F(Seconds, "F2"), F(ClipsPerSecond, "F1"));

    static string F(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);
}

/// <summary>Where a finished run left its files.</summary>
/// <param name="BestCheckpoint">Checkpoint of the epoch with the best validation accuracy.</param>
/// <param name="LastCheckpoint">Checkpoint after the last epoch (resume from it).</param>
/// <param name="MetricsCsv">The metrics CSV.</param>
/// <param name="BestEpoch">Epoch of the best checkpoint.</param>
/// <param name="BestValAccuracy">Its validation accuracy.</param>
/// <param name="Epochs">Metrics of the epochs run now.</param>
public sealed record KwsTrainResult(string BestCheckpoint, string LastCheckpoint, string MetricsCsv, int BestEpoch, double BestValAccuracy,
    IReadOnlyList<KwsEpochMetrics> Epochs);

/// <summary>Receives a run's progress (every method optional). Called on the training thread.</summary>
public class KwsTrainingObserver
{
    /// <summary>Before the first epoch.</summary>
    public virtual void Started(KwsTrainingInfo info) { }

    /// <summary>After each training step.</summary>
    public virtual void BatchDone(KwsBatchProgress progress) { }

    /// <summary>After each epoch's validation and checkpoints.</summary>
    public virtual void EpochDone(KwsEpochMetrics metrics) { }

    /// <summary>A line worth showing (pseudo-label counts, resumed epoch, ...).</summary>
    public virtual void Message(string text) { }
}

/// <summary>Trains a keyword spotter (see the file header for the recipe).</summary>
public static class KwsTrainer
{
    /// <summary>Metadata keys the trainer adds to the classifier's.</summary>
    public const string EpochKey = "kws.epoch", SeedKey = "kws.seed", BestAccuracyKey = "kws.best_val_accuracy", BestEpochKey = "kws.best_epoch",
        ValAccuracyKey = "kws.val_accuracy", RecipeKey = "kws.recipe";

    /// <summary>File names inside the run folder.</summary>
    public const string BestFile = "best.safetensors", LastFile = "last.safetensors", MetricsFile = "metrics.csv";

    /// <summary>Runs the training described by <paramref name="options"/>.</summary>
    public static KwsTrainResult Run(KwsTrainOptions options, KwsTrainingObserver? observer = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        observer ??= new KwsTrainingObserver();
        var wanted = KwsData.ParseClasses(options.Classes);
        var dataset = KwsData.LoadDataset(options.DataDir, wanted, options.SilencePercentage, options.UnknownPercentage);
        var resumeMeta = options.Resume is null ? null : KwsClassifier.ReadMetadata(options.Resume);
        int seed = options.Seed ?? (resumeMeta is not null && resumeMeta.TryGetValue(SeedKey, out var s) ? int.Parse(s, CultureInfo.InvariantCulture) : 1);

        using var classifier = resumeMeta is null
            ? KwsClassifier.Create(options.Model ?? KwsModelKind.Wave, dataset.Labels, seed, options.Widths, options.InputNormalization)
            : KwsClassifier.FromMetadata(resumeMeta, seed);
        if (resumeMeta is not null)
        {
            if (options.Model is { } m && m != classifier.Kind)
                throw new ArgumentException($"--model {m.Name()} but the checkpoint {options.Resume} holds a {classifier.Kind.Name()} model.");
            KwsEvaluation.RequireSameLabels(classifier.Labels, dataset.Labels, $"the data in {dataset.Root} (--classes {options.Classes})");
        }
        // Before the optimizer and the checkpoint: its state and the loaded weights then land on the device directly.
        classifier.To(options.Device);
        float lr0 = options.LearningRate ?? KwsTrainOptions.DefaultLearningRate(classifier.Kind, options.Optimizer);
        using var optimizer = CreateOptimizer(options.Optimizer, classifier, lr0);

        int startEpoch = 0, bestEpoch = 0;
        double best = double.NegativeInfinity;
        if (resumeMeta is not null)
        {
            Checkpoint.Load(classifier.Model, optimizer, options.Resume!);
            classifier.RestoreRandomState(resumeMeta);
            startEpoch = IntMeta(resumeMeta, EpochKey, options.Resume!);
            bestEpoch = resumeMeta.TryGetValue(BestEpochKey, out var be) ? int.Parse(be, CultureInfo.InvariantCulture) : 0;
            best = resumeMeta.TryGetValue(BestAccuracyKey, out var ba) ? double.Parse(ba, CultureInfo.InvariantCulture) : double.NegativeInfinity;
            if (startEpoch >= options.Epochs)
                throw new ArgumentException($"the checkpoint {options.Resume} has already trained {startEpoch} epochs; --epochs is the total, so pass more than {startEpoch} to continue.");
            observer.Message($"resuming from {options.Resume}: epoch {startEpoch} done, best validation accuracy {Math.Max(best, 0):P1}");
        }

        using var teacher = options.Teacher is null ? null : KwsClassifier.Load(options.Teacher);
        teacher?.To(options.Device);
        if (teacher is not null) KwsEvaluation.RequireSameLabels(teacher.Labels, classifier.Labels, $"the teacher {options.Teacher}");

        var clips = new KwsClips(dataset, options.Augment);
        var train = dataset.Split(DataSplit.Training).ToList();
        var val = dataset.Split(DataSplit.Validation);
        if (train.Count == 0) throw new InvalidDataException($"{dataset.Root} has no training clips.");
        if (val.Count == 0) throw new InvalidDataException($"{dataset.Root} has no validation clips; the best checkpoint is chosen by validation accuracy (add validation_list.txt).");

        int pseudo = 0;
        if (options.PseudoDir is not null)
        {
            var labeller = teacher ?? (resumeMeta is not null ? classifier : null)
                ?? throw new ArgumentException("--pseudo needs a trained model to label the clips: pass --teacher or --resume.");
            var files = KwsData.CollectAudioFiles([options.PseudoDir]);
            var items = KwsPredictor.PseudoLabel(labeller, files, options.PseudoThreshold, options.BatchSize, options.Workers, clips.Decoder);
            pseudo = items.Count;
            train.AddRange(items);
            observer.Message($"pseudo-labels: kept {pseudo} of {files.Count} clips in {options.PseudoDir} with top probability >= {options.PseudoThreshold:0.##} ({(teacher is not null ? "teacher" : "resumed model")})");
        }

        using var trainLoader = clips.Loader(train, training: true, options.BatchSize, options.Workers, (ulong)seed);
        if (classifier.FrontEnd.NeedsStatistics)
        {
            // Per-bin statistics of the unaugmented training clips, computed once and saved with every checkpoint.
            using var statsLoader = clips.Loader(train, training: false, options.BatchSize, options.Workers, (ulong)seed);
            classifier.FrontEnd.FitStatistics(Waves(statsLoader.Epoch(0)));
        }

        int batches = trainLoader.BatchesPerEpoch;
        if (options.Schedule == KwsSchedule.Cosine)
            optimizer.Schedule = new CosineWithWarmup(lr0, (long)Math.Round(options.WarmupEpochs * batches), (long)options.Epochs * batches);

        Directory.CreateDirectory(options.OutDir);
        string bestPath = Path.Combine(options.OutDir, BestFile), lastPath = Path.Combine(options.OutDir, LastFile);
        string metricsPath = Path.Combine(options.OutDir, MetricsFile);
        StartMetrics(metricsPath, keepThrough: startEpoch);
        string recipe = Recipe(options, classifier.Kind, lr0);
        observer.Started(new KwsTrainingInfo(classifier.Kind, classifier.Model.ParameterCount, classifier.Labels, train.Count, pseudo, val.Count,
            startEpoch + 1, options.Epochs, batches, $"{options.Optimizer} lr {lr0:G3}{(options.Schedule == KwsSchedule.Cosine ? ", cosine" : "")}, batch {options.BatchSize}", options.Device));

        var rows = new List<KwsEpochMetrics>();
        teacher?.Model.Eval();
        for (int epoch = startEpoch + 1; epoch <= options.Epochs; epoch++)
        {
            var epochClock = Stopwatch.StartNew();
            var (trainLoss, trainAcc, trainSeconds) = TrainEpoch(classifier, teacher, optimizer, trainLoader, epoch, options, observer, cancellation);
            if (options.BatchNormCalibrationClips > 0)
            {
                // Its own random streams (seed derived from the run's), so calibration never changes what training draws.
                using var calibration = clips.Loader(train, training: true, options.BatchSize, options.Workers, Seeds.Derive((ulong)seed, 0xCA11B, 0));
                int n = (options.BatchNormCalibrationClips + options.BatchSize - 1) / options.BatchSize;
                BatchNormCalibration.Recalibrate(classifier.Model, Waves(calibration.Epoch(epoch - 1).Take(n)), classifier.Logits);
            }
            var v = KwsEvaluation.Evaluate(classifier, clips, val, tta: false, options.BatchSize, options.Workers, (ulong)seed);
            bool isBest = v.Accuracy > best;
            if (isBest) { best = v.Accuracy; bestEpoch = epoch; }
            var extra = new Dictionary<string, string>
            {
                [EpochKey] = epoch.ToString(CultureInfo.InvariantCulture),
                [SeedKey] = seed.ToString(CultureInfo.InvariantCulture),
                [BestAccuracyKey] = best.ToString("R", CultureInfo.InvariantCulture),
                [BestEpochKey] = bestEpoch.ToString(CultureInfo.InvariantCulture),
                [ValAccuracyKey] = v.Accuracy.ToString("R", CultureInfo.InvariantCulture),
                [RecipeKey] = recipe,
            };
            classifier.Save(lastPath, optimizer, extra);
            if (isBest)
            {
                // Copy then rename, so an interrupted run never leaves a half-written best checkpoint.
                File.Copy(lastPath, bestPath + ".tmp", overwrite: true);
                File.Move(bestPath + ".tmp", bestPath, overwrite: true);
            }
            var row = new KwsEpochMetrics(epoch, trainLoss, trainAcc, v.Loss, v.Accuracy, optimizer.LearningRate,
                epochClock.Elapsed.TotalSeconds, trainSeconds > 0 ? train.Count / trainSeconds : 0, isBest);
            File.AppendAllText(metricsPath, row.ToCsv() + "\n");
            rows.Add(row);
            observer.EpochDone(row);
        }
        return new KwsTrainResult(bestPath, lastPath, metricsPath, bestEpoch, best, rows);
    }

    static (double Loss, double Accuracy, double Seconds) TrainEpoch(KwsClassifier model, KwsClassifier? teacher, Optimizer optimizer,
        DataLoader<SpeechCommandsItem, AudioExample, AudioBatch> loader, int epoch, KwsTrainOptions o, KwsTrainingObserver observer, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        double lossSum = 0;
        int correct = 0, seen = 0, step = 0;
        model.Model.Train();
        // On CUDA a step's loss and correct count are read after the next step is enqueued (LaggedStepStats), so the NaN
        // check below stops one step late there, naming the step whose loss it was; nothing is checkpointed before the
        // epoch's last step is read, so a step after the failing one never reaches a checkpoint.
        using var stats = new LaggedStepStats(model.Device, model.Labels.Count);
        void Report(StepStats r)
        {
            if (!float.IsFinite(r.Loss)) throw new InvalidOperationException($"the training loss became {r.Loss} at epoch {epoch}, step {r.Step}; lower --lr.");
            lossSum += (double)r.Loss * r.Size;
            correct += r.Correct;
            seen += r.Size;
            observer.BatchDone(new KwsBatchProgress(epoch, r.Step, loader.BatchesPerEpoch, lossSum / seen, (double)correct / seen, seen / clock.Elapsed.TotalSeconds));
        }
        // The loader's epochs are 0-based; a batch depends only on (seed, epoch, index), so resumed runs see the same data.
        foreach (var batch in loader.Epoch(epoch - 1, ct))
            using (batch)
            {
                using var scope = Tensor.Scope();
                var logits = model.Logits(batch.AudioTensor());
                var labels = batch.LabelTensor();
                if (labels.Device != model.Device) labels = labels.To(model.Device);
                var loss = Loss.CrossEntropy(logits, labels, o.LabelSmoothing);
                if (teacher is not null && o.DistillWeight > 0)
                {
                    Tensor teacherLogits;
                    using (Tensor.NoGrad()) teacherLogits = teacher.Logits(batch.AudioTensor());
                    loss = loss * (1 - o.DistillWeight) + Loss.KlDivDistill(logits, teacherLogits, o.Temperature) * o.DistillWeight;
                }
                optimizer.ZeroGrad();
                loss.Backward();
                optimizer.Step();
                if (stats.Push(++step, loss, logits, labels) is { } done) Report(done);
            }
        if (stats.Finish() is { } final) Report(final);
        return (lossSum / Math.Max(1, seen), (double)correct / Math.Max(1, seen), clock.Elapsed.TotalSeconds);
    }

    static IEnumerable<Tensor> Waves(IEnumerable<AudioBatch> batches)
    {
        foreach (var b in batches)
            using (b)
            using (var scope = Tensor.Scope())
                yield return b.AudioTensor();
    }

    static Optimizer CreateOptimizer(KwsOptimizer kind, KwsClassifier c, float lr) => kind switch
    {
        KwsOptimizer.Sgd => new Sgd(c.Model.Parameters(), lr, momentum: 0.9f),
        KwsOptimizer.Adam => new Adam(c.Model.Parameters(), lr),
        KwsOptimizer.RmsProp => new RmsProp(c.Model.Parameters(), lr, alpha: 0.9f, eps: 1e-10f, tfStyle: true),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown optimizer."),
    };

    /// <summary>Parses "sgd", "adam" or "rmsprop" (case-insensitive).</summary>
    public static KwsOptimizer ParseOptimizer(string name) => name?.Trim().ToLowerInvariant() switch
    {
        "sgd" => KwsOptimizer.Sgd,
        "adam" => KwsOptimizer.Adam,
        "rmsprop" => KwsOptimizer.RmsProp,
        _ => throw new ArgumentException($"unknown optimizer '{name}'; expected sgd, adam or rmsprop."),
    };

    /// <summary>Parses "constant" or "cosine" (case-insensitive).</summary>
    public static KwsSchedule ParseSchedule(string name) => name?.Trim().ToLowerInvariant() switch
    {
        "constant" => KwsSchedule.Constant,
        "cosine" => KwsSchedule.Cosine,
        _ => throw new ArgumentException($"unknown schedule '{name}'; expected constant or cosine."),
    };

    static int IntMeta(IReadOnlyDictionary<string, string> meta, string key, string path) =>
        meta.TryGetValue(key, out var v) && int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int x) ? x
            : throw new InvalidDataException($"{path} has no '{key}' in its metadata; it was not written by `cochlea train kws` and cannot be resumed.");

    /// <summary>Creates the metrics CSV, or keeps an existing one's rows up to epoch <paramref name="keepThrough"/> (a resumed run continues it).</summary>
    static void StartMetrics(string path, int keepThrough)
    {
        var kept = new StringBuilder(KwsEpochMetrics.CsvHeader + "\n");
        if (keepThrough > 0 && File.Exists(path))
            foreach (var line in File.ReadLines(path).Skip(1))
            {
                int comma = line.IndexOf(',');
                if (comma > 0 && int.TryParse(line.AsSpan(0, comma), NumberStyles.None, CultureInfo.InvariantCulture, out int e) && e <= keepThrough)
                    kept.Append(line).Append('\n');
            }
        KwsPredictor.WriteAtomically(path, kept.ToString());
    }

    static string Recipe(KwsTrainOptions o, KwsModelKind kind, float lr) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["model"] = kind.Name(),
        ["classes"] = o.Classes,
        ["input_normalization"] = o.InputNormalization.ToString().ToLowerInvariant(),
        ["epochs"] = o.Epochs,
        ["batch"] = o.BatchSize,
        ["optimizer"] = o.Optimizer.ToString().ToLowerInvariant(),
        ["lr"] = lr,
        ["label_smoothing"] = o.LabelSmoothing,
        ["schedule"] = o.Schedule.ToString().ToLowerInvariant(),
        ["warmup_epochs"] = o.WarmupEpochs,
        ["background_frequency"] = o.Augment.BackgroundFrequency,
        ["background_volume"] = o.Augment.BackgroundVolume,
        ["time_shift_samples"] = o.Augment.TimeShiftSamples,
        ["speed_range"] = new[] { o.Augment.SpeedRange.Min, o.Augment.SpeedRange.Max },
        ["tempo_range"] = new[] { o.Augment.TempoRange.Min, o.Augment.TempoRange.Max },
        ["silence_percentage"] = o.SilencePercentage,
        ["unknown_percentage"] = o.UnknownPercentage,
        ["bn_calibration_clips"] = o.BatchNormCalibrationClips,
        ["teacher"] = o.Teacher,
        ["temperature"] = o.Teacher is null ? null : o.Temperature,
        ["distill_weight"] = o.Teacher is null ? null : o.DistillWeight,
        ["pseudo"] = o.PseudoDir,
        ["pseudo_threshold"] = o.PseudoDir is null ? null : o.PseudoThreshold,
    }, KwsJson.Default.DictionaryStringObject);
}
