// End-to-end keyword spotting through the `cochlea` commands on a tiny generated data set (tones
// and chirps in Speech Commands layout): train -> checkpoints + metrics CSV -> eval -> predict ->
// submission, resume, distillation, pseudo-labels, and the one-line errors with their exit codes.
// A small WaveKws (widths 16,24) keeps the whole file well under 30 s.
using System.Globalization;
using System.Text.RegularExpressions;
using Cochlea.Cli;
using Cochlea.Checkpoints;
using Cochlea.Models.Kws;
using NUnit.Framework;

namespace Cochlea.Tests.Kws;

[Category("Kws")]
[NonParallelizable]
public class KwsCliTests
{
    TinyKwsData _data = null!;
    string _run = null!;   // a 3-epoch run shared by the eval/predict/distillation tests

    static readonly string[] Small = ["--classes", TinyKwsData.Classes, "--widths", "16,24", "--batch", "16", "--lr", "0.003", "--workers", "1"];

    [OneTimeSetUp]
    public void MakeDataAndTrain()
    {
        _data = new TinyKwsData();
        _run = _data.Scratch("run");
        var r = Cli(["train", "kws", "--data", _data.Path, "--epochs", "3", "--out", _run, .. Small]);
        Assert.That(r.Code, Is.EqualTo(0), r.Err + r.Out);
    }

    [OneTimeTearDown]
    public void Cleanup() => _data.Dispose();

    /// <summary>Runs the CLI in-process with captured output.</summary>
    internal static (int Code, string Out, string Err) Cli(string[] args)
    {
        var output = new StringWriter(CultureInfo.InvariantCulture);
        var error = new StringWriter(CultureInfo.InvariantCulture);
        int code = Commands.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    static string LastLine(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];

    static string[][] ReadCsv(string path) =>
        File.ReadAllLines(path).Where(l => l.Length > 0).Select(l => l.Split(',')).ToArray();

    [Test]
    public void TrainWritesCheckpointsAndAMetricsRowPerEpoch()
    {
        Assert.That(File.Exists(Path.Combine(_run, KwsTrainer.BestFile)));
        Assert.That(File.Exists(Path.Combine(_run, KwsTrainer.LastFile)));
        var csv = ReadCsv(Path.Combine(_run, KwsTrainer.MetricsFile));
        Assert.That(string.Join(",", csv[0]), Is.EqualTo("epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds,clips_per_s"));
        Assert.That(csv.Length, Is.EqualTo(4));
        for (int e = 1; e <= 3; e++)
        {
            Assert.That(csv[e], Has.Length.EqualTo(8));
            Assert.That(int.Parse(csv[e][0], CultureInfo.InvariantCulture), Is.EqualTo(e));
            foreach (var cell in csv[e][1..])
                Assert.That(double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) && v >= 0, cell);
            foreach (int acc in new[] { 2, 4 })
                Assert.That(double.Parse(csv[e][acc], CultureInfo.InvariantCulture), Is.InRange(0.0, 1.0));
        }
        var meta = KwsClassifier.ReadMetadata(Path.Combine(_run, KwsTrainer.LastFile));
        Assert.That(meta[KwsClassifier.ModelKey], Is.EqualTo("wave"));
        Assert.That(meta[KwsClassifier.LabelsKey], Is.EqualTo("[\"_silence_\",\"_unknown_\",\"yes\",\"no\",\"up\",\"down\"]"));
        Assert.That(meta[KwsClassifier.WidthsKey], Is.EqualTo("[16,24]"));
        Assert.That(meta[KwsTrainer.EpochKey], Is.EqualTo("3"));
        Assert.That(meta[KwsTrainer.SeedKey], Is.EqualTo("1"));
        Assert.That(meta.Keys.Any(k => k.StartsWith(KwsClassifier.RngPrefix, StringComparison.Ordinal)), "dropout stream offsets are saved");
        Assert.That(meta.ContainsKey("optimizer.type"), "the optimizer state is saved for resume");
    }

