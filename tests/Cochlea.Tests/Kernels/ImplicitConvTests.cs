// ImplicitConv (implicit-GEMM conv2d, stride 1) against the scalar references on every SIMD path: forward, input gradient
// and weight gradient, on odd shapes (output widths around every tile width, channel counts off the tile heights,
// asymmetric and zero padding, even kernels, FreesoundCnn's 3x11 'same'), with a guard after each output; results do
// not depend on the thread count; the weight gradient at T threads is each thread's images summed alone, added in order;
// warm single-threaded calls allocate nothing; unsupported geometries are refused with a message.
using Cochlea.Kernels;
using Cochlea.Kernels.Conv;
using NUnit.Framework;

namespace Cochlea.Tests.Kernels;

[Category("Kernels")]
public unsafe class ImplicitConvTests
{
    // (n, cin, cout, H axis, W axis); stride 1, paddings below the kernel.
    static IEnumerable<(int N, int Cin, int Cout, ConvAxis H, ConvAxis W)> Shapes()
    {
        yield return (2, 2, 16, new(6, 3, 1, 1, 1), new(40, 11, 1, 5, 5));        // FreesoundCnn conv1-like
        yield return (1, 3, 5, new(5, 3, 1, 1, 1), new(33, 11, 1, 5, 5));         // cout off every tile height
        yield return (3, 1, 13, new(4, 2, 1, 0, 1), new(17, 4, 1, 1, 2));         // even kernels, asymmetric padding
        yield return (1, 4, 9, new(3, 3, 1, 0, 0), new(12, 3, 1, 0, 0));          // 'valid'
        yield return (2, 2, 3, new(1, 1), new(70, 7, 1, 3, 3));                   // 1-d
        yield return (1, 5, 8, new(7, 1, 1, 0, 0), new(1, 1, 1, 0, 0));           // a 1x1 output column
        foreach (int wIn in new[] { 1, 2, 7, 8, 15, 16, 17, 31, 32, 33, 47, 64, 65 })
            yield return (2, 3, 7, new(3, 3, 1, 1, 1), new(wIn, 11, 1, 5, 5));
    }

    static float[] Rand(int len, Random rng) => Check.Rand(len, rng);

    // kernel(a, b, out, n, cin, cout, h, w, width) and the reference(a, b, out, n, cin, cout, h, w) on every shape and path.
    delegate void Kernel(float* a, float* b, float* o, int n, int cin, int cout, ConvAxis h, ConvAxis w, SimdWidth width);
    delegate void Reference(float* a, float* b, float* o, int n, int cin, int cout, ConvAxis h, ConvAxis w);

    static void MatchesReference(int seed, Func<int, int, int, ConvAxis, ConvAxis, (int A, int B, int Out)> lengths, Kernel kernel, Reference reference)
    {
        var rng = new Random(seed);
        foreach (var wd in Check.Paths)
            foreach (var (n, cin, cout, h, w) in Shapes())
            {
                var (la, lb, lo) = lengths(n, cin, cout, h, w);
                var a = Rand(la, rng);
                var b = Rand(lb, rng);
                var o = new GuardedBuffer(lo, float.NaN);
                var r = new float[lo];
                fixed (float* pa = a, pb = b, po = o.Data, pr = r)
                {
                    kernel(pa, pb, po, n, cin, cout, h, w, wd);
                    reference(pa, pb, pr, n, cin, cout, h, w);
                }
                string what = $"{wd} n{n} {cin}->{cout} {h} {w}";
                Check.Close(o.Span, r, 1e-5, 1e-5, what);
                o.AssertGuard(what);
            }
    }

    static int XLen(int n, int cin, ConvAxis h, ConvAxis w) => n * cin * h.In * w.In;
    static int YLen(int n, int cout, ConvAxis h, ConvAxis w) => n * cout * h.Out * w.Out;
    static int WLen(int cin, int cout, ConvAxis h, ConvAxis w) => cout * cin * h.Kernel * w.Kernel;

    [Test]
    public void ForwardMatchesReference() => MatchesReference(11,
        (n, cin, cout, h, w) => (XLen(n, cin, h, w), WLen(cin, cout, h, w), YLen(n, cout, h, w)),
        (x, wt, y, n, cin, cout, h, w, wd) => ImplicitConv.Forward(x, wt, y, n, cin, cout, h, w, wd, 2),
        (x, wt, y, n, cin, cout, h, w) => ConvReference.Conv2d(x, wt, y, n, cin, cout, 1, h, w));

    [Test]
    public void BackwardInputMatchesReference() => MatchesReference(12,
        (n, cin, cout, h, w) => (YLen(n, cout, h, w), WLen(cin, cout, h, w), XLen(n, cin, h, w)),
        (dy, wt, dx, n, cin, cout, h, w, wd) => ImplicitConv.BackwardInput(dy, wt, dx, n, cin, cout, h, w, wd, 2),
        (dy, wt, dx, n, cin, cout, h, w) => ConvReference.Conv2dBackwardInput(dy, wt, dx, n, cin, cout, h, w));

