// Input checks done on the GPU and reported at the next synchronisation (CudaDevice.DeferCheck): bad class labels,
// BCE targets, teacher probabilities and gather indices throw the CPU's exception type at Item / ToArray /
// Synchronize, not at the call; their rows are NaN; nothing stays pending after a sync; the slot buffer is bounded
// and memory stays flat; and a training step (forward, loss, backward, Adam) makes the host wait zero times.
using Cochlea.Cuda;
using Cochlea.Models.Kws;
using Cochlea.Models.Tagging;
using Cochlea.Nn;
using Cochlea.Optim;
using NUnit.Framework;

namespace Cochlea.Tests.Cuda;

[Category("Gpu")]
public class DeviceCheckGpuTests
{
    static readonly Device Gpu = GpuTest.Cuda;

    // Clears whatever an earlier test left pending, so each test starts from no pending check.
    static CudaDevice Start()
    {
        var dev = GpuTest.RequireGpu();
        try { dev.Synchronize(); } catch (Exception) { }
        Assert.That(dev.PendingChecks, Is.Zero);
        return dev;
    }

    [TestCase("Item")]
    [TestCase("ToArray")]
    [TestCase("Synchronize")]
    public void BadLabelThrowsAtTheNextSynchronisation(string how)
    {
        var dev = Start();
        using var scope = Tensor.Scope();
        var logits = Tensor.Randn(new Random(1), 1f, 4, 12).To(Gpu);
        var labels = Tensor.FromArray(new long[] { 0, 11, 5, 12 }, 4).To(Gpu);
        var loss = Loss.CrossEntropy(logits, labels);   // no wait here: the kernel checks
        Assert.That(dev.PendingChecks, Is.EqualTo(1));
        Action sync = how switch
        {
            "Item" => () => loss.Item(),
            "ToArray" => () => loss.ToArray(),
            _ => dev.Synchronize,
        };
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => sync())!;
        Assert.That(e.Message, Does.StartWith("cross_entropy: label 12 at position 3 is out of range for 12 classes (expected 0 <= label < 12); checked on cuda:0 and reported at the next synchronisation."));
        Assert.That(dev.PendingChecks, Is.Zero, "the sync that threw must clear the checks");
        Assert.DoesNotThrow(dev.Synchronize, "a failure is reported once");
        Assert.That(float.IsNaN(loss.Item()), "the mean over a NaN row");
    }

    [Test]
    public void GoodLabelsLeaveNothingPendingAfterASync()
    {
        var dev = Start();
        using var scope = Tensor.Scope();
        var x = Tensor.Randn(new Random(2), 1f, 3, 5);
        var y = Tensor.FromArray(new long[] { 4, 0, 2 }, 3);
        var lg = Loss.CrossEntropy(x.To(Gpu), y.To(Gpu), 0.1f);
        Assert.That(dev.PendingChecks, Is.EqualTo(1));
        Assert.That(lg.Item(), Is.EqualTo(Loss.CrossEntropy(x, y, 0.1f).Item()).Within(1e-5));
        Assert.That(dev.PendingChecks, Is.Zero);
    }

    [Test]
    public void BadLabelRowsAreNaNInLossAndGradient()
    {
        var dev = Start();
        using var scope = Tensor.Scope();
        var x = Tensor.Randn(new Random(3), 1f, 3, 5);
        var xg = GpuTest.LeafOn(x, Gpu); xg.RequiresGrad = true;
        var lg = Loss.CrossEntropy(xg, Tensor.FromArray(new long[] { 1, -3, 2 }, 3).To(Gpu), 0.1f, "none");
        using (var s = lg.Sum()) s.Backward();
        var e = Assert.Throws<ArgumentOutOfRangeException>(dev.Synchronize)!;
        Assert.That(e.Message, Does.Contain("label -3 at position 1 is out of range for 5 classes"));
        float[] got = lg.ToArray(), grad = xg.Grad!.ToArray();

        // The other rows are those of the CPU with the same good labels.
        var xc = x.Clone(); xc.RequiresGrad = true;
        var lc = Loss.CrossEntropy(xc, Tensor.FromArray(new long[] { 1, 0, 2 }, 3), 0.1f, "none");
        using (var s = lc.Sum()) s.Backward();
        float[] want = lc.ToArray(), wantGrad = xc.Grad!.ToArray();
        want[1] = float.NaN;
        for (int j = 0; j < 5; j++) wantGrad[5 + j] = float.NaN;
        GpuTest.AssertClose(got, want, 1e-6, 1e-5, "per-row losses");
        GpuTest.AssertClose(grad, wantGrad, 1e-6, 1e-5, "dlogits");
    }

    [Test]
    public void Int32AndNonContiguousLabelsGoToTheKernelAsTheyAre()
    {
        var dev = Start();
        using var scope = Tensor.Scope();
        // Spatial labels (B=2, T=3) given as the transpose of a (T, B) tensor: not contiguous.
        var x = Tensor.Randn(new Random(4), 1f, 2, 4, 3);
        long[] tb = [1, 3, 0, 2, 3, 1];   // (T, B)
        var want = Loss.CrossEntropy(x, Tensor.FromArray(tb, 3, 2).Transpose(0, 1).Contiguous(), 0.2f, "none").ToArray();
        foreach (var labels in new[] { Tensor.FromArray(tb, 3, 2), Tensor.FromArray(tb.Select(v => (int)v).ToArray(), 3, 2) })
        {
            var yg = labels.To(Gpu).Transpose(0, 1);
            Assert.That(yg.IsContiguous, Is.False);
            var got = Loss.CrossEntropy(x.To(Gpu), yg, 0.2f, "none").ToArray();
            GpuTest.AssertClose(got, want, 1e-6, 1e-5, $"{labels.DType} labels, transposed");
        }

        // A bad int32 label is reported at its row-major position in (B, T): (1, 2) is position 5.
        tb[5] = 4;
        var bad = Tensor.FromArray(tb.Select(v => (int)v).ToArray(), 3, 2).To(Gpu).Transpose(0, 1);
        using var l = Loss.CrossEntropy(x.To(Gpu), bad);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => l.Item())!;
        Assert.That(e.Message, Does.Contain("label 4 at position 5 is out of range for 4 classes"));
    }

    [Test]
    public void BceTargetOutsideUnitIntervalThrowsAtTheNextSynchronisation()
    {
        var dev = Start();
        using var scope = Tensor.Scope();
        var t = Tensor.FromArray(new[] { 0f, 0.5f, 1f, 0.25f, 2f, float.NaN }, 2, 3).To(Gpu);
        var loss = Loss.BinaryCrossEntropyWithLogits(Tensor.Zeros(2, 3).To(Gpu), t, 0f, "none");
        var e = Assert.Throws<ArgumentOutOfRangeException>(dev.Synchronize)!;
        Assert.That(e.Message, Does.StartWith("bce_with_logits: target 2 at position 4 is outside [0, 1]; checked on cuda:0 and reported at the next synchronisation."));
        var v = loss.ToArray();
        Assert.That(v.Take(4).All(float.IsFinite) && float.IsNaN(v[4]) && float.IsNaN(v[5]), string.Join(", ", v));
    }

    [Test]
    public void TeacherProbabilitiesAreCheckedOnTheDevice()
    {
        var dev = Start();
        using var scope = Tensor.Scope();
        var s = Tensor.Zeros(2, 3).To(Gpu);
        using (var l = Loss.KlDivDistillFromProbs(s, Tensor.FromArray(new[] { 0.5f, 0.5f, 0f, 0.2f, -0.1f, 0.9f }, 2, 3).To(Gpu), 2f))
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => l.Item())!;
            Assert.That(e.Message, Does.StartWith("kl_div_distill: teacher probability -0.1 at (1, 1) is negative or not finite; checked on cuda:0"));
        }
        using (var l = Loss.KlDivDistillFromProbs(s, Tensor.FromArray(new[] { 0.5f, 0.5f, 0f, 0f, 0f, 0f }, 2, 3).To(Gpu), 2f))
        {
            var e = Assert.Throws<ArgumentException>(() => l.Item())!;
            Assert.That(e.Message, Does.StartWith("kl_div_distill: teacher probabilities of row 1 sum to 0; checked on cuda:0"));
        }
        using (var l = Loss.KlDivDistillFromProbs(s, Tensor.FromArray(new[] { 0.5f, 0.5f, 0f, 0f, 1f, 0f }, 2, 3).To(Gpu), 2f))
            Assert.That(l.Item(), Is.EqualTo(Loss.KlDivDistillFromProbs(Tensor.Zeros(2, 3), Tensor.FromArray(new[] { 0.5f, 0.5f, 0f, 0f, 1f, 0f }, 2, 3), 2f).Item()).Within(1e-6));
    }

    [Test]
    public void GatherIndexOutOfRangeThrowsAtTheNextSynchronisation()
    {
        var dev = Start();
        using var scope = Tensor.Scope();
        var x = Tensor.Ones(2, 3).To(Gpu);
        var y = Ops.Gather(x, 1, Tensor.FromArray(new long[] { 0, 3 }, 2, 1).To(Gpu));
        var e = Assert.Throws<IndexOutOfRangeException>(() => y.ToArray())!;
        Assert.That(e.Message, Does.StartWith("gather: index 3 at position 1 is out of range for dimension 1 of"));
        Assert.That(y.ToArray(), Is.EqualTo(new[] { 1f, float.NaN }));
    }

    // A check registered with a static builder and a CheckContext (as the losses and gather do, once per call) allocates
    // nothing: no closure, no boxed context, no message.
    [Test]
    public void RegisteringACheckAllocatesNothing()
    {
        var dev = Start();
        int[] shape = [2, 3];
        void Register(int count)
        {
            for (int i = 0; i < count; i++)
                dev.DeferCheck(static (f, ctx, d) => new InvalidOperationException($"{ctx.Value} {ctx.Name} {f.PositionText}; {d.DeferredNote}"),
                    new(Value: i, Shape: shape, Name: "x"));
        }
        Register(16);          // grows the pending list once
        dev.Synchronize();     // no kernel wrote the slots: nothing fails; the list keeps its capacity
        long before = GC.GetAllocatedBytesForCurrentThread();
        Register(16);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        dev.Synchronize();
        Assert.That(allocated, Is.Zero, "bytes allocated by 16 DeferCheck calls");
    }

    // The message is built at the report from values captured at the launch: x may be gone by then.
    [Test]
    public void GatherMessageNamesTheTensorAfterItWasDisposed()
    {
        Start();
        using var scope = Tensor.Scope();
        var x = Tensor.Ones(2, 3).To(Gpu);
        x.Name = "logits";
        var y = Ops.Gather(x, 1, Tensor.FromArray(new long[] { 0, 5 }, 2, 1).To(Gpu));
        x.Dispose();
        var e = Assert.Throws<IndexOutOfRangeException>(() => y.ToArray())!;
        Assert.That(e.Message, Does.StartWith("gather: index 5 at position 1 is out of range for dimension 1 of tensor 'logits' (2, 3) Float32; checked on cuda:0"));
    }

    [Test]
    public void PendingChecksAreBoundedAndMemoryStaysFlat()
    {
        var dev = Start();
        var x = Tensor.Randn(new Random(5), 1f, 8, 12).To(Gpu);
        var good = Tensor.FromArray(new long[] { 0, 1, 2, 3, 4, 5, 6, 11 }, 8).To(Gpu);
        var bad = Tensor.FromArray(new long[] { 0, 1, 2, 3, 4, 5, 6, 12 }, 8).To(Gpu);
        void Step(Tensor labels)
        {
            using var scope = Tensor.Scope();
            var xg = x.Clone(); xg.RequiresGrad = true;
            try { Loss.CrossEntropy(xg, labels, 0.1f).Backward(); }
            finally { xg.Grad?.Dispose(); }   // a leaf's gradient outlives the scope
        }
        Step(good); dev.Synchronize();
        var before = dev.MemoryStatistics;
        for (int i = 0; i < 1000; i++) { Step(good); if (i % 10 == 9) dev.Synchronize(); }
        dev.Synchronize();
        var after = dev.MemoryStatistics;
        Assert.That(after.AllocatedBytes, Is.EqualTo(before.AllocatedBytes), "allocated after 1000 loss steps");
        Assert.That(after.ReservedBytes, Is.EqualTo(before.ReservedBytes), "reserved after 1000 loss steps");

        // Without any sync the slots fill up: the check after the last slot waits once and reads them; the bad one
        // is still thrown at the next synchronisation, not by an op.
        Step(bad);
        for (int i = 1; i < CudaDevice.CheckSlots; i++) Step(good);
        Assert.That(dev.PendingChecks, Is.EqualTo(CudaDevice.CheckSlots));
        long waits = dev.HostWaits;
        Step(good);
        Assert.That(dev.HostWaits, Is.EqualTo(waits + 1));
        Assert.That(dev.PendingChecks, Is.EqualTo(1));
        var e = Assert.Throws<ArgumentOutOfRangeException>(dev.Synchronize)!;
        Assert.That(e.Message, Does.Contain("label 12 at position 7"));
        Assert.That(dev.PendingChecks, Is.Zero);
        Assert.DoesNotThrow(dev.Synchronize);
        Assert.That(dev.MemoryStatistics.AllocatedBytes, Is.EqualTo(before.AllocatedBytes));
        x.Dispose(); good.Dispose(); bad.Dispose();
    }

    // Small versions of the four models of `bench compare gpu-train` (issue 6): model, input and labels on cuda:0.
    static (Module Model, Tensor Input, long[] Labels) Case(string name) => name switch
    {
        "WaveKws" => (new WaveKws(numClasses: 4, widths: [16, 24], seed: 3), Tensor.Randn(new Random(5), 1f, 2, 1600), [1, 3]),
        "DeepSpeechKws" => (new DeepSpeechKws(numClasses: 6, hidden: [48, 40, 32, 24, 16], seed: 3), Tensor.Randn(new Random(7), 1f, 2, 30, 161), [2, 5]),
        "TutorialConv" => (new TutorialConv(numClasses: 5, time: 30, freq: 20, seed: 3), Tensor.Randn(new Random(8), 1f, 2, 30, 20), [0, 4]),
        _ => (new FreesoundCnn(numClasses: 5, seed: 3), Tensor.Randn(new Random(6), 0.3f, 2, 8000), [0, 4]),
    };

    [TestCase("WaveKws")]
    [TestCase("DeepSpeechKws")]
    [TestCase("TutorialConv")]
    [TestCase("FreesoundCnn")]
    public void ATrainingStepMakesTheHostWaitZeroTimes(string name)
    {
        var dev = Start();
        var (model, input, labels) = Case(name);
        model.To(Gpu);
        model.Train();
        using var x = input.To(Gpu);
        using var y = Tensor.FromArray(labels, labels.Length).To(Gpu);
        using var opt = new Adam(model.Parameters(), lr: 1e-3f);
        void Step()
        {
            using var scope = Tensor.Scope();
            opt.ZeroGrad();
            Loss.CrossEntropy(model.Forward(x), y, 0.1f).Backward();
            opt.Step();
        }
        Step(); dev.Synchronize();   // first use: kernels compiled, constants uploaded, cuDNN algorithms chosen
        long waits = dev.HostWaits;
        Step(); Step();
        Assert.That(dev.HostWaits, Is.EqualTo(waits), "host waits inside two training steps (zero_grad, forward, cross-entropy, backward, Adam)");
        dev.Synchronize();
        Assert.That(dev.HostWaits, Is.EqualTo(waits + 1), "the one wait: the final synchronize");
    }
}
