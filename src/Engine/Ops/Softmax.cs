// softmax and log-softmax over any dimension: the dimension is moved last (a copy only
// when needed) and each row is done with max subtraction for stability.
using Cochlea.Autograd;
using Cochlea.Kernels.Softmax;

namespace Cochlea;

public static unsafe partial class Ops
{
    /// <summary>softmax(x)_i = exp(x_i - max) / sum_j exp(x_j - max) along <paramref name="dim"/>.</summary>
    public static Tensor Softmax(Tensor x, int dim) => SoftmaxCore(x, dim, log: false);

    /// <summary>log_softmax(x)_i = x_i - max - log(sum_j exp(x_j - max)) along <paramref name="dim"/>.</summary>
    public static Tensor LogSoftmax(Tensor x, int dim) => SoftmaxCore(x, dim, log: true);

    static Tensor SoftmaxCore(Tensor x, int dim, bool log)
    {
        string name = log ? "log_softmax" : "softmax";
        RequireFloat(x, name);
        int d = x.NormDim(dim);
        if (!x.Device.IsCpu)
        {
            var yc = Cuda.CudaReduce.Softmax(x, d, log);
            return BackwardPass.Record(yc, name, [x], g => [Cuda.CudaReduce.SoftmaxBackward(yc, g, d, log)]);
        }
        var y = RowsAlong(x, d, (src, dst, rows, n) => SoftmaxRows(src, dst, rows, n, log));
        return BackwardPass.Record(y, name, [x], g =>
        {
            // softmax: dx = y * (g - sum(g*y)); log-softmax: dx = g - exp(y) * sum(g)
            using var gl = MoveLast(g, d);
            using var yl = MoveLast(y, d);
            var dxl = Tensor.Empty(gl.ShapeArray);
            int n = gl.Rank == 0 ? 1 : gl.Shape[^1];
            int rows = (int)(gl.Numel / Math.Max(n, 1));
            if (log) SoftmaxKernels.LogBackward(yl.DataPtr, gl.DataPtr, dxl.DataPtr, rows, n);
            else SoftmaxKernels.Backward(yl.DataPtr, gl.DataPtr, dxl.DataPtr, rows, n);
            return [MoveBack(dxl, d)];
        });
    }

    static void SoftmaxRows(float* src, float* dst, long rows, int n, bool log)
    {
        if (log) SoftmaxKernels.LogForward(src, dst, (int)rows, n);
        else SoftmaxKernels.Forward(src, dst, (int)rows, n);
    }

    internal delegate void RowKernel(float* src, float* dst, long rows, int n);

    // Applies a row kernel along dim d: moves d last (contiguous), runs, moves it back.
    static Tensor RowsAlong(Tensor x, int d, RowKernel k)
    {
        using var xl = MoveLast(x, d);
        var yl = Tensor.Empty(xl.ShapeArray);
        int n = xl.Rank == 0 ? 1 : xl.Shape[^1];
        k(xl.DataPtr, yl.DataPtr, xl.Numel / Math.Max(n, 1), n);
        return MoveBack(yl, d);
    }

    // Contiguous copy (or alias) of x with dim d moved to the end (also used by the losses).
    internal static Tensor MoveLast(Tensor x, int d)
    {
        using var ng = new NoGradScope();
        if (d == x.Rank - 1 || x.Rank == 0) return x.ContiguousRaw();
        var perm = Enumerable.Range(0, x.Rank).Where(i => i != d).Append(d).ToArray();
        using var p = x.Permute(perm);
        return p.ContiguousRaw();
    }

    // Inverse of MoveLast: a contiguous tensor with the last dim moved back to d (takes ownership of t).
    internal static Tensor MoveBack(Tensor t, int d)
    {
        if (d == t.Rank - 1 || t.Rank == 0) return t;
        using var ng = new NoGradScope();
        var perm = new int[t.Rank];
        for (int i = 0, j = 0; i < t.Rank; i++) perm[i] = i == d ? t.Rank - 1 : j++;
        using var p = t.Permute(perm);
        var r = p.ContiguousRaw();
        t.Dispose();
        return r;
    }
}
