// `train kws` on cuda:0 reads each step's loss and correct count one step late (LaggedStepStats): the per-batch progress
// equals the CPU run's within float tolerance; on the host emulator with COCHLEA_EMU_STATS set, the progress of step s is
// reported only after step s+1's optimizer update was enqueued (its Adam launches counted before the read), with one
// copy and no stream synchronisation per step; a NaN loss still stops the run with the CPU's message, naming the same step, before any
// checkpoint. And LaggedStepStats itself on CUDA: null at the first push, then the previous step, the last at Finish.
using System.Globalization;
using Cochlea.Bench.Compare;
using Cochlea.Models.Kws;
using Cochlea.Models.Training;
using Cochlea.Tests.Cuda;
using NUnit.Framework;

namespace Cochlea.Tests.Kws;

[Category("Gpu")]
[Category("Kws")]
[NonParallelizable]
public class LaggedTrainingGpuTests
{
    // Records the progress and, when the emulator counts, a snapshot of its counters at every callback.
    sealed class Recorder(Func<Dictionary<string, long>>? counters) : KwsTrainingObserver
    {
        public readonly List<KwsBatchProgress> Batches = [];
        public readonly List<Dictionary<string, long>> AtBatch = [];
        public readonly List<long> EngineWaits = [];
        public Dictionary<string, long>? AtStart, AtEpochEnd;
        public override void Started(KwsTrainingInfo info) => AtStart = counters?.Invoke();
        public override void BatchDone(KwsBatchProgress progress)
        {
            Batches.Add(progress);
            if (counters is not null) { AtBatch.Add(counters()); EngineWaits.Add(Cochlea.Cuda.CudaBackend.Get(0).HostWaits); }
        }
        public override void EpochDone(KwsEpochMetrics metrics) => AtEpochEnd ??= counters?.Invoke();
    }

    static KwsTrainOptions Options(TinyKwsData data, string run, Device device, float lr = 0.003f) => new()
    {
        DataDir = data.Path, OutDir = data.Scratch(run), Epochs = 1, BatchSize = 4, LearningRate = lr, Classes = TinyKwsData.Classes,
        Widths = [16, 24], Workers = 1, BatchNormCalibrationClips = 8, Seed = 1, Device = device,
    };

