// Shared harness of the cuBLAS/cuDNN op tests: run an op on CPU copies and
// CUDA copies of the same inputs - forward, then backward with the same random upstream gradient - comparing
// outputs and every input gradient.
using Cochlea.Cuda;
using NUnit.Framework;

namespace Cochlea.Tests.Cuda;

public static class BlasDnnGpu
{
    static float[] Host(Tensor t) => t.Device.IsCpu ? t.ToArray() : t.To(Device.Cpu).ToArray();

    static Tensor Leaf(float[] values, int[] shape, Device device)
    {
        var t = Tensor.FromArray(values, shape);
        if (!device.IsCpu) t = t.To(device);
        t.RequiresGrad = true;
        return t;
    }

    /// <summary>
    /// f on CPU and on cuda:0 with the same inputs (values copied; each a leaf requiring grad unless in
    /// <paramref name="noGrad"/>) and the same upstream gradient; outputs and gradients must agree within
    /// atol + rtol * |cpu|.
    /// </summary>
    public static void Compare(Func<Tensor[], Tensor> f, Tensor[] inputs, float rtol = 1e-4f, float atol = 1e-4f, int[]? noGrad = null)
    {
        GpuTest.RequireGpu();
        var cuda = GpuTest.Cuda;
        var values = inputs.Select(t => t.ToArray()).ToArray();
        var shapes = inputs.Select(t => t.ShapeArray).ToArray();
        Tensor[] Make(Device d) => values.Select((v, i) =>
        {
            var t = Leaf(v, shapes[i], d);
            if (noGrad is not null && noGrad.Contains(i)) t.RequiresGrad = false;
            return t;
        }).ToArray();
        var xc = Make(Device.Cpu);
        var xg = Make(cuda);
        var yc = f(xc);
        var yg = f(xg);
        Assert.That(yg.Device, Is.EqualTo(cuda), "the op must keep its result on the GPU");
        Assert.That(yg.ShapeArray, Is.EqualTo(yc.ShapeArray), "output shape");
        GpuTest.AssertClose(Host(yg), yc.ToArray(), atol, rtol, "output");
        var rng = new Random(7);
        var up = Tensor.Randn(rng, 1f, yc.ShapeArray);
        yc.Backward(up);
        yg.Backward(up.To(cuda));
        for (int i = 0; i < inputs.Length; i++)
        {
            if (!xc[i].RequiresGrad) continue;
            Assert.That(xg[i].Grad, Is.Not.Null, $"gradient of input {i} on the GPU");
            GpuTest.AssertClose(Host(xg[i].Grad!), xc[i].Grad!.ToArray(), atol, rtol, $"gradient of input {i}");
        }
    }
}
