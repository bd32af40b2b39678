// Checkpoint tests: resuming from a checkpoint continues training bit-exactly, the file uses
// PyTorch's names and dtypes, metadata round-trips, and loads are strict and change nothing on error.
using Cochlea.Checkpoints;
using Cochlea.IO;
using Cochlea.Nn;
using Cochlea.Optim;
using Cochlea.Tests.Nn;
using NUnit.Framework;

namespace Cochlea.Tests.Checkpoints;

[Category("Checkpoint")]
public class CheckpointTests
{
    TempDir _dir = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = new TempDir("ckpt");
    }

    [TearDown]
    public void TearDown()
    {
        _dir.Dispose();
    }

    static Optimizer MakeOptimizer(string kind, Module m) => kind switch
    {
        "adam" => new Adam(m.Parameters(), lr: 3e-3f, amsgrad: true) { Schedule = new CosineWithWarmup(3e-3f, 5, 60) },
        "adamw" => new AdamW(m.Parameters(), lr: 3e-3f),
        "sgd" => new Sgd(m.Parameters(), 0.02f, momentum: 0.9f, nesterov: true, weightDecay: 1e-4f),
        "rmsprop" => new RmsProp(m.Parameters(), 1e-3f, momentum: 0.5f, centered: true),
        "rmsprop_tf" => new RmsProp(m.Parameters(), 1e-3f, alpha: 0.9f, eps: 1e-10f, momentum: 0.9f, tfStyle: true),
        _ => throw new ArgumentException(kind),
    };

    [Test]
    public void ResumeContinuesBitExactly([Values("adam", "adamw", "sgd", "rmsprop", "rmsprop_tf")] string kind)
    {
        const int N = 20, M = 15;
        string path = Path.Combine(_dir["run"], "last.safetensors");

        // Uninterrupted: N steps, save, M more steps.
        using var model = TinyTraining.Mlp();
        using var opt = MakeOptimizer(kind, model);
        for (int s = 0; s < N; s++) TinyTraining.Step(model, opt, s);
        Checkpoint.Save(model, opt, path, new Dictionary<string, string> { ["step"] = N.ToString(System.Globalization.CultureInfo.InvariantCulture), ["epoch"] = "0" });
        float lastLoss = 0;
        for (int s = N; s < N + M; s++) lastLoss = TinyTraining.Step(model, opt, s);
        var expected = TinyTraining.ParameterBits(model);

        // Resumed: fresh objects (other seed, so nothing is shared by accident), load, M steps.
        using var model2 = TinyTraining.Mlp(seed: 99);
        using var opt2 = MakeOptimizer(kind, model2);
        var meta = Checkpoint.Load(model2, opt2, path);
        Assert.That(meta["step"], Is.EqualTo("20"));
        Assert.That(opt2.StepCount, Is.EqualTo(N));
        int start = int.Parse(meta["step"], System.Globalization.CultureInfo.InvariantCulture);
        float lastLoss2 = 0;
        for (int s = start; s < start + M; s++) lastLoss2 = TinyTraining.Step(model2, opt2, s);

        Assert.That(TinyTraining.ParameterBits(model2), Is.EqualTo(expected), "resumed parameters differ from the uninterrupted run");
        Assert.That(BitConverter.SingleToInt32Bits(lastLoss2), Is.EqualTo(BitConverter.SingleToInt32Bits(lastLoss)));
        Assert.That(opt2.LearningRate, Is.EqualTo(opt.LearningRate));
        Assert.That(Directory.GetFiles(_dir["run"]), Is.EqualTo(new[] { path }), "no temp files left behind");
    }

    [Test]
    public void FileHasPyTorchNamesAndOptimizerStateUnderItsPrefix()
    {
        string path = _dir["c.safetensors"];
        using var model = TinyTraining.Mlp();
        using var opt = new Adam(model.Parameters());
        for (int s = 0; s < 2; s++) TinyTraining.Step(model, opt, s);
        Checkpoint.Save(model, opt, path);
        using var f = SafeTensorsFile.Open(path);
        var names = f.Names.ToHashSet();
        foreach (var n in new[] { "0.weight", "0.bias", "2.weight", "2.bias" })
        {
            Assert.That(names, Does.Contain(n));
            Assert.That(f.GetInfo(n).DType, Is.EqualTo(SafeTensorDType.F32));
        }
        Assert.That(f.GetInfo("0.weight").Shape, Is.EqualTo(new long[] { 32, 8 }));
        Assert.That(f.ReadFloat32("2.bias"), Is.EqualTo(model.StateDict()["2.bias"].ToArray()));
        Assert.That(names, Does.Contain("optimizer.state.0.exp_avg").And.Contain("optimizer.state.3.exp_avg_sq").And.Contain("optimizer.state.3.step"));
        Assert.That(f.ReadInt64("optimizer.state.3.step"), Is.EqualTo(new long[] { 2 }));
        Assert.That(f.GetInfo("optimizer.state.3.step").Shape, Is.Empty);
        Assert.That(f.Metadata["format"], Is.EqualTo("pt"));
        Assert.That(f.Metadata["optimizer.type"], Is.EqualTo("Adam"));
        Assert.That(f.Metadata["optimizer.step_count"], Is.EqualTo("2"));
        Assert.That(f.Metadata["optimizer.hyperparameters"], Does.StartWith("{\"lr\":0.001,\"betas.0\":0.9,\"betas.1\":0.999,\"eps\":1E-08"));
        Assert.That(names.Count, Is.EqualTo(4 + 4 * 3));
    }

    [Test]
    public void ModelOnlyCheckpointAndOptimizerMismatches()
    {
        string path = _dir["m.safetensors"];
        using var model = TinyTraining.Mlp();
        Checkpoint.Save(model, null, path);
        using var fresh = TinyTraining.Mlp(seed: 5);
        using var opt = new Adam(fresh.Parameters());
        var before = TinyTraining.ParameterBits(fresh);
        var e = Assert.Throws<ArgumentException>(() => Checkpoint.Load(fresh, opt, path))!;
        Assert.That(e.Message, Does.Contain("no optimizer state"));
        Assert.That(TinyTraining.ParameterBits(fresh), Is.EqualTo(before), "a failed load must not change the model");
        Checkpoint.Load(fresh, opt, path, strict: false);
        Assert.That(TinyTraining.ParameterBits(fresh), Is.EqualTo(TinyTraining.ParameterBits(model)));

        // Optimizer state of another type: rejected before the model is touched.
        string p2 = _dir["sgd.safetensors"];
        using var sgd = new Sgd(model.Parameters(), 0.1f, momentum: 0.9f);
        TinyTraining.Step(model, sgd, 0);
        Checkpoint.Save(model, sgd, p2);
        var before2 = TinyTraining.ParameterBits(fresh);
        Assert.That(Assert.Throws<ArgumentException>(() => Checkpoint.Load(fresh, opt, p2))!.Message, Does.Contain("saved by Sgd"));
        Assert.That(TinyTraining.ParameterBits(fresh), Is.EqualTo(before2));
        // Loading for inference ignores the optimizer state.
        Checkpoint.Load(fresh, null, p2);
        Assert.That(TinyTraining.ParameterBits(fresh), Is.EqualTo(TinyTraining.ParameterBits(model)));
    }

    [Test]
    public void WrongArchitectureIsRejectedWithTheKeysNamed()
    {
        string path = _dir["a.safetensors"];
        using var model = TinyTraining.Mlp();
        Checkpoint.Save(model, null, path);
        using var wider = new Sequential(new Linear(8, 16), new Relu(), new Linear(16, 2));
        var e = Assert.Throws<StateDictMismatchException>(() => Checkpoint.Load(wider, null, path))!;
        Assert.That(e.Mismatches.Count, Is.EqualTo(3));
        Assert.That(e.Message, Does.Contain("size mismatch for 0.weight").And.Contain("(32, 8)").And.Contain("(16, 8)"));
    }

    // The shape of BatchNorm's state: float buffers and an int64 0-d counter, as PyTorch stores them.
    sealed class WithBuffers : Module
    {
        public readonly Tensor Mean, Count;
        public WithBuffers(float fill)
        {
            using var _ = TensorScope.Suspend();
            RegisterParameter("weight", Tensor.Full(fill, 3));
            Mean = RegisterBuffer("running_mean", Tensor.Full(fill * 2, 3));
            Count = RegisterBuffer("num_batches_tracked", Tensor.Empty([], DType.Int64));
            unsafe { *(long*)Count.RawPtr = (long)fill; }
            RegisterBuffer("scratch", Tensor.Zeros(2), persistent: false);
        }
        public override Tensor Forward(Tensor x) => x;
    }

    [Test]
    public void BuffersIncludingInt64ScalarsRoundTrip()
    {
        string path = _dir["bn.safetensors"];
        using var a = new WithBuffers(7f);
        Checkpoint.Save(a, null, path);
        using (var f = SafeTensorsFile.Open(path))
        {
            Assert.That(f.Names.Order(), Is.EqualTo(new[] { "num_batches_tracked", "running_mean", "weight" }));
            Assert.That(f.GetInfo("num_batches_tracked").DType, Is.EqualTo(SafeTensorDType.I64));
            Assert.That(f.GetInfo("num_batches_tracked").Shape, Is.Empty);
        }
        using var b = new WithBuffers(1f);
        Checkpoint.Load(b, null, path);
        Assert.That(b.Mean.ToArray(), Is.EqualTo(new[] { 14f, 14f, 14f }));
        Assert.That(b.Count.Item(), Is.EqualTo(7f));
        using var c = new WithBuffers(2f);
        c.LoadStateDict(a.StateDict());
        Assert.That(c.Count.Item(), Is.EqualTo(7f));
    }

    [Test]
    public void ReservedMetadataKeysAreRejected()
    {
        using var model = TinyTraining.Mlp();
        string path = _dir["x.safetensors"];
        Assert.Throws<ArgumentException>(() => Checkpoint.Save(model, null, path, new Dictionary<string, string> { ["optimizer.lr"] = "1" }));
        Assert.Throws<ArgumentException>(() => Checkpoint.Save(model, null, path, new Dictionary<string, string> { ["format"] = "tf" }));
        Assert.That(File.Exists(path), Is.False);
        Assert.Throws<FileNotFoundException>(() => Checkpoint.Load(model, null, path));
    }
}
