// Procedural fixture weights: the 32-bit integer hash the fixture scripts (make_model_fixtures.py
// procedural_weight, make_tagger_fixtures.py hash_uniform) use instead of storing full-size weights.
// u(k, j) in [0, 1) from (entry index k, element index j); the scripts document the same formula.
namespace Cochlea.Tests.Fixtures;

/// <summary>The scripts' hash-based uniforms and the weights built from them.</summary>
public static class Procedural
{
    /// <summary>u[j] = hash(j, k) / 2^32 for j in [0, n) (k may be negative: (k + 1) * 0x85EBCA77 wraps mod 2^32).</summary>
    public static double[] Uniform(int k, int n)
    {
        var u = new double[n];
        uint salt = unchecked((uint)(k + 1) * 0x85EBCA77u);
        for (int j = 0; j < n; j++)
        {
            uint x = unchecked((uint)j * 0x9E3779B1u + salt);
            x ^= x >> 16; x = unchecked(x * 0x7FEB352Du);
            x ^= x >> 15; x = unchecked(x * 0x846CA68Bu);
            x ^= x >> 16;
            u[j] = x / 4294967296.0;
        }
        return u;
    }

    /// <summary>Uniform weights with variance 1/fan_in: float32((2u - 1) * sqrt(3 / (numel / shape[0]))).</summary>
    public static float[] Weight(int k, int[] shape)
    {
        int n = shape.Aggregate(1, (a, b) => a * b);
        double scale = Math.Sqrt(3.0 / (n / shape[0]));
        return Uniform(k, n).Select(u => (float)((2.0 * u - 1.0) * scale)).ToArray();
    }

    /// <summary>make_tagger_fixtures.py's procedural(): rank >= 2 as <see cref="Weight"/>; rank-1 weight 0.75 + 0.5u; rank-1 bias 0.1 (2u - 1).</summary>
    public static float[]? TaggerParameter(int k, string name, int[] shape)
    {
        if (shape.Length >= 2) return Weight(k, shape);
        int n = shape.Aggregate(1, (a, b) => a * b);
        if (name.EndsWith("weight", StringComparison.Ordinal)) return Uniform(k, n).Select(u => (float)(0.75 + 0.5 * u)).ToArray();
        if (name.EndsWith("bias", StringComparison.Ordinal)) return Uniform(k, n).Select(u => (float)(0.1 * (2.0 * u - 1.0))).ToArray();
        return null;
    }

    /// <summary>make_tagger_fixtures.py's procedural_input(): k = -2, float32((2u - 1) * sqrt(3)).</summary>
    public static float[] Input(int[] shape) =>
        Uniform(-2, shape.Aggregate(1, (a, b) => a * b)).Select(u => (float)((2.0 * u - 1.0) * Math.Sqrt(3.0))).ToArray();
}
