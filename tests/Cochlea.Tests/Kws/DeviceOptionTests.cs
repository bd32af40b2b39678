// `--device cpu|cuda|cuda:N` of train kws / train freesound / eval / predict: parsing, the one-line
// usage error (exit code 2) when CUDA is unusable, and - on a machine with a GPU ([Category("Gpu")],
// skipped elsewhere with the reason) - one short `train kws|freesound --device cuda` epoch against the CPU run,
// batch-norm calibration on the GPU against the CPU, and DataParallel's refusal of GPU replicas.
using System.Globalization;
using Cochlea.Cuda;
using Cochlea.Models.Kws;
using Cochlea.Models.Training;
using Cochlea.Nn;
using Cochlea.Tests.Cuda;
using NUnit.Framework;

namespace Cochlea.Tests.Kws;

[Category("Kws")]
[Category("Cli")]
public class DeviceOptionTests
{
    [TestCase("cpu", DeviceType.Cpu, 0)]
    [TestCase("CPU", DeviceType.Cpu, 0)]
    [TestCase("cuda", DeviceType.Cuda, 0)]
    [TestCase("cuda:0", DeviceType.Cuda, 0)]
    [TestCase(" Cuda:3 ", DeviceType.Cuda, 3)]
    public void DeviceNamesParse(string text, DeviceType type, int index)
    {
        var d = Device.Parse(text);
        Assert.That(d, Is.EqualTo(new Device(type, index)));
        Assert.That(Device.Parse(d.ToString()), Is.EqualTo(d), "ToString round-trips");
    }

    [TestCase("gpu")]
    [TestCase("cuda:")]
    [TestCase("cuda:-1")]
    [TestCase("cuda:x")]
    [TestCase("cuda0")]
    [TestCase("")]
    public void OtherDeviceNamesAreRefused(string text) =>
        Assert.That(() => Device.Parse(text), Throws.ArgumentException.With.Message.Contains("expected cpu, cuda or cuda:N"));

    // Every command with --device, given just enough for its earlier checks (existing --data, --model, files) to pass.
    static string[][] Commands(string dir, string file) =>
    [
        ["train", "kws", "--data", dir],
        ["train", "freesound", "--data", dir, "--csv", file],
        ["eval", "--model", file, "--data", dir],
        ["predict", "--model", file, dir],
        ["predict", "freesound", "--model", file, dir],
    ];

    static void WithScratch(Action<string, string> test)
    {
        using var dir = new TempDir("device");
        string file = dir["train.csv"];
        File.WriteAllText(file, "fname,label\n");
        test(dir.Path, file);
    }

    static void AssertUsageError((int Code, string Out, string Err) r, string expected)
    {
        Assert.That(r.Code, Is.EqualTo(2), r.Err + r.Out);
        var lines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), r.Err);
        Assert.That(lines[0], Does.Contain(expected));
    }

    [Test]
    public void AMalformedDeviceIsAUsageError() => WithScratch((dir, file) =>
    {
        foreach (var args in Commands(dir, file))
            AssertUsageError(KwsCliTests.Cli([.. args, "--device", "gpu"]), "--device: expected cpu, cuda or cuda:N (N >= 0), got 'gpu'.");
    });

    [Test]
    public void CudaWithoutAGpuIsOneLineWithTheReasonAndExitCode2() => WithScratch((dir, file) =>
    {
        Assume.That(!CudaBackend.IsAvailable, "this machine has a usable GPU; the no-GPU error cannot be observed here");
        foreach (var args in Commands(dir, file))
        {
            AssertUsageError(KwsCliTests.Cli([.. args, "--device", "cuda"]), "--device cuda: " + CudaBackend.UnavailableReason);
            AssertUsageError(KwsCliTests.Cli([.. args, "--device", "cuda:1"]), "--device cuda:1: " + CudaBackend.UnavailableReason);
        }
    });

    [Test]
    public void TrainKwsOnTheCpuSaysSoAndDefaultsToIt()
    {
        using var data = new TinyKwsData(speakers: 4);
        string run = data.Scratch("cpu");
        var r = KwsCliTests.Cli(["train", "kws", "--data", data.Path, "--epochs", "1", "--out", run, "--device", "cpu", .. Small]);
        Assert.That(r.Code, Is.EqualTo(0), r.Err + r.Out);
        Assert.That(r.Out, Does.Contain("device cpu;"));
    }

    internal static readonly string[] Small = ["--classes", TinyKwsData.Classes, "--widths", "16,24", "--batch", "16", "--lr", "0.003", "--workers", "1", "--bn-calibration", "32"];
}

[Category("Gpu")]
[Category("Kws")]
[NonParallelizable]
public class DeviceTrainingGpuTests
{
    static double[] Row(string run) =>
        File.ReadAllLines(Path.Combine(run, "metrics.csv"))[1].Split(',').Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();

