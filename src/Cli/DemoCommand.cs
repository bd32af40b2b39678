// `cochlea demo`: the newcomer's first run. Trains a small WaveKws (the Pi keyword-spotting
// architecture, reduced widths) on generated sound events and reports real loss, accuracy and
// speed per epoch. It becomes the keyword-spotting demo once the shipped speech data lands.
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
    public static int Run(string[] args)
    {
        var opt = CliArgs.Parse(args, new() { ["epochs"] = "10", ["train"] = "1200", ["val"] = "300", ["batch"] = "32", ["lr"] = "0.003", ["seed"] = "1" });
        int epochs = opt.Int("epochs"), nTrain = opt.Int("train"), nVal = opt.Int("val"), batch = opt.Int("batch"), seed = opt.Int("seed");
        float lr = opt.Float("lr");
        const int sampleRate = 16000, samples = 8000;

        AnsiConsole.MarkupLine($"[bold]Cochlea demo[/]: WaveKws (reduced widths) on generated sound events, {SyntheticSounds.Classes.Length} classes, 0.5 s clips at 16 kHz");
        AnsiConsole.MarkupLine($"SIMD path [green]{Kernels.Simd.Best}[/], threads {Kernels.Threading.KernelThreads.Count}");
        var gen = Stopwatch.StartNew();
        var train = SyntheticSounds.Generate(nTrain, samples, sampleRate, seed);
        var val = SyntheticSounds.Generate(nVal, samples, sampleRate, seed + 1000);
        AnsiConsole.MarkupLine($"generated {nTrain} training and {nVal} validation clips in {gen.Elapsed.TotalSeconds:F1} s");

        using var model = new WaveKws(SyntheticSounds.Classes.Length, widths: [48, 64], seed: seed);
        using var adam = new Adam(model.Parameters(), lr: lr);
        var trainer = new ClassifierTrainer(model, adam, batch, seed);
        AnsiConsole.MarkupLine($"model: {model.ParameterCount:N0} parameters; Adam lr {lr}, batch {batch}, {epochs} epochs");

        var table = new Table().AddColumns("epoch", "train loss", "train acc", "val loss", "val acc", "clips/s", "pool MiB");
        EpochResult last = default;
        for (int e = 1; e <= epochs; e++)
        {
            var tr = trainer.TrainEpoch(train.Clips, train.Labels);
            last = trainer.Evaluate(val.Clips, val.Labels);
            var mem = CpuBufferPool.Shared.Stats;
            table.AddRow($"{e}", $"{tr.Loss:F4}", $"{tr.Accuracy:P1}", $"{last.Loss:F4}", $"{last.Accuracy:P1}", $"{tr.ClipsPerSecond:F0}", $"{mem.BytesAllocatedTotal / 1048576.0:F1}");
            Console.WriteLine($"epoch {e}: train loss {tr.Loss:F4} acc {tr.Accuracy:P1} | val loss {last.Loss:F4} acc {last.Accuracy:P1} | {tr.ClipsPerSecond:F0} clips/s");
        }
        AnsiConsole.Write(table);
        Console.WriteLine($"validation accuracy: {last.Accuracy * 100:F1}% on {last.Clips} clips");
        return 0;
    }
}
