// A whole DeepSpeech training run: corpora from DeepSpeech CSVs, epochs of training with
// validation WER every N epochs, checkpoints every N epochs, on the best dev WER and when stopped
// (a cancellation token: the CLI maps Ctrl-C to it), resume from a checkpoint, and a metrics CSV.
using System.Globalization;
using Cochlea.Checkpoints;

namespace Cochlea.Models.Speech;

/// <summary>Settings of a DeepSpeech run (defaults: the document's model, Adam 1e-3).</summary>
public sealed record DeepSpeechRunOptions
{
    /// <summary>Training CSV (wav_filename,wav_filesize,transcript).</summary>
    public required string TrainCsv { get; init; }
    /// <summary>Validation CSV.</summary>
    public required string DevCsv { get; init; }
    /// <summary>Optional test CSV, evaluated at the end.</summary>
    public string? TestCsv { get; init; }
    /// <summary>Run folder for checkpoints and metrics.</summary>
    public required string OutDir { get; init; }
    /// <summary>Hidden width (2048 in the document).</summary>
    public int NHidden { get; init; } = 2048;
    /// <summary>Epochs to train (in total, counting resumed ones).</summary>
    public int Epochs { get; init; } = 75;
    /// <summary>Utterances per step.</summary>
    public int Batch { get; init; } = 8;
    /// <summary>Adam learning rate.</summary>
    public float LearningRate { get; init; } = 1e-3f;
    /// <summary>Dropout after the dense layers.</summary>
    public float Dropout { get; init; } = 0.05f;
    /// <summary>ReLU clip.</summary>
    public float ReluClip { get; init; } = 20f;
    /// <summary>Data-parallel towers (must divide the batch).</summary>
    public int Replicas { get; init; } = 1;
    /// <summary>Validate every N epochs.</summary>
    public int ValidateEvery { get; init; } = 1;
    /// <summary>Checkpoint every N epochs.</summary>
    public int CheckpointEvery { get; init; } = 1;
    /// <summary>Seed for initialisation and batch order.</summary>
    public int Seed { get; init; } = 1;
    /// <summary>Checkpoint to resume from.</summary>
    public string? Resume { get; init; }
    /// <summary>Folder of the on-disk feature cache (<see cref="SpeechFeatureCache"/>), shared by runs; null: features are computed every run.</summary>
    public string? FeatureCache { get; init; }
}

/// <summary>Where a training epoch is, after each step: for a live progress display.</summary>
/// <param name="Epoch">Current epoch (1-based).</param>
/// <param name="Epochs">Last epoch of the run.</param>
/// <param name="Seen">Utterances trained on so far in this epoch.</param>
/// <param name="Total">Utterances in the epoch.</param>
/// <param name="Loss">Mean CTC loss so far in this epoch.</param>
/// <param name="UtterancesPerSecond">Training speed so far in this epoch.</param>
public sealed record DeepSpeechStepProgress(int Epoch, int Epochs, int Seen, int Total, double Loss, double UtterancesPerSecond);

