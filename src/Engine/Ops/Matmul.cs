// matmul (batched, broadcasting batch dims, 1-d operands as in torch.matmul) and linear.
// Both go straight to Sgemm: a transposed operand is passed as a transpose flag with its
// leading dimension instead of being copied.
using Cochlea.Autograd;
using Cochlea.Kernels.Gemm;
using Cochlea.Kernels.Threading;
using Cochlea.Memory;

namespace Cochlea;

public static unsafe partial class Ops
{
    /// <summary>Matrix product with torch.matmul semantics: (..., m, k) @ (..., k, n) -> (..., m, n); 1-d operands are promoted and the added dim removed.</summary>
    public static Tensor Matmul(Tensor a, Tensor b) => Matmul(a, b, null);

    /// <summary>
    /// <see cref="Matmul(Tensor, Tensor)"/>; on the CPU, when b is a matrix (k, n), <paramref name="packedB"/> (not output-major) supplies it already
    /// packed for the GEMM, repacked only when b changed (eval-mode layers); the backward pass reads b itself.
    /// </summary>
    public static Tensor Matmul(Tensor a, Tensor b, PackedWeightCache? packedB)
    {
        if (packedB is not null && packedB.OutputMajor)
            throw new ArgumentException($"matmul: the packed cache for b {b.Describe()} must be input-major (k, n), not output-major.", nameof(packedB));
        RequireFloat(a, "matmul"); RequireFloat(b, "matmul");
        if (a.Rank == 0 || b.Rank == 0) throw new ArgumentException($"matmul: scalars are not matrices ({a.Describe()}, {b.Describe()}); use Mul.");
        if (a.Rank == 1 || b.Rank == 1)
        {
            var a2 = a.Rank == 1 ? a.Unsqueeze(0) : a;
            var b2 = b.Rank == 1 ? b.Unsqueeze(-1) : b;
            var y2 = Matmul(a2, b2);
            var y = y2;
            if (a.Rank == 1) y = y.Squeeze(-2);
            if (b.Rank == 1) y = y.Squeeze(-1);
            return y;
        }
        int m = a.Size(-2), k = a.Size(-1), n = b.Size(-1);
        if (b.Size(-2) != k)
            throw new ArgumentException($"matmul: inner dimensions differ: {a.Describe()} @ {b.Describe()} ({k} vs {b.Size(-2)}).");
        if (b.Rank == 2 && a.Rank > 2 && a.IsContiguous)
        {
            // (..., m, k) @ (k, n) is ONE (rows, k) @ (k, n) GEMM: as a batch of (m, k) GEMMs it re-packed b for
            // every batch matrix, and b's gradient summed a (batch, k, n) stack (DeepSpeechKws' shared RNN input
            // kernel: 64 x 8 MB). Every element of y is the same dot product in the same order either way.
            var lead = a.ShapeArray[..^1];
            var flat = Matmul(a.Reshape(-1, k), b, packedB);
            return flat.Reshape([.. lead, n]);
        }
        var batch = BroadcastShape(a.Shape[..^2], b.Shape[..^2], "matmul");
        var y3 = MatmulRaw(a, b, batch, m, k, n, b.Rank == 2 ? packedB : null);
        int[] sa = a.ShapeArray, sb = b.ShapeArray;
        return BackwardPass.Record(y3, "matmul", [a, b], g =>
        {
            Tensor? da = null, db = null;
            using var ng = new NoGradScope();
            if (a.RequiresGrad)
            {
                using var bt = b.Transpose(-1, -2);
                using var full = MatmulRaw(g, bt, batch, m, n, k);
                da = SumTo(full, sa);
            }
            if (b.RequiresGrad)
            {
                using var at = a.Transpose(-1, -2);
                using var full = MatmulRaw(at, g, batch, k, m, n);
                db = SumTo(full, sb);
            }
            return [da, db];
        });
    }

