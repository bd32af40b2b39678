// max / average pooling 1-d and 2-d (PyTorch semantics: padding reads -inf for max and counts
// as zeros in the average, ceil_mode off) and global average pooling, over NC(H)W tensors.
using Cochlea.Autograd;
using Cochlea.Kernels.Conv;
using Cochlea.Kernels.Pooling;

namespace Cochlea;

public static unsafe partial class Ops
{
    /// <summary>Max pooling over the last axis: x (N, C, L) -> (N, C, OL). Stride defaults to the kernel size.</summary>
    public static Tensor MaxPool1d(Tensor x, int kernel, int? stride = null, int padding = 0)
        => Pool(x, 1, (1, kernel), (1, stride ?? kernel), (0, padding), max: true, "max_pool1d");

    /// <summary>Max pooling over the last two axes: x (N, C, H, W) -> (N, C, OH, OW).</summary>
    public static Tensor MaxPool2d(Tensor x, (int H, int W) kernel, (int H, int W)? stride = null, (int H, int W) padding = default)
        => Pool(x, 2, kernel, stride ?? kernel, padding, max: true, "max_pool2d");

    /// <summary>Average pooling over the last axis (zero padding counted in the divisor).</summary>
    public static Tensor AvgPool1d(Tensor x, int kernel, int? stride = null, int padding = 0)
        => Pool(x, 1, (1, kernel), (1, stride ?? kernel), (0, padding), max: false, "avg_pool1d");

    /// <summary>Average pooling over the last two axes (zero padding counted in the divisor).</summary>
    public static Tensor AvgPool2d(Tensor x, (int H, int W) kernel, (int H, int W)? stride = null, (int H, int W) padding = default)
        => Pool(x, 2, kernel, stride ?? kernel, padding, max: false, "avg_pool2d");

    static Tensor Pool(Tensor x, int spatial, (int H, int W) k, (int H, int W) s, (int H, int W) p, bool max, string name)
    {
        RequireFloat(x, name);
        if (x.Rank != spatial + 2) throw new ArgumentException($"{name}: expected {(spatial == 1 ? "(N, C, L)" : "(N, C, H, W)")}, got {x.Describe()}.");
        if (p.H * 2 > k.H || p.W * 2 > k.W) throw new ArgumentException($"{name}: padding ({p.H}, {p.W}) must be at most half the kernel ({k.H}, {k.W}), as in PyTorch.");
        int h = spatial == 2 ? x.Size(2) : 1, w = x.Size(-1);
        var ah = new ConvAxis(h, k.H, s.H, p.H, p.H);
        var aw = new ConvAxis(w, k.W, s.W, p.W, p.W);
        ah.Validate(name); aw.Validate(name);
        if (ah.Out <= 0 || aw.Out <= 0) throw new ArgumentException($"{name}: input {x.Describe()} is smaller than the window ({k.H}, {k.W}).");
        if (!x.Device.IsCpu) return PoolCuda(x, spatial, ah, aw, max, name);
        int planes = x.Size(0) * x.Size(1);
        var shape = spatial == 2 ? new[] { x.Size(0), x.Size(1), ah.Out, aw.Out } : new[] { x.Size(0), x.Size(1), aw.Out };
        var y = Tensor.Empty(shape);
        using var xc = x.ContiguousRaw();
        Tensor? idx = null;
        if (max)
        {
            // No gradient to take (inference): no argmax indices to write.
            bool wantGrad = NoGradScope.IsGradEnabled && x.RequiresGrad;
            if (wantGrad) idx = Tensor.Empty(shape, DType.Int32);
            Kernels.Pooling.Pool.MaxForward2d(xc.DataPtr, y.DataPtr, idx is null ? null : (int*)idx.RawPtr, planes, ah, aw);
            if (!wantGrad) return y;
        }
        else Kernels.Pooling.Pool.AvgForward2d(xc.DataPtr, y.DataPtr, planes, ah, aw);
        var inShape = x.ShapeArray;
        return BackwardPass.Record(y, name, [x], g =>
        {
            using var gc = g.ContiguousRaw();
            // MaxBackward2d clears dx itself before scattering: no second zeroing pass.
            var dx = max ? Tensor.Empty(inShape) : Tensor.Zeros(inShape);
            if (max) Kernels.Pooling.Pool.MaxBackward2d(gc.DataPtr, (int*)idx!.RawPtr, dx.DataPtr, planes, ah, aw);
            else Kernels.Pooling.Pool.AvgBackward2d(gc.DataPtr, dx.DataPtr, planes, ah, aw);
            return [dx];
        });
    }

    /// <summary>Mean over every axis after the first two: x (N, C, ...) -> (N, C).</summary>
    public static Tensor GlobalAvgPool(Tensor x)
    {
        RequireFloat(x, "global_avg_pool");
        if (x.Rank < 3) throw new ArgumentException($"global_avg_pool: expected (N, C, ...) with at least one spatial axis, got {x.Describe()}.");
        int planes = x.Size(0) * x.Size(1);
        int size = (int)(x.Numel / Math.Max(planes, 1));
        if (!x.Device.IsCpu) return GlobalAvgPoolCuda(x, planes, size);
        var y = Tensor.Empty(x.Size(0), x.Size(1));
        using (var xc = x.ContiguousRaw()) Kernels.Pooling.Pool.GlobalAvgForward(xc.DataPtr, y.DataPtr, planes, size);
        var inShape = x.ShapeArray;
        return BackwardPass.Record(y, "global_avg_pool", [x], g =>
        {
            using var gc = g.ContiguousRaw();
            var dx = Tensor.Empty(inShape);
            Kernels.Pooling.Pool.GlobalAvgBackward(gc.DataPtr, dx.DataPtr, planes, size);
            return [dx];
        });
    }
}