    [Test]
    public void TheBestCheckpointIsTheEpochWithTheHighestValidationAccuracy()
    {
        var csv = ReadCsv(Path.Combine(_run, KwsTrainer.MetricsFile)).Skip(1).ToArray();
        var acc = csv.Select(r => double.Parse(r[4], CultureInfo.InvariantCulture)).ToArray();
        int bestEpoch = Array.IndexOf(acc, acc.Max()) + 1;   // the first epoch reaching the maximum
        var meta = KwsClassifier.ReadMetadata(Path.Combine(_run, KwsTrainer.BestFile));
        Assert.That(int.Parse(meta[KwsTrainer.EpochKey], CultureInfo.InvariantCulture), Is.EqualTo(bestEpoch));
        Assert.That(double.Parse(meta[KwsTrainer.ValAccuracyKey], CultureInfo.InvariantCulture), Is.EqualTo(acc.Max()).Within(1e-6));
    }

    [Test]
    public void EvalPrintsTablesAndEndsWithTheAccuracyLine()
    {
        var best = Path.Combine(_run, KwsTrainer.BestFile);
        var r = Cli(["eval", "--model", best, "--data", _data.Path]);
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
        Assert.That(r.Out, Does.Contain("per-class accuracy").And.Contain("confusion matrix"));
        var m = Regex.Match(LastLine(r.Out), @"^accuracy: (\d+\.\d)% on (\d+) clips$");
        Assert.That(m.Success, LastLine(r.Out));
        // Test split: one clip per word (4), ceil(10 %) silence and unknown entries.
        Assert.That(int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), Is.EqualTo(6));

