// conv2d -> batch norm with running statistics -> (+ residual) -> (ReLU) for inference, as one GEMM per image whose
// epilogue applies the batch norm as a per-channel scale and shift, adds the residual and clamps (GemmEpilogue):
// the output is written once, instead of the conv, batch-norm, add and ReLU passes over it. The ResNet bottleneck
// in eval mode is this op three times (the third with the identity as residual), its downsample once.
//   x (N, Cin, H, W), weight (Cout, Cin, KH, KW), groups 1, no conv bias; gamma, beta, mean, var (Cout);
//   residual (N, Cout, OH, OW) or null -> y (N, Cout, OH, OW)
//   y = act(conv(x) * s + t + residual),  s = gamma / sqrt(var + eps),  t = beta - mean * s
// s is applied in the epilogue rather than folded into the weights: one FMA per output element on a tile already
// in L1, and the packed weight then depends on the conv weight alone (a running-statistics change refolds s and t,
// (Cout) vectors, without repacking). In eval modules (Nn.ConvBatchNorm) both are cached between calls:
// PackedConvWeightCache holds W packed as the GEMM's A (otherwise packed again for every image) and
// FoldedBatchNormCache s and t, each rebuilt when a source's WriteVersion moves; so this op reads the weight and the
// statistics through non-bumping pointers. Without caches (the op called directly) both are made per call.
// Columns: a 1x1 stride-1 unpadded conv reads x itself as the GEMM's B (Cin, H*W); any other shape gathers
// im2col columns (Cin*KH*KW, OH*OW) into a pooled workspace (for a 1x1 strided conv that is the strided gather).
// Not differentiable: when a gradient could be wanted, or off the CPU, or not float32, it is the composed ops.
using Cochlea.Autograd;
using Cochlea.Kernels.Conv;
using Cochlea.Kernels.Gemm;
using Cochlea.Kernels.Threading;
using Cochlea.Memory;

namespace Cochlea;

public static unsafe partial class Ops
{
    /// <summary>
    /// act(batch_norm(conv2d(x, weight, stride, padding), eval) + residual) with act = ReLU when <paramref name="relu"/>, else
    /// identity; <paramref name="residual"/> (N, Cout, OH, OW) may be null; gamma/beta null mean 1/0. Same values as the
    /// composed ops (the batch norm applied as y * s + t, s = gamma / sqrt(var + eps), t = beta - mean * s); fused into
    /// the convolution's GEMM on the CPU when no gradient is needed (see the file header), otherwise it is the composed ops.
    /// </summary>
    /// <remarks>
    /// On the fused path the weight's GEMM packing comes from <paramref name="packedWeight"/> and s, t from <paramref name="folded"/>
    /// when given (the modules' eval caches; null: made for this call). <paramref name="folded"/>'s eps must be <paramref name="eps"/>.
    /// </remarks>
    public static Tensor ConvBatchNormEval(Tensor x, Tensor weight, (int H, int W) stride, ConvPadding padding,
        Tensor? gamma, Tensor? beta, Tensor runningMean, Tensor runningVar, float eps, Tensor? residual = null, bool relu = true,
        PackedConvWeightCache? packedWeight = null, FoldedBatchNormCache? folded = null)
    {
        if (folded is not null && folded.Eps != eps)
            throw new ArgumentException($"conv_batch_norm_eval: the folded batch-norm cache was made for eps {folded.Eps}, the call has eps {eps}; use the batch norm's own cache.", nameof(folded));
        if (!CanFuseConvBatchNormEval(x, weight, gamma, beta, runningMean, runningVar, residual))
        {
            var z = BatchNorm(Conv2d(x, weight, null, stride, padding), gamma, beta, runningMean, runningVar, training: false, eps: eps);
            if (residual is not null) z = Add(z, residual);
            return relu ? Relu(z) : z;
        }
        int n = x.Size(0), cin = x.Size(1), cout = weight.Size(0);
        if (weight.Size(1) != cin)
            throw new ArgumentException($"conv_batch_norm_eval: weight {weight.Describe()} expects {weight.Size(1)} input channels, x {x.Describe()} has {cin} (groups are not supported here).");
        var ah = padding.Axis(0, 2, x.Size(2), weight.Size(2), stride.H, 1, "conv_batch_norm_eval");
        var aw = padding.Axis(1, 2, x.Size(3), weight.Size(3), stride.W, 1, "conv_batch_norm_eval");
        int oh = ah.Out, ow = aw.Out;
        if (oh <= 0 || ow <= 0)
            throw new ArgumentException($"conv_batch_norm_eval: input {x.Describe()} is too small for kernel {Tensor.FormatShape(weight.Shape[2..])} with this stride/padding.");
        ValidateBatchNormParams("conv_batch_norm_eval", cout, weight, gamma, beta, runningMean, runningVar);
        if (residual is not null && !residual.Shape.SequenceEqual(new[] { n, cout, oh, ow }))
            throw new ArgumentException($"conv_batch_norm_eval: residual must be ({n}, {cout}, {oh}, {ow}), got {residual.Describe()}.");

        int kk = cin * ah.Kernel * aw.Kernel, plane = oh * ow, inPlane = ah.In * aw.In;
        bool direct = ah.Kernel == 1 && aw.Kernel == 1 && ah.Stride == 1 && aw.Stride == 1 && ah.PadBefore + ah.PadAfter + aw.PadBefore + aw.PadAfter == 0;
        var y = Tensor.Empty(n, cout, oh, ow);
        using var stLease = folded?.Acquire(gamma, beta, runningMean, runningVar);
        using var stOwn = folded is null ? FoldBatchNormEval(gamma, beta, runningMean, runningVar, eps) : null;
        using var wLease = packedWeight?.Acquire(weight);
        // Read-only pointers from here on: a bumped version would make the caches stale on every call.
        float* s = (stOwn ?? stLease!.Value.Value).ReadDataPtr, t = s + cout;
        using var xc = x.ContiguousRaw();
        using var wc = weight.ContiguousRaw();
        using var rc = residual?.ContiguousRaw();
        using var cols = direct ? null : Tensor.Empty(kk, plane);
        float* px = xc.ReadDataPtr, pw = wc.ReadDataPtr, py = y.DataPtr, pr = rc is null ? null : rc.ReadDataPtr;
        var pa = wLease?.Value;
        for (int i = 0; i < n; i++)
        {
            float* b = px + (long)i * cin * inPlane;
            if (!direct) { Im2Col.Forward2d(b, ah, aw, 0, cin, cols!.DataPtr); b = cols.DataPtr; }
            var epi = new GemmEpilogue(s, t, pr is null ? null : pr + (long)i * cout * plane, plane, relu);
            Sgemm.RunFused(false, false, cout, plane, kk, 1f, pw, kk, b, plane, 0f, py + (long)i * cout * plane, plane, epi,
                Kernels.Simd.Best, KernelThreads.Count, pa);
        }
        return y;
    }

