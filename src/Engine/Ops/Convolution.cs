// conv1d / conv2d (stride, 'same'/'valid'/explicit and asymmetric padding, dilation, groups)
// in PyTorch layout: x (N, Cin, [H,] W), weight (Cout, Cin/groups, [KH,] KW), bias (Cout).
// Five paths: stride-1 ungrouped KxK convs with wide enough outputs run the implicit GEMM (ConvolutionImplicit.cs);
// depthwise (groups == Cin) runs the direct kernel; ungrouped convs over a batch are ONE
// GEMM over all images, on channel-major (C, N*P) activations (ChannelMajor; im2col first unless the
// conv is 1x1 stride-1 unpadded); a single image's 1x1 conv is a plain GEMM; everything else is
// im2col + one GEMM per image and group.
// 1-d is the 2-d case with H = KH = 1.
using Cochlea.Autograd;
using Cochlea.Kernels.Conv;
using Cochlea.Kernels.Gemm;

namespace Cochlea;

/// <summary>Padding of a convolution or pooling window: 'same', 'valid', or explicit sizes per spatial axis.</summary>
public readonly record struct ConvPadding
{
    /// <summary>Mode: Same, Valid or Explicit.</summary>
    public PaddingMode Mode { get; }
    readonly int[]? _pads; // (before, after) per spatial axis, outermost first

    ConvPadding(PaddingMode mode, int[]? pads) { Mode = mode; _pads = pads; }

    /// <summary>TF/PyTorch 'same': out = ceil(in / stride), the odd padding element after.</summary>
    public static ConvPadding Same => new(PaddingMode.Same, null);
    /// <summary>No padding.</summary>
    public static ConvPadding Valid => new(PaddingMode.Valid, null);
    /// <summary>The same symmetric padding on every spatial axis.</summary>
    public static implicit operator ConvPadding(int p) => new(PaddingMode.Explicit, [p, p, p, p]);
    /// <summary>Symmetric padding per axis: (ph, pw) for 2-d.</summary>
    public static ConvPadding Symmetric(int ph, int pw) => new(PaddingMode.Explicit, [ph, ph, pw, pw]);
    /// <summary>Asymmetric padding: (before, after) for each spatial axis, outermost first — 2 numbers for 1-d, 4 for 2-d.</summary>
    public static ConvPadding Explicit(params int[] beforeAfter) => new(PaddingMode.Explicit, beforeAfter);

    internal ConvAxis Axis(int axis, int spatialRank, int input, int kernel, int stride, int dilation, string op)
    {
        if (Mode != PaddingMode.Explicit) return ConvAxis.Create(Mode, input, kernel, stride, dilation);
        var p = _pads!;
        int b, a;
        if (p.Length == 4 && spatialRank == 1) { b = p[0]; a = p[1]; } // from the int conversion
        else if (p.Length == 2 * spatialRank) { b = p[2 * axis]; a = p[2 * axis + 1]; }
        else if (p.Length == 4 && spatialRank == 2) { b = p[2 * axis]; a = p[2 * axis + 1]; }
        else throw new ArgumentException($"{op}: explicit padding needs 2 numbers per spatial axis ({2 * spatialRank}), got {p.Length}.");
        if (b < 0 || a < 0) throw new ArgumentException($"{op}: padding must be non-negative, got ({b}, {a}).");
        return ConvAxis.Create(PaddingMode.Explicit, input, kernel, stride, dilation, b, a);
    }
}

public static unsafe partial class Ops
{
    /// <summary>1-d convolution (cross-correlation as in PyTorch): x (N, Cin, L), weight (Cout, Cin/groups, K), bias (Cout) -> (N, Cout, OL).</summary>
    public static Tensor Conv1d(Tensor x, Tensor weight, Tensor? bias = null, int stride = 1, ConvPadding padding = default, int dilation = 1, int groups = 1)
    {
        if (x.Rank != 3 || weight.Rank != 3)
            throw new ArgumentException($"conv1d: expected x (N, Cin, L) and weight (Cout, Cin/groups, K), got {x.Describe()} and {weight.Describe()}.");
        var ax = padding.Axis(0, 1, x.Size(2), weight.Size(2), stride, dilation, "conv1d");
        return ConvCore(x, weight, bias, new ConvAxis(1, 1), ax, groups, "conv1d");
    }

