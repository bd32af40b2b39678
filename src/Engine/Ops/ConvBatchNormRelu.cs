// relu(batch_norm(conv2d(x, weight))) for a bias-free, stride-1, ungrouped conv in training: FreesoundCnn's
// conv -> BN -> ReLU blocks. On the CPU, when the conv takes the implicit-GEMM path, it runs fused: the conv writes
// channel-major z (Cout, N*OH*OW), the statistics are taken on z's contiguous channel rows, and the affine, ReLU and
// move back to (N, Cout, OH, OW) are one pass (the pointwise block's kernels, BatchNorm.cs); backward turns dy into
// channel-major dz in one pass and both conv gradients read dz there. Same maths as the three ops (other summation
// blocks); in CPU inference (eval, no gradients) the batch norm and ReLU run in place on the conv's output;
// otherwise (CUDA, other convs) it is the three ops.
using Cochlea.Autograd;
using Cochlea.Kernels.Conv;
using BatchNormKernel = Cochlea.Kernels.Normalization.BatchNorm;

namespace Cochlea;

public static unsafe partial class Ops
{
    /// <summary>
    /// relu(batch_norm(conv2d(x, weight, padding: padding), gamma, beta, runningMean, runningVar, training, momentum, eps)):
    /// x (N, Cin, H, W), weight (Cout, Cin, KH, KW) without bias, stride 1 -> (N, Cout, OH, OW). Fused in CPU training
    /// on the implicit-GEMM conv path (file header); the same as the three ops otherwise.
    /// </summary>
    public static Tensor Conv2dBatchNormRelu(Tensor x, Tensor weight, ConvPadding padding, Tensor? gamma, Tensor? beta, Tensor? runningMean, Tensor? runningVar,
        bool training, float momentum = 0.1f, float eps = 1e-5f)
    {
        bool fused = training && x.Rank == 4 && weight.Rank == 4 && weight.Size(1) == x.Size(1)
                     && x.Device.IsCpu && weight.Device.IsCpu && x.DType == DType.Float32 && weight.DType == DType.Float32 && x.Size(0) > 0;
        ConvAxis ah = default, aw = default;
        if (fused)
        {
            ah = padding.Axis(0, 2, x.Size(2), weight.Size(2), 1, 1, "conv2d");
            aw = padding.Axis(1, 2, x.Size(3), weight.Size(3), 1, 1, "conv2d");
            fused = UseImplicitConv(1, x.Size(1), ah, aw) && (long)x.Size(0) * ah.Out * aw.Out > 1 && (long)x.Size(0) * ah.Out * aw.Out <= int.MaxValue;
        }
        foreach (var t in new[] { gamma, beta, runningMean, runningVar })
            fused &= t is null || (t.Device.IsCpu && t.DType == DType.Float32 && t.Rank == 1 && t.Size(0) == weight.Size(0) && t.IsContiguous);
        // The same gate as ConvBatchNormEval's fused path (one predicate: CPU float32, running statistics, no gradient to
        // record). What differs is the conv: here Conv2d keeps its own algorithm (the implicit GEMM for FreesoundCnn's
        // 3x11 convs, faster than the im2col + GEMM that ConvBatchNormEval's epilogue needs), then BN and ReLU run in place.
        if (!training && CanFuseConvBatchNormEval(x, weight, gamma, beta, runningMean, runningVar, null))
        {
            ValidateBatchNormParams("conv2d_batch_norm_relu", weight.Size(0), weight, gamma, beta, runningMean, runningVar);
            return EvalInPlace(Conv2d(x, weight, null, padding: padding), gamma, beta, runningMean!, runningVar!, eps);
        }
        if (!fused) return Relu(BatchNorm(Conv2d(x, weight, null, padding: padding), gamma, beta, runningMean, runningVar, training, momentum, eps));

        int n = x.Size(0), cin = x.Size(1), cout = weight.Size(0), p = ah.Out * aw.Out;
        var cm = PlaneStrides.ChannelMajor(n, p);
        bool wantGrad = NoGradScope.IsGradEnabled && (x.RequiresGrad || weight.RequiresGrad || (gamma?.RequiresGrad ?? false) || (beta?.RequiresGrad ?? false));
        var y = Tensor.Empty(n, cout, ah.Out, aw.Out);
        var mean = Tensor.Empty(cout);
        var invstd = Tensor.Empty(cout);
        var z = Tensor.Empty(cout, n * p);
        using (var xc = x.ContiguousRaw())
        using (var wc = weight.ContiguousRaw())
            ImplicitConv.Forward(xc.DataPtr, wc.DataPtr, z.DataPtr, n, cin, cout, ah, aw, Kernels.Simd.Best, Kernels.Threading.KernelThreads.Count, cm);
        BatchNormKernel.ForwardTrainChannelMajorRelu(z.DataPtr, y.DataPtr, n, cout, p, gamma is null ? null : gamma.DataPtr, beta is null ? null : beta.DataPtr,
            eps, momentum, runningMean is null ? null : runningMean.DataPtr, runningVar is null ? null : runningVar.DataPtr, mean.DataPtr, invstd.DataPtr);
        // Why keep z: the batch-norm backward reads it; y gives the ReLU mask.
        if (!wantGrad) { z.Dispose(); mean.Dispose(); invstd.Dispose(); return y; }

        var inputs = new List<Tensor> { x, weight };
        if (gamma is not null) inputs.Add(gamma);
        if (beta is not null) inputs.Add(beta);
        return BackwardPass.Record(y, "conv2d_batch_norm_relu", inputs.ToArray(), g =>
        {
            using var gc = g.ContiguousRaw();
            using var dz = Tensor.Empty(cout, n * p);
            var dgamma = Tensor.Empty(cout);
            var dbeta = Tensor.Empty(cout);
            BatchNormKernel.BackwardChannelMajorRelu(z.DataPtr, y.DataPtr, gc.DataPtr, dz.DataPtr, n, cout, p, gamma is null ? null : gamma.DataPtr,
                mean.DataPtr, invstd.DataPtr, dgamma.DataPtr, dbeta.DataPtr);
            Tensor? dx = null, dw = null;
            if (x.RequiresGrad)
            {
                using var ws = weight.ContiguousRaw();
                dx = Tensor.Empty(x.ShapeArray);
                ImplicitConv.BackwardInput(dz.DataPtr, ws.DataPtr, dx.DataPtr, n, cin, cout, ah, aw, Kernels.Simd.Best, Kernels.Threading.KernelThreads.Count, cm);
            }
            if (weight.RequiresGrad)
            {
                using var xs = x.ContiguousRaw();
                dw = Tensor.Empty(weight.ShapeArray);
                ImplicitConv.BackwardWeight(xs.DataPtr, dz.DataPtr, dw.DataPtr, n, cin, cout, ah, aw, Kernels.Simd.Best, Kernels.Threading.KernelThreads.Count, cm);
            }
            var r = new List<Tensor?> { dx, dw };
            if (gamma is not null) r.Add(dgamma); else dgamma.Dispose();
            if (beta is not null) r.Add(dbeta); else dbeta.Dispose();
            return r.ToArray();
        });
    }

    // Inference (eval, no gradients): the batch norm and ReLU overwrite the conv's fresh output in place, two passes
    // over memory that is still in cache and no further allocations. Same kernels (and numbers) as the separate ops.
    static Tensor EvalInPlace(Tensor z, Tensor? gamma, Tensor? beta, Tensor runningMean, Tensor runningVar, float eps)
    {
        int n = z.Size(0), c = z.Size(1);
        int spatial = (int)(z.Numel / Math.Max(1L * n * c, 1));
        float* pz = z.DataPtr;
        using var gc = gamma?.ContiguousRaw();
        using var bc = beta?.ContiguousRaw();
        using var mc = runningMean.ContiguousRaw();
        using var vc = runningVar.ContiguousRaw();
        BatchNormKernel.ForwardEval(pz, pz, n, c, spatial, gc is null ? null : gc.ReadDataPtr, bc is null ? null : bc.ReadDataPtr,
            mc.ReadDataPtr, vc.ReadDataPtr, eps);
        Kernels.Elementwise.ElementwiseLoops.Unary(new Kernels.Elementwise.ClampOp(0, float.PositiveInfinity), pz, pz, z.Numel);
        return z;
    }
}