        var all = Cli(["eval", "--model", best, "--data", _data.Path, "--split", "all", "--tta"]);
        Assert.That(all.Code, Is.EqualTo(0), all.Err);
        Assert.That(all.Out, Does.Contain("tta: probabilities averaged over original, shift-left-1500, louder-x1.2"));
        Assert.That(LastLine(all.Out), Does.Match(@"^accuracy: \d+\.\d% on \d+ clips$"));
    }

    [Test]
    public void PredictWritesAKaggleSubmission()
    {
        var best = Path.Combine(_run, KwsTrainer.BestFile);
        var output = _data.Scratch("submission.csv");
        var yes = Path.Combine(_data.Path, "yes");
        var r = Cli(["predict", "--model", best, yes, Path.Combine(_data.Path, "cat", Directory.GetFiles(Path.Combine(_data.Path, "cat"))[0]), "--tta", "--out", output]);
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
        var lines = File.ReadAllLines(output);
        Assert.That(lines[0], Is.EqualTo("fname,label"));
        int files = Directory.GetFiles(yes).Length + 1;
        Assert.That(lines, Has.Length.EqualTo(files + 1));
        var allowed = new[] { "silence", "unknown", "yes", "no", "up", "down" };
        foreach (var line in lines.Skip(1))
        {
            var cells = line.Split(',');
            Assert.That(cells, Has.Length.EqualTo(2), line);
            Assert.That(cells[0], Does.Match(@"^[0-9a-f]{8}_nohash_0\.wav$"), line);
            Assert.That(allowed, Does.Contain(cells[1]), line);
        }
        Assert.That(LastLine(r.Out), Is.EqualTo($"wrote {files} predictions to {output}"));
    }

    [Test]
    public void ResumeContinuesTheEpochCountAndMatchesAnUninterruptedRun()
    {
        var part = _data.Scratch("resume");
        var first = Cli(["train", "kws", "--data", _data.Path, "--epochs", "2", "--out", part, .. Small]);
        Assert.That(first.Code, Is.EqualTo(0), first.Err);
        var resumed = Cli(["train", "kws", "--data", _data.Path, "--epochs", "3", "--out", part, "--resume", Path.Combine(part, KwsTrainer.LastFile), .. Small]);
        Assert.That(resumed.Code, Is.EqualTo(0), resumed.Err);
        Assert.That(resumed.Out, Does.Contain("resuming from").And.Contain("epochs 3..3"));
        Assert.That(ReadCsv(Path.Combine(part, KwsTrainer.MetricsFile)).Skip(1).Select(r => r[0]), Is.EqualTo(new[] { "1", "2", "3" }));

        // Batches, dropout masks, optimizer state and BN statistics all continue: the weights equal the 3-epoch run's exactly.
        using var a = KwsClassifier.Load(Path.Combine(_run, KwsTrainer.LastFile));
        using var b = KwsClassifier.Load(Path.Combine(part, KwsTrainer.LastFile));
        foreach (var ((name, ta), (_, tb)) in a.Model.StateDict().Zip(b.Model.StateDict()))
            if (ta.DType == DType.Float32) Assert.That(tb.ToArray(), Is.EqualTo(ta.ToArray()), name);

        var done = Cli(["train", "kws", "--data", _data.Path, "--epochs", "3", "--out", part, "--resume", Path.Combine(part, KwsTrainer.LastFile), .. Small]);
        Assert.That(done.Code, Is.EqualTo(1));
        Assert.That(done.Err, Does.Contain("has already trained 3 epochs"));
    }

    [Test]
    public void DistillationFromATeacherChangesTheLossAndIsRecorded()
    {
        var teacher = Path.Combine(_run, KwsTrainer.BestFile);
        var plain = _data.Scratch("plain");
        var student = _data.Scratch("student");
        Assert.That(Cli(["train", "kws", "--data", _data.Path, "--epochs", "1", "--out", plain, .. Small]).Code, Is.EqualTo(0));
        var r = Cli(["train", "kws", "--data", _data.Path, "--epochs", "1", "--out", student, "--teacher", teacher, "--temperature", "3", "--distill-weight", "0.7", .. Small]);
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
        double Loss(string dir) => double.Parse(ReadCsv(Path.Combine(dir, KwsTrainer.MetricsFile))[1][1], CultureInfo.InvariantCulture);
        Assert.That(Loss(student), Is.Not.EqualTo(Loss(plain)), "same seed and data: only the distillation term differs");
        var recipe = KwsClassifier.ReadMetadata(Path.Combine(student, KwsTrainer.LastFile))[KwsTrainer.RecipeKey];
        Assert.That(recipe, Does.Contain("\"temperature\":3").And.Contain("\"distill_weight\":0.7"));
    }

    [Test]
    public void PseudoLabelsAddTheConfidentClipsOfAnUnlabelledFolder()
    {
        var unlabelled = _data.Scratch("unlabelled");
        Directory.CreateDirectory(unlabelled);
        var rng = new Random(3);
        for (int i = 0; i < 6; i++)
            Cochlea.Models.Audio.AudioFile.WriteWav(Path.Combine(unlabelled, $"clip_{i}.wav"), TinyKwsData.Sound(TinyKwsData.Words[i % 4], rng), 16000);
        var teacher = Path.Combine(_run, KwsTrainer.BestFile);

        var all = Cli(["train", "kws", "--data", _data.Path, "--epochs", "1", "--out", _data.Scratch("pseudo0"), "--teacher", teacher, "--distill-weight", "0",
            "--pseudo", unlabelled, "--pseudo-threshold", "0", .. Small]);
        Assert.That(all.Code, Is.EqualTo(0), all.Err);
        Assert.That(all.Out, Does.Contain("pseudo-labels: kept 6 of 6 clips"));
        Assert.That(all.Out, Does.Match(@"data: \d+ training clips \(6 pseudo-labelled\)"));

        var none = Cli(["train", "kws", "--data", _data.Path, "--epochs", "1", "--out", _data.Scratch("pseudo1"), "--teacher", teacher,
            "--pseudo", unlabelled, "--pseudo-threshold", "1", .. Small]);
        Assert.That(none.Code, Is.EqualTo(0), none.Err);
        Assert.That(none.Out, Does.Match(@"pseudo-labels: kept [0-5] of 6 clips"));

        var noModel = Cli(["train", "kws", "--data", _data.Path, "--epochs", "1", "--out", _data.Scratch("pseudo2"), "--pseudo", unlabelled, .. Small]);
        Assert.That(noModel.Code, Is.EqualTo(1));
        Assert.That(noModel.Err, Does.Contain("--pseudo needs a trained model"));
    }

    [Test]
    public void TheConvModelTrainsOnMfccAndEvaluates()
    {
        var run = _data.Scratch("conv");
        var r = Cli(["train", "kws", "--data", _data.Path, "--model", "conv", "--epochs", "1", "--out", run, "--classes", TinyKwsData.Classes, "--batch", "16"]);
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
        Assert.That(r.Out, Does.Contain("conv model"));
        var meta = KwsClassifier.ReadMetadata(Path.Combine(run, KwsTrainer.LastFile));
        Assert.That(meta[KwsFrontEnd.NameKey], Is.EqualTo("mfcc"));
        Assert.That(meta, Does.ContainKey(NormalizedFeatureFrontEnd.MeanKey));
        var e = Cli(["eval", "--model", Path.Combine(run, KwsTrainer.BestFile), "--data", _data.Path, "--split", "validation"]);
        Assert.That(e.Code, Is.EqualTo(0), e.Err);
        Assert.That(LastLine(e.Out), Does.Match(@"^accuracy: \d+\.\d% on 6 clips$"));
    }

    [TestCase(new[] { "train", "kws", "--data", "/nonexistent/cochlea-data" }, "--data: folder not found: /nonexistent/cochlea-data")]
    [TestCase(new[] { "train", "kws" }, "--data is required.")]
    [TestCase(new[] { "train", "kws", "--data", ".", "--model", "transformer" }, "--model: unknown model 'transformer'; expected one of wave, deepspeech, conv.")]
    [TestCase(new[] { "train", "kws", "--data", ".", "--optimizer", "lion" }, "--optimizer: unknown optimizer 'lion'; expected sgd, adam or rmsprop.")]
    [TestCase(new[] { "train", "kws", "--data", ".", "--epochs", "0" }, "--epochs must be a positive integer, got '0'.")]
    [TestCase(new[] { "train", "kws", "--data", ".", "--frobnicate", "1" }, "unknown option '--frobnicate'")]
    [TestCase(new[] { "train", "kws", "--data", ".", "--label-smoothing", "1" }, "--label-smoothing must be in [0, 1) (got 1).")]
    [TestCase(new[] { "train", "kws", "--data", ".", "--model", "conv", "--widths", "8" }, "--widths applies to --model wave only.")]
    [TestCase(new[] { "train", "asr" }, "expected what to train, kws, deepspeech or freesound (got 'asr')")]
    [TestCase(new[] { "eval", "--model", "/nonexistent/best.safetensors", "--data", "." }, "--model: file not found: /nonexistent/best.safetensors")]
    [TestCase(new[] { "eval", "--data", "." }, "--model is required")]
    [TestCase(new[] { "predict", "--model", "/nonexistent/best.safetensors", "x.wav" }, "--model: file not found")]
    public void CommandLineMistakesAreOneLineAndExitCode2(string[] args, string message)
    {
        var r = Cli(args);
        Assert.That(r.Code, Is.EqualTo(2), r.Err);
        Assert.That(r.Out, Is.Empty);
        var lines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), r.Err);
        Assert.That(lines[0], Does.StartWith($"cochlea {args[0]}: ").And.Contain(message));
    }

    [Test]
    public void FailuresWhileRunningAreOneLineAndExitCode1()
    {
        // A file that exists but is not a KWS checkpoint: the command line is fine, the run fails.
        var notKws = _data.Scratch("plain.safetensors");
        Directory.CreateDirectory(Path.GetDirectoryName(notKws)!);
        using (var m = new Cochlea.Nn.Linear(2, 2)) Checkpoint.Save(m, null, notKws);
        var r = Cli(["eval", "--model", notKws, "--data", _data.Path]);
        Assert.That(r.Code, Is.EqualTo(1));
        Assert.That(r.Err.Trim(), Does.StartWith("cochlea eval: ").And.Contain("is not a keyword-spotting checkpoint"));
        Assert.That(r.Err.Trim().Split('\n'), Has.Length.EqualTo(1));

        var wrongClasses = Cli(["train", "kws", "--data", _data.Path, "--epochs", "1", "--out", _data.Scratch("x"), "--classes", "yes,maybe"]);
        Assert.That(wrongClasses.Code, Is.EqualTo(1));
        Assert.That(wrongClasses.Err, Does.Contain("wanted word 'maybe' has no folder"));
    }
}
