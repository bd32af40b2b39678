// Gradient clipping by global norm (tf.clip_by_global_norm, torch.nn.utils.clip_grad_norm_):
// one norm over all gradients, then every gradient scaled by the same factor.
namespace Cochlea.Optim;

/// <summary>Gradient clipping.</summary>
public static class GradClip
{
    /// <summary>
    /// sqrt(sum over parameters of sum(grad^2)), skipping parameters without a gradient. Accumulated in double in a
    /// fixed order, so it is deterministic.
    /// </summary>
    public static float GlobalNorm(IEnumerable<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        double sum = 0;
        var grads = Grads(parameters).ToList();
        // GPU gradients: all their sums of squares in one round trip per device, added below in list order.
        var onGpu = grads.Where(g => !g.Device.IsCpu).ToList();
        var gpuSums = onGpu.Count == 0 ? [] : Cuda.CudaOptim.SumSquares(onGpu);
        int next = 0;
        foreach (var g in grads)
        {
            if (!g.Device.IsCpu) { sum += gpuSums[next++]; continue; }
            var s = g.AsSpan();
            for (int j = 0; j < s.Length; j++) sum += (double)s[j] * s[j];
        }
        return (float)Math.Sqrt(sum);
    }

    /// <summary>
    /// Scales every gradient by maxNorm / (norm + 1e-6) when the global norm exceeds <paramref name="maxNorm"/>
    /// (torch's clip_grad_norm_; TF's clip_by_global_norm is the same without the 1e-6), and returns the norm
    /// before clipping. A non-finite norm leaves the gradients unchanged and is returned, so the caller can skip the step.
    /// </summary>
    public static float ClipByGlobalNorm(IEnumerable<Tensor> parameters, float maxNorm)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(maxNorm > 0) || !float.IsFinite(maxNorm)) throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "ClipByGlobalNorm: maxNorm must be finite and > 0.");
        var list = parameters as IReadOnlyCollection<Tensor> ?? parameters.ToList();
        float norm = GlobalNorm(list);
        if (!float.IsFinite(norm) || norm <= maxNorm) return norm;
        float scale = (float)(maxNorm / (norm + 1e-6));
        foreach (var g in Grads(list))
        {
            if (!g.Device.IsCpu) { Cuda.CudaElementwise.ScaleInPlace(g, scale); continue; }
            var s = g.AsSpan();
            for (int j = 0; j < s.Length; j++) s[j] *= scale;
        }
        return norm;
    }

    static IEnumerable<Tensor> Grads(IEnumerable<Tensor> parameters)
    {
        int i = 0;
        foreach (var p in parameters)
        {
            if (p is null) throw new ArgumentException($"GradClip: parameter {i} is null.", nameof(parameters));
            var g = p.Grad;
            i++;
            if (g is null || g.IsDisposed) continue;
            if (g.DType != DType.Float32 || !g.IsContiguous)
                throw new ArgumentException($"GradClip: the gradient of parameter {i - 1} must be a contiguous float32 tensor, got {g.Describe()}.", nameof(parameters));
            yield return g;
        }
    }
}
