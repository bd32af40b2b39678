// Packing of A and B panels into the contiguous, micro-kernel-ordered buffers the GEMM inner loop
// reads. Both operands and all four transpose combinations reduce to one shape: a block of `rows`
// lanes (rows of op(A), or columns of op(B)) by kc steps of k, read with a stride between lanes and a
// stride between k steps, cut into micro-panels of `lanes` lanes (the last zero-padded):
//   panel q (kc, lanes):  dst[q*lanes*kc + p*lanes + r] = src[(q*lanes + r)*laneStride + p*kStride]
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

using Cochlea.Kernels.Numerics;

namespace Cochlea.Kernels.Gemm;

// Why AggressiveOptimization on the hot methods here and in the driver: they are entered only a few
// times per GEMM, so tiered compilation would leave them in unoptimised tier-0 code for the first
// calls (measured 10x slower packing); kernels should be fast from the first call.
internal static unsafe class GemmPack
{
    /// <summary>Packs a (rows, kc) block of op(X) into consecutive micro-panels of <paramref name="lanes"/> lanes, panel q at dst + q*lanes*kc.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Block(float* dst, float* src, int rows, int kc, nint laneStride, nint kStride, int lanes)
    {
        if (laneStride == 1) Copy(dst, src, rows, kc, kStride, lanes);
        else
            for (int r0 = 0; r0 < rows; r0 += lanes)
            {
                Gather(dst, src + r0 * laneStride, Math.Min(lanes, rows - r0), kc, laneStride, kStride, lanes);
                dst += (nint)lanes * kc;
            }
    }

    // Lanes contiguous in memory (B not transposed, or A transposed): each k step is one row of the
    // source. Why k outer and panels inner: the source is then read strictly sequentially. The other
    // order walks down a column of panels with a stride of a whole row (often 4 KiB, which aliases in
    // L1/L2) and ran at about 1 GB/s here.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Copy(float* dst, float* src, int rows, int kc, nint kStride, int lanes)
    {
        int full = rows / lanes, tail = rows - full * lanes;
        nint panel = (nint)lanes * kc;
        for (int p = 0; p < kc; p++)
        {
            float* s = src + p * kStride;
            float* d = dst + (nint)p * lanes;
            for (int q = 0; q < full; q++, s += lanes, d += panel)
            {
                int j = 0;
                if (Vector256.IsHardwareAccelerated)
                    for (; j + 8 <= lanes; j += 8) Vector256.Store(Vector256.Load(s + j), d + j);
                for (; j + 4 <= lanes; j += 4) Vector128.Store(Vector128.Load(s + j), d + j);
                for (; j < lanes; j++) d[j] = s[j];
            }
            if (tail > 0)
            {
                int j = 0;
                for (; j < tail; j++) d[j] = s[j];
                for (; j < lanes; j++) d[j] = 0f;
            }
        }
    }

    // k contiguous per lane (A not transposed, or B transposed): a transposing gather. Four lanes by four
    // k steps at a time go through a 4x4 register transpose, so both reads and writes are 16-byte vectors;
    // leftover lanes and k steps are scalar.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Gather(float* dst, float* src, int valid, int kc, nint laneStride, nint kStride, int lanes)
    {
        int r = 0;
        if (kStride == 1 && Transpose4.Supported)
        {
            int kc4 = kc & ~3;
            for (; r + 4 <= valid; r += 4)
            {
                float* s0 = src + r * laneStride, s1 = s0 + laneStride, s2 = s1 + laneStride, s3 = s2 + laneStride;
                float* d = dst + r;
                for (int p = 0; p < kc4; p += 4)
                {
                    Transpose4.Run(Vector128.Load(s0 + p), Vector128.Load(s1 + p), Vector128.Load(s2 + p), Vector128.Load(s3 + p),
                        out var c0, out var c1, out var c2, out var c3);
                    float* dp = d + (nint)p * lanes;
                    Vector128.Store(c0, dp);
                    Vector128.Store(c1, dp + lanes);
                    Vector128.Store(c2, dp + 2 * lanes);
                    Vector128.Store(c3, dp + 3 * lanes);
                }
                for (int p = kc4; p < kc; p++)
                {
                    float* dp = d + (nint)p * lanes;
                    dp[0] = s0[p]; dp[1] = s1[p]; dp[2] = s2[p]; dp[3] = s3[p];
                }
            }
        }
        for (; r < valid; r++)
        {
            float* s = src + r * laneStride;
            float* d = dst + r;
            for (int p = 0; p < kc; p++) d[(nint)p * lanes] = s[p * kStride];
        }
        if (valid < lanes)
            for (int p = 0; p < kc; p++)
                for (int z = valid; z < lanes; z++) dst[(nint)p * lanes + z] = 0f;
    }
}

/// <summary>4x4 float transpose in registers: SSE unpack/movelh on x86, ZIP1/ZIP2 on ARM64.</summary>
internal static class Transpose4
{
    public static bool Supported => Sse.IsSupported || AdvSimd.Arm64.IsSupported;

    /// <summary>Rows r0..r3 in, columns c0..c3 out: c_i[j] = r_j[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run(Vector128<float> r0, Vector128<float> r1, Vector128<float> r2, Vector128<float> r3,
        out Vector128<float> c0, out Vector128<float> c1, out Vector128<float> c2, out Vector128<float> c3)
    {
        if (Sse.IsSupported)
        {
            var t0 = Sse.UnpackLow(r0, r1);   // r0[0] r1[0] r0[1] r1[1]
            var t1 = Sse.UnpackLow(r2, r3);   // r2[0] r3[0] r2[1] r3[1]
            var t2 = Sse.UnpackHigh(r0, r1);  // r0[2] r1[2] r0[3] r1[3]
            var t3 = Sse.UnpackHigh(r2, r3);  // r2[2] r3[2] r2[3] r3[3]
            c0 = Sse.MoveLowToHigh(t0, t1);
            c1 = Sse.MoveHighToLow(t1, t0);
            c2 = Sse.MoveLowToHigh(t2, t3);
            c3 = Sse.MoveHighToLow(t3, t2);
        }
        else if (AdvSimd.Arm64.IsSupported)
        {
            var t0 = AdvSimd.Arm64.ZipLow(r0, r1).AsUInt64();
            var t1 = AdvSimd.Arm64.ZipLow(r2, r3).AsUInt64();
            var t2 = AdvSimd.Arm64.ZipHigh(r0, r1).AsUInt64();
            var t3 = AdvSimd.Arm64.ZipHigh(r2, r3).AsUInt64();
            c0 = AdvSimd.Arm64.ZipLow(t0, t1).AsSingle();
            c1 = AdvSimd.Arm64.ZipHigh(t0, t1).AsSingle();
            c2 = AdvSimd.Arm64.ZipLow(t2, t3).AsSingle();
            c3 = AdvSimd.Arm64.ZipHigh(t2, t3).AsSingle();
        }
        else
        {
            throw new PlatformNotSupportedException();
        }
    }
}
