// `cochlea demo`: the newcomer's first run. Trains WaveKws (the Pi keyword-spotting model, full
// widths) on the shipped data set data/speech_commands_mini with the TF tutorial's augmentation,
// evaluates the best checkpoint on the test split (per-class accuracy, confusion matrix), and says
// where the checkpoint is. Its last line is "demo: test accuracy NN.N% on N clips".
// Until the shipped data set is in the checkout, it falls back to the older demo on generated
// sound events (reduced widths), so a fresh clone always has a working demo.
using System.Diagnostics;
using Cochlea.Memory;
using Cochlea.Models.Kws;
using Cochlea.Models.Synthetic;
using Cochlea.Models.Training;
using Cochlea.Optim;
using Spectre.Console;

namespace Cochlea.Cli;

static class DemoCommand
{
    /// <summary>The shipped data set, relative to the repository root.</summary>
    const string ShippedData = "data/speech_commands_mini";

    public static int Run(string[] args, CliConsole ui)
    {
        var o = CliArgs.Parse(args, new()
        {
            ["data"] = "", ["out"] = "", ["epochs"] = "12", ["batch"] = "64", ["lr"] = "0.002", ["seed"] = "1", ["workers"] = "1",
        });
        string? data = o.Optional("data") ?? (RepoRoot() is { } root && Directory.Exists(Path.Combine(root, ShippedData)) ? Path.Combine(root, ShippedData) : null);
        if (data is null) return SyntheticDemo(o, ui);
        if (!Directory.Exists(data)) throw new UsageException($"--data: folder not found: {Path.GetFullPath(data)}");
        string output = o.Optional("out") ?? Path.Combine(RepoRoot() ?? Directory.GetCurrentDirectory(), "runs", "demo");

        var clock = Stopwatch.StartNew();
        ui.Markup($"[bold]Cochlea demo[/]: keyword spotting with WaveKws on {Markup.Escape(Path.GetFullPath(data))}");
        var options = new KwsTrainOptions
        {
            DataDir = data,
            OutDir = output,
            Model = KwsModelKind.Wave,
            Epochs = o.Int("epochs"),
            BatchSize = o.Int("batch"),
            LearningRate = o.Float("lr"),
            Optimizer = KwsOptimizer.Adam,
            Schedule = KwsSchedule.Cosine,
            WarmupEpochs = 1,
            Seed = o.Int("seed"),
            Workers = o.NonNegativeInt("workers"),
        };
        var trained = TrainCommand.Train(ui, options);
        double trainSeconds = clock.Elapsed.TotalSeconds;

        using var classifier = KwsClassifier.Load(trained.BestCheckpoint);
        var test = EvalCommand.Evaluate(ui, classifier, data, "test", tta: false, options.BatchSize, options.Workers, seed: 1, trained.BestCheckpoint);
        EvalCommand.Report(ui, test);
        ui.Line($"checkpoint: {Path.GetFullPath(trained.BestCheckpoint)} (epoch {trained.BestEpoch}, validation accuracy {trained.BestValAccuracy * 100:F1}%)");
        ui.Line($"metrics: {Path.GetFullPath(trained.MetricsCsv)}");
        ui.Line($"time: {trainSeconds:F0} s training, {clock.Elapsed.TotalSeconds:F0} s in all");
        ui.Line($"demo: test accuracy {test.Accuracy * 100:F1}% on {test.Clips} clips");
        return 0;
    }

    /// <summary>The folder holding Cochlea.sln, searched upwards from the working directory, then from the executable's folder.</summary>
    public static string? RepoRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Cochlea.sln"))) return dir.FullName;
        return null;
    }

    // The demo before the shipped data set: a reduced WaveKws on generated sound events.
    static int SyntheticDemo(CliArgs o, CliConsole ui)
    {
        int epochs = 10, nTrain = 1200, nVal = 300, batch = 32, seed = o.Int("seed");
        const float lr = 0.003f;
        const int sampleRate = 16000, samples = 8000;

        ui.Markup($"[bold]Cochlea demo[/]: {ShippedData} not found; WaveKws (reduced widths) on generated sound events, {SyntheticSounds.Classes.Length} classes, 0.5 s clips at 16 kHz");
        ui.Markup($"SIMD path [green]{Kernels.Simd.Best}[/], threads {Kernels.Threading.KernelThreads.Count}");
        var gen = Stopwatch.StartNew();
        var train = SyntheticSounds.Generate(nTrain, samples, sampleRate, seed);
        var val = SyntheticSounds.Generate(nVal, samples, sampleRate, seed + 1000);
        ui.Markup($"generated {nTrain} training and {nVal} validation clips in {gen.Elapsed.TotalSeconds:F1} s");

        using var model = new WaveKws(SyntheticSounds.Classes.Length, widths: [48, 64], seed: seed);
        using var adam = new Adam(model.Parameters(), lr: lr);
        var trainer = new ClassifierTrainer(model, adam, batch, seed);
        ui.Markup($"model: {model.ParameterCount:N0} parameters; Adam lr {lr}, batch {batch}, {epochs} epochs");

        var table = new Table().AddColumns("epoch", "train loss", "train acc", "val loss", "val acc", "clips/s", "pool MiB");
        EpochResult last = default;
        for (int e = 1; e <= epochs; e++)
        {
            var tr = trainer.TrainEpoch(train.Clips, train.Labels);
            last = trainer.Evaluate(val.Clips, val.Labels);
            var mem = CpuBufferPool.Shared.Stats;
            table.AddRow($"{e}", $"{tr.Loss:F4}", $"{tr.Accuracy:P1}", $"{last.Loss:F4}", $"{last.Accuracy:P1}", $"{tr.ClipsPerSecond:F0}", $"{mem.BytesAllocatedTotal / 1048576.0:F1}");
            ui.Line($"epoch {e}: train loss {tr.Loss:F4} acc {tr.Accuracy:P1} | val loss {last.Loss:F4} acc {last.Accuracy:P1} | {tr.ClipsPerSecond:F0} clips/s");
        }
        ui.Console.Write(table);
        ui.Line($"validation accuracy: {last.Accuracy * 100:F1}% on {last.Clips} clips");
        return 0;
    }
}