    /// <summary>2-d convolution: x (N, Cin, H, W), weight (Cout, Cin/groups, KH, KW), bias (Cout) -> (N, Cout, OH, OW).</summary>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias = null, (int H, int W)? stride = null, ConvPadding padding = default, (int H, int W)? dilation = null, int groups = 1)
    {
        if (x.Rank != 4 || weight.Rank != 4)
            throw new ArgumentException($"conv2d: expected x (N, Cin, H, W) and weight (Cout, Cin/groups, KH, KW), got {x.Describe()} and {weight.Describe()}.");
        var (sh, sw) = stride ?? (1, 1);
        var (dh, dw) = dilation ?? (1, 1);
        var ah = padding.Axis(0, 2, x.Size(2), weight.Size(2), sh, dh, "conv2d");
        var aw = padding.Axis(1, 2, x.Size(3), weight.Size(3), sw, dw, "conv2d");
        return ConvCore(x, weight, bias, ah, aw, groups, "conv2d");
    }

    static Tensor ConvCore(Tensor x, Tensor weight, Tensor? bias, ConvAxis ah, ConvAxis aw, int groups, string name)
    {
        RequireFloat(x, name); RequireFloat(weight, name);
        int n = x.Size(0), cin = x.Size(1), cout = weight.Size(0);
        if (groups < 1 || cin % groups != 0 || cout % groups != 0)
            throw new ArgumentException($"{name}: groups ({groups}) must divide input channels ({cin}) and output channels ({cout}).");
        int cg = cin / groups, og = cout / groups;
        if (weight.Size(1) != cg)
            throw new ArgumentException($"{name}: weight {weight.Describe()} expects {weight.Size(1)} input channels per group, but x {x.Describe()} with groups={groups} gives {cg}.");
        if (bias is not null && (bias.Rank != 1 || bias.Size(0) != cout))
            throw new ArgumentException($"{name}: bias must be ({cout},), got {bias.Describe()}.");
        int oh = ah.Out, ow = aw.Out;
        if (oh <= 0 || ow <= 0)
            throw new ArgumentException($"{name}: input {x.Describe()} is too small for kernel {Tensor.FormatShape(weight.Shape[2..])} with this stride/padding/dilation (output would be empty).");
        if (!x.Device.IsCpu || !weight.Device.IsCpu) return ConvCuda(x, weight, bias, ah, aw, groups, name);
        return ConvCpu(x, weight, bias, ah, aw, groups, name);
    }