    [Test]
    public void OneTrainKwsEpochOnCudaMatchesTheCpu()
    {
        GpuTest.RequireGpu();
        using var data = new TinyKwsData(speakers: 4);
        string cpu = data.Scratch("cpu"), gpu = data.Scratch("cuda");
        string[] common = ["train", "kws", "--data", data.Path, "--epochs", "1", .. DeviceOptionTests.Small];
        var rc = KwsCliTests.Cli([.. common, "--out", cpu]);
        Assert.That(rc.Code, Is.EqualTo(0), rc.Err + rc.Out);
        var rg = KwsCliTests.Cli([.. common, "--out", gpu, "--device", "cuda"]);
        Assert.That(rg.Code, Is.EqualTo(0), rg.Err + rg.Out);
        Assert.That(rg.Out, Does.Contain("device cuda:0;"));
        double[] c = Row(cpu), g = Row(gpu);   // epoch, train_loss, train_acc, val_loss, val_acc, ...
        Assert.That(g[1], Is.EqualTo(c[1]).Within(0.02 * c[1] + 1e-3), "training loss");
        Assert.That(g[3], Is.EqualTo(c[3]).Within(0.05 * c[3] + 1e-2), "validation loss (after BN calibration on the GPU)");
        // The best checkpoint, written from the GPU, loads on the CPU and evaluates like the GPU run said.
        var e = KwsCliTests.Cli(["eval", "--model", Path.Combine(gpu, KwsTrainer.BestFile), "--data", data.Path, "--split", "validation"]);
        Assert.That(e.Code, Is.EqualTo(0), e.Err);
        var eg = KwsCliTests.Cli(["eval", "--model", Path.Combine(gpu, KwsTrainer.BestFile), "--data", data.Path, "--split", "validation", "--device", "cuda"]);
        Assert.That(eg.Code, Is.EqualTo(0), eg.Err);
    }

    [Test]
    public void OneTrainFreesoundEpochOnCudaMatchesTheCpu()
    {
        GpuTest.RequireGpu();
        using var dir = new TempDir("freesound-cuda");
        var (test, _) = Models.Tagging.FreesoundCliTests.WriteTinySet(dir.Path);
        string cpu = dir["cpu"], gpu = dir["cuda"];
        string[] common = ["train", "freesound", "--data", dir.Path, "--epochs", "1", "--batch", "4", "--bn-calibration", "8"];
        var rc = KwsCliTests.Cli([.. common, "--out", cpu]);
        Assert.That(rc.Code, Is.EqualTo(0), rc.Err + rc.Out);
        var rg = KwsCliTests.Cli([.. common, "--out", gpu, "--device", "cuda"]);
        Assert.That(rg.Code, Is.EqualTo(0), rg.Err + rg.Out);
        double[] c = Row(cpu), g = Row(gpu);   // epoch, train_loss, train_acc, val_loss, ...
        Assert.That(g[1], Is.EqualTo(c[1]).Within(0.02 * c[1] + 1e-3), "training loss");
        Assert.That(g[3], Is.EqualTo(c[3]).Within(0.05 * c[3] + 1e-2), "validation loss (after BN calibration on the GPU)");
        var p = KwsCliTests.Cli(["predict", "freesound", "--model", Path.Combine(gpu, "best.safetensors"), test, "--out", dir["s.csv"], "--device", "cuda"]);
        Assert.That(p.Code, Is.EqualTo(0), p.Err);
    }

    [Test]
    public void BatchNormCalibrationOnCudaMatchesTheCpu()
    {
        GpuTest.RequireGpu();
        Module Make() => new Sequential([new Conv1d(2, 3, 3, bias: false), new BatchNorm1d(3, momentum: 0.01f), new Relu()]);
        using var cpu = Make();
        using var gpu = Make();
        cpu.StateDict().Values.Zip(gpu.StateDict().Values).ToList().ForEach(p => p.First.CopyTo(p.Second));
        gpu.To(GpuTest.Cuda);
        var rng = new Random(5);
        var batches = Enumerable.Range(0, 3).Select(_ => Tensor.FromArray(Enumerable.Range(0, 4 * 2 * 10).Select(_ => (float)rng.NextDouble() * 3).ToArray(), 4, 2, 10)).ToArray();
        var onGpu = batches.Select(b => b.To(GpuTest.Cuda)).ToArray();
        cpu.Eval(); gpu.Eval();
        Assert.That(BatchNormCalibration.Recalibrate(cpu, batches, cpu.Forward), Is.EqualTo(3));
        Assert.That(BatchNormCalibration.Recalibrate(gpu, onGpu, gpu.Forward), Is.EqualTo(3));
        var bc = cpu.NamedModules().Select(m => m.Module).OfType<BatchNorm>().Single();
        var bg = gpu.NamedModules().Select(m => m.Module).OfType<BatchNorm>().Single();
        Assert.That(bg.RunningMean.Device, Is.EqualTo(GpuTest.Cuda));
        Assert.That(bg.RunningMean.ToArray(), Is.EqualTo(bc.RunningMean.ToArray()).Within(1e-4f));
        Assert.That(bg.RunningVar.ToArray(), Is.EqualTo(bc.RunningVar.ToArray()).Within(1e-4f));
        Assert.That(bg.NumBatchesTracked.ToInt64Array(), Is.EqualTo(new long[] { 0 }));
        Assert.That(gpu.IsTraining, Is.False);
        foreach (var b in batches.Concat(onGpu)) b.Dispose();
    }

    [Test]
    public void DataParallelRefusesGpuReplicas()
    {
        GpuTest.RequireGpu();
        var e = Assert.Throws<NotSupportedException>(() => new DataParallel<Module>(() => new Linear(3, 2).To(GpuTest.Cuda), 2))!;
        Assert.That(e.Message, Does.Contain("replicas run on the CPU only"));
    }
}
