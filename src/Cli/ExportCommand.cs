// `cochlea export --model CKPT --out model.cochlea [--int8] [--raw] [--data DIR] [--no-eval]`: freezes a KWS
// checkpoint (WaveKws, DeepSpeechKws or TutorialConv) into the runtime format (Models' KwsExport writes it, Cochlea.Runtime reads it),
// then, unless --no-eval or the data folder is missing, runs the exported file with the runtime on the
// test split and prints its accuracy next to the checkpoint's (engine, eval mode) and the change in points.
using System.Globalization;
using Cochlea.Models.Kws;
using Cochlea.Runtime;

namespace Cochlea.Cli;

static class ExportCommand
{
    public static int Run(string[] args, CliConsole ui)
    {
        var o = CliArgs.Parse(args, new() { ["model"] = "", ["out"] = "", ["data"] = "data/speech_commands_mini", ["split"] = "test" },
            flags: ["int8", "raw", "no-eval"]);
        string model = o.OptionalExistingFile("model") ?? throw new UsageException("--model is required (a checkpoint written by `cochlea train kws`).");
        string output = o.Required("out");
        bool int8 = o.Flag("int8"), raw = o.Flag("raw");
        using var classifier = KwsClassifier.Load(model);
        long bytes = KwsExport.Save(classifier, output, int8, compress: !raw);
        string weights = int8 ? "int8 per-channel weights" : raw ? "float32 weights, raw" : "float32 weights, byte planes zlib-compressed (lossless)";
        ui.Line($"export: {classifier.Kind.Name()} model {model} -> {output} ({bytes.ToString("N0", CultureInfo.InvariantCulture)} bytes, " +
            $"{weights}, batch norm folded, ReLU fused)");
        string data = o.Str("data");
        if (o.Flag("no-eval") || !Directory.Exists(data)) return 0;

        var (engine, runtime, clips) = CompareAccuracy(classifier, output, data, o.Str("split"));
        ui.Line($"accuracy on the {o.Str("split")} split of {data} ({clips} clips): checkpoint {engine * 100:F1}%, exported {runtime * 100:F1}% " +
            $"(change {(runtime - engine) * 100:+0.0;-0.0;0.0} points)");
        // The budget for quantisation: at most half a point of test accuracy.
        if (runtime < engine - 0.005)
            ui.Error.WriteLine($"cochlea export: warning: the exported model loses {(engine - runtime) * 100:F1} points (more than 0.5); consider the float32 export.");
        return 0;
    }

    /// <summary>Accuracy of the checkpoint (engine, eval mode) and of the exported file (runtime) on a split, one clip at a time in the runtime.</summary>
    public static (double Engine, double Runtime, int Clips) CompareAccuracy(KwsClassifier classifier, string modelFile, string data, string split)
    {
        var dataset = KwsData.LoadDataset(data, KwsEvaluation.WantedWords(classifier.Labels));
        var items = KwsData.Items(dataset, split);
        if (items.Count == 0) throw new InvalidDataException($"the {split} split of {dataset.Root} is empty.");
        KwsEvaluation.RequireSameLabels(classifier.Labels, dataset.Labels, "the data set");
        using var frozen = FrozenModel.Load(modelFile);
        var clips = new KwsClips(dataset);
        using var loader = clips.Loader(items, training: false, batchSize: 32, workers: 1, seed: 1);
        int c = classifier.Labels.Count, n = 0, okEngine = 0, okRuntime = 0;
        var probs = new float[c];
        foreach (var batch in loader.Epoch(0))
            using (batch)
            {
                var p = classifier.Probabilities(batch.Audio, batch.Size);
                for (int i = 0; i < batch.Size; i++)
                {
                    frozen.Run(batch.Audio.Slice(i * batch.Samples, batch.Samples), probs);
                    int truth = batch.Labels[i];
                    if (KwsTta.ArgMax(p, i, c) == truth) okEngine++;
                    if (KwsTta.ArgMax(probs, 0, c) == truth) okRuntime++;
                    n++;
                }
            }
        return ((double)okEngine / n, (double)okRuntime / n, n);
    }
}
