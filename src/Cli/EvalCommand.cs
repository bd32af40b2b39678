// `cochlea eval --model CKPT --data DIR [--split test|validation|all] [--tta]`: evaluates a KWS
// checkpoint on a split of a Speech Commands folder (indexed with the checkpoint's classes) and
// prints per-class accuracy, the confusion matrix, and last the line "accuracy: NN.N% on N clips".
using Cochlea.Models.Kws;

namespace Cochlea.Cli;

static class EvalCommand
{
    public static int Run(string[] args, CliConsole ui)
    {
        var o = CliArgs.Parse(args, new() { ["model"] = "", ["data"] = "", ["split"] = "test", ["batch"] = "64", ["workers"] = "1", ["seed"] = "1", ["device"] = "cpu" }, flags: ["tta"]);
        string model = o.OptionalExistingFile("model") ?? throw new UsageException("--model is required (a checkpoint written by `cochlea train kws`).");
        string data = o.ExistingFolder("data");
        string split = o.Required("split");
        if (split is not ("test" or "validation" or "all")) throw new UsageException($"--split must be test, validation or all, got '{split}'.");
        bool tta = o.Flag("tta");
        var device = o.Device();
        using var classifier = KwsClassifier.Load(model);
        classifier.To(device);
        var result = Evaluate(ui, classifier, data, split, tta, o.Int("batch"), o.NonNegativeInt("workers"), (ulong)o.Int("seed"), model);
        Report(ui, result);
        return 0;
    }

    /// <summary>Evaluates with a progress bar and prints what is being evaluated (shared by eval and demo).</summary>
    public static KwsEvalResult Evaluate(CliConsole ui, KwsClassifier classifier, string data, string split, bool tta, int batch, int workers, ulong seed, string modelName)
    {
        var dataset = KwsData.LoadDataset(data, KwsEvaluation.WantedWords(classifier.Labels));
        var items = KwsData.Items(dataset, split);
        if (items.Count == 0) throw new InvalidDataException($"the {split} split of {dataset.Root} is empty.");
        var clips = new KwsClips(dataset);
        ui.Line($"eval: {classifier.Kind.Name()} model {modelName} on the {split} split of {dataset.Root} ({items.Count} clips, {classifier.Labels.Count} classes)");
        if (tta)
            ui.Line($"tta: probabilities averaged over {string.Join(", ", KwsTta.Views.Select(v => v.Name))}");
        return ui.WithProgress(p =>
        {
            p.Start("evaluating", items.Count);
            var r = KwsEvaluation.Evaluate(classifier, clips, items, tta, batch, workers, seed, (done, total) => p.Update(done, $"evaluating {done}/{total}"));
            p.Stop();
            return r;
        });
    }

    /// <summary>Tables, then the summary as the last line.</summary>
    public static void Report(CliConsole ui, KwsEvalResult result)
    {
        ui.PerClassTable(result.Confusion);
        ui.ConfusionTable(result.Confusion);
        ui.Line($"loss {result.Loss:F4}, {result.ClipsPerSecond:F0} clips/s");
        ui.Line(result.SummaryLine);
    }
}
