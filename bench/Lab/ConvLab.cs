// Kernel lab for the implicit-GEMM conv (`lab conv [threads] [reps]`): FreesoundCnn's three 3x11 'same' layers at
// batch 32 and batch 1, the previous path (im2col + one single-threaded GEMM per image, images split over the threads,
// as Ops.ConvForwardByImage / ConvBackwardByImage; at batch 1 im2col + a threaded GEMM) against ImplicitConv, each
// pair checked against each other, then timed alternately in this one process (medians, ms).
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Cochlea.Kernels.Conv;
using Cochlea.Kernels.Gemm;
using Cochlea.Kernels.Threading;

namespace Cochlea.Bench.Lab;

public static unsafe class ConvLab
{
    public static int Run(string[] args)
    {
        int threads = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 2;
        int reps = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 9;
        int saved = KernelThreads.Count;
        KernelThreads.Count = threads;
        try
        {
            foreach (int n in new[] { 32, 1 })
                foreach (var (cin, cout, hIn, wIn) in new[] { (2, 16, 48, 257), (16, 32, 24, 128), (32, 64, 12, 64) })
                    Layer(n, cin, cout, hIn, wIn, threads, reps);
        }
        finally { KernelThreads.Count = saved; }
        return 0;
    }

    static void Layer(int n, int cin, int cout, int hIn, int wIn, int threads, int reps)
    {
        var h = new ConvAxis(hIn, 3, 1, 1, 1); var w = new ConvAxis(wIn, 11, 1, 5, 5);
        int kk = cin * 33; long plane = (long)hIn * wIn;
        long xl = n * cin * plane, yl = n * cout * plane, wl = (long)cout * kk;
        float* x = Rand(xl, 1), wt = Rand(wl, 2), dy = Rand(yl, 3);
        float* y0 = Alloc(yl), y1 = Alloc(yl), dx0 = Alloc(xl), dx1 = Alloc(xl), dw0 = Alloc(wl), dw1 = Alloc(wl);
        float* cols = Alloc(kk * plane);   // batch 1 only: im2col + a threaded GEMM, as ConvCore runs it
        void OldForward(float* y)
        {
            if (n == 1) { Im2Col.Forward2d(x, h, w, 0, cin, cols); Sgemm.Run(false, false, cout, (int)plane, kk, 1f, wt, kk, cols, (int)plane, 0f, y, (int)plane); return; }
            Ops.ConvForwardByImage(x, wt, y, n, cin, cout, h, w);
        }
        void OldBackward()
        {
            // ConvBackwardByImage accumulates into dx and dW (zeros on entry), as ConvCore calls it.
            new Span<float>(dx0, (int)xl).Clear(); new Span<float>(dw0, (int)wl).Clear();
            Ops.ConvBackwardByImage(dy, x, wt, dx0, dw0, n, cin, cout, h, w);
        }
        void NewForward(float* y) => ImplicitConv.Forward(x, wt, y, n, cin, cout, h, w);
        void NewBackward()
        {
            ImplicitConv.BackwardInput(dy, wt, dx1, n, cin, cout, h, w);
            ImplicitConv.BackwardWeight(x, dy, dw1, n, cin, cout, h, w);
        }
        OldForward(y0); NewForward(y1);
        double ef = MaxRel(y0, y1, yl);
        double eb = 0, ew = 0;
        if (n > 1) { OldBackward(); NewBackward(); eb = MaxRel(dx0, dx1, xl); ew = MaxRel(dw0, dw1, wl); }
        var tf0 = new List<double>(); var tf1 = new List<double>(); var tb0 = new List<double>(); var tb1 = new List<double>(); var tdx = new List<double>(); var tdw = new List<double>();
        for (int r = 0; r < reps; r++)
        {
            tf0.Add(Time(() => OldForward(y0))); tf1.Add(Time(() => NewForward(y1)));
            if (n > 1)
            {
                tb0.Add(Time(OldBackward)); tb1.Add(Time(NewBackward));
                tdx.Add(Time(() => ImplicitConv.BackwardInput(dy, wt, dx1, n, cin, cout, h, w)));
                tdw.Add(Time(() => ImplicitConv.BackwardWeight(x, dy, dw1, n, cin, cout, h, w)));
            }
        }
        double gflop = 2.0 * n * cout * kk * plane / 1e9;
        string line = string.Create(CultureInfo.InvariantCulture,
            $"b{n} {cin}->{cout} {hIn}x{wIn}: forward im2col {Med(tf0):F2} ms, implicit {Med(tf1):F2} ms ({gflop / Med(tf1) * 1e3:F0} GFLOP/s; max rel diff {ef:E1})");
        if (n > 1) line += string.Create(CultureInfo.InvariantCulture, $"; backward (dx+dW) im2col {Med(tb0):F2} ms, implicit {Med(tb1):F2} ms (dx {Med(tdx):F2}, dW {Med(tdw):F2}; diff dx {eb:E1}, dW {ew:E1})");
        Console.WriteLine(line);
        foreach (var p in new[] { x, wt, dy, y0, y1, dx0, dx1, dw0, dw1, cols }) NativeMemory.AlignedFree(p);
    }

    static double Time(Action a) => Compare.Timing.Time(a) * 1e3;   // ms
    static double Med(List<double> xs) => Compare.Timing.Median(xs);
    static float* Alloc(long len) => (float*)NativeMemory.AlignedAlloc((nuint)(Math.Max(1, len) * sizeof(float)), 64);
    static float* Rand(long len, int seed)
    {
        var r = new Random(seed); float* p = Alloc(len);
        for (long i = 0; i < len; i++) p[i] = (float)(r.NextDouble() * 2 - 1);
        return p;
    }
    static double MaxRel(float* a, float* b, long len)
    {
        double m = 0;
        for (long i = 0; i < len; i++) m = Math.Max(m, Math.Abs(a[i] - b[i]) / (1 + Math.Abs(a[i])));
        return m;
    }
}
