// `compare gpu-gemm`: fp32 GEMM throughput on cuda:0 (TF32 off on every side), in TFLOP/s (2 m n k per call):
//   ours    Ops.Matmul on CUDA tensors (the op: shape checks, output from the caching allocator, cuBLAS)
//   raw     one cublasSgemm_v2 through the engine's bindings into a preallocated output (the floor of what ours can do)
//   torch   torch.mm on the same GPU in a python3 subprocess, timed there with torch.cuda.Event
// Each side is timed with CUDA events over enough calls for ~50 ms; sides alternate (Timing.Alternate).
using Cochlea.Cuda;
using Cochlea.Cuda.Cublas;

namespace Cochlea.Bench.Compare;

public sealed class GpuGemmCompare : ICompareSuite
{
    public string Name => "gpu-gemm";
    public string Description => "fp32 GEMM on cuda:0: Ops.Matmul vs raw cublasSgemm vs torch.mm, TFLOP/s";

    static readonly (int M, int K, int N)[] Sizes = [(4096, 4096, 4096), (2048, 2048, 2048), (1024, 1024, 1024), (512, 512, 512), (64, 4096, 4096), (4096, 64, 4096)];
    // COCHLEA_BENCH_SMOKE=1 (GpuBench.Smoke): the same shapes' kinds at sizes the host emulator runs in seconds.
    static readonly (int M, int K, int N)[] SmokeSizes = [(256, 256, 256), (64, 256, 256), (256, 64, 256)];

    const string Script = """
        import sys
        try:
            import torch
            assert torch.cuda.is_available(), "torch sees no CUDA device"
        except Exception as e:
            print("notorch", repr(e), flush=True); sys.exit(0)
        print("ok", torch.__version__, flush=True)
        torch.backends.cuda.matmul.allow_tf32 = False
        st = {}
        for line in sys.stdin:
            w = line.split()
            if not w: continue
            if w[0] == "setup":
                m, k, n, reps = map(int, w[1:5])
                a = torch.randn(m, k, device="cuda"); b = torch.randn(k, n, device="cuda")
                for _ in range(3): torch.mm(a, b)
                torch.cuda.synchronize()
                st.update(a=a, b=b, reps=reps)
                print("ready", flush=True)
            elif w[0] == "run":
                a, b, reps = st["a"], st["b"], st["reps"]
                s = torch.cuda.Event(enable_timing=True); e = torch.cuda.Event(enable_timing=True)
                s.record()
                for _ in range(reps): torch.mm(a, b)
                e.record(); e.synchronize()
                print(repr(s.elapsed_time(e) / 1e3 / reps), flush=True)
            else:
                break
        """;

    public IEnumerable<CompareResult> Run()
    {
        var dev = GpuBench.RequireGpu("compare gpu-gemm");
        CudaOptions.AllowTf32 = false;
        using var torch = PythonAnchor.Start("compare gpu-gemm", Script);
        bool smoke = GpuBench.Smoke;
        foreach (var (m, k, n) in smoke ? SmokeSizes : Sizes)
        {
            double flop = 2.0 * m * n * k;
            int reps = smoke ? 2 : (int)Math.Clamp(2.5e12 / flop, 5, 2000);   // ~50 ms at 50 TFLOP/s
            var rng = new Random(m + k + n);
            using var a = Tensor.Randn(rng, 1f, m, k).To(dev.Device);
            using var b = Tensor.Randn(rng, 1f, k, n).To(dev.Device);
            using var c = Tensor.Empty([m, n], DType.Float32, dev.Device);
            double Ours() => GpuBench.EventSeconds(dev, reps, () =>
            {
                using var scope = Tensor.Scope();
                using var _ = Tensor.NoGrad();
                Ops.Matmul(a, b);
            });
            double Raw() => GpuBench.EventSeconds(dev, reps, () =>
                CudaGemm.Run(dev, false, false, m, n, k, 1f, a.DevicePtr, k, b.DevicePtr, n, 0f, c.DevicePtr, n));
            bool anchored = torch is not null && torch.Setup($"{m} {k} {n} {reps}");
            var (budget, minReps, maxReps, warmup) = smoke ? (0.0, 2, 2, 1) : (3.0, 5, 25, 2);
            var (ours, anchor) = Timing.Alternate(Ours, anchored ? torch!.RunOnce : null, budget, minReps, maxReps, warmup);
            var (ours2, raw) = Timing.Alternate(Ours, Raw, budget, minReps, maxReps, warmup);
            string label = $"sgemm {m}x{k}x{n} cuda:0";
            yield return new CompareResult($"{label} vs torch.mm", 0, flop / ours / 1e12, anchored ? flop / anchor!.Value / 1e12 : null, "TFLOP/s",
                anchored ? $"torch {torch!.Version} torch.mm fp32 (allow_tf32=False), CUDA events" : "torch.mm (not available: python3 with CUDA torch)", true);
            yield return new CompareResult($"{label} vs raw cublasSgemm", 0, flop / ours2 / 1e12, flop / raw!.Value / 1e12, "TFLOP/s",
                "cublasSgemm_v2 via Cochlea.Cuda.Cublas, preallocated C, CUDA events", true);
        }
    }
}