/// <summary>Runs DeepSpeech training as <see cref="DeepSpeechRunOptions"/> say and reports through a log callback.</summary>
public static class DeepSpeechRun
{
    /// <summary>
    /// Trains; returns the path of the last checkpoint written. Stops cleanly (checkpoint saved) when <paramref name="stop"/>
    /// is cancelled. <paramref name="progress"/> hears of every step.
    /// </summary>
    public static string Train(DeepSpeechRunOptions o, Action<string> log, CancellationToken stop = default, Action<DeepSpeechStepProgress>? progress = null)
    {
        Directory.CreateDirectory(o.OutDir);
        var corpus = new SpeechCorpus(featureCacheFolder: o.FeatureCache);
        log($"loading {o.TrainCsv} and {o.DevCsv} (features are computed once per file{(o.FeatureCache is null ? "" : $" and cached in {Path.GetFullPath(o.FeatureCache)}")})");
        var train = corpus.Load(o.TrainCsv);
        var dev = corpus.Load(o.DevCsv);
        if (corpus.DiskCache is { } cache) log($"features: {cache.Hits} files from the cache, {cache.Misses} computed");
        int nCharacter = corpus.Alphabet.Classes;
        using var trainer = new DeepSpeechTrainer(
            () => new DeepSpeech(nHidden: o.NHidden, nCharacter: nCharacter, reluClip: o.ReluClip, dropout: o.Dropout, seed: o.Seed),
            corpus.Alphabet, o.Batch, o.LearningRate, o.Replicas);
        int startEpoch = 1;
        if (o.Resume is not null)
        {
            var meta = Checkpoint.Load(trainer.Model, trainer.Optimizer, o.Resume);
            trainer.Model.ZeroGrad();
            startEpoch = int.Parse(meta["epoch"], CultureInfo.InvariantCulture) + 1;
            log($"resumed from {o.Resume} at epoch {startEpoch}");
        }
        var metrics = Path.Combine(o.OutDir, "metrics.csv");
        if (!File.Exists(metrics)) File.WriteAllText(metrics, "epoch,train_loss,dev_loss,dev_wer,dev_cer,seconds\n");
        var rng = new Random(o.Seed * 7919 + startEpoch);
        string last = "";
        double bestWer = double.PositiveInfinity;
        for (int epoch = startEpoch; epoch <= o.Epochs; epoch++)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            int e = epoch;
            var r = trainer.TrainEpoch(train, rng, (seen, total, loss) =>
                progress?.Invoke(new DeepSpeechStepProgress(e, o.Epochs, seen, total, loss, seen / Math.Max(clock.Elapsed.TotalSeconds, 1e-9))));
            string line = $"epoch {epoch}: train loss {r.Loss:F3} ({r.Utterances / Math.Max(r.Seconds, 1e-9):F1} utt/s)";
            string devCols = ",,";
            if (epoch % o.ValidateEvery == 0 || epoch == o.Epochs)
            {
                var ev = trainer.Evaluate(dev);
                line += $" | dev loss {ev.Loss:F3} WER {ev.Report!.MeanWer:P1} CER {ev.Report.MeanCer:P1}";
                devCols = string.Create(CultureInfo.InvariantCulture, $"{ev.Loss:F4},{ev.Report.MeanWer:F4},{ev.Report.MeanCer:F4}");
                if (ev.Report.MeanWer < bestWer)
                {
                    bestWer = ev.Report.MeanWer;
                    Save(trainer, Path.Combine(o.OutDir, "best.safetensors"), epoch, o);
                }
            }
            log(line);
            File.AppendAllText(metrics, string.Create(CultureInfo.InvariantCulture, $"{epoch},{r.Loss:F4},{devCols},{r.Seconds:F2}\n"));
            if (epoch % o.CheckpointEvery == 0 || epoch == o.Epochs || stop.IsCancellationRequested)
                last = Save(trainer, Path.Combine(o.OutDir, "last.safetensors"), epoch, o);
            if (stop.IsCancellationRequested) { log($"stopped: checkpoint saved at {last}"); return last; }
        }
        if (o.TestCsv is not null)
        {
            var ev = trainer.Evaluate(corpus.Load(o.TestCsv));
            log(ev.Report!.Format(5));
            log($"test WER {ev.Report.MeanWer:P1} on {ev.Utterances} utterances");
        }
        return last;
    }

    static string Save(DeepSpeechTrainer t, string path, int epoch, DeepSpeechRunOptions o)
    {
        Checkpoint.Save(t.Model, t.Optimizer, path, new Dictionary<string, string>
        {
            ["model"] = "deepspeech", ["epoch"] = epoch.ToString(CultureInfo.InvariantCulture),
            ["n_hidden"] = o.NHidden.ToString(CultureInfo.InvariantCulture), ["relu_clip"] = o.ReluClip.ToString(CultureInfo.InvariantCulture),
            ["alphabet"] = Alphabet.DeepSpeech.Symbols,
        });
        return path;
    }

    /// <summary>Loads a DeepSpeech checkpoint written by <see cref="Train"/> (for transcription).</summary>
    public static DeepSpeech LoadModel(string path)
    {
        using var file = IO.SafeTensorsFile.Open(path);
        if (!file.Metadata.TryGetValue("n_hidden", out var nh))
            throw new InvalidDataException($"{path}: not a DeepSpeech checkpoint of `cochlea train deepspeech` (no n_hidden metadata).");
        var model = new DeepSpeech(nHidden: int.Parse(nh, CultureInfo.InvariantCulture), dropout: 0f);
        Checkpoint.Load(model, null, path);
        return model;
    }
}
