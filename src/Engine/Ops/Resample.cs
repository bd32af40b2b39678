// Spatial resampling ops of the tagging pipeline and backbones: adaptive average pooling
// (torch.nn.functional.adaptive_avg_pool2d) and bilinear resize (F.interpolate(mode="bilinear",
// align_corners=False)), over (N, C, H, W) tensors, each with its backward.
using Cochlea.Autograd;
using Cochlea.Kernels.Pooling;
using Cochlea.Kernels.Resize;

namespace Cochlea;

public static unsafe partial class Ops
{
    /// <summary>Adaptive average pooling: x (N, C, H, W) -> (N, C, OH, OW); cell (i, j) averages rows [floor(i H / OH), ceil((i + 1) H / OH)) and columns likewise.</summary>
    public static Tensor AdaptiveAvgPool2d(Tensor x, (int H, int W) output)
        => Resample2d(x, output, "adaptive_avg_pool2d", &AdaptiveAvgPool.Forward, &AdaptiveAvgPool.Backward);

    /// <summary>
    /// Bilinear resize, x (N, C, H, W) -> (N, C, OH, OW), as F.interpolate(size, mode="bilinear", align_corners=False):
    /// output o samples s = max(0, (o + 0.5) H / OH - 0.5) between floor(s) and the next row (clamped), and likewise in W.
    /// </summary>
    public static Tensor ResizeBilinear(Tensor x, (int H, int W) output)
        => Resample2d(x, output, "resize_bilinear", &Bilinear.Forward, &Bilinear.Backward);

    // Both ops: a plane-wise kernel (src, dst, planes, h, w, oh, ow) forward, and its transpose backward.
    static Tensor Resample2d(Tensor x, (int H, int W) output, string name,
        delegate*<float*, float*, int, int, int, int, int, void> forward, delegate*<float*, float*, int, int, int, int, int, void> backward)
    {
        var (planes, h, w) = Planes(x, output, name);
        var y = Tensor.Empty(x.Size(0), x.Size(1), output.H, output.W);
        using (var xc = x.ContiguousRaw()) forward(xc.DataPtr, y.DataPtr, planes, h, w, output.H, output.W);
        var inShape = x.ShapeArray;
        return BackwardPass.Record(y, name, [x], g =>
        {
            using var gc = g.ContiguousRaw();
            var dx = Tensor.Empty(inShape);
            backward(gc.DataPtr, dx.DataPtr, planes, h, w, output.H, output.W);
            return [dx];
        });
    }

    static (int Planes, int H, int W) Planes(Tensor x, (int H, int W) output, string name)
    {
        RequireFloat(x, name);
        x.Device.RequireCpu(name);
        if (x.Rank != 4) throw new ArgumentException($"{name}: expected (N, C, H, W), got {x.Describe()}.");
        if (output.H < 1 || output.W < 1) throw new ArgumentOutOfRangeException(nameof(output), output, $"{name}: the output size must be positive.");
        if (x.Size(2) < 1 || x.Size(3) < 1) throw new ArgumentException($"{name}: the input {x.Describe()} is empty.");
        return (x.Size(0) * x.Size(1), x.Size(2), x.Size(3));
    }
}
