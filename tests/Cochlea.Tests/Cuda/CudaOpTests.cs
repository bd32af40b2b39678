// Every CUDA op against the CPU: each case of CudaOpCases runs on both devices with the same inputs and
// the same upstream gradient; outputs and input gradients must agree within atol + rtol * |cpu|.
// Skipped (not passed) without a GPU.
using NUnit.Framework;

namespace Cochlea.Tests.Cuda;

[Category("Gpu")]
public class CudaOpTests
{
    // GPU math functions differ from .NET's by a few ulp and reductions add in another order: the atol covers
    // rounding in sums of a few hundred unit-size terms (a wrong kernel is off by O(1)).
    const double Atol = 1e-4, Rtol = 2e-4;

    [TestCaseSource(typeof(CudaOpCases), nameof(CudaOpCases.All))]
    public void MatchesCpu(CudaOpCase c)
    {
        GpuTest.RequireGpu();
        using var scope = Tensor.Scope();
        var xs = c.Inputs();
        var y = c.F(xs);
        var g = Tensor.Randn(new Random(7), 1f, y.Shape.ToArray());
        y.Backward(g);

        var xd = xs.Select(x => GpuTest.LeafOn(x, GpuTest.Cuda)).ToArray();
        var yd = c.F(xd);
        Assert.That(yd.Device, Is.EqualTo(GpuTest.Cuda), "the result left the GPU");
        Assert.That(yd.Shape.ToArray(), Is.EqualTo(y.Shape.ToArray()), "shape");
        yd.Backward(GpuTest.LeafOn(g, GpuTest.Cuda));

        GpuTest.AssertClose(yd.ToArray(), y.ToArray(), Atol, Rtol, $"{c} forward");
        for (int k = 0; k < xs.Length; k++)
        {
            if (!xs[k].RequiresGrad) continue;
            Assert.That(xd[k].Grad, Is.Not.Null, $"{c}: input {k} got no gradient on the GPU");
            Assert.That(xd[k].Grad!.Device, Is.EqualTo(GpuTest.Cuda), $"{c}: input {k}'s gradient left the GPU");
            GpuTest.AssertClose(xd[k].Grad!.ToArray(), xs[k].Grad!.ToArray(), Atol, Rtol, $"{c} gradient of input {k}");
        }
    }

    [Test]
    public void DropoutAdvancesTheStreamAsTheCpu()
    {
        GpuTest.RequireGpu();
        using var scope = Tensor.Scope();
        var x = Tensor.Randn(new Random(1), 1f, 3, 4, 5);
        using var xd = x.To(GpuTest.Cuda);
        var cpu = new Philox(21, 6);
        var gpu = new Philox(21, 6);
        var slice = new BatchSlice(1, 1, 9);
        var yc = Ops.Dropout(x, 0.25f, true, cpu, slice);
        var yg = Ops.Dropout(xd, 0.25f, true, gpu, slice);
        Assert.That(yg.ToArray(), Is.EqualTo(yc.ToArray()), "masks differ");
        Assert.That(gpu.Offset, Is.EqualTo(cpu.Offset));
        // The next draw (whole tensor) continues from the same position.
        Assert.That(Ops.Dropout(xd, 0.6f, true, gpu).ToArray(), Is.EqualTo(Ops.Dropout(x, 0.6f, true, cpu).ToArray()));
    }

    [Test]
    public void MixedDevicesNameBothDevices()
    {
        GpuTest.RequireGpu();
        using var scope = Tensor.Scope();
        var a = Tensor.Ones(3);
        var b = Tensor.Ones(3).To(GpuTest.Cuda);
        var e = Assert.Throws<ArgumentException>(() => Ops.Add(a, b))!;
        Assert.That(e.Message, Does.Contain("cpu").And.Contain("cuda:0"));
        Assert.Throws<ArgumentException>(() => Loss.Mse(b, a));
        Assert.Throws<ArgumentException>(() => Ops.Where(a, b, b));
    }

    // Out-of-range labels, targets and indices: DeviceCheckGpuTests (reported at the next synchronisation).
}
