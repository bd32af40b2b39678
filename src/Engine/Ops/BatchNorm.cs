// Batch normalisation over (N, C, ...) tensors (BatchNorm1d on (N,C) or (N,C,L), BatchNorm2d on
// (N,C,H,W)): training normalises with the batch statistics and updates the running ones in
// place (PyTorch momentum, unbiased running variance); eval uses the running statistics.
using Cochlea.Autograd;
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
        foreach (var (t, what) in new[] { (weight, "weight"), (bias, "bias"), (runningMean, "running_mean"), (runningVar, "running_var") })
            if (t is not null && (t.Rank != 1 || t.Size(0) != c || !t.IsContiguous))
                throw new ArgumentException($"batch_norm: {what} must be a contiguous ({c},) tensor for {x.Describe()}, got {t.Describe()}.");
        if (!training && (runningMean is null || runningVar is null))
            throw new ArgumentException("batch_norm: eval mode needs running_mean and running_var.");
        if (training && (long)n * spatial <= 1)
            throw new ArgumentException($"batch_norm: training needs more than one value per channel, got {x.Describe()} (use eval mode or a larger batch).");
        if (!x.Device.IsCpu) return BatchNormCuda(x, weight, bias, runningMean, runningVar, training, momentum, eps, n, c, spatial);

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
