// `cochlea train deepspeech`: the CLI face of Cochlea.Models.Speech.DeepSpeechRun, with the live
// progress bar `train kws` uses (loss and utterances/s per step; plain lines when output is redirected).
// Features are cached on disk per file (default RUNDIR/../feature-cache, `--feature-cache none` to
// turn it off). Ctrl-C asks the run to stop after the current epoch; it then saves a checkpoint and exits.
using System.Globalization;
using Cochlea.Models.Speech;

namespace Cochlea.Cli;

static class TrainDeepSpeechCommand
{
    public static int Run(string[] args, CliConsole ui)
    {
        var o = CliArgs.Parse(args, new()
        {
            ["train"] = "", ["dev"] = "", ["test"] = "", ["out"] = "", ["n-hidden"] = "2048", ["epochs"] = "75", ["batch"] = "8",
            ["lr"] = "0.001", ["dropout"] = "0.05", ["relu-clip"] = "20", ["replicas"] = "1", ["validate-every"] = "1",
            ["checkpoint-every"] = "1", ["seed"] = "1", ["resume"] = "", ["feature-cache"] = "",
        });
        string Csv(string name) => File.Exists(o.Required(name)) ? o.Required(name) : throw new UsageException($"--{name}: file not found: {Path.GetFullPath(o.Required(name))}");
        string outDir = o.Optional("out") ?? Path.Combine("runs", $"deepspeech-{DateTime.Now:yyyyMMdd-HHmmss}");
        string? cache = o.Optional("feature-cache") ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(outDir))!, "feature-cache");
        var options = new DeepSpeechRunOptions
        {
            TrainCsv = Csv("train"),
            DevCsv = Csv("dev"),
            TestCsv = o.Optional("test") is null ? null : Csv("test"),
            OutDir = outDir,
            FeatureCache = cache == "none" ? null : cache,
            NHidden = o.Int("n-hidden"),
            Epochs = o.Int("epochs"),
            Batch = o.Int("batch"),
            LearningRate = o.Float("lr"),
            Dropout = (float)o.Fraction("dropout"),
            ReluClip = o.Float("relu-clip"),
            Replicas = o.Int("replicas"),
            ValidateEvery = o.Int("validate-every"),
            CheckpointEvery = o.Int("checkpoint-every"),
            Seed = o.Int("seed"),
            Resume = o.OptionalExistingFile("resume"),
        };
        using var stop = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; stop.Cancel(); ui.Error.WriteLine("stopping after this epoch (checkpoint will be saved)..."); };
        Console.CancelKeyPress += onCancel;
        try
        {
            var last = ui.WithProgress(p =>
            {
                var view = new View(p);
                return DeepSpeechRun.Train(options, view.Log, stop.Token, view.Step);
            });
            ui.Line($"checkpoint: {Path.GetFullPath(last)}");
        }
        finally { Console.CancelKeyPress -= onCancel; }
        return 0;
    }

    /// <summary>The live epoch bar (restarted each epoch) and the run's lines above it.</summary>
    sealed class View(ProgressReporter progress)
    {
        int _epoch = -1;

        public void Log(string line)
        {
            progress.Stop();
            _epoch = -1;
            progress.Console.Line(line);
        }

        public void Step(DeepSpeechStepProgress p)
        {
            if (p.Epoch != _epoch) { progress.Start($"epoch {p.Epoch}/{p.Epochs}", p.Total); _epoch = p.Epoch; }
            progress.Update(p.Seen, string.Create(CultureInfo.InvariantCulture,
                $"epoch {p.Epoch}/{p.Epochs}  loss {p.Loss:F3}  {p.UtterancesPerSecond:F2} utt/s"));
        }
    }
}
