// The GPU tests' shared checks, runnable without a GPU: the tolerance rule's NaN handling (same index on both
// sides passes, one side only fails naming the index), its worst-element report, and that RequireGpu skips with
// the backend's reason instead of passing when CUDA is unusable.
using Cochlea.Cuda;
using NUnit.Framework;

namespace Cochlea.Tests.Cuda;

[Category("Cuda")]
public class GpuTestHelperTests
{
    [Test]
    public void NaNAtTheSameIndexOnBothSidesPasses()
    {
        Assert.That(GpuTest.CloseFailure([1f, float.NaN, 3f], [1f, float.NaN, 3f], 0, 0, "x"), Is.Null);
        Assert.That(GpuTest.CloseFailure([float.PositiveInfinity], [float.PositiveInfinity], 0, 0, "x"), Is.Null);
    }

    [Test]
    public void NaNOnOneSideOnlyFailsNamingTheIndex()
    {
        Assert.That(GpuTest.CloseFailure([1f, 2f, float.NaN], [1f, 2f, 3f], 1, 1, "out"), Does.StartWith("out: element 2 is NaN"));
        Assert.That(GpuTest.CloseFailure([1f, 2f, 3f], [1f, float.NaN, 3f], 1, 1, "out"), Does.StartWith("out: element 1 is 2").And.Contain("NaN on one side only"));
    }

    [Test]
    public void OutOfToleranceNamesTheWorstElement()
    {
        // atol 0.1 + rtol 0.01 * |ref|: element 0 is 0.05 off (inside), 1 is 0.5 off, 2 is 2 off (the worst).
        float[] expected = [1f, 10f, 100f], actual = [1.05f, 10.5f, 102f];
        Assert.That(GpuTest.CloseFailure(actual, expected, 0.1, 0.01, "y"), Does.StartWith("y: element 2 is 102"));
        Assert.That(GpuTest.CloseFailure([1.05f, 10.15f, 100.5f], expected, 0.1, 0.01, "y"), Is.Null);
        Assert.That(GpuTest.CloseFailure([1f], [1f, 2f], 0, 0, "y"), Does.Contain("1 elements, the CPU gives 2"));
    }

    [Test]
    public void RequireGpuSkipsWithTheBackendsReasonWithoutAGpu()
    {
        Assume.That(!CudaBackend.IsAvailable, "this machine has a usable GPU; the skip cannot be observed here");
        var e = Assert.Throws<InconclusiveException>(() => GpuTest.RequireGpu())!;
        Assert.That(e.Message, Does.Contain(CudaBackend.UnavailableReason!));
    }
}
