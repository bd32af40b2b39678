// Linear's forward with a bias as one cuBLASLt GEMM: y (rows, out) = x (rows, in) W^T + 1 b^T, the bias added in the
// GEMM's epilogue (CUBLASLT_EPILOGUE_BIAS), as PyTorch's nn.Linear does on CUDA (at::cuda::blas::gemm_and_bias). The
// rank-1 path it replaces writes y once for the bias and the main GEMM reads and writes it again (one more launch and
// 2 x rows x out x 4 bytes of traffic). Per device: cuBLASLt is probed once (a failed load means every call falls
// back); per shape (and TF32 flag and pointer alignments): descriptors, layouts and the heuristic's algorithm are made
// once and kept, or the shape is marked "fall back" once when the heuristic has no algorithm for it.
//
// Column-major mapping (see CudaGemm): row-major y = x W^T is column-major D (out, rows) = op(A) B with A = W stored
// (in, out) and op T, B = x stored (in, rows), op N; the bias (out) runs along D's rows, which is what the epilogue
// broadcasts ("bias vector length must match matrix D rows").
namespace Cochlea.Cuda.Cublas;

/// <summary>The shape a Linear-with-bias plan is made for: sizes, TF32 and the alignment (bytes, capped at 256) of each pointer.</summary>
internal readonly record struct LinearLtKey(int Rows, int Out, int In, bool Tf32, int AlignX, int AlignW, int AlignY, int AlignBias)
{
    /// <summary>The largest power of two (at most 256) dividing <paramref name="ptr"/>: cuBLASLt's heuristic assumes 256-byte aligned operands unless told less.</summary>
    internal static int Alignment(ulong ptr)
    {
        int a = 256;
        while (a > 1 && ptr % (ulong)a != 0) a >>= 1;
        return a;
    }
}

/// <summary>One shape's cuBLASLt objects and chosen algorithm (kept while among the <see cref="CudaOptions.CudnnCacheCapacity"/> most recent shapes).</summary>
internal sealed class LinearLtPlan(CublasLtObject desc, CublasLtObject a, CublasLtObject b, CublasLtObject c, CublasLtMatmulAlgo algo, long workspaceBytes) : IDisposable
{
    internal readonly CublasLtObject Desc = desc, A = a, B = b, C = c;
    internal CublasLtMatmulAlgo Algo = algo;
    internal readonly long WorkspaceBytes = workspaceBytes;

    /// <inheritdoc/>
    public void Dispose() { Desc.Dispose(); A.Dispose(); B.Dispose(); C.Dispose(); }
}

/// <summary>Per-device cuBLASLt state for Linear's bias epilogue: the handle, the per-shape plans and call counters.</summary>
internal sealed unsafe class CudaLinearLt(CudaDevice device)
{
    /// <summary>Most workspace a plan may ask for: PyTorch's CUBLASLT_WORKSPACE_SIZE default on Hopper (32 MiB); taken from the device's shared workspace only when an algorithm needs it.</summary>
    internal const long MaxWorkspaceBytes = 32L << 20;

    /// <summary>
    /// Whether a Linear of this size may take the epilogue: every dimension above 1 and below 65535 x 32. PyTorch's addmm
    /// takes cublasLt only for a weight of more than one row and column (cuBLASLt's heuristic has answered INVALID_VALUE
    /// for a single one) and sizes below 65535 x 32; one row is our own caution. Such Linears are tiny: rank-1 path.
    /// </summary>
    internal static bool Eligible(int rows, int outF, int inF)
    {
        const int Limit = 65535 * 32;
        return rows is > 1 and < Limit && outF is > 1 and < Limit && inF is > 1 and < Limit;
    }

    /// <summary>Tests only: when set, the probe acts as if libcublasLt failed to load with this message (takes effect after <see cref="Reset"/>).</summary>
    internal static string? SimulateMissingLibrary;

    readonly object _gate = new();
    readonly LruCache<LinearLtKey, Decision> _plans = new();   // bounded like the cuDNN caches (same capacity)
    CublasLtObject? _handle;
    string? _unavailable;
    bool _probed;
    long _ltCalls, _fallbackCalls;
    ulong _planBias;
    Func<LinearLtKey, Decision>? _make;

    /// <summary>Calls run as one cublasLtMatmul so far, and calls with a bias that took the rank-1 path (tests see which path ran).</summary>
    internal (long Lt, long Fallback) Calls { get { lock (_gate) return (_ltCalls, _fallbackCalls); } }

    /// <summary>Why cuBLASLt is not used on this device (null when it loaded, or before the first Linear with a bias).</summary>
    internal string? UnavailableReason { get { lock (_gate) return _unavailable; } }

    /// <summary>Shapes planned so far (a fall-back shape counts: it was decided once).</summary>
    internal int PlanCount => _plans.Statistics.Count;

    // A shape's plan, or null when the shape falls back (decided once, kept as its own entry).
    sealed class Decision(LinearLtPlan? plan) : IDisposable
    {
        public readonly LinearLtPlan? Plan = plan;
        public void Dispose() => Plan?.Dispose();
    }

    /// <summary>Forgets the probe and every plan (tests: after changing <see cref="SimulateMissingLibrary"/>).</summary>
    internal void Reset()
    {
        lock (_gate)
        {
            _plans.Clear();
            _handle?.Dispose();
            _handle = null; _probed = false; _unavailable = null;
        }
    }