    static long Count(Dictionary<string, long> c, string prefix) => c.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).Sum(kv => kv.Value);

    [Test]
    public void AnEpochOnCudaReportsEachStepAfterTheNextIsEnqueuedWithTheCpusNumbers()
    {
        GpuTest.RequireGpu();
        using var data = new TinyKwsData(speakers: 6);
        var cpu = new Recorder(null);
        KwsTrainer.Run(Options(data, "cpu", Device.Cpu), cpu);
        var counters = EmulatorCounters.Open(Path.Combine(Path.GetTempPath(), $"cochlea-lag-stats-{Environment.ProcessId}.txt"));
        var gpu = new Recorder(counters);
        KwsTrainer.Run(Options(data, "cuda", GpuTest.Cuda), gpu);

        int n = cpu.Batches.Count;
        Assert.That(n, Is.GreaterThanOrEqualTo(4), "enough steps to see the lag");
        Assert.That(gpu.Batches.Select(b => b.Batch), Is.EqualTo(Enumerable.Range(1, n)), "every step reported once, in order");
        for (int i = 0; i < n; i++)
        {
            KwsBatchProgress c = cpu.Batches[i], g = gpu.Batches[i];
            Assert.That(g.Loss, Is.EqualTo(c.Loss).Within(1e-3 * c.Loss + 1e-5), $"running loss after step {i + 1}");
            Assert.That(g.Accuracy, Is.EqualTo(c.Accuracy).Within(1e-9), $"running accuracy after step {i + 1}");
            Assert.That(g.Batches, Is.EqualTo(c.Batches));
        }
        if (counters is null) Assert.Ignore("the numbers match; the lag itself needs the host emulator's counters: run with COCHLEA_EMU_STATS=<file> (tools/cuda-emu/host-libs/README.md)");

        // Adam runs once per step (its launches: the same number every step); at step s's report step s+1's must be in.
        long adam0 = Count(gpu.AtStart!, "launch\tadam"), adamEpoch = Count(gpu.AtEpochEnd!, "launch\tadam") - adam0;
        Assert.That(adamEpoch, Is.GreaterThan(0).And.EqualTo(adamEpoch / n * n), "Adam launches per step (else this test proves nothing)");
        long perStep = adamEpoch / n;
        var enqueued = gpu.AtBatch.Select(c => (Count(c, "launch\tadam") - adam0) / perStep).ToArray();
        var waits = gpu.AtBatch.Select(c => Count(c, "wait\t")).ToArray();
        var engineWaits = gpu.EngineWaits;
        var copies = gpu.AtBatch.Select(c => Count(c, "copy\tcuMemcpyDtoH")).ToArray();
        TestContext.Out.WriteLine($"steps {n}; optimizer steps enqueued at each report: {string.Join(" ", enqueued)}");
        TestContext.Out.WriteLine($"host waits between reports: {string.Join(" ", waits.Zip(waits.Skip(1), (a, b) => b - a))}; DtoH copies between reports: {string.Join(" ", copies.Zip(copies.Skip(1), (a, b) => b - a))}");
        TestContext.Out.WriteLine($"engine-counted host waits between reports (reads + staging reuse): {string.Join(" ", engineWaits.Zip(engineWaits.Skip(1), (a, b) => b - a))}");
        TestContext.Out.WriteLine("wait counters at the last report: " + string.Join(", ", gpu.AtBatch[^1].Where(kv => kv.Key.StartsWith("wait\t", StringComparison.Ordinal)).Select(kv => $"{kv.Key[5..]} {kv.Value}")));
        for (int s = 1; s <= n; s++)
            Assert.That(enqueued[s - 1], Is.EqualTo(Math.Min(s + 1, n)), $"optimizer steps enqueued when step {s} was reported");
        var streamSyncs = gpu.AtBatch.Select(c => Count(c, "wait\tcuStreamSynchronize")).ToArray();
        for (int s = 2; s <= n; s++)
        {
            Assert.That(copies[s - 1] - copies[s - 2], Is.EqualTo(s < n ? 1 : 0), $"device-to-host copies between the reports of steps {s - 1} and {s}: step {s + 1}'s (loss, wrong) pair, queued at its end (none after the last step)");
            Assert.That(waits[s - 1] - waits[s - 2], Is.LessThanOrEqualTo(MaxWaitsPerStep), $"host waits between the reports of steps {s - 1} and {s}");
            Assert.That(streamSyncs[s - 1] - streamSyncs[s - 2], Is.Zero, $"stream synchronisations between the reports of steps {s - 1} and {s}: the read waits for its own step's copy only");
        }
    }

    // Per step: the read's cuEventSynchronize on its own copy (queued at the step's end, Tensor.ReadLater) and the
    // staging chunks' reuse waits of the step's two uploads (features and labels; their last copies were queued a step
    // earlier, so these do not drain the queue either).
    const int MaxWaitsPerStep = 3;

    [Test]
    public void ANanLossOnCudaStopsWithTheCpusMessageBeforeAnyCheckpoint()
    {
        GpuTest.RequireGpu();
        using var data = new TinyKwsData(speakers: 6);
        var cpu = new Recorder(null);
        var gpu = new Recorder(null);
        var ec = Assert.Throws<InvalidOperationException>(() => KwsTrainer.Run(Options(data, "cpu-nan", Device.Cpu, lr: float.MaxValue), cpu))!;
        var eg = Assert.Throws<InvalidOperationException>(() => KwsTrainer.Run(Options(data, "cuda-nan", GpuTest.Cuda, lr: float.MaxValue), gpu))!;
        Assert.That(ec.Message, Does.StartWith("the training loss became").And.EndWith("; lower --lr."));
        Assert.That(eg.Message, Is.EqualTo(ec.Message), "CUDA names the step whose loss it was, though it reads it one step late");
        Assert.That(gpu.Batches.Select(b => b.Batch), Is.EqualTo(cpu.Batches.Select(b => b.Batch)), "steps reported before the failing one");
        foreach (var run in new[] { "cpu-nan", "cuda-nan" })
            Assert.That(File.Exists(Path.Combine(data.Scratch(run), KwsTrainer.LastFile)), Is.False, $"{run}: no checkpoint written");
    }

    [Test]
    public void OnCudaAPushReturnsThePreviousStepAndFinishTheLast()
    {
        GpuTest.RequireGpu();
        using var stats = new LaggedStepStats(GpuTest.Cuda, 3);
        Assert.That(stats.Lag, Is.EqualTo(1));
        var rng = new Random(9);
        var expected = new List<(float Loss, int Correct)>();
        var got = new List<StepStats>();
        for (int step = 1; step <= 3; step++)
        {
            using var scope = Tensor.Scope();
            int rows = 2 + step;
            var p = Enumerable.Range(0, rows * 3).Select(_ => rng.Next(3) * 0.5f).ToArray();   // ties
            var y = Enumerable.Range(0, rows).Select(_ => (long)rng.Next(3)).ToArray();
            var logits = Tensor.FromArray(p, rows, 3);
            var loss = Loss.CrossEntropy(logits, Tensor.FromArray(y, rows));
            expected.Add((loss.Item(), Enumerable.Range(0, rows).Count(i => KwsTta.ArgMax(p, i, 3) == y[i])));
            var r = stats.Push(step, loss.To(GpuTest.Cuda), logits.To(GpuTest.Cuda), Tensor.FromArray(y, rows).To(GpuTest.Cuda));
            if (step == 1) Assert.That(r, Is.Null, "the first step is still queued");
            else got.Add(r!.Value);
        }
        got.Add(stats.Finish()!.Value);
        Assert.That(stats.Finish(), Is.Null);
        Assert.That(got.Select(r => r.Step), Is.EqualTo(new[] { 1, 2, 3 }));
        Assert.That(got.Select(r => r.Size), Is.EqualTo(new[] { 3, 4, 5 }));
        Assert.That(got.Select(r => r.Loss), Is.EqualTo(expected.Select(e => e.Loss)), "the loss as computed on the CPU, copied over");
        Assert.That(got.Select(r => r.Correct), Is.EqualTo(expected.Select(e => e.Correct)), "correct rows, counted on the device");
    }

    // A bad label makes the CUDA loss NaN and is checked on the device: the read reports the label's error, not "NaN loss".
    [Test]
    public void OnCudaALabelOutOfRangeIsReportedByNameNotAsANanLoss()
    {
        GpuTest.RequireGpu();
        using var stats = new LaggedStepStats(GpuTest.Cuda, 3);
        using var scope = Tensor.Scope();
        var logits = Tensor.FromArray([0.1f, 0.2f, 0.3f, 1f, 0f, 0f], 2, 3).To(GpuTest.Cuda);
        var y = Tensor.FromArray(new long[] { 1, 7 }, 2).To(GpuTest.Cuda);
        Assert.That(stats.Push(1, Loss.CrossEntropy(logits, y), logits, y), Is.Null);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => stats.Finish())!;
        Assert.That(e.Message, Does.Contain("label 7 at position 1 is out of range for 3 classes"));
    }
}
