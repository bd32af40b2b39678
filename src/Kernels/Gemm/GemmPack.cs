// Packing of A and B panels into the contiguous, micro-kernel-ordered buffers the GEMM inner loop
// reads. Both operands and all four transpose combinations reduce to one shape: a panel of `lanes`
// rows (MR of A, or NR columns of B) by kc steps of k, read from memory with a stride between
// lanes and a stride between k steps; exactly one of the two strides is 1.
//   dst (kc, lanes):  dst[p*lanes + r] = src[r*laneStride + p*kStride]   for r < valid, 0 for valid <= r < lanes
using System.Runtime.Intrinsics;

namespace Cochlea.Kernels.Gemm;

internal static unsafe class GemmPack
{
    /// <summary>
    /// Packs a (rows, kc) block of op(X) into consecutive micro-panels of <paramref name="lanes"/> rows each
    /// (the last zero-padded), panel q at dst + q*lanes*kc. Rows index lanes of the micro-kernel (rows of
    /// op(A), or columns of op(B)).
    /// </summary>
    public static void Block(float* dst, float* src, int rows, int kc, nint laneStride, nint kStride, int lanes)
    {
        for (int r0 = 0; r0 < rows; r0 += lanes)
        {
            Panel(dst, src + r0 * laneStride, Math.Min(lanes, rows - r0), kc, laneStride, kStride, lanes);
            dst += (nint)lanes * kc;
        }
    }

    /// <summary>One micro-panel: dst (kc, lanes) from `valid` lanes of src; lanes valid..lanes-1 are zeros.</summary>
    public static void Panel(float* dst, float* src, int valid, int kc, nint laneStride, nint kStride, int lanes)
    {
        if (laneStride == 1)
        {
            // Lanes contiguous in memory (B not transposed, or A transposed): a row copy per k step.
            // Why Vector128: it is accelerated on every target (SSE, NEON) and 16-byte copies already
            // run at L1 speed here; packing is O(size) against the kernel's O(size * k).
            bool vec = valid == lanes && (lanes & 3) == 0 && Vector128.IsHardwareAccelerated;
            for (int p = 0; p < kc; p++)
            {
                float* s = src + p * kStride;
                float* d = dst + (nint)p * lanes;
                if (vec)
                {
                    for (int j = 0; j < lanes; j += 4) Vector128.Store(Vector128.Load(s + j), d + j);
                }
                else
                {
                    int j = 0;
                    for (; j < valid; j++) d[j] = s[j];
                    for (; j < lanes; j++) d[j] = 0f;
                }
            }
        }
        else
        {
            // k contiguous (A not transposed, or B transposed): a transposing gather. Each source row is
            // read sequentially; writes land every `lanes` floats, inside an L1-sized destination.
            for (int r = 0; r < valid; r++)
            {
                float* s = src + r * laneStride;
                float* d = dst + r;
                int p = 0;
                if (kStride == 1)
                {
                    for (; p + 4 <= kc; p += 4)
                    {
                        d[(nint)p * lanes] = s[p];
                        d[(nint)(p + 1) * lanes] = s[p + 1];
                        d[(nint)(p + 2) * lanes] = s[p + 2];
                        d[(nint)(p + 3) * lanes] = s[p + 3];
                    }
                }
                for (; p < kc; p++) d[(nint)p * lanes] = s[p * kStride];
            }
            if (valid < lanes)
                for (int p = 0; p < kc; p++)
                    for (int r = valid; r < lanes; r++) dst[(nint)p * lanes + r] = 0f;
        }
    }
}
