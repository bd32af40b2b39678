// matmul and linear on CUDA: the same operand layouts as the CPU path (GemmLayout: transposed or strided operands
// read in place, one batch stride), run by cuBLAS. Linear's forward with a bias is one cuBLASLt GEMM with the bias
// epilogue where cuBLASLt serves the shape (CudaLinearLt); otherwise, and for bias gradients, rank-1 GEMMs against the
// device's vector of ones, so linear needs nothing but cuBLAS.
using Cochlea.Autograd;
using Cochlea.Cuda;
using Cochlea.Cuda.Cublas;

namespace Cochlea;

public static unsafe partial class Ops
{
    // (batch..., m, k) x (batch..., k, n) -> (batch..., m, n) on the GPU; a and b broadcast over batch.
    static Tensor MatmulCuda(Tensor a, Tensor b, int[] batch, int m, int k, int n)
    {
        var dev = CudaTensors.DeviceOf("matmul", a, b);
        var y = CudaTensors.Empty(a.Device, [.. batch, m, n]);
        int nb = 1; foreach (var s in batch) nb *= s;
        if (nb == 0 || m == 0 || n == 0) return y;
        if (k == 0) { dev.Zero(y.DevicePtr, y.Numel * sizeof(float)); return y; }
        using var ng = new NoGradScope();
        using var ea = a.Expand([.. batch, m, k]);
        using var eb = b.Expand([.. batch, k, n]);
        var (ca, ta, lda, sa) = GemmLayout(ea);
        var (cb, tb, ldb, sb) = GemmLayout(eb);
        try
        {
            CudaGemm.Run(dev, ta, tb, m, n, k, 1f, (ca ?? ea).DevicePtr, lda, sa, (cb ?? eb).DevicePtr, ldb, sb, 0f, y.DevicePtr, n, (long)m * n, nb);
        }
        finally { ca?.Dispose(); cb?.Dispose(); }
        return y;
    }

    // y (rows, out) = x (rows, in) W^T (+ 1 b^T); backward dx = g W, dW = g^T x, db = g^T 1 (as PyTorch for float32: no Lt epilogue).
    static Tensor LinearCuda(Tensor x, Tensor weight, Tensor? bias, int outF, int inF)
    {
        var dev = CudaTensors.DeviceOf("linear", x, weight, bias);
        int rows = (int)(x.Numel / Math.Max(inF, 1));
        var y = CudaTensors.Empty(x.Device, [.. x.ShapeArray[..^1], outF]);
        using (var xc = x.ContiguousRaw())
        using (var wc = weight.ContiguousRaw())
        using (var bc = bias?.ContiguousRaw())
        {
            // With a bias: one cuBLASLt GEMM adding it in the epilogue (CudaOptions.LinearBiasEpilogue), else the rank-1 path.
            bool fused = bc is not null && CudaLinearLt.Eligible(rows, outF, inF)
                && dev.LinearLt.TryRun(rows, outF, inF, xc.DevicePtr, wc.DevicePtr, bc.DevicePtr, y.DevicePtr);
            if (!fused)
            {
                float beta = 0f;
                if (bc is not null)
                {
                    CudaGemm.Run(dev, false, false, rows, outF, 1, 1f, dev.Ones(rows), 1, bc.DevicePtr, outF, 0f, y.DevicePtr, outF);
                    beta = 1f;
                }
                if (inF == 0 && bc is null) dev.Zero(y.DevicePtr, y.Numel * sizeof(float));
                else CudaGemm.Run(dev, false, true, rows, outF, inF, 1f, xc.DevicePtr, inF, wc.DevicePtr, inF, beta, y.DevicePtr, outF);
            }
        }
        Tensor[] inputs = bias is null ? [x, weight] : [x, weight, bias];
        return BackwardPass.Record(y, "linear", inputs, g =>
        {
            using var gc = g.ContiguousRaw();
            Tensor? dx = null, dw = null, db = null;
            if (x.RequiresGrad)
            {
                dx = CudaTensors.Empty(x.Device, x.ShapeArray);
                using var wc = weight.ContiguousRaw();
                CudaGemm.Run(dev, false, false, rows, inF, outF, 1f, gc.DevicePtr, outF, wc.DevicePtr, inF, 0f, dx.DevicePtr, inF);
            }
            if (weight.RequiresGrad)
            {
                dw = CudaTensors.Empty(x.Device, outF, inF);
                using var xc = x.ContiguousRaw();
                CudaGemm.Run(dev, true, false, outF, inF, rows, 1f, gc.DevicePtr, outF, xc.DevicePtr, inF, 0f, dw.DevicePtr, inF);
            }
            if (bias is not null && bias.RequiresGrad)
            {
                db = CudaTensors.Empty(x.Device, outF);
                CudaGemm.Run(dev, false, false, 1, outF, rows, 1f, dev.Ones(rows), rows, gc.DevicePtr, outF, 0f, db.DevicePtr, outF);
            }
            return bias is null ? [dx, dw] : [dx, dw, db];
        });
    }
}