    [Test]
    public void BackwardWeightMatchesReference() => MatchesReference(13,
        (n, cin, cout, h, w) => (XLen(n, cin, h, w), YLen(n, cout, h, w), WLen(cin, cout, h, w)),
        (x, dy, dw, n, cin, cout, h, w, wd) => ImplicitConv.BackwardWeight(x, dy, dw, n, cin, cout, h, w, wd, 2),
        (x, dy, dw, n, cin, cout, h, w) => ConvReference.Conv2dBackwardWeight(x, dy, dw, n, cin, cout, h, w));

    // y / dy channel-major (Cout, N*P), the fused batch norm's layout: the same numbers as NCHW, moved.
    [Test]
    public void ChannelMajorOutputAndGradientMatchNchw()
    {
        var rng = new Random(15);
        const int n = 3, cin = 2, cout = 11;
        var h = new ConvAxis(4, 3, 1, 1, 1); var w = new ConvAxis(37, 11, 1, 5, 5);
        int p = h.Out * w.Out;
        var cm = PlaneStrides.ChannelMajor(n, p);
        var x = Rand(n * cin * h.In * w.In, rng);
        var wt = Rand(cout * cin * 33, rng);
        var dyNchw = Rand(n * cout * p, rng);
        var dyCm = new float[dyNchw.Length];
        for (int i = 0; i < n; i++) for (int c = 0; c < cout; c++) for (int j = 0; j < p; j++) dyCm[(c * n + i) * p + j] = dyNchw[(i * cout + c) * p + j];
        foreach (var wd in Check.Paths)
        {
            var y = new float[n * cout * p]; var yCm = new float[y.Length];
            var dx = new float[x.Length]; var dxCm = new float[x.Length];
            var dw = new float[wt.Length]; var dwCm = new float[wt.Length];
            fixed (float* px = x, pw = wt, pg = dyNchw, pgc = dyCm, py = y, pyc = yCm, pdx = dx, pdxc = dxCm, pdw = dw, pdwc = dwCm)
            {
                ImplicitConv.Forward(px, pw, py, n, cin, cout, h, w, wd, 2);
                ImplicitConv.Forward(px, pw, pyc, n, cin, cout, h, w, wd, 2, cm);
                ImplicitConv.BackwardInput(pg, pw, pdx, n, cin, cout, h, w, wd, 2);
                ImplicitConv.BackwardInput(pgc, pw, pdxc, n, cin, cout, h, w, wd, 2, cm);
                ImplicitConv.BackwardWeight(px, pg, pdw, n, cin, cout, h, w, wd, 2);
                ImplicitConv.BackwardWeight(px, pgc, pdwc, n, cin, cout, h, w, wd, 2, cm);
            }
            for (int i = 0; i < n; i++) for (int c = 0; c < cout; c++) for (int j = 0; j < p; j++)
                Assert.That(yCm[(c * n + i) * p + j], Is.EqualTo(y[(i * cout + c) * p + j]), $"{wd} y[{i},{c},{j}]");
            Assert.That(dxCm, Is.EqualTo(dx), $"{wd} dx");
            Assert.That(dwCm, Is.EqualTo(dw), $"{wd} dw");
        }
    }

    [Test]
    public void ResultsDoNotDependOnThreadCount()
    {
        var rng = new Random(14);
        const int n = 5, cin = 3, cout = 10;
        var h = new ConvAxis(6, 3, 1, 1, 1); var w = new ConvAxis(45, 11, 1, 5, 5);
        var x = Rand(n * cin * h.In * w.In, rng);
        var wt = Rand(cout * cin * 33, rng);
        var dy = Rand(n * cout * h.Out * w.Out, rng);
        float[] Run(int threads, int which)
        {
            var o = new float[which == 0 ? dy.Length : which == 1 ? x.Length : wt.Length];
            fixed (float* px = x, pw = wt, pdy = dy, po = o)
            {
                if (which == 0) ImplicitConv.Forward(px, pw, po, n, cin, cout, h, w, Simd.Best, threads);
                else if (which == 1) ImplicitConv.BackwardInput(pdy, pw, po, n, cin, cout, h, w, Simd.Best, threads);
                else ImplicitConv.BackwardWeight(px, pdy, po, n, cin, cout, h, w, Simd.Best, threads);
            }
            return o;
        }
        for (int which = 0; which < 2; which++)
            Assert.That(Run(3, which), Is.EqualTo(Run(1, which)), $"output {which}: every element is computed by one thread");
        // The weight gradient is summed in one partial per thread's image range, the partials added in a fixed order:
        // repeatable bit for bit at a given thread count, and across thread counts equal up to rounding.
        var dw2 = Run(2, 2);
        Assert.That(Run(2, 2), Is.EqualTo(dw2), "weight gradient repeatable at 2 threads");
        var dw1 = Run(1, 2);
        double scale = dw1.Max(v => Math.Abs((double)v));
        for (int i = 0; i < dw1.Length; i++)
            Assert.That(dw2[i], Is.EqualTo(dw1[i]).Within(1e-5 * scale), $"weight gradient [{i}]: 2 threads vs 1");
    }

