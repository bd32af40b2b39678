// Small helpers over the gradients of a parameter list, shared by Module.ZeroGrad,
// Optimizer.ZeroGrad and GradClip (one implementation of "clear the gradients").
namespace Cochlea.Optim;

internal static class GradUtil
{
    /// <summary>Disposes and nulls each parameter's gradient, or zero-fills it when <paramref name="setToNone"/> is false.</summary>
    public static void ZeroGrad(IEnumerable<Tensor> parameters, bool setToNone)
    {
        foreach (var p in parameters)
        {
            var g = p.Grad;
            if (g is null) continue;
            if (setToNone || g.IsDisposed)
            {
                // Disposing returns the buffer to the pool; the next backward pass rents the same size again.
                g.Dispose();
                p.Grad = null;
            }
            else
            {
                if (!g.Device.IsCpu && g.IsContiguous) Cuda.CudaBackend.Get(g.Device.Index).Zero(g.DevicePtr, g.Numel * g.DType.Size());
                else if (g.IsContiguous && g.DType == DType.Float32) g.AsSpan().Clear();
                else { using var zero = Tensor.ZerosLike(g); zero.CopyTo(g); }
            }
        }
    }
}
