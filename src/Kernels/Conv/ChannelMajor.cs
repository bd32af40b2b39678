// Layout moves between batch-major (N, C, P) and channel-major (C, N*P) activations, for convolutions
// that run as ONE GEMM over the whole batch instead of one per image:
//   forward  y (Cout, N*P) = W (Cout, K) x cols (K, N*P)
// Why: WaveKws' late pointwise convs have P = 3..11 positions per image; as a GEMM per image the 32-wide
// micro-tile is mostly padding and every image re-packs W, while with N*P = 192..704 columns the tiles
// are full, W is packed once, and the two threads share one GEMM. Moving the activations costs one
// read and one write of each, small next to the GEMM's 2*K flops per element.
using Cochlea.Kernels.Threading;

namespace Cochlea.Kernels.Conv;

/// <summary>Copies between (N, C, P) and (C, N*P); shapes in the file header. Source and destination must not overlap.</summary>
public static unsafe class ChannelMajor
{
    const int MinFloatsPerChunk = 16384;

    /// <summary>dst[c, i*P + q] = src[i, c, q]: src (N, C, P) -> dst (C, N*P).</summary>
    public static void FromBatch(float* src, float* dst, int n, int c, int p) => Move(src, dst, n, c, p, toChannelMajor: true);

    /// <summary>dst[i, c, q] = src[c, i*P + q]: src (C, N*P) -> dst (N, C, P).</summary>
    public static void ToBatch(float* src, float* dst, int n, int c, int p) => Move(src, dst, n, c, p, toChannelMajor: false);

    static void Move(float* src, float* dst, int n, int c, int p, bool toChannelMajor)
    {
        if (n < 0 || c < 0 || p < 0) throw new ArgumentOutOfRangeException(nameof(n), $"Expected n, c, p >= 0, got {n}, {c}, {p}.");
        long len = (long)n * c * p;
        KernelArgs.NotNull(src, len, nameof(src)); KernelArgs.NotNull(dst, len, nameof(dst));
        if (len == 0) return;
        nint ps = (nint)src, pd = (nint)dst;
        long bytes = (long)p * sizeof(float);
        // Chunks are channels: each moves its N rows of P floats; the result does not depend on the split.
        KernelThreads.For(c, (int)Math.Max(1, MinFloatsPerChunk / Math.Max(1L * n * p, 1)), (c0, c1) =>
        {
            for (int ch = c0; ch < c1; ch++)
                for (int i = 0; i < n; i++)
                {
                    long batchAt = ((long)i * c + ch) * p, channelAt = ((long)ch * n + i) * p;
                    float* from = (float*)ps + (toChannelMajor ? batchAt : channelAt);
                    float* to = (float*)pd + (toChannelMajor ? channelAt : batchAt);
                    // Why the loop: WaveKws' late rows are 3..24 floats, where a memmove call costs more than the copy.
                    if (p < 32) for (int q = 0; q < p; q++) to[q] = from[q];
                    else Buffer.MemoryCopy(from, to, bytes, bytes);
                }
        });
    }
}
