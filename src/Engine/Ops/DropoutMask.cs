// The dropout mask drawn in parallel, bit-identical to drawing it element by element from the Philox stream:
// element i takes 32-bit word (offset + i) of the stream, i.e. lane (offset + i) & 3 of Philox block (offset + i) >> 2.
// Why: Philox.NextUInt computes a whole 4-word block per element, single-threaded; here each block is computed once and
// the chunks run on the kernel threads (counter-based, so any chunk can start anywhere). FreesoundCnn's three dropouts
// draw ~3 M values per training step.
using Cochlea.Kernels.Threading;

namespace Cochlea;

public static unsafe partial class Ops
{
    /// <summary>m[i] = scale when uniform_i >= p else 0, uniform_i = (word_i >> 8) / 2^24 from <paramref name="rng"/>; advances rng by m.Length words.</summary>
    static void FillDropoutMask(Philox rng, Span<float> m, float p, float scale)
    {
        ulong seed = rng.Seed, offset = rng.Offset;
        int n = m.Length;
        fixed (float* pm = m)
        {
            nint dst = (nint)pm;
            const int Chunk = 1 << 14;
            int chunks = (n + Chunk - 1) / Chunk;
            KernelThreads.For(chunks, 4, (c0, c1) =>
            {
                float* d = (float*)dst;
                long end = Math.Min((long)c1 * Chunk, n);
                for (long i = (long)c0 * Chunk; i < end;)
                {
                    ulong o = offset + (ulong)i;
                    var (a, b, c, e) = Philox.Block(seed, o >> 2);
                    for (int lane = (int)(o & 3); lane < 4 && i < end; lane++, i++)
                    {
                        uint v = lane switch { 0 => a, 1 => b, 2 => c, _ => e };
                        d[i] = (v >> 8) * (1f / 16777216f) >= p ? scale : 0f;
                    }
                }
            });
        }
        rng.Offset = offset + (ulong)n;
    }
}
