// `compare gpu-gemm`: fp32 GEMM throughput on cuda:0 (TF32 off on every side), in TFLOP/s (2 m n k per call):
//   ours    Ops.Matmul on CUDA tensors (the op: shape checks, output from the caching allocator, cuBLAS)
//   raw     one cublasSgemm_v2 through the engine's bindings into a preallocated output (the floor of what ours can do)
//   torch   torch.mm on the same GPU in a python3 subprocess, timed there with torch.cuda.Event
// Then Linear's forward with a bias (y = x W^T + b) at DeepSpeechKws's shapes (B = 64: 3008 rows = 64 x 47 stacked
// frames; the last two layers on 64 rows), TFLOP/s of the GEMM (2 rows in out per call):
//   lt      Ops.Linear with CudaOptions.LinearBiasEpilogue = Auto: one cublasLtMatmul with the bias epilogue
//   rank1   Ops.Linear with LinearBiasEpilogue = Off: bias as a rank-1 cuBLAS GEMM, then the main GEMM with beta 1
//   torch   torch.nn.functional.linear on the same GPU (cublasLt gemm_and_bias in PyTorch), torch.cuda.Event
// so a GPU session can see where the epilogue pays. Rows: lt vs torch, lt vs rank1 (rank1 as the anchor), rank1 vs torch.
// Each side is timed with CUDA events over enough calls for ~50 ms; sides alternate (Timing.Alternate).
using Cochlea.Cuda;
using Cochlea.Cuda.Cublas;

namespace Cochlea.Bench.Compare;

public sealed class GpuGemmCompare : ICompareSuite
{
    public string Name => "gpu-gemm";
    public string Description => "fp32 GEMM on cuda:0: Ops.Matmul vs raw cublasSgemm vs torch.mm; Linear+bias: Lt epilogue vs rank-1 vs F.linear; TFLOP/s";

    static readonly (int M, int K, int N)[] Sizes = [(4096, 4096, 4096), (2048, 2048, 2048), (1024, 1024, 1024), (512, 512, 512), (64, 4096, 4096), (4096, 64, 4096)];
    // COCHLEA_BENCH_SMOKE=1 (GpuBench.Smoke): the same shapes' kinds at sizes the host emulator runs in seconds.
    static readonly (int M, int K, int N)[] SmokeSizes = [(256, 256, 256), (64, 256, 256), (256, 64, 256)];

    // Linear (rows, in, out) of DeepSpeechKws at batch 64: the three time-distributed dense layers (on 64 x 47 frames),
    // then the dense after the recurrence and the classifier on the 64 last outputs (21 classes).
    static readonly (int Rows, int In, int Out)[] LinearSizes = [(3008, 1127, 1024), (3008, 1024, 2048), (3008, 2048, 2048), (64, 1024, 2048), (64, 2048, 21)];
    static readonly (int Rows, int In, int Out)[] SmokeLinearSizes = [(47, 113, 64), (4, 128, 21)];

    const string Script = """
        import sys
        try:
            import torch
            import torch.nn.functional as F
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
                fn = lambda: torch.mm(a, b)
            elif w[0] == "setuplin":
                rows, fin, fout, reps = map(int, w[1:5])
                x = torch.randn(rows, fin, device="cuda"); wt = torch.randn(fout, fin, device="cuda"); bias = torch.randn(fout, device="cuda")
                fn = lambda: F.linear(x, wt, bias)
            elif w[0] == "run":
                fn, reps = st["fn"], st["reps"]
                s = torch.cuda.Event(enable_timing=True); e = torch.cuda.Event(enable_timing=True)
                s.record()
                for _ in range(reps): fn()
                e.record(); e.synchronize()
                print(repr(s.elapsed_time(e) / 1e3 / reps), flush=True)
                continue
            else:
                break
            with torch.no_grad():
                for _ in range(3): fn()
            torch.cuda.synchronize()
            st.update(fn=fn, reps=reps)
            print("ready", flush=True)
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
        foreach (var r in LinearRows(dev, torch, smoke)) yield return r;
    }

    // Linear with a bias: the epilogue (Lt) against the rank-1 path and F.linear; the option is restored afterwards.
    static IEnumerable<CompareResult> LinearRows(CudaDevice dev, PythonAnchor? torch, bool smoke)
    {
        var saved = CudaOptions.LinearBiasEpilogue;
        try
        {
            foreach (var (rows, inF, outF) in smoke ? SmokeLinearSizes : LinearSizes)
            {
                double flop = 2.0 * rows * inF * outF;
                int reps = smoke ? 2 : (int)Math.Clamp(2.5e12 / flop, 5, 2000);
                var rng = new Random(rows + inF + outF);
                using var x = Tensor.Randn(rng, 1f, rows, inF).To(dev.Device);
                using var w = Tensor.Randn(rng, 1f, outF, inF).To(dev.Device);
                using var b = Tensor.Randn(rng, 1f, outF).To(dev.Device);
                double Side(LinearBiasEpilogue mode) => GpuBench.EventSeconds(dev, reps, () =>
                {
                    CudaOptions.LinearBiasEpilogue = mode;
                    using var scope = Tensor.Scope();
                    using var _ = Tensor.NoGrad();
                    Ops.Linear(x, w, b);
                });
                double Lt() => Side(LinearBiasEpilogue.Auto);
                double Rank1() => Side(LinearBiasEpilogue.Off);
                long ltBefore = dev.LinearLt.Calls.Lt;
                bool anchored = torch is not null && torch.Ask($"setuplin {rows} {inF} {outF} {reps}").StartsWith("ready", StringComparison.Ordinal);
                var (budget, minReps, maxReps, warmup) = smoke ? (0.0, 2, 2, 1) : (3.0, 5, 25, 2);
                var (lt, anchor) = Timing.Alternate(Lt, anchored ? torch!.RunOnce : null, budget, minReps, maxReps, warmup);
                var (lt2, rank1) = Timing.Alternate(Lt, Rank1, budget, minReps, maxReps, warmup);
                var (rank1b, anchor2) = Timing.Alternate(Rank1, anchored ? torch!.RunOnce : null, budget, minReps, maxReps, warmup);
                // Auto falls back where cuBLASLt does not load or has no algorithm: then "lt" is the rank-1 path, and says so.
                string ltName = dev.LinearLt.Calls.Lt > ltBefore ? "Lt epilogue" : $"Lt fell back ({dev.LinearLt.UnavailableReason ?? "no algorithm for the shape"})";
                string label = $"linear+bias {rows}x{inF}->{outF} cuda:0";
                string torchName = anchored ? $"torch {torch!.Version} F.linear fp32 (allow_tf32=False), CUDA events" : "F.linear (not available: python3 with CUDA torch)";
                yield return new CompareResult($"{label} {ltName} vs torch F.linear", 0, flop / lt / 1e12, anchored ? flop / anchor!.Value / 1e12 : null, "TFLOP/s", torchName, true);
                yield return new CompareResult($"{label} {ltName} vs rank-1 bias", 0, flop / lt2 / 1e12, flop / rank1!.Value / 1e12, "TFLOP/s",
                    "Ops.Linear with COCHLEA_CUDA_LT=off (rank-1 bias GEMM + main GEMM, beta 1), CUDA events", true);
                yield return new CompareResult($"{label} rank-1 bias vs torch F.linear", 0, flop / rank1b / 1e12, anchored ? flop / anchor2!.Value / 1e12 : null, "TFLOP/s", torchName, true);
            }
        }
        finally { CudaOptions.LinearBiasEpilogue = saved; }
    }
}