    [Test]
    public void RefusesStridedAndOverPaddedConvs()
    {
        var buf = new float[64];
        void Fwd(ConvAxis h, ConvAxis w) { fixed (float* p = buf) ImplicitConv.Forward(p, p, p, 1, 1, 1, h, w); }
        var ex = Assert.Throws<ArgumentException>(() => Fwd(new ConvAxis(4, 3, 2, 1, 1), new ConvAxis(4, 3, 1, 1, 1)))!;
        Assert.That(ex.Message, Does.Contain("stride 1").And.Contain("Im2Col"));
        Assert.Throws<ArgumentException>(() => Fwd(new ConvAxis(4, 3, 1, 3, 0), new ConvAxis(4, 3, 1, 1, 1)));
        Assert.That(ImplicitConv.Supports(new ConvAxis(24, 3, 1, 1, 1), new ConvAxis(128, 11, 1, 5, 5)), Is.True);
    }

    // The split contract written out: at T threads the images are cut as KernelThreads.Chunk(n, T, .), each part summed
    // alone (what a 1-thread call over just those images gives), and the parts added in order: bit for bit, every path.
    [Test]
    public void WeightGradientIsThePartsSummedAloneAndAddedInOrder([Values(2, 3)] int threads)
    {
        var rng = new Random(16);
        const int n = 7, cin = 3, cout = 9;
        var h = new ConvAxis(5, 3, 1, 1, 1); var w = new ConvAxis(37, 11, 1, 5, 5);
        int xImg = cin * h.In * w.In, yImg = cout * h.Out * w.Out, wl = cout * cin * 33;
        var x = Rand(n * xImg, rng); var dy = Rand(n * yImg, rng);
        foreach (var wd in Check.Paths)
        {
            var got = new float[wl];
            var want = new float[wl];
            var part = new float[wl];
            fixed (float* px = x, pdy = dy, pg = got, pp = part)
            {
                ImplicitConv.BackwardWeight(px, pdy, pg, n, cin, cout, h, w, wd, threads);
                for (int p = 0; p < threads; p++)
                {
                    var (i0, i1) = Cochlea.Kernels.Threading.KernelThreads.Chunk(n, threads, p);
                    ImplicitConv.BackwardWeight(px + i0 * xImg, pdy + i0 * yImg, pp, i1 - i0, cin, cout, h, w, wd, 1);
                    for (int j = 0; j < wl; j++) want[j] = p == 0 ? part[j] : want[j] + part[j];
                }
            }
            Assert.That(got, Is.EqualTo(want), $"{wd} {threads} threads");
        }
    }

    // Scratch comes from one reused block: after a warm-up, single-threaded calls of all three kernels allocate nothing.
    [Test]
    [NonParallelizable]
    public void WarmCallsAllocateNothing([ValueSource(typeof(Simd), nameof(Simd.Available))] SimdWidth wd)
    {
        var rng = new Random(17);
        const int n = 2, cin = 3, cout = 10;
        var h = new ConvAxis(6, 3, 1, 1, 1); var w = new ConvAxis(45, 11, 1, 5, 5);
        var x = Rand(n * cin * h.In * w.In, rng); var wt = Rand(cout * cin * 33, rng); var dy = Rand(n * cout * h.Out * w.Out, rng);
        var y = new float[dy.Length]; var dx = new float[x.Length]; var dw = new float[wt.Length];
        fixed (float* px = x, pw = wt, pdy = dy, py = y, pdx = dx, pdw = dw)
        {
            float* ax = px, aw = pw, ady = pdy, ay = py, adx = pdx, adw = pdw;
            foreach (var (name, run) in new (string, Action)[]
            {
                ("forward", () => ImplicitConv.Forward(ax, aw, ay, n, cin, cout, h, w, wd, 1)),
                ("input gradient", () => ImplicitConv.BackwardInput(ady, aw, adx, n, cin, cout, h, w, wd, 1)),
                ("weight gradient", () => ImplicitConv.BackwardWeight(ax, ady, adw, n, cin, cout, h, w, wd, 1)),
            })
                Assert.That(Check.WarmAllocatedBytes(run), Is.Zero, $"{name} {wd}: bytes allocated by 5 warm calls (in each of 4 rounds)");
        }
    }
}
