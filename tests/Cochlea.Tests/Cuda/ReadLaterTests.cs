// Tensor.ReadLater: the copy is queued at the call, so what it returns is the tensor as it was then, even after later
// work overwrote it, and reading it waits for the copy's event, not for the stream (work queued after the call).
using Cochlea.Bench.Compare;
using Cochlea.Cuda;
using NUnit.Framework;

namespace Cochlea.Tests.Cuda;

[Category("Gpu")]
public class ReadLaterGpuTests
{
    [TestCase(1)]
    [TestCase(1000)]
    [TestCase(300_000)]   // past the smallest pinned slot (4 KiB) and the 4 MiB staging chunk
    public void ReturnsTheValuesAtTheCallEvenAfterLaterWorkOverwritesThem(int n)
    {
        GpuTest.RequireGpu();
        var host = Enumerable.Range(0, n).Select(i => (float)Math.Sin(i) * 3).ToArray();
        using var x = Tensor.FromArray(host, n).To(GpuTest.Cuda);
        using var read = x.ReadLater();
        CudaTensorKernels.Fill(x, 7f);   // queued after the copy
        Assert.That(read.Wait(), Is.EqualTo(host));
        Assert.That(read.Wait(), Is.SameAs(read.Wait()), "a second Wait returns the same array");
        Assert.That(x.ToArray(), Is.All.EqualTo(7f), "the overwrite ran (else this test proves nothing)");
    }

    [Test]
    public void ReadsAStridedViewInRowMajorOrder()
    {
        GpuTest.RequireGpu();
        var host = Enumerable.Range(0, 12).Select(i => (float)i).ToArray();
        using var x = Tensor.FromArray(host, 3, 4).To(GpuTest.Cuda);
        using var t = x.Transpose(0, 1);
        using var read = t.ReadLater();
        using var cpu = Tensor.FromArray(host, 3, 4);
        using var ct = cpu.Transpose(0, 1);
        Assert.That(read.Wait(), Is.EqualTo(ct.ToArray()));
    }

    [Test]
    public void SlotsAreReusedAndAnUnreadDisposedReadDoesNotBreakTheNext()
    {
        GpuTest.RequireGpu();
        using var x = Tensor.FromArray([1f, 2f, 3f], 3).To(GpuTest.Cuda);
        for (int i = 0; i < 20; i++)
        {
            var unread = x.ReadLater();
            using var read = x.ReadLater();
            unread.Dispose();
            Assert.That(read.Wait(), Is.EqualTo(new[] { 1f, 2f, 3f }));
            Assert.Throws<ObjectDisposedException>(() => unread.Wait());
        }
    }

    // Under the host emulator with COCHLEA_EMU_STATS set: the call waits for nothing; the read waits on its event only (no
    // cuStreamSynchronize),
    // with one DtoH copy and no pinned or device allocation once a slot exists.
    [Test]
    public void WaitsForTheCopysEventNotTheStream()
    {
        GpuTest.RequireGpu();
        var counters = EmulatorCounters.Open(Path.Combine(Path.GetTempPath(), $"cochlea-readlater-stats-{Environment.ProcessId}.txt"));
        if (counters is null) Assert.Ignore("needs the host emulator's counters: run with COCHLEA_EMU_STATS=<file> (tools/cuda-emu/host-libs/README.md)");
        using var x = Tensor.FromArray([1f, 2f], 2).To(GpuTest.Cuda);
        x.ReadLater().Wait();   // makes the slot
        var a = counters();
        using (var read = x.ReadLater())
        {
            CudaTensorKernels.Fill(x, 0f);
            Assert.That(EmulatorCounters.Delta(a, counters(), "wait"), Is.Zero, "the call itself waits for nothing");
            read.Wait();
        }
        var b = counters();
        Assert.That(EmulatorCounters.Delta(a, b, "wait\tcuEventSynchronize"), Is.EqualTo(1));
        Assert.That(EmulatorCounters.Delta(a, b, "wait\tcuStreamSynchronize"), Is.Zero);
        Assert.That(EmulatorCounters.Delta(a, b, "copy"), Is.EqualTo(1), "one DtoH copy");
        Assert.That(EmulatorCounters.Delta(a, b, "alloc"), Is.Zero);
    }
}

/// <summary>GPU-free: on the CPU ReadLater reads at once; it takes float32 only.</summary>
public class ReadLaterHostTests
{
    [Test]
    public void OnTheCpuTheValuesAreReadAtTheCall()
    {
        using var x = Tensor.FromArray([1f, 2f, 3f, 4f], 2, 2);
        using var read = x.ReadLater();
        x.AsSpan().Fill(9f);
        Assert.That(read.Wait(), Is.EqualTo(new[] { 1f, 2f, 3f, 4f }));
        Assert.That(read.Length, Is.EqualTo(4));
    }

    [Test]
    public void AnIntegerTensorIsRefusedByName()
    {
        using var x = Tensor.FromArray(new long[] { 1, 2 }, 2);
        var e = Assert.Throws<InvalidOperationException>(() => x.ReadLater());
        Assert.That(e!.Message, Does.Contain("float32").And.Contain("Int64"));
    }
}
