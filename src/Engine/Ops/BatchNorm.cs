// Batch normalisation over (N, C, ...) tensors (BatchNorm1d on (N,C) or (N,C,L), BatchNorm2d on
// (N,C,H,W)): training normalises with the batch statistics and updates the running ones in
// place (PyTorch momentum, unbiased running variance); eval uses the running statistics.
using Cochlea.Autograd;
using Cochlea.Kernels.Conv;
using Cochlea.Kernels.Gemm;
using BatchNormKernel = Cochlea.Kernels.Normalization.BatchNorm;

namespace Cochlea;

public static unsafe partial class Ops
{
    /// <summary>
    /// y = (x - mean_c) / sqrt(var_c + eps) * weight_c + bias_c. In training mean/var are the batch's (biased var) and
    /// runningMean/runningVar (if given) become (1 - momentum) * running + momentum * batch (unbiased var);
    /// in eval the running statistics are used. weight/bias may be null (1 / 0).
    /// </summary>
    public static Tensor BatchNorm(Tensor x, Tensor? weight, Tensor? bias, Tensor? runningMean, Tensor? runningVar,
        bool training, float momentum = 0.1f, float eps = 1e-5f)
    {
        RequireFloat(x, "batch_norm");
        if (x.Rank < 2) throw new ArgumentException($"batch_norm: expected (N, C, ...), got {x.Describe()}.");
        int n = x.Size(0), c = x.Size(1);
        int spatial = (int)(x.Numel / Math.Max(1L * n * c, 1));
        CheckChannelVector(weight, "weight", c, x);
        CheckChannelVector(bias, "bias", c, x);
        CheckChannelVector(runningMean, "running_mean", c, x);
        CheckChannelVector(runningVar, "running_var", c, x);
        if (!training && (runningMean is null || runningVar is null))
            throw new ArgumentException("batch_norm: eval mode needs running_mean and running_var.");
        if (training && (long)n * spatial <= 1)
            throw new ArgumentException($"batch_norm: training needs more than one value per channel, got {x.Describe()} (use eval mode or a larger batch).");
        if (!x.Device.IsCpu) return BatchNormCuda(x, weight, bias, runningMean, runningVar, training, momentum, eps, n, c, spatial);
        return BatchNormCpu(x, weight, bias, runningMean, runningVar, training, momentum, eps, n, c, spatial);
    }

    // A weight, bias or running statistic: null or a contiguous (C,) tensor.
    static void CheckChannelVector(Tensor? t, string what, int c, Tensor x)
    {
        if (t is not null && (t.Rank != 1 || t.Size(0) != c || !t.IsContiguous))
            throw new ArgumentException($"batch_norm: {what} must be a contiguous ({c},) tensor for {x.Describe()}, got {t.Describe()}.");
    }

    // Its own method so that the CUDA path does not allocate the backward closure's captures (C# makes them at entry).
    static Tensor BatchNormCpu(Tensor x, Tensor? weight, Tensor? bias, Tensor? runningMean, Tensor? runningVar,
        bool training, float momentum, float eps, int n, int c, int spatial)
    {
        var y = Tensor.Empty(x.ShapeArray);
        using var xc = x.ContiguousRaw();
        float* pg = weight is null ? null : weight.DataPtr, pb = bias is null ? null : bias.DataPtr;
        var mean = Tensor.Empty(c);
        var invstd = Tensor.Empty(c);
        if (training)
        {
            BatchNormKernel.ForwardTrain(xc.DataPtr, y.DataPtr, n, c, spatial, pg, pb, eps, momentum,
                runningMean is null ? null : runningMean.DataPtr, runningVar is null ? null : runningVar.DataPtr, mean.DataPtr, invstd.DataPtr);
        }
        else
        {
            BatchNormKernel.ForwardEval(xc.DataPtr, y.DataPtr, n, c, spatial, pg, pb, runningMean!.DataPtr, runningVar!.DataPtr, eps);
            // Backward in eval treats the running statistics as constants: keep them as (mean, invstd).
            float* rm = runningMean.DataPtr, rv = runningVar.DataPtr, pm = mean.DataPtr, pi = invstd.DataPtr;
            for (int i = 0; i < c; i++) { pm[i] = rm[i]; pi[i] = 1f / MathF.Sqrt(rv[i] + eps); }
        }

        var inputs = new List<Tensor> { x };
        if (weight is not null) inputs.Add(weight);
        if (bias is not null) inputs.Add(bias);
        return BackwardPass.Record(y, "batch_norm", inputs.ToArray(), g =>
        {
            using var gc = g.ContiguousRaw();
            using var xs = x.ContiguousRaw();
            var dx = Tensor.Empty(x.ShapeArray);
            var dgamma = Tensor.Empty(c);
            var dbeta = Tensor.Empty(c);
            float* pgw = weight is null ? null : weight.DataPtr;
            if (training)
                BatchNormKernel.Backward(xs.DataPtr, gc.DataPtr, dx.DataPtr, n, c, spatial, pgw, mean.DataPtr, invstd.DataPtr, dgamma.DataPtr, dbeta.DataPtr);
            else
                EvalBackward(xs.DataPtr, gc.DataPtr, dx.DataPtr, n, c, spatial, pgw, mean.DataPtr, invstd.DataPtr, dgamma.DataPtr, dbeta.DataPtr);
            var r = new List<Tensor?> { dx };
            if (weight is not null) r.Add(dgamma); else dgamma.Dispose();
            if (bias is not null) r.Add(dbeta); else dbeta.Dispose();
            return r.ToArray();
        });
    }

