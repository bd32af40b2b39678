// `cochlea train kws`: the CLI face of Cochlea.Models.Kws.KwsTrainer. Parses and checks the options,
// shows the run live (progress bar with loss, accuracy, clips/s on a terminal; one line per epoch
// when redirected) and ends with where the checkpoints and metrics went.
using System.Globalization;
using Cochlea.Models.Data;
using Cochlea.Models.Kws;

namespace Cochlea.Cli;

static class TrainCommand
{
    const string Usage = "usage: cochlea train kws --data DIR [--model wave|deepspeech|conv] [--epochs N] [--batch N] [--lr X] [--optimizer sgd|adam|rmsprop] [--label-smoothing LS] "
        + "[--schedule constant|cosine] [--warmup EPOCHS] [--classes 12|all|w1,w2,...] [--seed N] [--out RUNDIR] [--resume CKPT] [--workers N] "
        + "[--teacher CKPT] [--temperature T] [--distill-weight A] [--pseudo DIR] [--pseudo-threshold P] [--background-volume V] "
        + "[--background-frequency F] [--silence-percentage P] [--unknown-percentage P] [--time-shift-ms MS] [--speed-perturb S] [--tempo-perturb S] [--random-eq DB] [--bn-calibration CLIPS] [--normalize none|peak] [--widths W1,W2,...] [--device cpu|cuda|cuda:N]";

    public static int Run(string[] args, CliConsole ui)
    {
        if (args.Length == 0 || args[0] != "kws")
            throw new UsageException($"expected what to train, kws, deepspeech or freesound (got '{(args.Length == 0 ? "" : args[0])}'). {Usage}");
        var o = CliArgs.Parse(args[1..], new()
        {
            ["data"] = "", ["model"] = "wave", ["epochs"] = "20", ["batch"] = "64", ["lr"] = "", ["optimizer"] = "adam", ["label-smoothing"] = "0", ["schedule"] = "constant",
            ["warmup"] = "0", ["classes"] = "12", ["seed"] = "1", ["out"] = "", ["resume"] = "", ["workers"] = "1", ["teacher"] = "",
            ["temperature"] = "2", ["distill-weight"] = "0.5", ["pseudo"] = "", ["pseudo-threshold"] = "0.6", ["background-volume"] = "0.1",
            ["background-frequency"] = "0.8", ["silence-percentage"] = "10", ["unknown-percentage"] = "10", ["time-shift-ms"] = "100", ["speed-perturb"] = "0", ["tempo-perturb"] = "0", ["random-eq"] = "0", ["bn-calibration"] = "512", ["normalize"] = "none", ["widths"] = "", ["device"] = "cpu",
        });
        var data = o.ExistingFolder("data");
        var resume = o.OptionalExistingFile("resume");
        var model = o.Given("model") || resume is null ? o.Parsed("model", KwsModelKinds.Parse) : (KwsModelKind?)null;
        var pseudo = o.Optional("pseudo");
        if (pseudo is not null && !Directory.Exists(pseudo)) throw new UsageException($"--pseudo: folder not found: {Path.GetFullPath(pseudo)}");
        o.Parsed("classes", KwsData.ParseClasses);
        var options = new KwsTrainOptions
        {
            DataDir = data,
            OutDir = o.Optional("out") ?? Path.Combine("runs", $"kws-{(model ?? KwsModelKind.Wave).Name()}-{DateTime.Now:yyyyMMdd-HHmmss}"),
            Model = model,
            Epochs = o.Int("epochs"),
            BatchSize = o.Int("batch"),
            LearningRate = o.Optional("lr") is null ? null : o.Float("lr"),
            Optimizer = o.Parsed("optimizer", KwsTrainer.ParseOptimizer),
            LabelSmoothing = (float)o.Fraction("label-smoothing"),
            Schedule = o.Parsed("schedule", KwsTrainer.ParseSchedule),
            WarmupEpochs = o.Parsed("warmup", s => double.Parse(s, CultureInfo.InvariantCulture)),
            Classes = o.Required("classes"),
            Seed = o.Given("seed") || resume is null ? o.Int("seed") : (int?)null,
            Resume = resume,
            Workers = o.NonNegativeInt("workers"),
            Teacher = o.OptionalExistingFile("teacher"),
            Temperature = o.Float("temperature"),
            DistillWeight = (float)o.Fraction("distill-weight"),
            PseudoDir = pseudo,
            PseudoThreshold = o.Fraction("pseudo-threshold"),
            SilencePercentage = Percentage(o, "silence-percentage"),
            UnknownPercentage = Percentage(o, "unknown-percentage"),
            Augment = new KwsAugmentOptions
            {
                BackgroundVolume = o.Fraction("background-volume"),
                BackgroundFrequency = o.Fraction("background-frequency"),
                TimeShiftSamples = o.NonNegativeInt("time-shift-ms") * KwsClassifier.SampleRate / 1000,
                // --speed-perturb S / --tempo-perturb S: rates uniform in [1 - S, 1 + S] (0: off).
                SpeedRange = o.Parsed("speed-perturb", PerturbRange),
                TempoRange = o.Parsed("tempo-perturb", PerturbRange),
                // --random-eq DB: three random peaking bands of up to +-DB dB on each training word clip (0: off).
                EqBands = o.Parsed("random-eq", EqGain) > 0 ? 3 : 0,
                EqMaxGainDb = o.Parsed("random-eq", EqGain),
            },
            BatchNormCalibrationClips = o.NonNegativeInt("bn-calibration"),
            InputNormalization = o.Parsed("normalize", KwsFrontEnd.ParseNormalization),
            Widths = o.IntList("widths"),
            Device = o.Device(),
        };
        if (options.Widths is not null && (model ?? KwsModelKind.Wave) != KwsModelKind.Wave)
            throw new UsageException("--widths applies to --model wave only.");
        try { options.Validate(); }
        catch (ArgumentException e) { throw new UsageException(e.Message); }

        var result = Train(ui, options);
        ui.Line($"best: {result.BestCheckpoint} (epoch {result.BestEpoch}, validation accuracy {result.BestValAccuracy * 100:F1}%)");
        ui.Line($"last: {result.LastCheckpoint}");
        ui.Line($"metrics: {result.MetricsCsv}");
        return 0;
    }

