// Gradient clipping by global norm (tf.clip_by_global_norm, torch.nn.utils.clip_grad_norm_):
// one norm over all gradients, then every gradient scaled by the same factor. The tensor-returning forms keep
// the norm on the gradients' device, so clipping CUDA gradients never waits for the GPU (as PyTorch returns a
// 0-d tensor); the float forms read it back (one wait).
namespace Cochlea.Optim;

/// <summary>Gradient clipping.</summary>
public static class GradClip
{
    /// <summary>
    /// sqrt(sum over parameters of sum(grad^2)), skipping parameters without a gradient. Accumulated in double in a
    /// fixed order, so it is deterministic. Reads the norm back from a GPU (one host wait); see <see cref="GlobalNormTensor"/>.
    /// </summary>
    public static float GlobalNorm(IEnumerable<Tensor> parameters)
    {
        using var norm = GlobalNormTensor(parameters);
        return norm.Item();
    }

    /// <summary>
    /// The global gradient norm sqrt(sum over parameters of sum(grad^2)) as a 0-d float32 tensor on the gradients'
    /// device (parameters without a gradient skipped; none at all: 0 on the first parameter's device, or the CPU).
    /// Accumulated in double in a fixed order, so it is deterministic and the same bits on every run. On CUDA it is
    /// computed on the device with no host wait (per-block partials, then one block adds them in order).
    /// </summary>
    /// <exception cref="ArgumentException">A gradient is not contiguous float32, or two gradients are on different devices.</exception>
    public static Tensor GlobalNormTensor(IEnumerable<Tensor> parameters)
    {
        var (grads, device) = Grads(parameters);
        return NormOn(grads, device);
    }

    /// <summary>
    /// Scales every gradient by maxNorm / (norm + 1e-6) when the global norm exceeds <paramref name="maxNorm"/>
    /// (torch's clip_grad_norm_; TF's clip_by_global_norm is the same without the 1e-6), and returns the norm
    /// before clipping. A non-finite norm leaves the gradients unchanged and is returned, so the caller can skip the step.
    /// Reads the norm back from a GPU (one host wait); a training step should call <see cref="ClipByGlobalNormTensor"/>.
    /// </summary>
    public static float ClipByGlobalNorm(IEnumerable<Tensor> parameters, float maxNorm)
    {
        using var norm = ClipByGlobalNormTensor(parameters, maxNorm);
        return norm.Item();
    }

    /// <summary>
    /// <see cref="ClipByGlobalNorm"/> with the pre-clip norm returned as a 0-d float32 tensor on the gradients' device
    /// (as <see cref="GlobalNormTensor"/>): g *= maxNorm / (norm + 1e-6) for every gradient when the norm is finite and
    /// &gt; <paramref name="maxNorm"/>, else no gradient changes. On one CUDA device the norm, the test and the scaling all
    /// run on the GPU (3 launches for up to 32 gradients) with no host wait, so the step's queue never drains here.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxNorm"/> is not finite and &gt; 0.</exception>
    /// <exception cref="ArgumentException">A gradient is not contiguous float32, or two gradients are on different devices.</exception>
    public static Tensor ClipByGlobalNormTensor(IEnumerable<Tensor> parameters, float maxNorm)
    {
        if (!(maxNorm > 0) || !float.IsFinite(maxNorm)) throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "ClipByGlobalNorm: maxNorm must be finite and > 0.");
        var (grads, device) = Grads(parameters);
        var norm = NormOn(grads, device);
        if (!device.IsCpu)
        {
            Cuda.CudaOptim.ScaleByNorm(Cuda.CudaBackend.Get(device.Index), grads, norm, maxNorm);
            return norm;
        }
        float n = norm.Item();
        if (!float.IsFinite(n) || n <= maxNorm) return norm;
        float scale = (float)(maxNorm / (n + 1e-6));
        foreach (var g in grads)
        {
            var s = g.AsSpan();
            for (int j = 0; j < s.Length; j++) s[j] *= scale;
        }
        return norm;
    }

    // The norm of `grads` (all on `device`) as a new 0-d tensor there.
    static Tensor NormOn(List<Tensor> grads, Device device)
    {
        if (!device.IsCpu)
        {
            var norm = Tensor.Empty([], DType.Float32, device);
            Cuda.CudaOptim.GlobalNorm(Cuda.CudaBackend.Get(device.Index), grads, norm);
            return norm;
        }
        double sum = 0;
        foreach (var g in grads)
        {
            var s = g.AsSpan();
            for (int j = 0; j < s.Length; j++) sum += (double)s[j] * s[j];
        }
        return Tensor.Scalar((float)Math.Sqrt(sum));
    }

    // The gradients of `parameters` in order (parameters without one skipped) and their one device.
    static (List<Tensor> Grads, Device Device) Grads(IEnumerable<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var grads = new List<Tensor>();
        Device? device = null, firstParameter = null;
        int i = 0, from = -1;
        foreach (var p in parameters)
        {
            if (p is null) throw new ArgumentException($"GradClip: parameter {i} is null.", nameof(parameters));
            firstParameter ??= p.Device;
            var g = p.Grad;
            i++;
            if (g is null || g.IsDisposed) continue;
            if (g.DType != DType.Float32 || !g.IsContiguous)
                throw new ArgumentException($"GradClip: the gradient of parameter {i - 1} must be a contiguous float32 tensor, got {g.Describe()}.", nameof(parameters));
            if (device is null) { device = g.Device; from = i - 1; }
            else if (g.Device != device)
                throw new ArgumentException($"GradClip: the gradients are on different devices: parameter {from}'s on {device}, parameter {i - 1}'s on {g.Device}; " +
                    "clip the parameters of one device at a time, or move them to one device with .To(device).", nameof(parameters));
            grads.Add(g);
        }
        return (grads, device ?? firstParameter ?? Device.Cpu);
    }
}
