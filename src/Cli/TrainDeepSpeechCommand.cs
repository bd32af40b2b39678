// `cochlea train deepspeech`: the CLI face of Cochlea.Models.Speech.DeepSpeechRun. Ctrl-C asks the
// run to stop after the current epoch; it then saves a checkpoint and exits cleanly.
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
            ["checkpoint-every"] = "1", ["seed"] = "1", ["resume"] = "",
        });
        string Csv(string name) => File.Exists(o.Required(name)) ? o.Required(name) : throw new UsageException($"--{name}: file not found: {Path.GetFullPath(o.Required(name))}");
        var options = new DeepSpeechRunOptions
        {
            TrainCsv = Csv("train"),
            DevCsv = Csv("dev"),
            TestCsv = o.Optional("test") is null ? null : Csv("test"),
            OutDir = o.Optional("out") ?? Path.Combine("runs", $"deepspeech-{DateTime.Now:yyyyMMdd-HHmmss}"),
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
            var last = DeepSpeechRun.Train(options, ui.Line, stop.Token);
            ui.Line($"checkpoint: {Path.GetFullPath(last)}");
        }
        finally { Console.CancelKeyPress -= onCancel; }
        return 0;
    }
}