    /// <summary>
    /// relu(batch_norm(conv1d(conv1d(x, dwWeight, stride, padding, groups: C), pwWeight))): a whole separable block
    /// (depthwise (C, 1, K) bias-free, then a bias-free 1x1 (Cout, C, 1), then BN and ReLU). In training on the CPU over a
    /// batch it runs fused: the depthwise conv writes channel-major (C, N*OL), the GEMM's own layout, so no activation
    /// or gradient is moved between the two convs; the statistics are taken on the GEMM output's contiguous channel
    /// rows, and the affine, ReLU and move back to (N, Cout, OL) are one pass; backward gathers the masked gradient
    /// straight into channel-major for the GEMMs. Same maths as the four ops (other summation blocks); otherwise it is them.
    /// </summary>
    public static Tensor SeparableConv1dBatchNormRelu(Tensor x, Tensor dwWeight, int stride, ConvPadding padding, Tensor pwWeight,
        Tensor? gamma, Tensor? beta, Tensor? runningMean, Tensor? runningVar, bool training, float momentum = 0.1f, float eps = 1e-5f)
    {
        bool fused = training && x.Rank == 3 && dwWeight.Rank == 3 && pwWeight.Rank == 3 && x.Size(0) > 1
                     && dwWeight.Size(0) == x.Size(1) && dwWeight.Size(1) == 1 && x.Size(1) > 1
                     && pwWeight.Size(1) == x.Size(1) && pwWeight.Size(2) == 1
                     && x.Device.IsCpu && dwWeight.Device.IsCpu && pwWeight.Device.IsCpu
                     && x.DType == DType.Float32 && dwWeight.DType == DType.Float32 && pwWeight.DType == DType.Float32;
        fused &= FusableChannelVector(gamma, pwWeight) && FusableChannelVector(beta, pwWeight)
                 && FusableChannelVector(runningMean, pwWeight) && FusableChannelVector(runningVar, pwWeight);
        ConvAxis ax = default;
        if (fused)
        {
            ax = padding.Axis(0, 1, x.Size(2), dwWeight.Size(2), stride, 1, "conv1d");
            fused = ax.Out > 0 && (long)x.Size(0) * ax.Out > 1
                    && (long)x.Size(0) * ax.Out * Math.Max(x.Size(1), pwWeight.Size(0)) * sizeof(float) <= BatchedColumnsMaxBytes;
        }
        if (!fused)
            return Relu(BatchNorm(Conv1d(Conv1d(x, dwWeight, null, stride, padding, groups: x.Size(1)), pwWeight), gamma, beta, runningMean, runningVar, training, momentum, eps));
        return SeparableConv1dBatchNormReluFused(x, dwWeight, ax, pwWeight, gamma, beta, runningMean, runningVar, momentum, eps);
    }

    // null or a CPU float32 contiguous (Cout,) tensor: what the fused block takes for gamma, beta and the running statistics.
    static bool FusableChannelVector(Tensor? t, Tensor pwWeight)
        => t is null || (t.Device.IsCpu && t.DType == DType.Float32 && t.Rank == 1 && t.Size(0) == pwWeight.Size(0) && t.IsContiguous);