    /// <summary>
    /// (2, C): row 0 s = gamma / sqrt(var + eps), row 1 t = beta - mean * s (gamma, beta null: 1, 0), the eval batch norm as
    /// one scale and shift per channel; float32 CPU (C) vectors in, read only.
    /// </summary>
    internal static Tensor FoldBatchNormEval(Tensor? gamma, Tensor? beta, Tensor runningMean, Tensor runningVar, float eps)
    {
        int cout = runningMean.Size(0);
        var st = Tensor.Empty(2, cout);
        float* s = st.DataPtr, t = s + cout;
        using var mc = runningMean.ContiguousRaw();
        using var vc = runningVar.ContiguousRaw();
        using var gc = gamma?.ContiguousRaw();
        using var bc = beta?.ContiguousRaw();
        float* pm = mc.ReadDataPtr, pv = vc.ReadDataPtr, pg = gc is null ? null : gc.ReadDataPtr, pb = bc is null ? null : bc.ReadDataPtr;
        for (int c = 0; c < cout; c++)
        {
            s[c] = (pg is null ? 1f : pg[c]) / MathF.Sqrt(pv[c] + eps);
            t[c] = (pb is null ? 0f : pb[c]) - pm[c] * s[c];
        }
        return st;
    }

    // gamma, beta, running mean and variance: (Cout) each (gamma, beta may be null), named in the error.
    static void ValidateBatchNormParams(string op, int cout, Tensor weight, Tensor? gamma, Tensor? beta, Tensor? mean, Tensor? var)
    {
        foreach (var (v, what) in new[] { (gamma, "gamma"), (beta, "beta"), (mean, "running_mean"), (var, "running_var") })
            if (v is not null && (v.Rank != 1 || v.Size(0) != cout))
                throw new ArgumentException($"{op}: {what} must be ({cout},) for weight {weight.Describe()}, got {v.Describe()}.");
    }

    // The eval paths that skip autograd (this op's fused GEMM, Conv2dBatchNormRelu's in-place batch norm): CPU float32
    // tensors throughout, a 4-d x and weight, running statistics, and no gradient to record (grad mode off, or nothing
    // requires one).
    static bool CanFuseConvBatchNormEval(Tensor x, Tensor weight, Tensor? gamma, Tensor? beta, Tensor? mean, Tensor? var, Tensor? residual)
    {
        if (x.Rank != 4 || weight.Rank != 4 || mean is null || var is null) return false;
        foreach (var t in new[] { x, weight, gamma, beta, mean, var, residual })
            if (t is not null && (!t.Device.IsCpu || t.DType != DType.Float32)) return false;
        if (!NoGradScope.IsGradEnabled) return true;
        return !(x.RequiresGrad || weight.RequiresGrad || (gamma?.RequiresGrad ?? false) || (beta?.RequiresGrad ?? false) || (residual?.RequiresGrad ?? false));
    }
}