    // (batch..., m, k) x (batch..., k, n) -> (batch..., m, n); a and b broadcast over batch.
    // packedB: b (k, n) packed (only used for one row-major a).
    static Tensor MatmulRaw(Tensor a, Tensor b, int[] batch, int m, int k, int n, PackedWeightCache? packedB = null)
    {
        if (!a.Device.IsCpu || !b.Device.IsCpu) return MatmulCuda(a, b, batch, m, k, n);
        var yShape = batch.Append(m).Append(n).ToArray();
        var y = Tensor.Empty(yShape);
        int nb = 1; foreach (var s in batch) nb *= s;
        if (nb == 0 || m == 0 || n == 0) return y;
        using var ng = new NoGradScope();
        using var ea = a.Expand(batch.Append(m).Append(k).ToArray());
        using var eb = b.Expand(batch.Append(k).Append(n).ToArray());
        var (pa, ta, lda, stA, ca) = GemmOperand(ea);
        if (packedB is not null && nb == 1 && !ta && k > 0)
        {
            using var packed = packedB.Acquire(b);
            try { packed.Value.Run(m, 1f, (float*)pa, lda, 0f, y.DataPtr, n, KernelThreads.Count); }
            finally { ca?.Dispose(); }
            return y;
        }
        var (pb, tb, ldb, stB, cb) = GemmOperand(eb);
        try
        {
            Sgemm.RunBatched(ta, tb, m, n, k, 1f, (float*)pa, lda, stA, (float*)pb, ldb, stB, 0f, y.DataPtr, n, (long)m * n, nb);
        }
        finally { ca?.Dispose(); cb?.Dispose(); }
        return y;
    }

    // A matrix operand for Sgemm: row-major or column-major last two dims and one batch stride, else a contiguous copy.
    static (nint Ptr, bool Trans, int Ld, long BatchStride, Tensor? Copy) GemmOperand(Tensor t)
    {
        var (copy, trans, ld, bs) = GemmLayout(t);
        return ((nint)(copy ?? t).ReadDataPtr, trans, ld, bs, copy);   // GEMM operands are only read
    }

    // How a GEMM reads t's last two dims (on either device): in place when they are row- or column-major with one batch
    // stride, else from a contiguous copy (returned; the caller disposes it).
    static (Tensor? Copy, bool Trans, int Ld, long BatchStride) GemmLayout(Tensor t)
    {
        int r = t.Rank;
        long s0 = t.Strides[r - 2], s1 = t.Strides[r - 1];
        int rows = t.Shape[r - 2], cols = t.Shape[r - 1];
        bool rowMajor = s1 == 1 && s0 >= Math.Max(cols, 1);
        bool colMajor = !rowMajor && s0 == 1 && s1 >= Math.Max(rows, 1);
        long? bs = BatchStride(t);
        if ((rowMajor || colMajor) && bs is not null && (cols > 0 && rows > 0))
            return (null, colMajor, (int)(rowMajor ? s0 : s1), bs.Value);
        return (t.ContiguousRaw(), false, Math.Max(cols, 1), (long)rows * cols);
    }

    // The single stride that steps through all batch matrices in order, if one exists.
    static long? BatchStride(Tensor t)
    {
        int nb = t.Rank - 2;
        if (nb == 0) return 0;
        long stride = -1, expected = -1;
        for (int d = nb - 1; d >= 0; d--)
        {
            if (t.Shape[d] == 1) continue;
            if (stride < 0) { stride = t.Strides[d]; expected = stride * t.Shape[d]; continue; }
            if (t.Strides[d] != expected && !(t.Strides[d] == 0 && stride == 0)) return null;
            expected = t.Strides[d] * t.Shape[d];
        }
        return stride < 0 ? 0 : stride;
    }

    /// <summary>y = x W^T + b: x (..., in), weight (out, in), bias (out) or null -> (..., out). Layout of torch.nn.Linear.</summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null) => Linear(x, weight, bias, null);

    // (out, in) of a linear layer's weight, after checking x, weight and bias agree.
    static (int OutF, int InF) CheckLinear(Tensor x, Tensor weight, Tensor? bias)
    {
        RequireFloat(x, "linear"); RequireFloat(weight, "linear");
        if (weight.Rank != 2) throw new ArgumentException($"linear: weight must be (out, in), got {weight.Describe()}.");
        int outF = weight.Size(0), inF = weight.Size(1);
        if (x.Rank == 0 || x.Size(-1) != inF) throw new ArgumentException($"linear: input {x.Describe()} must end with {inF} features to match weight {weight.Describe()}.");
        if (bias is not null && (bias.Rank != 1 || bias.Size(0) != outF)) throw new ArgumentException($"linear: bias must be ({outF},), got {bias.Describe()}.");
        return (outF, inF);
    }

