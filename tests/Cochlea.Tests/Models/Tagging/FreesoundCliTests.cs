// `cochlea train freesound` and `cochlea predict freesound` end to end on a tiny generated data set (3 classes of tones
// and noise, 9 clips of varied length): one epoch trains and writes best/last checkpoints and metrics.csv with MAP
// columns; prediction on whole clips, an empty one and a 0.01 s one included, writes fname,label with 3 labels each.
using Cochlea.Cli;
using Cochlea.Models.Audio;
using NUnit.Framework;

namespace Cochlea.Tests.Models.Tagging;

[Category("Models")]
public class FreesoundCliTests
{
    static readonly string[] Labels = ["low", "high", "noise"];

    /// <summary>
    /// Writes dir/train.csv and dir/audio_train (9 clips of 3 classes, 3000-7500 samples) and dir/audio_test (an empty clip, a
    /// 160-sample one and a copy of a training clip); returns the test folder and the labels.
    /// </summary>
    internal static (string TestDir, string[] Labels) WriteTinySet(string dir)
    {
        string audio = Path.Combine(dir, "audio_train"), test = Path.Combine(dir, "audio_test");
        Directory.CreateDirectory(audio);
        Directory.CreateDirectory(test);
        var rng = new Random(3);
        var lines = new List<string> { "fname,label,manually_verified" };
        for (int i = 0; i < 9; i++)
        {
            string label = Labels[i % 3];
            int n = 3000 + 1500 * (i % 4);
            var x = new float[n];
            for (int t = 0; t < n; t++)
                x[t] = label == "noise" ? (float)(rng.NextDouble() - 0.5) : 0.5f * MathF.Sin(2 * MathF.PI * (label == "low" ? 300 : 3000) * t / 16000f);
            string name = $"{i:x8}.wav";
            AudioFile.WriteWav(Path.Combine(audio, name), x, 16000);
            lines.Add($"{name},{label},{i % 2}");
        }
        File.WriteAllLines(Path.Combine(dir, "train.csv"), lines);
        AudioFile.WriteWav(Path.Combine(test, "empty.wav"), ReadOnlySpan<float>.Empty, 16000);
        AudioFile.WriteWav(Path.Combine(test, "short.wav"), new float[160], 16000);
        File.Copy(Path.Combine(audio, "00000004.wav"), Path.Combine(test, "long.wav"));
        return (test, Labels);
    }

    [Test]
    public void TrainOneEpochThenPredictWholeAndEmptyClips()
    {
        using var dir = new TempDir("freesound-cli");
        var (test, labels) = WriteTinySet(dir.Path);
        string run = dir["run"];

        var output = new StringWriter();
        var error = new StringWriter();
        int code = Commands.Run(["train", "freesound", "--data", dir.Path, "--epochs", "1", "--batch", "4", "--out", run, "--bn-calibration", "8"], output, error);
        Assert.That(code, Is.EqualTo(0), error.ToString());
        Assert.That(output.ToString(), Does.Contain("MAP@3"));
        Assert.That(File.Exists(Path.Combine(run, "best.safetensors")) && File.Exists(Path.Combine(run, "last.safetensors")));
        var metrics = File.ReadAllLines(Path.Combine(run, "metrics.csv"));
        Assert.That(metrics[0], Is.EqualTo("epoch,train_loss,train_acc,val_loss,val_map1,val_map3,lr,seconds,clips_per_s"));
        Assert.That(metrics, Has.Length.EqualTo(2));

        string submission = dir["submission.csv"];
        code = Commands.Run(["predict", "freesound", "--model", Path.Combine(run, "best.safetensors"), test, "--out", submission], output, error);
        Assert.That(code, Is.EqualTo(0), error.ToString());
        var rows = File.ReadAllLines(submission);
        Assert.That(rows[0], Is.EqualTo("fname,label"));
        Assert.That(rows.Skip(1).Select(r => r.Split(',')[0]), Is.EquivalentTo(new[] { "empty.wav", "short.wav", "long.wav" }));
        foreach (var r in rows.Skip(1))
        {
            var top = r.Split(',')[1].Split(' ');
            Assert.That(top, Has.Length.EqualTo(3), r);
            Assert.That(top, Is.Unique.And.All.AnyOf(labels), r);
        }
    }

    // --seed makes a run repeatable across processes: the epoch's crop and calibration streams were once seeded with
    // HashCode.Combine, which .NET randomises per process (two in-process runs agreed; two processes did not).
    [Test]
    public void TwoProcessesWithTheSameSeedTrainTheSameModel()
    {
        using var dir = new TempDir("freesound-seed");
        WriteTinySet(dir.Path);
        string dotnet = Path.GetFullPath(Path.Combine(System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", "..", "dotnet"));
        string cli = Path.Combine(AppContext.BaseDirectory, "cochlea.dll");
        byte[] Train(string run)
        {
            var psi = new System.Diagnostics.ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { cli, "train", "freesound", "--data", dir.Path, "--epochs", "1", "--batch", "4", "--out", dir[run], "--bn-calibration", "8", "--seed", "5" })
                psi.ArgumentList.Add(a);
            using var p = System.Diagnostics.Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.That(p.ExitCode, Is.EqualTo(0), stderr.Result);
            return File.ReadAllBytes(Path.Combine(dir[run], "last.safetensors"));
        }
        Assert.That(Train("a"), Is.EqualTo(Train("b")), "the checkpoints of two processes with --seed 5");
    }
}
