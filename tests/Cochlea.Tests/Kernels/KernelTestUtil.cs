// Shared helpers for the kernel tests: seeded random buffers with a guard region after the
// payload, tolerance comparison (atol + rtol*|ref|), the list of SIMD paths to run, and warm-call allocation counts.
using Cochlea.Kernels;
using NUnit.Framework;

namespace Cochlea.Tests.Kernels;

/// <summary>A float buffer followed by a guard region that kernels must not write.</summary>
sealed class GuardedBuffer
{
    public const int Guard = 19;
    const float Sentinel = -7.77e7f;
    public readonly float[] Data;
    public readonly int Length;

    public GuardedBuffer(int length, float fill = 0f)
    {
        Length = length;
        Data = new float[length + Guard];
        Array.Fill(Data, fill, 0, length);
        Array.Fill(Data, Sentinel, length, Guard);
    }

    public static GuardedBuffer Random(int length, Random rng, float lo = -1f, float hi = 1f)
    {
        var b = new GuardedBuffer(length);
        for (int i = 0; i < length; i++) b.Data[i] = lo + (hi - lo) * (float)rng.NextDouble();
        return b;
    }

    public Span<float> Span => Data.AsSpan(0, Length);

    public void AssertGuard(string what)
    {
        for (int i = Length; i < Data.Length; i++)
            if (Data[i] != Sentinel) Assert.Fail($"{what}: guard element {i - Length} after the output was overwritten ({Data[i]}).");
    }

    public float[] Copy() => Data.AsSpan(0, Length).ToArray();
}

static class Check
{
    public static IEnumerable<SimdWidth> Paths => Simd.Available;

    public static void Close(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, double atol, double rtol, string what)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), what + ": length");
        for (int i = 0; i < actual.Length; i++)
        {
            double a = actual[i], e = expected[i];
            if (double.IsNaN(e) && double.IsNaN(a)) continue;
            if (a == e) continue;
            if (!(Math.Abs(a - e) <= atol + rtol * Math.Abs(e)))
                Assert.Fail($"{what}: element {i}: got {a:R}, expected {e:R} (atol {atol}, rtol {rtol}).");
        }
    }

    public static void Close(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, double atol, double rtol, string what)
    {
        var f = new float[expected.Length];
        for (int i = 0; i < f.Length; i++) f[i] = (float)expected[i];
        Close(actual, f, atol, rtol, what);
    }

    public static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += (double)a[i] * b[i];
        return s;
    }

    /// <summary>
    /// Bytes this thread allocated over 5 warm calls of <paramref name="run"/> (after 3 warm-up calls), in the best of up
    /// to 4 rounds: a one-off allocation by the runtime (its lazy work during tiering) may land in one round; an
    /// allocation per call lands in every round.
    /// </summary>
    public static long WarmAllocatedBytes(Action run)
    {
        for (int i = 0; i < 3; i++) run();
        long bytes = -1;
        for (int round = 0; round < 4 && bytes != 0; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 5; i++) run();
            bytes = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        return bytes;
    }

    /// <summary>Random floats in [-1, 1).</summary>
    public static float[] Rand(int n, Random rng)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        return a;
    }
}