    // Its own method so that the CUDA path does not allocate the backward closure's captures (C# makes them at entry).
    static Tensor ConvCpu(Tensor x, Tensor weight, Tensor? bias, ConvAxis ah, ConvAxis aw, int groups, string name)
    {
        int n = x.Size(0), cin = x.Size(1), cout = weight.Size(0);
        int cg = cin / groups, og = cout / groups, oh = ah.Out, ow = aw.Out;
        int kk = cg * ah.Kernel * aw.Kernel;
        long plane = (long)oh * ow, inPlane = (long)ah.In * aw.In;
        bool depthwise = groups == cin && groups > 1;
        bool pointwise = groups == 1 && ah.Kernel == 1 && aw.Kernel == 1 && ah.Stride == 1 && aw.Stride == 1
                         && ah.PadBefore + ah.PadAfter + aw.PadBefore + aw.PadAfter == 0;

        // Why one GEMM over the batch: per image, WaveKws' late layers have 3..11 positions, so GEMM tiles
        // were mostly padding, W was re-packed per image, and small GEMMs ran on one thread.
        // Large images (FreesoundCnn's spectrograms, TutorialConv) would need whole-batch columns of hundreds of
        // MB; they go image by image instead (split over the threads when there are enough images, ByImage).
        var outShape = name == "conv1d" ? new[] { n, cout, ow } : new[] { n, cout, oh, ow };
        if (UseImplicitConv(groups, cin, ah, aw)) return ConvImplicit(x, weight, bias, ah, aw, outShape, name);
        bool batched = groups == 1 && !depthwise && n > 1 && (long)n * plane <= int.MaxValue
                       && (long)kk * n * plane * sizeof(float) <= BatchedColumnsMaxBytes;
        var y = Tensor.Empty(outShape);
        using var xc = x.ContiguousRaw();
        using var wc = weight.ContiguousRaw();
        float* px = xc.ReadDataPtr, pw = wc.ReadDataPtr, py = y.DataPtr;   // read-only operands: no version bump (DerivedCache)
        Tensor? savedCols = null;   // the batched forward's columns, kept for the weight gradient when one will be taken
        if (depthwise) Depthwise.Forward2d(px, pw, py, n, cin, cout / cin, ah, aw);
        else if (batched)
        {
            int cols = (int)(n * plane);
            var cm = BatchColumns(px, n, cin, kk, plane, inPlane, ah, aw, pointwise);
            using var ycm = Tensor.Empty(cout, cols);
            Sgemm.Run(false, false, cout, cols, kk, 1f, pw, kk, cm.DataPtr, cols, 0f, ycm.DataPtr, cols);
            ChannelMajor.ToBatch(ycm.DataPtr, py, n, cout, (int)plane);
            // Why keep: rebuilding them in backward is another im2col and layout move of the whole batch.
            if (NoGradScope.IsGradEnabled && weight.RequiresGrad) savedCols = cm; else cm.Dispose();
        }
        else if (pointwise)
            Sgemm.RunBatched(false, false, cout, (int)plane, cin, 1f, pw, cin, 0, px, (int)plane, cin * plane, 0f, py, (int)plane, cout * plane, n);
        else if (ByImage(n, groups)) ConvForwardByImage(px, pw, py, n, cin, cout, ah, aw);
        else
        {
            using var cols = Tensor.Empty(kk, (int)plane);
            float* pc = cols.DataPtr;
            for (int i = 0; i < n; i++)
                for (int g = 0; g < groups; g++)
                {
                    Im2Col.Forward2d(px + i * cin * inPlane, ah, aw, g * cg, cg, pc);
                    Sgemm.Run(false, false, og, (int)plane, kk, 1f, pw + (long)g * og * kk, kk, pc, (int)plane, 0f, py + (i * cout + g * og) * plane, (int)plane);
                }
        }
        if (bias is not null) AddChannelBias(py, bias, n, cout, plane);

        Tensor[] inputs = bias is null ? [x, weight] : [x, weight, bias];
        return BackwardPass.Record(y, name, inputs, g =>
        {
            using var gc = g.ContiguousRaw();
            using var xs = x.ContiguousRaw();
            using var ws = weight.ContiguousRaw();
            float* pg = gc.DataPtr, pxs = xs.DataPtr, pws = ws.DataPtr;
            Tensor? dx = null, dw = null, db = null;
            if (!batched && !depthwise && !pointwise && ByImage(n, groups))
            {
                dx = x.RequiresGrad ? Tensor.Zeros(x.ShapeArray) : null;
                dw = weight.RequiresGrad ? Tensor.Zeros(weight.ShapeArray) : null;
                ConvBackwardByImage(pg, pxs, pws, dx is null ? null : dx.DataPtr, dw is null ? null : dw.DataPtr, n, cin, cout, ah, aw);
                if (bias is not null && bias.RequiresGrad) db = ChannelSum(gc, n, cout, plane);
                return bias is null ? [dx, dw] : [dx, dw, db];
            }
            if (batched)
            {
                int cols = (int)(n * plane);
                using var gcm = Tensor.Empty(cout, cols);
                ChannelMajor.FromBatch(pg, gcm.DataPtr, n, cout, (int)plane);
                if (x.RequiresGrad)
                {
                    // dcols (K, N*P) = W^T dy; a 1x1 conv's dcols is dx itself, else col2im adds it up per image.
                    using var dcm = Tensor.Empty(kk, cols);
                    Sgemm.Run(true, false, kk, cols, cout, 1f, pws, kk, gcm.DataPtr, cols, 0f, dcm.DataPtr, cols);
                    dx = pointwise ? Tensor.Empty(x.ShapeArray) : Tensor.Zeros(x.ShapeArray);
                    if (pointwise) ChannelMajor.ToBatch(dcm.DataPtr, dx.DataPtr, n, cin, (int)plane);
                    else
                    {
                        using var dcols = Tensor.Empty(n, kk, (int)plane);
                        ChannelMajor.ToBatch(dcm.DataPtr, dcols.DataPtr, n, kk, (int)plane);
                        for (int i = 0; i < n; i++) Im2Col.Backward2d(dcols.DataPtr + i * kk * plane, ah, aw, 0, cin, dx.DataPtr + i * cin * inPlane);
                    }
                }
                if (weight.RequiresGrad)
                {
                    // dW (Cout, K) = dy (Cout, N*P) x cols^T: the sum over images and positions is the GEMM's k loop.
                    dw = Tensor.Empty(weight.ShapeArray);
                    using var cm = savedCols is { IsDisposed: false } ? savedCols : BatchColumns(pxs, n, cin, kk, plane, inPlane, ah, aw, pointwise);
                    Sgemm.Run(false, true, cout, kk, cols, 1f, gcm.DataPtr, cols, cm.DataPtr, cols, 0f, dw.DataPtr, kk);
                }
            }
            else if (x.RequiresGrad)
            {
                // The depthwise kernel and the GEMM write every element of dx; only col2im accumulates into it.
                dx = depthwise || pointwise ? Tensor.Empty(x.ShapeArray) : Tensor.Zeros(x.ShapeArray);
                float* pdx = dx.DataPtr;
                if (depthwise) Depthwise.BackwardInput2d(pg, pws, pdx, n, cin, cout / cin, ah, aw);
                else if (pointwise)
                    Sgemm.RunBatched(true, false, cin, (int)plane, cout, 1f, pws, cin, 0, pg, (int)plane, cout * plane, 0f, pdx, (int)plane, cin * plane, n);
                else
                {
                    using var dcols = Tensor.Empty(kk, (int)plane);
                    float* pd = dcols.DataPtr;
                    for (int i = 0; i < n; i++)
                        for (int gi = 0; gi < groups; gi++)
                        {
                            Sgemm.Run(true, false, kk, (int)plane, og, 1f, pws + (long)gi * og * kk, kk, pg + (i * cout + gi * og) * plane, (int)plane, 0f, pd, (int)plane);
                            Im2Col.Backward2d(pd, ah, aw, gi * cg, cg, pdx + i * cin * inPlane);
                        }
                }
            }
            if (weight.RequiresGrad && !batched)
            {
                dw = Tensor.Zeros(weight.ShapeArray);
                float* pdw = dw.DataPtr;
                if (depthwise) Depthwise.BackwardWeight2d(pxs, pg, pdw, n, cin, cout / cin, ah, aw);
                else if (pointwise)
                    for (int i = 0; i < n; i++) // dW += dy_i (Cout, P) x x_i^T (P, Cin), images in a fixed order
                        Sgemm.Run(false, true, cout, cin, (int)plane, 1f, pg + i * cout * plane, (int)plane, pxs + i * cin * plane, (int)plane, 1f, pdw, cin);
                else
                {
                    using var cols = Tensor.Empty(kk, (int)plane);
                    float* pc = cols.DataPtr;
                    for (int i = 0; i < n; i++)
                        for (int gi = 0; gi < groups; gi++)
                        {
                            Im2Col.Forward2d(pxs + i * cin * inPlane, ah, aw, gi * cg, cg, pc);
                            Sgemm.Run(false, true, og, kk, (int)plane, 1f, pg + (i * cout + gi * og) * plane, (int)plane, pc, (int)plane, 1f, pdw + (long)gi * og * kk, kk);
                        }
                }
            }
            if (bias is not null && bias.RequiresGrad) db = ChannelSum(gc, n, cout, plane);
            return bias is null ? [dx, dw] : [dx, dw, db];
        });
    }

