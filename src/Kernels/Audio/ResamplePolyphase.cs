// Polyphase FIR kernel of the rational resampler (L/M = up/down): every output sample is one dot
// product of a filter phase with a contiguous window of the input, so the loop is a row of SIMD dot
// products and needs no tensors. The filter design (windowed sinc) and the stream bookkeeping live
// in Cochlea.Models.Audio.Resampler; this file is only the hot loop, so the Pi runtime can use it too.
//   x (xLength,) input, bank (up, taps) row-major, y (count,) written at stride yStride.
// One generic body runs at every SimdWidth (ScalarOps is a one-lane vector), so the scalar path is
// the same code; four independent accumulators hide the FMA latency (taps are ~300..1000 long).
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Cochlea.Kernels.Numerics;

namespace Cochlea.Kernels.Audio;

/// <summary>Polyphase FIR filtering for rational-ratio resampling.</summary>
public static unsafe class ResamplePolyphase
{
    /// <summary>
    /// y[n * yStride] = sum_{m &lt; taps} bank[p_n * taps + m] * x[s_n + m] for n = 0..count-1, where
    /// p_0 = <paramref name="phase"/>, s_0 = 0 and each step does p += down; s += p / up; p %= up.
    /// The caller guarantees the last window fits: s_{count-1} + taps &lt;= <paramref name="xLength"/>
    /// (see <see cref="InputSpan"/>).
    /// </summary>
    /// <param name="x">Input samples (contiguous); x[0] is the first sample of the first window.</param>
    /// <param name="xLength">Readable elements at <paramref name="x"/>, checked against the windows.</param>
    /// <param name="bank">Filter bank (up, taps): row p is the phase-p filter, already in dot-product order.</param>
    /// <param name="up">Interpolation factor L (number of phases), &gt;= 1.</param>
    /// <param name="down">Decimation factor M, &gt;= 1.</param>
    /// <param name="taps">Taps per phase, &gt;= 1.</param>
    /// <param name="phase">Phase of the first output, 0 &lt;= phase &lt; up.</param>
    /// <param name="y">Output, count elements at stride <paramref name="yStride"/>.</param>
    /// <param name="count">Number of outputs, &gt;= 0.</param>
    /// <param name="yStride">Distance between outputs (channel count when writing interleaved), &gt;= 1.</param>
    /// <param name="width">Code path; must be supported here (<see cref="Simd.Supports"/>).</param>
    public static void Run(float* x, long xLength, float* bank, int up, int down, int taps, int phase,
                           float* y, int count, int yStride, SimdWidth width)
    {
        if (up < 1 || down < 1 || taps < 1)
            throw new ArgumentOutOfRangeException(nameof(up), $"ResamplePolyphase: up ({up}), down ({down}) and taps ({taps}) must be >= 1.");
        if (phase < 0 || phase >= up)
            throw new ArgumentOutOfRangeException(nameof(phase), phase, $"ResamplePolyphase: phase must be in [0, up={up}).");
        if (count < 0 || yStride < 1)
            throw new ArgumentOutOfRangeException(nameof(count), $"ResamplePolyphase: count ({count}) must be >= 0 and yStride ({yStride}) >= 1.");
        if (!Simd.Supports(width)) throw new PlatformNotSupportedException($"{width} is not available here (best: {Simd.Best}).");
        if (count == 0) return;
        if (x == null || bank == null || y == null) throw new ArgumentNullException(nameof(x), "ResamplePolyphase: x, bank and y must not be null.");
        long need = InputSpan(phase, up, down, taps, count);
        if (need > xLength)
            throw new ArgumentOutOfRangeException(nameof(xLength), xLength, $"ResamplePolyphase: {count} outputs from phase {phase} need {need} input samples.");
        switch (width)
        {
            case SimdWidth.V512: Loop<V512Ops, Vector512<float>>(x, bank, up, down, taps, phase, y, count, yStride); break;
            case SimdWidth.V256: Loop<V256Ops, Vector256<float>>(x, bank, up, down, taps, phase, y, count, yStride); break;
            case SimdWidth.V128: Loop<V128Ops, Vector128<float>>(x, bank, up, down, taps, phase, y, count, yStride); break;
            default: Loop<ScalarOps, float>(x, bank, up, down, taps, phase, y, count, yStride); break;
        }
    }

    /// <inheritdoc cref="Run(float*, long, float*, int, int, int, int, float*, int, int, SimdWidth)"/>
    public static void Run(float* x, long xLength, float* bank, int up, int down, int taps, int phase, float* y, int count, int yStride)
        => Run(x, xLength, bank, up, down, taps, phase, y, count, yStride, Simd.Best);

    /// <summary>Input samples that <paramref name="count"/> outputs starting at <paramref name="phase"/> read: s_{count-1} + taps (0 when count is 0).</summary>
    public static long InputSpan(int phase, int up, int down, int taps, int count)
        => count <= 0 ? 0 : (phase + (long)(count - 1) * down) / up + taps;

    static void Loop<TO, TV>(float* x, float* bank, int up, int down, int taps, int phase, float* y, int count, int yStride)
        where TO : struct, IVec<TV> where TV : struct
    {
        long s = 0;
        int p = phase;
        // Whole steps of the window per output (down / up) plus a carry from the phase: no division in the loop.
        int stepWhole = down / up, stepFrac = down % up;
        for (int n = 0; n < count; n++)
        {
            y[(long)n * yStride] = Dot<TO, TV>(bank + (long)p * taps, x + s, taps);
            s += stepWhole;
            p += stepFrac;
            if (p >= up) { p -= up; s++; }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float Dot<TO, TV>(float* a, float* b, int n) where TO : struct, IVec<TV> where TV : struct
    {
        int c = TO.Count, i = 0;
        TV s0 = TO.Splat(0f), s1 = s0, s2 = s0, s3 = s0;
        for (; i <= n - 4 * c; i += 4 * c)
        {
            s0 = TO.MulAdd(TO.Load(a + i), TO.Load(b + i), s0);
            s1 = TO.MulAdd(TO.Load(a + i + c), TO.Load(b + i + c), s1);
            s2 = TO.MulAdd(TO.Load(a + i + 2 * c), TO.Load(b + i + 2 * c), s2);
            s3 = TO.MulAdd(TO.Load(a + i + 3 * c), TO.Load(b + i + 3 * c), s3);
        }
        for (; i <= n - c; i += c) s0 = TO.MulAdd(TO.Load(a + i), TO.Load(b + i), s0);
        float sum = TO.SumAcross(TO.Add(TO.Add(s0, s1), TO.Add(s2, s3)));
        for (; i < n; i++) sum += a[i] * b[i];
        return sum;
    }
}
