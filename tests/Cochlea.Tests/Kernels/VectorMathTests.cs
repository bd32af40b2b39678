// VectorMath (exp, log, tanh, sigmoid) on every available path against double-precision Math,
// in ulps of the float result, over a wide range plus the special values.
using Cochlea.Kernels;
using Cochlea.Kernels.Numerics;
using NUnit.Framework;

namespace Cochlea.Tests.Kernels;

[Category("Kernels")]
public class VectorMathTests
{
    static float[] Inputs(float lo, float hi, int n, int seed)
    {
        var rng = new Random(seed);
        var list = new List<float>();
        for (int i = 0; i < n; i++) list.Add(lo + (hi - lo) * (float)rng.NextDouble());
        list.AddRange(new[] { 0f, -0f, 1f, -1f, float.PositiveInfinity, float.NegativeInfinity, float.NaN,
            float.Epsilon, -float.Epsilon, 1e-30f, -1e-30f, 1e-7f, 88.72f, 88.73f, -87.3f, -103f, -104.5f, 200f, -200f, 0.624f, 0.626f, 9f, -9f });
        return list.ToArray();
    }

    static int UlpDistance(float a, float b)
    {
        if (float.IsNaN(a) || float.IsNaN(b)) return float.IsNaN(a) && float.IsNaN(b) ? 0 : int.MaxValue;
        if (a == b) return 0;
        int ia = BitConverter.SingleToInt32Bits(a), ib = BitConverter.SingleToInt32Bits(b);
        if (ia < 0) ia = int.MinValue - ia;
        if (ib < 0) ib = int.MinValue - ib;
        long d = Math.Abs((long)ia - ib);
        return d > int.MaxValue ? int.MaxValue : (int)d;
    }

    static void Run(Action<float[], float[], SimdWidth> f, Func<double, double> reference, float lo, float hi, int maxUlp, float absTol = 0f)
    {
        var x = Inputs(lo, hi, 4000, 11);
        foreach (var w in Check.Paths)
        {
            var y = new float[x.Length + 3];
            f(x, y, w);
            for (int i = 0; i < x.Length; i++)
            {
                float e = (float)reference(x[i]);
                if (Math.Abs((double)y[i] - e) <= absTol) continue;
                int u = UlpDistance(y[i], e);
                if (u > maxUlp) Assert.Fail($"{w}: f({x[i]:R}) = {y[i]:R}, expected {e:R} ({u} ulp).");
            }
            Assert.That(y[^1], Is.EqualTo(0f), "guard");
        }
    }

    [Test] public void ExpMatchesMath() => Run((x, y, w) => VectorMath.Exp(x, y.AsSpan(0, x.Length), w), Math.Exp, -110f, 90f, 2, 1e-44f);
    [Test] public void LogMatchesMath()
    {
        Run((x, y, w) => VectorMath.Log(x, y.AsSpan(0, x.Length), w), Math.Log, 0f, 5f, 2);
        Run((x, y, w) => VectorMath.Log(x, y.AsSpan(0, x.Length), w), Math.Log, 0f, 3e38f, 2);
        Run((x, y, w) => VectorMath.Log(x, y.AsSpan(0, x.Length), w), Math.Log, 0f, 1e-36f, 2);
    }
    [Test] public void TanhMatchesMath() => Run((x, y, w) => VectorMath.Tanh(x, y.AsSpan(0, x.Length), w), Math.Tanh, -12f, 12f, 4);
    [Test] public void SigmoidMatchesMath() => Run((x, y, w) => VectorMath.Sigmoid(x, y.AsSpan(0, x.Length), w),
        v => 1.0 / (1.0 + Math.Exp(-v)), -110f, 110f, 4, 1e-44f);

    [Test]
    public void VectorOverloadsAgreeWithSpanForm()
    {
        var x = Inputs(-20f, 20f, 64, 3).AsSpan(0, 64).ToArray();
        var y = new float[64];
        VectorMath.Exp(x, y);
        if (System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated)
        {
            var v = VectorMath.Exp(System.Runtime.Intrinsics.Vector256.Create(x, 0));
            for (int i = 0; i < 8; i++) Assert.That(UlpDistance(v[i], y[i]), Is.LessThanOrEqualTo(1));
        }
    }

    [Test]
    public void AllLengthsWithGuardAndInPlace()
    {
        foreach (var w in Check.Paths)
            for (int n = 0; n <= 257; n++)
            {
                var x = GuardedBuffer.Random(n, new Random(n), -5f, 5f);
                var y = new GuardedBuffer(n);
                VectorMath.Sigmoid(x.Span, y.Span, w);
                Check.Close(y.Span, x.Copy().Select(v => (float)(1 / (1 + Math.Exp(-v)))).ToArray(), 1e-7, 1e-6, $"sigmoid {w} n={n}");
                y.AssertGuard($"sigmoid {w} n={n}");
                var expect = x.Copy().Select(v => (float)Math.Tanh(v)).ToArray();
                VectorMath.Tanh(x.Span, x.Span, w);
                Check.Close(x.Span, expect, 1e-6, 1e-6, $"tanh in place {w} n={n}");
                x.AssertGuard($"tanh {w} n={n}");
            }
    }
}
