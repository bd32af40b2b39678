// Distributions drawn from the counter-based Philox generator: unbiased bounded integers, doubles
// with 53 random bits, normals, Gamma (Marsaglia-Tsang) and Beta, and Fisher-Yates shuffles.
// Everything seeded in the data pipeline goes through these, so a run is reproduced exactly by
// (seed, offset) and never touches System.Random (whose algorithm is not a documented contract).
namespace Cochlea.Models.Augment;

/// <summary>Sampling helpers on <see cref="Philox"/>. Each call consumes a documented or bounded number of draws.</summary>
public static class PhiloxSampling
{
    const double TwoPow53 = 9007199254740992.0;

    /// <summary>Uniform double in [0, 1) with 53 random bits (two 32-bit draws).</summary>
    public static double NextDouble(this Philox rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        ulong hi = rng.NextUInt() >> 5, lo = rng.NextUInt() >> 6;   // 27 + 26 bits
        return ((hi << 26) | lo) / TwoPow53;
    }

    /// <summary>Uniform double in the open interval (0, 1): safe to take the logarithm of.</summary>
    public static double NextOpenDouble(this Philox rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        ulong hi = rng.NextUInt() >> 5, lo = rng.NextUInt() >> 6;
        return (((hi << 26) | lo) + 0.5) / TwoPow53;
    }

    /// <summary>Uniform double in [<paramref name="lo"/>, <paramref name="hi"/>).</summary>
    public static double NextUniform(this Philox rng, double lo, double hi)
    {
        if (!double.IsFinite(lo) || !double.IsFinite(hi) || hi < lo)
            throw new ArgumentOutOfRangeException(nameof(hi), $"NextUniform: need finite lo <= hi (got lo={lo}, hi={hi}).");
        return lo + (hi - lo) * rng.NextDouble();
    }

    /// <summary>
    /// Uniform integer in [<paramref name="lo"/>, <paramref name="hiExclusive"/>) (numpy's <c>randint</c> range),
    /// without modulo bias (Lemire's multiply-and-reject).
    /// </summary>
    public static int NextInt(this Philox rng, int lo, int hiExclusive)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (hiExclusive <= lo)
            throw new ArgumentOutOfRangeException(nameof(hiExclusive), $"NextInt: need lo < hiExclusive (got {lo}, {hiExclusive}).");
        uint range = (uint)((long)hiExclusive - lo);
        ulong m = (ulong)rng.NextUInt() * range;
        if ((uint)m < range)
        {
            // Reject the few low products that would make some values more likely than others.
            uint threshold = (uint)(-range) % range;
            while ((uint)m < threshold) m = (ulong)rng.NextUInt() * range;
        }
        return (int)(lo + (long)(m >> 32));
    }

    /// <summary>Uniform integer in [0, <paramref name="n"/>).</summary>
    public static int NextInt(this Philox rng, int n) => rng.NextInt(0, n);

    /// <summary>True with probability <paramref name="p"/> (one double draw).</summary>
    public static bool NextBool(this Philox rng, double p)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), $"NextBool: probability must be in [0, 1] (got {p}).");
        return rng.NextDouble() < p;
    }

    /// <summary>Standard normal in double precision (Box-Muller; the second value is discarded so each call uses four draws).</summary>
    public static double NextNormal(this Philox rng)
    {
        double u1 = rng.NextOpenDouble(), u2 = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Gamma(<paramref name="shape"/>, 1) sample: mean = shape, variance = shape.</summary>
    /// <remarks>Marsaglia and Tsang (2000); for shape &lt; 1, Gamma(k) = Gamma(k+1) * U^(1/k).</remarks>
    public static double NextGamma(this Philox rng, double shape) => Math.Exp(rng.NextLogGamma(shape));

    /// <summary>
    /// Beta(<paramref name="a"/>, <paramref name="b"/>) sample X/(X+Y) with X ~ Gamma(a), Y ~ Gamma(b):
    /// mean a/(a+b), variance ab/((a+b)^2 (a+b+1)).
    /// </summary>
    /// <remarks>
    /// Computed from log-Gamma draws as 1/(1+exp(log Y - log X)) because for small shapes (mixup uses 0.1..0.4)
    /// both Gamma draws routinely underflow to 0 in double, and X/(X+Y) would be 0/0.
    /// </remarks>
    public static double NextBeta(this Philox rng, double a, double b)
    {
        if (!(a > 0) || !(b > 0) || !double.IsFinite(a) || !double.IsFinite(b))
            throw new ArgumentOutOfRangeException(nameof(a), $"NextBeta: shapes must be finite and > 0 (got a={a}, b={b}).");
        double lx = rng.NextLogGamma(a), ly = rng.NextLogGamma(b);
        return 1.0 / (1.0 + Math.Exp(ly - lx));
    }

    /// <summary>Fisher-Yates shuffle of <paramref name="items"/> in place (n-1 bounded-integer draws).</summary>
    public static void Shuffle<T>(this Philox rng, Span<T> items)
    {
        ArgumentNullException.ThrowIfNull(rng);
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>log of a Gamma(shape, 1) sample; finite even where the sample itself underflows.</summary>
    static double NextLogGamma(this Philox rng, double shape)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (!(shape > 0) || !double.IsFinite(shape))
            throw new ArgumentOutOfRangeException(nameof(shape), $"NextGamma: shape must be finite and > 0 (got {shape}).");
        if (shape < 1)
        {
            // Boost: Gamma(k) = Gamma(k + 1) * U^(1/k), in logs.
            double boosted = rng.NextLogGamma(shape + 1);
            return boosted + Math.Log(rng.NextOpenDouble()) / shape;
        }
        double d = shape - 1.0 / 3.0, c = 1.0 / Math.Sqrt(9.0 * d);
        while (true)
        {
            double x = rng.NextNormal(), v = 1.0 + c * x;
            if (v <= 0) continue;
            v = v * v * v;
            double u = rng.NextOpenDouble();
            if (Math.Log(u) < 0.5 * x * x + d - d * v + d * Math.Log(v)) return Math.Log(d) + Math.Log(v);
        }
    }
}