    /// <summary>Runs <paramref name="options"/> with the live view (shared by train and demo).</summary>
    public static KwsTrainResult Train(CliConsole ui, KwsTrainOptions options) =>
        ui.WithProgress(progress => KwsTrainer.Run(options, new TrainingView(progress)));

    static double EqGain(string s) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && x >= 0 && x <= 40
            ? x : throw new ArgumentException($"must be a gain in dB in [0, 40] (0: off), got '{s}'.");

    static (double, double) PerturbRange(string s) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= 0 && v <= 0.5
            ? (1 - v, 1 + v) : throw new ArgumentException($"must be in [0, 0.5] (rates 1 - S .. 1 + S), got '{s}'.");

    static double Percentage(CliArgs o, string name) =>
        o.Parsed(name, s => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= 0 && v <= 100
            ? v : throw new ArgumentException($"must be a percentage in [0, 100], got '{s}'."));

    /// <summary>Renders a run: a header, the live epoch bar, and one line per finished epoch.</summary>
    sealed class TrainingView(ProgressReporter progress) : KwsTrainingObserver
    {
        int _epochs;

        public override void Started(KwsTrainingInfo info)
        {
            _epochs = info.Epochs;
            var ui = progress.Console;
            ui.Markup($"[bold]train kws[/]: {info.Model.Name()} model, {info.Parameters:N0} parameters, {info.Labels.Count} classes ({Spectre.Console.Markup.Escape(string.Join(" ", info.Labels))})");
            ui.Line($"data: {info.TrainClips} training clips{(info.PseudoClips > 0 ? $" ({info.PseudoClips} pseudo-labelled)" : "")}, {info.ValidationClips} validation clips; "
                + $"{info.Optimizer}; device {info.Device}; epochs {info.FirstEpoch}..{info.Epochs}, {info.BatchesPerEpoch} steps each; SIMD {Kernels.Simd.Best}, {Kernels.Threading.KernelThreads.Count} threads");
        }

        public override void BatchDone(KwsBatchProgress p)
        {
            if (p.Batch == 1) progress.Start($"epoch {p.Epoch}/{_epochs}", p.Batches);
            progress.Update(p.Batch, $"epoch {p.Epoch}/{_epochs}  loss {p.Loss:F4}  acc {p.Accuracy * 100:F1}%  {p.ClipsPerSecond:F0} clips/s");
        }

        public override void EpochDone(KwsEpochMetrics m)
        {
            progress.Stop();
            progress.Console.Line(string.Create(CultureInfo.InvariantCulture,
                $"epoch {m.Epoch}/{_epochs}: train loss {m.TrainLoss:F4} acc {m.TrainAccuracy * 100:F1}% | val loss {m.ValLoss:F4} acc {m.ValAccuracy * 100:F1}% | lr {m.LearningRate:G3} | {m.ClipsPerSecond:F0} clips/s | {m.Seconds:F1} s{(m.IsBest ? " | best" : "")}"));
        }

        public override void Message(string text) => progress.Console.Line(text);
    }
}
