// `cochlea train freesound` and `cochlea predict freesound`: the CLI faces of Cochlea.Models.Tagging's FreesoundTrainer and
// FreesoundPredictor. Training shows the same live progress bar as `train kws` (one line per epoch when redirected).
using System.Globalization;
using Cochlea.Models.Kws;
using Cochlea.Models.Tagging;

namespace Cochlea.Cli;

static class FreesoundCommands
{
    const string TrainUsage = "usage: cochlea train freesound --data DIR [--csv train.csv] [--audio DIR] [--epochs 40] [--batch 32] [--lr 3e-4] [--seed 1] "
        + "[--out RUNDIR] [--val-fraction 0.33] [--bn-calibration 64] [--device cpu|cuda|cuda:N]";

    public static int Train(string[] args, CliConsole ui)
    {
        var o = CliArgs.Parse(args, new()
        {
            ["data"] = "", ["csv"] = "train.csv", ["audio"] = "", ["epochs"] = "40", ["batch"] = "32", ["lr"] = "3e-4", ["seed"] = "1", ["out"] = "",
            ["val-fraction"] = "0.33", ["bn-calibration"] = "64", ["device"] = "cpu",
        });
        var data = o.ExistingFolder("data");
        string csv = o.Required("csv");
        if (!File.Exists(csv) && !File.Exists(Path.Combine(data, csv))) throw new UsageException($"--csv: not found as given or inside --data: {csv}. {TrainUsage}");
        var audio = o.Optional("audio");
        if (audio is not null && !Directory.Exists(audio)) throw new UsageException($"--audio: folder not found: {Path.GetFullPath(audio)}");
        var options = new FreesoundTrainOptions
        {
            DataDir = data,
            Csv = csv,
            AudioDir = audio,
            OutDir = o.Optional("out") ?? Path.Combine("runs", $"freesound-{DateTime.Now:yyyyMMdd-HHmmss}"),
            Epochs = o.Int("epochs"),
            BatchSize = o.Int("batch"),
            LearningRate = o.Float("lr"),
            Seed = o.NonNegativeInt("seed"),
            ValidationFraction = o.Fraction("val-fraction"),
            BatchNormCalibrationClips = o.NonNegativeInt("bn-calibration"),
            Device = o.Device(),
        };
        try { options.Validate(); }
        catch (ArgumentException e) { throw new UsageException(e.Message); }

        var result = ui.WithProgress(progress => FreesoundTrainer.Run(options, new View(progress)));
        ui.Line(string.Create(CultureInfo.InvariantCulture, $"best: {result.BestCheckpoint} (epoch {result.BestEpoch}, validation MAP@3 {result.BestMap3:F4})"));
        ui.Line($"last: {result.LastCheckpoint}");
        ui.Line($"metrics: {result.MetricsCsv}");
        return 0;
    }

    public static int Predict(string[] args, CliConsole ui)
    {
        var o = CliArgs.Parse(args, new() { ["model"] = "", ["out"] = "submission.csv", ["device"] = "cpu" }, positional: true);
        string model = o.OptionalExistingFile("model") ?? throw new UsageException("--model is required (a checkpoint written by `cochlea train freesound`).");
        if (o.Positional.Count == 0) throw new UsageException("give the audio files or folders to tag, e.g. `cochlea predict freesound --model best.safetensors data/freesound_mini/audio_test --out submission.csv`.");
        foreach (var p in o.Positional)
            if (!File.Exists(p) && !Directory.Exists(p)) throw new UsageException($"no such file or folder: {Path.GetFullPath(p)}");
        string output = o.Required("out");
        var device = o.Device();
        var (net, labels, rate) = FreesoundPredictor.Load(model);
        using (net)
        {
            net.To(device);
            var files = KwsData.CollectAudioFiles(o.Positional);
            ui.Line($"predict freesound: {model}, {labels.Count} classes, {files.Count} files");
            var predictions = ui.WithProgress(p =>
            {
                p.Start("tagging", files.Count);
                var r = FreesoundPredictor.Predict(net, labels, rate, files, 3, (done, total) => p.Update(done, $"tagging {done}/{total}"));
                p.Stop();
                return r;
            });
            FreesoundPredictor.WriteSubmission(output, predictions);
            ui.Line($"wrote {predictions.Count} predictions (top 3 labels each) to {Path.GetFullPath(output)}");
        }
        return 0;
    }

    sealed class View(ProgressReporter progress) : FreesoundTrainingObserver
    {
        int _epochs;

        public override void Started(IReadOnlyList<string> labels, long parameters, int trainClips, int validationClips, int epochs, int stepsPerEpoch)
        {
            _epochs = epochs;
            progress.Console.Line($"train freesound: FreesoundCnn, {parameters:N0} parameters, {labels.Count} classes; {trainClips} training clips, {validationClips} validation clips; "
                + $"{stepsPerEpoch} steps per epoch; SIMD {Kernels.Simd.Best}, {Kernels.Threading.KernelThreads.Count} threads");
        }

        public override void StepDone(int epoch, int step, int steps, double loss, double accuracy, double clipsPerSecond)
        {
            if (step == 1) progress.Start($"epoch {epoch}/{_epochs}", steps);
            progress.Update(step, string.Create(CultureInfo.InvariantCulture, $"epoch {epoch}/{_epochs}  loss {loss:F4}  acc {accuracy * 100:F1}%  {clipsPerSecond:F0} clips/s"));
        }

        public override void EpochDone(FreesoundEpochMetrics m)
        {
            progress.Stop();
            progress.Console.Line(string.Create(CultureInfo.InvariantCulture,
                $"epoch {m.Epoch}/{_epochs}: train loss {m.TrainLoss:F4} acc {m.TrainAccuracy * 100:F1}% | val loss {m.ValLoss:F4} MAP@1 {m.ValMap1:F4} MAP@3 {m.ValMap3:F4} | lr {m.LearningRate:G3} | {m.Seconds:F1} s{(m.IsBest ? " | best" : "")}"));
        }
    }
}