    /// <summary>
    /// relu(x W^T + b), or min(relu(x W^T + b), <paramref name="clip"/>) for a finite clip: <see cref="Relu"/> / <see cref="ReluClip"/> of
    /// <see cref="Linear(Tensor, Tensor, Tensor?)"/>, the same values. On the CPU, with a packed weight and nothing to record for
    /// backward (no grad, or no input requiring it), the bias and the activation run inside the GEMM on each thread's columns
    /// (PackedGemmB's epilogue: no separate passes over y); otherwise it is those two recorded ops.
    /// </summary>
    public static Tensor LinearRelu(Tensor x, Tensor weight, Tensor? bias, PackedWeightCache? packedWeight, float clip = float.PositiveInfinity)
    {
        if (!(clip > 0)) throw new ArgumentOutOfRangeException(nameof(clip), clip, "linear_relu: the clip value must be positive (+inf for a plain ReLU).");
        bool records = NoGradScope.IsGradEnabled && (x.RequiresGrad || weight.RequiresGrad || bias is { RequiresGrad: true });
        if (records || packedWeight is null || !x.Device.IsCpu || !weight.Device.IsCpu)
        {
            var lin = Linear(x, weight, bias, packedWeight);
            return float.IsPositiveInfinity(clip) ? Relu(lin) : ReluClip(lin, clip);
        }
        var (outF, inF) = CheckLinear(x, weight, bias);
        if (!packedWeight.OutputMajor) throw new ArgumentException($"linear_relu: the packed-weight cache must be output-major (out, in) for weight {weight.Describe()}.", nameof(packedWeight));
        int rows = (int)(x.Numel / Math.Max(inF, 1));
        var y = Tensor.Empty(x.ShapeArray[..^1].Append(outF).ToArray());
        using var xc = x.ContiguousRaw();
        using var bc = bias?.ContiguousRaw();
        using var packed = packedWeight.Acquire(weight);
        packed.Value.Run(rows, 1f, xc.ReadDataPtr, Math.Max(inF, 1), y.DataPtr, Math.Max(outF, 1), KernelThreads.Count,
            bc is null ? null : bc.ReadDataPtr, 0f, clip);
        return y;
    }

    /// <summary>
    /// <see cref="Linear(Tensor, Tensor, Tensor?)"/>; on the CPU, <paramref name="packedWeight"/> (output-major) supplies W already packed for the GEMM, repacked only when
    /// W changed (eval-mode Linear); the backward pass reads W itself.
    /// </summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias, PackedWeightCache? packedWeight)
    {
        var (outF, inF) = CheckLinear(x, weight, bias);
        if (!x.Device.IsCpu || !weight.Device.IsCpu) return LinearCuda(x, weight, bias, outF, inF);
        int rows = (int)(x.Numel / Math.Max(inF, 1));
        var yShape = x.ShapeArray[..^1].Append(outF).ToArray();
        var y = Tensor.Empty(yShape);
        using (var xc = x.ContiguousRaw())
        {
            float* py = y.DataPtr;
            float beta = 0f;
            if (bias is not null)
            {
                using var bc = bias.ContiguousRaw();
                for (int r = 0; r < rows; r++) new Span<float>(bc.DataPtr, outF).CopyTo(new Span<float>(py + (long)r * outF, outF));
                beta = 1f;
            }
            if (packedWeight is null)
            {
                using var wc = weight.ContiguousRaw();
                Sgemm.Run(false, true, rows, outF, inF, 1f, xc.ReadDataPtr, inF, wc.ReadDataPtr, inF, beta, py, outF);
            }
            else
            {
                if (!packedWeight.OutputMajor) throw new ArgumentException($"linear: the packed-weight cache must be output-major (out, in) for weight {weight.Describe()}.", nameof(packedWeight));
                using var packed = packedWeight.Acquire(weight);
                packed.Value.Run(rows, 1f, xc.ReadDataPtr, Math.Max(inF, 1), beta, py, Math.Max(outF, 1), KernelThreads.Count);
            }
        }
        Tensor[] inputs = bias is null ? [x, weight] : [x, weight, bias];
        return BackwardPass.Record(y, "linear", inputs, g =>
        {
            using var gc = g.ContiguousRaw();
            Tensor? dx = null, dw = null, db = null;
            if (x.RequiresGrad)
            {
                dx = Tensor.Empty(x.ShapeArray);
                using var wc = weight.ContiguousRaw();
                Sgemm.Run(false, false, rows, inF, outF, 1f, gc.ReadDataPtr, outF, wc.ReadDataPtr, inF, 0f, dx.DataPtr, inF);
            }
            if (weight.RequiresGrad)
            {
                dw = Tensor.Empty(outF, inF);
                using var xc = x.ContiguousRaw();
                Sgemm.Run(true, false, outF, inF, rows, 1f, gc.ReadDataPtr, outF, xc.ReadDataPtr, inF, 0f, dw.DataPtr, inF);
            }
            if (bias is not null && bias.RequiresGrad)
            {
                using var g2 = gc.Reshape(rows, outF);
                db = SumRaw(g2, [0], keepDim: false);
            }
            return bias is null ? [dx, dw] : [dx, dw, db];
        });
    }
}
