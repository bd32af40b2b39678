// Parameter initialisers with PyTorch's formulas (torch.nn.init), drawing from a seeded
// System.Random so a model built twice with the same seed is identical bit for bit.
namespace Cochlea.Nn;

/// <summary>In-place initialisers for parameters (no gradient is recorded).</summary>
public static class Init
{
    /// <summary>
    /// Fan-in of a weight of shape (out, in, k...) : in * prod(k), as torch.nn.init._calculate_fan_in_and_fan_out.
    /// </summary>
    public static int FanIn(Tensor weight)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Rank < 2) throw new ArgumentException($"FanIn: expected a weight of rank >= 2 (out, in, ...), got {weight.Describe()}.", nameof(weight));
        int fan = weight.Size(1);
        for (int d = 2; d < weight.Rank; d++) fan *= weight.Size(d);
        return fan;
    }

    /// <summary>Fills <paramref name="t"/> with samples of U(lo, hi) from <paramref name="rng"/>, in row-major order.</summary>
    public static void Uniform(Tensor t, float lo, float hi, Random rng)
    {
        ArgumentNullException.ThrowIfNull(t);
        ArgumentNullException.ThrowIfNull(rng);
        if (!(lo <= hi) || !float.IsFinite(lo) || !float.IsFinite(hi)) throw new ArgumentException($"Uniform: expected finite lo <= hi, got [{lo}, {hi}).");
        var d = t.AsSpan();
        for (int i = 0; i < d.Length; i++) d[i] = (float)(lo + (hi - (double)lo) * rng.NextDouble());
    }

    /// <summary>
    /// Kaiming (He) uniform: U(-b, b) with b = gain * sqrt(3 / fan_in), gain = sqrt(2 / (1 + a^2)) (leaky-ReLU gain).
    /// PyTorch's Linear/Conv default is a = sqrt(5), which gives b = 1 / sqrt(fan_in).
    /// </summary>
    public static void KaimingUniform(Tensor weight, Random rng, double a = 2.23606797749979)
    {
        int fan = FanIn(weight);
        double gain = Math.Sqrt(2.0 / (1 + a * a));
        double bound = fan == 0 ? 0 : gain * Math.Sqrt(3.0 / fan);
        Uniform(weight, (float)-bound, (float)bound, rng);
    }

    /// <summary>
    /// PyTorch's reset_parameters() for Linear and Conv layers: weight ~ kaiming_uniform(a = sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
    /// bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)). Draws the weight first, then the bias.
    /// </summary>
    public static void PyTorchDefault(Tensor weight, Tensor? bias, Random rng)
    {
        KaimingUniform(weight, rng);
        if (bias is null) return;
        int fan = FanIn(weight);
        float bound = fan == 0 ? 0f : (float)(1.0 / Math.Sqrt(fan));
        Uniform(bias, -bound, bound, rng);
    }
}
