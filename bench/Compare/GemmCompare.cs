// `compare gemm`: Cochlea's Sgemm vs OpenBLAS cblas_sgemm (row-major, no transposes) on square sizes
// and the DeepSpeech layer shapes, at 1 and 2 threads, in GFLOP/s (2*m*n*k / median time).
using System.Runtime.InteropServices;
using Cochlea.Kernels.Gemm;

namespace Cochlea.Bench.Compare;

public sealed unsafe class GemmCompare : ICompareSuite
{
    public string Name => "gemm";
    public string Description => "Sgemm vs OpenBLAS cblas_sgemm, GFLOP/s";

    /// <summary>(label, m, k, n): label says which dimension is which.</summary>
    static readonly (string Label, int M, int K, int N)[] Shapes =
    [
        ("sgemm 1024^3", 1024, 1024, 1024),
        ("sgemm 2048^3", 2048, 2048, 2048),
        ("sgemm m64 k1127 n1024 (DeepSpeech)", 64, 1127, 1024),
        ("sgemm m512 k2048 n2048 (DeepSpeech)", 512, 2048, 2048),
        ("sgemm m1 k2048 n2048 (DeepSpeech)", 1, 2048, 2048),
    ];

    public IEnumerable<CompareResult> Run()
    {
        bool have = OpenBlas.Available;
        string anchorName = have
            ? $"openblas cblas_sgemm ({OpenBlas.LoadedName}, OPENBLAS_CORETYPE={Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE")})"
            : "openblas (not installed: apt-get install libopenblas-dev)";
        foreach (var (label, m, k, n) in Shapes)
            foreach (int threads in new[] { 1, 2 })
                yield return Measure(label, m, k, n, threads, have, anchorName);
    }

    static CompareResult Measure(string label, int m, int k, int n, int threads, bool have, string anchorName)
    {
        float* a = Alloc((long)m * k, 1), b = Alloc((long)k * n, 2), c = Alloc((long)m * n, 3);
        try
        {
            Action ours = () => Sgemm.Run(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n, threads);
            Action? anchor = null;
            if (have)
            {
                OpenBlas.SetThreads(threads);
                anchor = () => OpenBlas.Sgemm(OpenBlas.RowMajor, OpenBlas.NoTrans, OpenBlas.NoTrans, m, n, k, 1f, a, k, b, n, 0f, c, n);
            }
            var (t, ta) = Timing.Alternate(ours, anchor);
            double flop = 2.0 * m * n * k;
            return new CompareResult(label, threads, flop / t / 1e9, ta is double x ? flop / x / 1e9 : null, "GFLOP/s", anchorName, true);
        }
        finally
        {
            NativeMemory.AlignedFree(a); NativeMemory.AlignedFree(b); NativeMemory.AlignedFree(c);
        }
    }

    static float* Alloc(long count, int seed)
    {
        var p = (float*)NativeMemory.AlignedAlloc((nuint)(count * sizeof(float)), 64);
        var rng = new Random(seed);
        for (long i = 0; i < count; i++) p[i] = (float)(rng.NextDouble() * 2 - 1);
        return p;
    }
}
