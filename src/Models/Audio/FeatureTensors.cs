// Tensor plumbing shared by the feature front-end classes: accepts a waveform (N) or a batch (B, N) of
// float32 CPU samples, hands the kernels a span, and shapes the time-major result (B, frames, ...) or,
// for a single waveform, (frames, ...).


namespace Cochlea.Models.Audio;

internal static class FeatureTensors
{
    /// <summary>Runs <paramref name="kernel"/>(samples, batch, output) for x of shape (N) or (B, N); the output has shape [B,] frames, tail...</summary>
    public static Tensor Run(Tensor x, string what, Func<int, int> frames, int[] tail, Action<ReadOnlySpan<float>, int, Span<float>> kernel)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (!x.Device.IsCpu) throw new NotSupportedException($"{what}: {x.Describe()} is on {x.Device}; features run on the CPU (move it with .To(Device.Cpu)).");
        if (x.DType != DType.Float32) throw new ArgumentException($"{what}: expected float32 samples, got {x.Describe()}.", nameof(x));
        if (x.Rank is not (1 or 2)) throw new ArgumentException($"{what}: expected a waveform (N) or a batch (B, N), got {x.Describe()}.", nameof(x));
        bool batched = x.Rank == 2;
        int b = batched ? x.Shape[0] : 1, n = x.Shape[x.Rank - 1];
        int f = frames(n);
        var shape = (batched ? new[] { b, f } : new[] { f }).Concat(tail).ToArray();
        var y = Tensor.Empty(shape);
        using var xc = x.Detach().Contiguous();
        kernel(xc.AsSpan(), b, y.AsSpan());
        return y;
    }
}
