// The kernels split work across threads by output (never by reduction), so their results must be
// bit-identical for any thread count. Shapes here are large enough that KernelThreads.For really
// splits them, which also runs the multi-threaded paths under test at all.
using Cochlea.Kernels.Conv;
using Cochlea.Kernels.Normalization;
using Cochlea.Kernels.Pooling;
using Cochlea.Kernels.Softmax;
using Cochlea.Kernels.Threading;
using NUnit.Framework;

namespace Cochlea.Tests.Kernels;

[Category("Kernels")]
[NonParallelizable]
public unsafe class ThreadingDeterminismTests
{
    static float[] RunWith(int threads, Func<float[]> body)
    {
        int saved = KernelThreads.Count;
        KernelThreads.Count = threads;
        try { return body(); }
        finally { KernelThreads.Count = saved; }
    }

    static void Same(Func<float[]> body, string what)
    {
        var one = RunWith(1, body);
        var three = RunWith(3, body);
        // Exact, bit for bit (compared as ints: NaN == NaN, and much faster than a collection constraint).
        bool same = System.Runtime.InteropServices.MemoryMarshal.Cast<float, int>(three.AsSpan())
            .SequenceEqual(System.Runtime.InteropServices.MemoryMarshal.Cast<float, int>(one.AsSpan()));
        Assert.That(same, what);
    }

    [Test]
    public void ResultsDoNotDependOnThreadCount()
    {
        const int n = 4, c = 64, l = 400;
        var rng = new Random(40);
        var x = Check.Rand(n * c * l, rng);
        var wt = Check.Rand(c * 3, rng);
        var ax = ConvAxis.Create(PaddingMode.Same, l, 3, 2);
        var dy = Check.Rand(n * c * ax.Out, rng);

        Same(() => { var y = new float[n * c * ax.Out]; fixed (float* px = x, pw = wt, py = y) Depthwise.Forward1d(px, pw, py, n, c, 1, ax); return y; }, "depthwise forward");
        Same(() => { var g = new float[x.Length]; fixed (float* pdy = dy, pw = wt, pg = g) Depthwise.BackwardInput1d(pdy, pw, pg, n, c, 1, ax); return g; }, "depthwise input grad");
        Same(() => { var g = new float[wt.Length]; fixed (float* px = x, pdy = dy, pg = g) Depthwise.BackwardWeight1d(px, pdy, pg, n, c, 1, ax); return g; }, "depthwise weight grad");
        Same(() =>
        {
            var cols = new float[c * 3 * ax.Out]; var back = new float[c * l];
            fixed (float* px = x, pc = cols, pb = back) { Im2Col.Forward1d(px, ax, 0, c, pc); Im2Col.Backward1d(pc, ax, 0, c, pb); }
            return cols.Concat(back).ToArray();
        }, "im2col / col2im");
        Same(() =>
        {
            var y = new float[x.Length]; var sm = new float[c]; var si = new float[c]; var dx = new float[x.Length]; var dg = new float[c]; var db = new float[c];
            fixed (float* px = x, py = y, psm = sm, psi = si, pdx = dx, pdg = dg, pdb = db)
            {
                BatchNorm.ForwardTrain(px, py, n, c, l, null, null, 1e-5f, 0.1f, null, null, psm, psi);
                BatchNorm.Backward(px, py, pdx, n, c, l, null, psm, psi, pdg, pdb);
            }
            return y.Concat(sm).Concat(si).Concat(dx).Concat(dg).Concat(db).ToArray();
        }, "batchnorm");
        Same(() => { var y = new float[x.Length]; fixed (float* px = x, py = y) SoftmaxKernels.LogForward(px, py, n * c, l); return y; }, "log-softmax");
        Same(() =>
        {
            var pax = new ConvAxis(l, 3, 2, 1, 1);
            var y = new float[n * c * pax.Out]; var idx = new int[y.Length]; var dx = new float[x.Length]; var a = new float[y.Length];
            fixed (float* px = x, py = y, pdx = dx, pa = a) fixed (int* pi = idx)
            {
                Pool.MaxForward1d(px, py, pi, n * c, pax);
                Pool.MaxBackward1d(py, pi, pdx, n * c, pax);
                Pool.AvgForward1d(px, pa, n * c, pax);
            }
            return y.Concat(dx).Concat(a).ToArray();
        }, "pooling");
    }
}