    /// <summary>
    /// y (rows, out) = x (rows, in) W^T + b on the device's stream as one cublasLtMatmul; false (nothing done) when the
    /// option is Off, cuBLASLt is unavailable or has no algorithm for this shape - the caller then runs the rank-1 path.
    /// All operands contiguous row-major; rows, out and in are positive.
    /// </summary>
    internal bool TryRun(int rows, int outF, int inF, ulong x, ulong w, ulong bias, ulong y)
    {
        lock (_gate)
        {
            if (CudaOptions.LinearBiasEpilogue == LinearBiasEpilogue.Off || !Probe()) { _fallbackCalls++; return false; }
            var key = new LinearLtKey(rows, outF, inF, CudaOptions.AllowTf32,
                LinearLtKey.Alignment(x), LinearLtKey.Alignment(w), LinearLtKey.Alignment(y), LinearLtKey.Alignment(bias));
            _planBias = bias;   // read by a miss's MakePlan (under _gate): a cached delegate, so a hit allocates nothing
            using var lease = _plans.Get(key, CudaOptions.CudnnCacheCapacity, _make ??= k => new Decision(MakePlan(k, _planBias)));
            var plan = lease.Value.Plan;
            if (plan is null) { _fallbackCalls++; return false; }
            // The bias pointer is a descriptor attribute: set per call (host-side only), as PyTorch does.
            plan.Desc.Set(CublasLtMatmulDescAttribute.BiasPointer, bias);
            ulong ws = plan.WorkspaceBytes > 0 ? device.Workspace(plan.WorkspaceBytes) : 0;
            float alpha = 1f, beta = 0f;
            fixed (CublasLtMatmulAlgo* algo = &plan.Algo)
                Cublas.Check(CublasLtNative.Matmul(_handle!.Raw, plan.Desc.Raw, &alpha, w, plan.A.Raw, x, plan.B.Raw, &beta, y, plan.C.Raw, y, plan.C.Raw,
                    algo, ws, (nuint)plan.WorkspaceBytes, device.Stream), $"cublasLtMatmul(linear rows={rows}, in={inF}, out={outF}, epilogue=BIAS)");
            _ltCalls++;
            return true;
        }
    }

    // Loads libcublasLt and creates the handle once; a failure is kept as the reason and every later call falls back.
    bool Probe()
    {
        if (_probed) return _handle is not null;
        _probed = true;
        try
        {
            if (SimulateMissingLibrary is { } why) throw new CudaException(why);
            CudaLibraries.Require("cublasLt");
            _handle = CublasLtObject.CreateHandle();
        }
        catch (Exception e) when (e is CudaException or DllNotFoundException or EntryPointNotFoundException)
        {
            _unavailable = $"cuBLASLt unavailable, Linear's bias runs as a rank-1 cuBLAS GEMM: {e.Message}";
        }
        return _handle is not null;
    }

    // Descriptors, layouts and the heuristic's first algorithm for one shape; null when the heuristic has none. The
    // first call's bias pointer is set before the heuristic (as PyTorch's gemm_and_bias has it), then per call.
    LinearLtPlan? MakePlan(in LinearLtKey k, ulong bias)
    {
        // The bias has no alignment preference; an epilogue reading it as float4 could need 16 bytes, so a less aligned bias falls back.
        if (k.AlignBias < 16) return null;
        CublasLtObject? desc = null, a = null, b = null, c = null;
        try
        {
            desc = CublasLtObject.CreateMatmulDesc(k.Tf32 ? CublasComputeType.Compute32FFastTf32 : CublasComputeType.Compute32F);
            desc.Set(CublasLtMatmulDescAttribute.TransA, (int)CublasOperation.T);
            desc.Set(CublasLtMatmulDescAttribute.TransB, (int)CublasOperation.N);
            desc.Set(CublasLtMatmulDescAttribute.Epilogue, (uint)CublasLtEpilogue.Bias);
            desc.Set(CublasLtMatmulDescAttribute.BiasPointer, bias);
            a = CublasLtObject.CreateLayout(k.In, k.Out, k.In);     // W (out, in) row-major = (in, out) column-major
            b = CublasLtObject.CreateLayout(k.In, k.Rows, k.In);    // x (rows, in) row-major = (in, rows) column-major
            c = CublasLtObject.CreateLayout(k.Out, k.Rows, k.Out);  // y (rows, out) row-major = (out, rows) column-major
            using var pref = CublasLtObject.CreatePreference();
            pref.Set(CublasLtPreferenceAttribute.MaxWorkspaceBytes, (ulong)MaxWorkspaceBytes);
            pref.Set(CublasLtPreferenceAttribute.MinAlignmentABytes, (uint)k.AlignW);
            pref.Set(CublasLtPreferenceAttribute.MinAlignmentBBytes, (uint)k.AlignX);
            pref.Set(CublasLtPreferenceAttribute.MinAlignmentCBytes, (uint)k.AlignY);
            pref.Set(CublasLtPreferenceAttribute.MinAlignmentDBytes, (uint)k.AlignY);
            CublasLtHeuristicResult result;
            int found = 0;
            var status = CublasLtNative.AlgoGetHeuristic(_handle!.Raw, desc.Raw, a.Raw, b.Raw, c.Raw, c.Raw, pref.Raw, 1, &result, &found);
            // NOT_SUPPORTED or no algorithm: this shape falls back (decided here, once); any other error is a bug to report.
            if (status != CublasStatus.NotSupported)
                Cublas.Check(status, $"cublasLtMatmulAlgoGetHeuristic(linear rows={k.Rows}, in={k.In}, out={k.Out}, epilogue=BIAS)");
            if (status == CublasStatus.NotSupported || found == 0 || result.State != CublasStatus.Success)
            {
                DisposeAll();
                return null;
            }
            return new LinearLtPlan(desc, a, b, c, result.Algo, (long)result.WorkspaceSize);
        }
        catch { DisposeAll(); throw; }   // a failed call leaves no descriptor to the finalizer

        void DisposeAll() { desc?.Dispose(); a?.Dispose(); b?.Dispose(); c?.Dispose(); }
    }
}
