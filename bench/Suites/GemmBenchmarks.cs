// BenchmarkDotNet suite for Sgemm: square sizes and the DeepSpeech layer shapes, per SIMD path and
// thread count. Run: dotnet run -c Release --project bench -- --filter '*Gemm*'
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Cochlea.Kernels;
using Cochlea.Kernels.Gemm;

namespace Cochlea.Bench.Suites;

[MemoryDiagnoser]
public unsafe class GemmBenchmarks
{
    float* _a, _b, _c;

    /// <summary>"m x k x n".</summary>
    [Params("256x256x256", "1024x1024x1024", "64x1127x1024", "512x2048x2048", "1x2048x2048")]
    public string Shape { get; set; } = "";

    [Params(1, 2)]
    public int Threads { get; set; }

    [ParamsSource(nameof(Paths))]
    public SimdWidth Path { get; set; }

    public static IEnumerable<SimdWidth> Paths => Simd.Available.Where(w => w != SimdWidth.Scalar);

    int M => int.Parse(Shape.Split('x')[0]);
    int K => int.Parse(Shape.Split('x')[1]);
    int N => int.Parse(Shape.Split('x')[2]);

    [GlobalSetup]
    public void Setup()
    {
        _a = Alloc((long)M * K); _b = Alloc((long)K * N); _c = Alloc((long)M * N);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        NativeMemory.AlignedFree(_a); NativeMemory.AlignedFree(_b); NativeMemory.AlignedFree(_c);
    }

    /// <summary>C = A * B, row-major, no transposes.</summary>
    [Benchmark]
    public void Sgemm_NN() => Sgemm.Run(false, false, M, N, K, 1f, _a, K, _b, N, 0f, _c, N, Path, Threads);

    /// <summary>C = A * B^T (the dense-layer forward with PyTorch's (out, in) weight layout).</summary>
    [Benchmark]
    public void Sgemm_NT() => Sgemm.Run(false, true, M, N, K, 1f, _a, K, _b, K, 0f, _c, N, Path, Threads);

    static float* Alloc(long count)
    {
        var p = (float*)NativeMemory.AlignedAlloc((nuint)(count * sizeof(float)), 64);
        var rng = new Random(1);
        for (long i = 0; i < count; i++) p[i] = (float)(rng.NextDouble() - 0.5);
        return p;
    }
}
