// `cochlea predict --model CKPT FILES|DIR [--tta] --out submission.csv`: classifies audio files
// (folders are searched recursively for .wav/.flac) with a KWS checkpoint and writes Kaggle's
// `fname,label` submission, then a count per predicted label.
using Cochlea.Models.Kws;

namespace Cochlea.Cli;

static class PredictCommand
{
    public static int Run(string[] args, CliConsole ui)
    {
        var o = CliArgs.Parse(args, new() { ["model"] = "", ["out"] = "submission.csv", ["batch"] = "64", ["workers"] = "1", ["device"] = "cpu" }, flags: ["tta"], positional: true);
        string model = o.OptionalExistingFile("model") ?? throw new UsageException("--model is required (a checkpoint written by `cochlea train kws`).");
        if (o.Positional.Count == 0) throw new UsageException("give the audio files or folders to classify, e.g. `cochlea predict --model best.safetensors test/audio --out submission.csv`.");
        foreach (var p in o.Positional)
            if (!File.Exists(p) && !Directory.Exists(p)) throw new UsageException($"no such file or folder: {Path.GetFullPath(p)}");
        string output = o.Required("out");
        bool tta = o.Flag("tta");

        var device = o.Device();
        using var classifier = KwsClassifier.Load(model);
        classifier.To(device);
        var files = KwsData.CollectAudioFiles(o.Positional);
        ui.Line($"predict: {classifier.Kind.Name()} model {model}, {files.Count} files{(tta ? $", tta over {string.Join(", ", KwsTta.Views.Select(v => v.Name))}" : "")}");
        var predictions = ui.WithProgress(p =>
        {
            p.Start("predicting", files.Count);
            var r = KwsPredictor.Predict(classifier, files, tta, o.Int("batch"), o.NonNegativeInt("workers"), (done, total) => p.Update(done, $"predicting {done}/{total}"));
            p.Stop();
            return r;
        });
        KwsPredictor.WriteSubmission(output, predictions);
        foreach (var g in predictions.GroupBy(p => KwsPredictor.SubmissionLabel(p.LabelName)).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal))
            ui.Line($"  {g.Key,-10} {g.Count(),6}");
        ui.Line($"wrote {predictions.Count} predictions to {Path.GetFullPath(output)}");
        return 0;
    }
}
