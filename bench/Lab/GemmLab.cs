// Kernel lab for GEMM tuning (DESIGN.md's "kernel lab"): `lab gemm [m k n] [threads] [reps] [all] [nt|tn|tt]` checks each
// numbered variant (micro-kernel height x cache blocking) against the shipped Sgemm, then times it and
// prints best, median and per-CPU-second GFLOP/s (without `all`: the shipped one only). The winner's settings go to src/Kernels/Gemm
// (Sgemm.Run's dispatch and GemmBlocking.Default). Best-of and CPU-time rates stay meaningful on a busy
// shared machine, where wall-clock medians do not.
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Cochlea.Kernels;
using Cochlea.Kernels.Gemm;
using Cochlea.Kernels.Numerics;

namespace Cochlea.Bench.Lab;

public static unsafe class GemmLab
{
    delegate void Variant(GemmArgs g, int threads);

    static (string Name, Variant Run)[] Variants()
    {
        var list = new List<(string, Variant)> { ("v0 shipped Sgemm.Run", (g, t) => Sgemm.Run(g.TransA, g.TransB, g.M, g.N, g.K, g.Alpha, g.A, g.Lda, g.B, g.Ldb, g.Beta, g.C, g.Ldc, t)) };
        if (Simd.Supports(SimdWidth.V512))
        {
            // Tile heights at the shipped blocking, then blockings for the shipped 8x32 tile.
            int i = 1;
            var d = GemmBlocking.Default;
            list.Add(($"v{i++} 6x32  default", (g, t) => Sgemm.Execute<V512Ops, Vector512<float>, Rows6>(g, t, d)));
            list.Add(($"v{i++} 12x32 default", (g, t) => Sgemm.Execute<V512Ops, Vector512<float>, Rows12>(g, t, d)));
            list.Add(($"v{i++} 14x32 default", (g, t) => Sgemm.Execute<V512Ops, Vector512<float>, Rows14>(g, t, d)));
            foreach (var blk in new[] { new GemmBlocking(336, 256, 4096), new GemmBlocking(96, 1024, 4096),
                         new GemmBlocking(192, 512, 4096, 8L << 20), new GemmBlocking(192, 512, 4096, 16L << 20), new GemmBlocking(384, 384, 4096) })
            {
                var b = blk;
                string bs = $"MC{b.Mc} KC{b.Kc} NC{b.Nc} B{b.BBytes >> 20}M";
                list.Add(($"v{i++} 8x32  {bs}", (g, t) => Sgemm.Execute<V512Ops, Vector512<float>, Rows8>(g, t, b)));
            }
        }
        return list.ToArray();
    }

    public static int Run(string[] args)
    {
        int At(int i, int d) => args.Length > i && char.IsDigit(args[i][0]) ? int.Parse(args[i], CultureInfo.InvariantCulture) : d;
        int m = At(0, 1024), k = At(1, 1024), n = At(2, 1024), threads = At(3, 1), reps = At(4, 15);
        float* a = Alloc((long)m * k), b = Alloc((long)k * n), c = Alloc((long)m * n), want = Alloc((long)m * n);
        // `tn`, `nt`, `tt` pick transposes (A stored (k,m) / B stored (n,k)); same buffers, other leading dimensions.
        bool ta = args.Contains("tn") || args.Contains("tt"), tb = args.Contains("nt") || args.Contains("tt");
        int lda = ta ? m : k, ldb = tb ? k : n;
        var g = new GemmArgs(ta, tb, m, n, k, 1f, a, lda, b, ldb, 0f, c, n);
        Sgemm.Run(ta, tb, m, n, k, 1f, a, lda, b, ldb, 0f, want, n, 1);
        var proc = Process.GetCurrentProcess();
        double flop = 2.0 * m * n * k;
        Console.WriteLine($"m{m} k{k} n{n} tA={ta} tB={tb} threads {threads}: GFLOP/s best / median / per-CPU-second");
        bool all = args.Contains("all");
        foreach (var (name, run) in all ? Variants() : Variants()[..1])
        {
            run(g, threads);
            double err = 0;
            for (long i = 0; i < (long)m * n; i++) err = Math.Max(err, Math.Abs(c[i] - want[i]) / (1 + Math.Abs(want[i])));
            var times = new List<double>();
            double cpu = 0;
            for (int r = 0; r < reps + 2; r++)
            {
                proc.Refresh();
                var c0 = proc.TotalProcessorTime;
                long t0 = Stopwatch.GetTimestamp();
                run(g, threads);
                double dt = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                proc.Refresh();
                if (r < 2) continue; // warm-up
                times.Add(dt);
                cpu += (proc.TotalProcessorTime - c0).TotalSeconds;
            }
            times.Sort();
            Console.WriteLine(FormattableString.Invariant(
                $"  {name,-34} {flop / times[0] / 1e9,7:F1} {flop / times[times.Count / 2] / 1e9,7:F1} {flop * reps / cpu / 1e9,7:F1}   {(err < 1e-3 ? "ok" : $"WRONG (rel err {err:G3})")}"));
        }
        NativeMemory.AlignedFree(a); NativeMemory.AlignedFree(b); NativeMemory.AlignedFree(c); NativeMemory.AlignedFree(want);
        return 0;
    }

    static float* Alloc(long count)
    {
        var p = (float*)NativeMemory.AlignedAlloc((nuint)(count * sizeof(float)), 64);
        for (long i = 0; i < count; i++) p[i] = (float)((i * 7919 % 1000) / 1000.0 - 0.5);
        return p;
    }
}

/// <summary>`lab gemmpack [m k]`: time of packing an (m,k) row-major A (transposing gather) and a (k,m) B (row copy).</summary>
public static unsafe class GemmPackLab
{
    public static int Run(string[] args)
    {
        int m = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1024;
        int k = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1024;
        float* src = (float*)NativeMemory.AlignedAlloc((nuint)((long)m * k * 4), 64);
        float* dst = (float*)NativeMemory.AlignedAlloc((nuint)((long)(m + 32) * 256 * 4), 64);
        for (long i = 0; i < (long)m * k; i++) src[i] = i;
        foreach (var (name, lanes, gather) in new[] { ("A gather MR=14", 14, true), ("B copy NR=32", 32, false) })
        {
            double best = double.MaxValue;
            for (int r = 0; r < 20; r++)
            {
                long t0 = Stopwatch.GetTimestamp();
                for (int pc = 0; pc < k; pc += 256)
                    if (gather) GemmPack.Block(dst, src + pc, m, Math.Min(256, k - pc), k, 1, lanes);
                    else GemmPack.Block(dst, src + (long)pc * m, m, Math.Min(256, k - pc), 1, m, lanes);
                best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalSeconds);
            }
            Console.WriteLine(FormattableString.Invariant($"{name}: {best * 1e3:F3} ms for {m}x{k} ({(double)m * k * 4 / best / 1e9:F2} GB/s)"));
        }
        return 0;
    }
}