    // The GEMM's B operand for a whole batch: cols (K, N*P), channel-major. A 1x1 conv's columns are x itself
    // moved to (Cin, N*P); otherwise every image is im2col'd into (N, K, P) and that is moved.
    /// <summary>Largest whole-batch column matrix (K, N*P) the one-GEMM path builds, in bytes.</summary>
    const long BatchedColumnsMaxBytes = 64L << 20;

    static Tensor BatchColumns(float* x, int n, int cin, int kk, long plane, long inPlane, ConvAxis ah, ConvAxis aw, bool pointwise)
    {
        var cm = Tensor.Empty(kk, (int)(n * plane));
        if (pointwise) ChannelMajor.FromBatch(x, cm.DataPtr, n, cin, (int)plane);
        else
        {
            using var cols = Tensor.Empty(n, kk, (int)plane);
            for (int i = 0; i < n; i++) Im2Col.Forward2d(x + i * cin * inPlane, ah, aw, 0, cin, cols.DataPtr + i * kk * plane);
            ChannelMajor.FromBatch(cols.DataPtr, cm.DataPtr, n, kk, (int)plane);
        }
        return cm;
    }

    // y[n, c, :] += bias[c]
    static void AddChannelBias(float* y, Tensor bias, int n, int c, long plane)
    {
        using var bc = bias.ContiguousRaw();
        float* pb = bc.DataPtr;
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < c; ch++)
                Kernels.Elementwise.ElementwiseLoops.BinaryScalarRight(new Kernels.Elementwise.AddOp(), y + (i * c + ch) * plane, pb[ch], y + (i * c + ch) * plane, plane, Kernels.Simd.Best);
    }

    // sum over batch and positions per channel: g (N, C, plane) -> (C)
    static Tensor ChannelSum(Tensor g, int n, int c, long plane)
    {
        using var v = g.Reshape(n, c, (int)plane);
        return SumRaw(v, [0, 2], keepDim: false);
    }
}