    // The fused CPU training path of SeparableConv1dBatchNormRelu (its own method: the unfused and CUDA paths then
    // allocate no closure captures).
    static Tensor SeparableConv1dBatchNormReluFused(Tensor x, Tensor dwWeight, ConvAxis ax, Tensor pwWeight,
        Tensor? gamma, Tensor? beta, Tensor? runningMean, Tensor? runningVar, float momentum, float eps)
    {
        int n = x.Size(0), cin = x.Size(1), p = ax.Out, cout = pwWeight.Size(0), cols = n * p;
        bool wantGrad = NoGradScope.IsGradEnabled && (x.RequiresGrad || dwWeight.RequiresGrad || pwWeight.RequiresGrad
                                                      || (gamma?.RequiresGrad ?? false) || (beta?.RequiresGrad ?? false));
        var y = Tensor.Empty(n, cout, p);
        var mean = Tensor.Empty(cout);
        var invstd = Tensor.Empty(cout);
        var cm = Tensor.Empty(cin, cols);   // the depthwise output, channel-major
        var z = Tensor.Empty(cout, cols);
        using (var xc = x.ContiguousRaw())
        using (var dwc = dwWeight.ContiguousRaw())
        using (var pwc = pwWeight.ContiguousRaw())
        {
            Depthwise.Forward1dChannelMajor(xc.DataPtr, dwc.DataPtr, cm.DataPtr, n, cin, 1, ax, Kernels.Simd.Best);
            Sgemm.Run(false, false, cout, cols, cin, 1f, pwc.DataPtr, cin, cm.DataPtr, cols, 0f, z.DataPtr, cols);
        }
        BatchNormKernel.ForwardTrainChannelMajorRelu(z.DataPtr, y.DataPtr, n, cout, p, gamma is null ? null : gamma.DataPtr, beta is null ? null : beta.DataPtr,
            eps, momentum, runningMean is null ? null : runningMean.DataPtr, runningVar is null ? null : runningVar.DataPtr, mean.DataPtr, invstd.DataPtr);
        if (!wantGrad) { cm.Dispose(); z.Dispose(); return y; }

        var inputs = new List<Tensor> { x, dwWeight, pwWeight };
        if (gamma is not null) inputs.Add(gamma);
        if (beta is not null) inputs.Add(beta);
        return BackwardPass.Record(y, "separable_conv1d_batch_norm_relu", inputs.ToArray(), g =>
        {
            using var gc = g.ContiguousRaw();
            using var dz = Tensor.Empty(cout, cols);
            var dgamma = Tensor.Empty(cout);
            var dbeta = Tensor.Empty(cout);
            BatchNormKernel.BackwardChannelMajorRelu(z.DataPtr, y.DataPtr, gc.DataPtr, dz.DataPtr, n, cout, p, gamma is null ? null : gamma.DataPtr,
                mean.DataPtr, invstd.DataPtr, dgamma.DataPtr, dbeta.DataPtr);
            Tensor? dx = null, ddw = null, dpw = null;
            if (pwWeight.RequiresGrad)
            {
                dpw = Tensor.Empty(pwWeight.ShapeArray);
                Sgemm.Run(false, true, cout, cin, cols, 1f, dz.DataPtr, cols, cm.DataPtr, cols, 0f, dpw.DataPtr, cin);
            }
            if (x.RequiresGrad || dwWeight.RequiresGrad)
            {
                // d(depthwise output), channel-major (C, N*OL) = W_pw^T dz: the depthwise backward reads it in place.
                using var dcm = Tensor.Empty(cin, cols);
                using (var pws = pwWeight.ContiguousRaw())
                    Sgemm.Run(true, false, cin, cols, cout, 1f, pws.DataPtr, cin, dz.DataPtr, cols, 0f, dcm.DataPtr, cols);
                if (x.RequiresGrad)
                {
                    dx = Tensor.Empty(x.ShapeArray);
                    using var dws = dwWeight.ContiguousRaw();
                    Depthwise.BackwardInput1dChannelMajor(dcm.DataPtr, dws.DataPtr, dx.DataPtr, n, cin, 1, ax, Kernels.Simd.Best);
                }
                if (dwWeight.RequiresGrad)
                {
                    ddw = Tensor.Empty(dwWeight.ShapeArray);
                    using var xs = x.ContiguousRaw();
                    Depthwise.BackwardWeight1dChannelMajor(xs.DataPtr, dcm.DataPtr, ddw.DataPtr, n, cin, 1, ax, Kernels.Simd.Best);
                }
            }
            var r = new List<Tensor?> { dx, ddw, dpw };
            if (gamma is not null) r.Add(dgamma); else dgamma.Dispose();
            if (beta is not null) r.Add(dbeta); else dbeta.Dispose();
            return r.ToArray();
        });
    }

    // Eval mode: y is affine in x with constant statistics, so dx = dy * gamma * invstd.
    static void EvalBackward(float* x, float* dy, float* dx, int n, int c, int spatial, float* gamma, float* mean, float* invstd, float* dgamma, float* dbeta)
    {
        for (int ch = 0; ch < c; ch++)
        {
            double sg = 0, sb = 0;
            float k = (gamma == null ? 1f : gamma[ch]) * invstd[ch];
            for (int i = 0; i < n; i++)
            {
                long o = ((long)i * c + ch) * spatial;
                for (int s = 0; s < spatial; s++)
                {
                    float d = dy[o + s];
                    sb += d;
                    sg += d * (x[o + s] - mean[ch]) * invstd[ch];
                    dx[o + s] = d * k;
                }
            }
            dgamma[ch] = (float)sg; dbeta[ch] = (float)sb;
        }
    }
}
