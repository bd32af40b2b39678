// Mixup (Zhang et al. 2018) on a batch: each example i is blended with a partner p(i) from a random
// permutation of the batch, x_i' = lam x_i + (1 - lam) x_p(i) and the same for the soft targets, with
// lam ~ Beta(alpha, alpha) (one per batch, or one per example). Convex combinations of probability
// vectors stay probability vectors, so targets that sum to 1 still do.
using System.Buffers;

namespace Cochlea.Models.Augment;

/// <summary>What a mixup call did: partner index and lambda per example.</summary>
/// <param name="Partner">p(i): the example mixed into example i.</param>
/// <param name="Lambda">lam_i: the weight of example i itself (all equal when one lambda per batch).</param>
public sealed record MixupResult(int[] Partner, float[] Lambda);

/// <summary>Mixup of inputs and soft targets.</summary>
public static class Mixup
{
    /// <summary>
    /// Mixes a batch in place: <paramref name="inputs"/> is (batch, inputSize), <paramref name="targets"/> is
    /// (batch, classes), both row-major. Draws order: permutation (Fisher-Yates), then lambda(s).
    /// </summary>
    /// <param name="inputs">(B, N) inputs: waveforms or flattened features.</param>
    /// <param name="targets">(B, C) soft targets (e.g. <see cref="OneHot"/>); may be empty when C is 0.</param>
    /// <param name="batch">B.</param>
    /// <param name="alpha">Beta shape, &gt; 0 (the tagger recipe uses 0.1).</param>
    /// <param name="rng">Random stream.</param>
    /// <param name="perExample">One lambda per example instead of one per batch.</param>
    public static MixupResult Apply(Span<float> inputs, Span<float> targets, int batch, double alpha, Philox rng, bool perExample = false)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (batch < 0) throw new ArgumentOutOfRangeException(nameof(batch), $"Mixup: batch must be >= 0 (got {batch}).");
        if (!(alpha > 0) || !double.IsFinite(alpha)) throw new ArgumentOutOfRangeException(nameof(alpha), $"Mixup: alpha must be finite and > 0 (got {alpha}).");
        if (batch == 0)
        {
            if (inputs.Length != 0 || targets.Length != 0) throw new ArgumentException("Mixup: batch 0 with non-empty inputs or targets.", nameof(batch));
            return new MixupResult([], []);
        }
        if (inputs.Length % batch != 0) throw new ArgumentException($"Mixup: {inputs.Length} input values are not a multiple of batch {batch}.", nameof(inputs));
        if (targets.Length % batch != 0) throw new ArgumentException($"Mixup: {targets.Length} target values are not a multiple of batch {batch}.", nameof(targets));

        var partner = new int[batch];
        for (int i = 0; i < batch; i++) partner[i] = i;
        rng.Shuffle(partner.AsSpan());
        var lambda = new float[batch];
        float shared = (float)rng.NextBeta(alpha, alpha);
        for (int i = 0; i < batch; i++) lambda[i] = perExample ? (i == 0 ? shared : (float)rng.NextBeta(alpha, alpha)) : shared;

        Blend(inputs, batch, partner, lambda);
        Blend(targets, batch, partner, lambda);
        return new MixupResult(partner, lambda);
    }

    /// <summary>One-hot rows: targets (B, classes) with 1 at each label (optionally smoothed: 1-eps+eps/C and eps/C).</summary>
    public static void OneHot(ReadOnlySpan<int> labels, Span<float> targets, int classes, float smoothing = 0f)
    {
        if (classes <= 0) throw new ArgumentOutOfRangeException(nameof(classes), $"OneHot: classes must be > 0 (got {classes}).");
        if (!(smoothing >= 0 && smoothing < 1)) throw new ArgumentOutOfRangeException(nameof(smoothing), $"OneHot: smoothing must be in [0, 1) (got {smoothing}).");
        if ((long)labels.Length * classes != targets.Length)
            throw new ArgumentException($"OneHot: targets hold {targets.Length} values; {labels.Length} labels x {classes} classes expected.", nameof(targets));
        float off = smoothing / classes, on = 1f - smoothing + off;
        targets.Fill(off);
        for (int i = 0; i < labels.Length; i++)
        {
            if ((uint)labels[i] >= (uint)classes) throw new ArgumentOutOfRangeException(nameof(labels), $"OneHot: label {labels[i]} at row {i} is outside [0, {classes}).");
            targets[i * classes + labels[i]] = on;
        }
    }

    static void Blend(Span<float> data, int batch, int[] partner, float[] lambda)
    {
        int row = data.Length / batch;
        if (row == 0) return;
        // The partners read the original rows, so mix from a copy.
        float[] copy = ArrayPool<float>.Shared.Rent(data.Length);
        try
        {
            data.CopyTo(copy);
            for (int i = 0; i < batch; i++)
            {
                var dst = data.Slice(i * row, row);
                var a = copy.AsSpan(i * row, row);
                var b = copy.AsSpan(partner[i] * row, row);
                float l = lambda[i], m = 1f - lambda[i];
                for (int k = 0; k < row; k++) dst[k] = l * a[k] + m * b[k];
            }
        }
        finally { ArrayPool<float>.Shared.Return(copy); }
    }
}
