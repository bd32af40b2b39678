// The shared STFT driver: frames of a (B, N) batch are numbered f + b*F and processed W at a time in
// the lane layout (FftLanes): each lane points at its frame's first windowed sample (or, for frames
// that reach into the padding, at a small per-lane buffer filled by the pad mode), the frames are
// packed with the window into the real-FFT input, transformed, and handed to a sink (complex store,
// power/magnitude/phase/log, mel, ...) that writes the frame's output row. Groups may span clips,
// so a batch of short clips still fills every lane. Work is split across threads by whole groups;
// every frame is computed the same way whatever the split, so results do not depend on the thread count.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Cochlea.Kernels.Numerics;
using Cochlea.Kernels.Threading;

namespace Cochlea.Kernels.Audio;

/// <summary>Consumes the spectra of W frames (lane rows xr/xi, Bins x W) and writes each live lane's output row dst[l].</summary>
internal unsafe interface IFrameSink
{
    /// <summary>Floats per output row (per frame).</summary>
    int RowFloats { get; }

    /// <summary>Lane work floats the sink needs at W lanes.</summary>
    long WorkFloats(int w);

    /// <summary>True when the sink needs only |X|^2: then xr holds the power rows and xi is unused.</summary>
    bool PowerOnly { get; }

    void Consume<TO, TV>(float* xr, float* xi, float** dst, float* work) where TO : struct, IVec<TV> where TV : unmanaged;
}

internal static unsafe class StftEngine
{
    /// <summary>Workspace floats for one worker at W lanes with a sink needing <paramref name="sinkWork"/> floats and rows of <paramref name="rowFloats"/>.</summary>
    public static long WorkFloats(StftSpec spec, RealPlan plan, int w, long sinkWork, int rowFloats)
        => plan.WorkFloats(w) + (long)(w + 1) * spec.FrameLength + FftLanes.StridedScratch(spec.FrameLength, spec.Hop, w) + rowFloats + sinkWork + 64;

    /// <summary>
    /// Runs the STFT of x (batch, n) through <paramref name="sink"/>, frame f of clip b writing output + (b*F + f) * RowFloats.
    /// Validates the pad mode against n. Threads: at most <paramref name="threads"/> workers, each renting a workspace from <paramref name="pool"/>.
    /// </summary>
    public static void Run<TSink>(StftSpec spec, RealPlan plan, WorkspacePool pool, float* x, int batch, int n, float* output,
        TSink sink, SimdWidth width, int threads) where TSink : struct, IFrameSink
    {
        int frames = spec.FrameCount(n);
        long total = (long)batch * frames;
        if (total == 0) return;
        spec.ValidateLength(n);
        int w = LaneDispatch.Lanes(width);
        var job = new Job<TSink> { Spec = spec, Plan = plan, X = x, N = n, Frames = frames, Output = output, Sink = sink };
        LaneParallel.Run(ref job, total, pool, width, threads);
    }

    struct Job<TSink> : IRangeJob where TSink : struct, IFrameSink
    {
        public StftSpec Spec;
        public RealPlan Plan;
        public float* X, Output;
        public int N, Frames;
        public TSink Sink;
        public long Start { get; set; }
        public long End { get; set; }
        public float* Work { get; set; }

        public void Run<TO, TV>() where TO : struct, IVec<TV> where TV : unmanaged
        {
            // A last group at most half full runs at half the width: same per-lane arithmetic (every step is
            // vertical, FMA at every width), half the work for the 5 frames left over from 101, say.
            int w = TO.Count;
            long full = Start + (End - Start) / w * w, tail = End - full;
            long split = w >= 8 && tail > 0 && tail <= w / 2 ? full : End;
            Range<TO, TV>(Start, split);
            if (split < End)
            {
                if (w == 16) Range<V256Ops, System.Runtime.Intrinsics.Vector256<float>>(split, End);
                else Range<V128Ops, System.Runtime.Intrinsics.Vector128<float>>(split, End);
            }
        }

        readonly void Range<TO, TV>(long start, long end) where TO : struct, IVec<TV> where TV : unmanaged
        {
            int w = TO.Count, len = Spec.FrameLength, off = Spec.WindowOffset, hop = Spec.Hop, pad = Spec.Pad, n = N;
            int nfft = Plan.N, row = Sink.RowFloats;
            Plan.Carve(Work, w, out float* zr, out float* zi, out float* xr, out float* xi, out float* scratch);
            float* edge = Work + Plan.WorkFloats(w);
            float* xt = edge + (nint)w * len;
            float* zeroRow = xt + FftLanes.StridedScratch(len, hop, w);
            float* dummy = zeroRow + len;
            float* sinkWork = (float*)(((nint)(dummy + row) + 63) & ~(nint)63);
            new Span<float>(zeroRow, len).Clear();
            float** src = stackalloc float*[w];
            float** dst = stackalloc float*[w];
            fixed (float* win = Spec.Window)
            {
                for (long g = start; g < end; g += w)
                {
                    // Fast path: W consecutive frames of one clip, all inside the signal (no padding).
                    long b0 = g / Frames;
                    int f0 = (int)(g - b0 * Frames);
                    long lo0 = (long)f0 * hop + off - pad;
                    bool strided = w > 1 && hop >= w && g + w <= end && f0 + w <= Frames && lo0 >= 0 && lo0 + (long)(w - 1) * hop + len <= n;
                    for (int l = 0; l < w; l++)
                    {
                        long gi = g + l;
                        if (gi >= end) { src[l] = zeroRow; dst[l] = dummy; continue; }
                        long b = gi / Frames;
                        int f = (int)(gi - b * Frames);
                        float* clip = X + b * n;
                        long lo = (long)f * hop + off - pad;
                        if (lo >= 0 && lo + len <= n) src[l] = clip + lo;
                        else
                        {
                            // Frame reaches into the padding (or past the end): materialise it once per lane.
                            float* e = edge + (nint)l * len;
                            var sig = new ReadOnlySpan<float>(clip, n);
                            long inLo = Math.Clamp(-lo, 0, len), inHi = Math.Clamp(n - lo, inLo, len);
                            for (long j = 0; j < inLo; j++) e[j] = Spec.PaddedSample(sig, lo + j);
                            if (inHi > inLo) Buffer.MemoryCopy(clip + lo + inLo, e + inLo, (inHi - inLo) * sizeof(float), (inHi - inLo) * sizeof(float));
                            for (long j = inHi; j < len; j++) e[j] = Spec.PaddedSample(sig, lo + j);
                            src[l] = e;
                        }
                        dst[l] = Output + gi * row;
                    }
                    // FFT positions outside the window are zero; the imaginary part too for odd n (no z packing).
                    ZeroPositions<TO, TV>(0, off, Plan.Split, zr, zi);
                    ZeroPositions<TO, TV>(off + len, nfft, Plan.Split, zr, zi);
                    if (!Plan.Split) FftLanes.Zero<TO, TV>(zi, 0, nfft);
                    if (strided) FftLanes.PackStrided<TO, TV>(X + b0 * n + lo0, hop, len, win, off, Plan.Split, zr, zi, xt);
                    else FftLanes.Pack<TO, TV>(src, len, win, off, Plan.Split, zr, zi);
                    if (Sink.PowerOnly) Plan.ForwardPower<TO, TV>(zr, zi, xr, scratch);
                    else Plan.Forward<TO, TV>(zr, zi, xr, xi, scratch);
                    Sink.Consume<TO, TV>(xr, xi, dst, sinkWork);
                }
            }
        }
    }

    /// <summary>Zeroes FFT positions [from, to) in the packed input (see FftLanes.Pack's split layout).</summary>
    static void ZeroPositions<TO, TV>(int from, int to, bool split, float* re, float* im) where TO : struct, IVec<TV> where TV : unmanaged
    {
        int w = TO.Count;
        TV z = TO.Splat(0f);
        for (int p = from; p < to; p++)
            TO.Store(!split ? re + (nint)p * w : ((p & 1) == 0 ? re : im) + (nint)(p >> 1) * w, z);
    }
}

/// <summary>A lane job over items [Start, End) (frames, rows) with a worker's workspace.</summary>
internal unsafe interface IRangeJob : ILaneJob
{
    long Start { get; set; }
    long End { get; set; }
    float* Work { get; set; }
}

/// <summary>Splits a lane job's items across threads in whole groups of W, one rented workspace per worker.</summary>
internal static unsafe class LaneParallel
{
    /// <summary>Groups per thread below which a fan-out costs more than it saves.</summary>
    const int MinGroupsPerThread = 4;

    public static void Run<TJob>(ref TJob job, long total, WorkspacePool pool, SimdWidth width, int threads) where TJob : struct, IRangeJob
    {
        if (total == 0) return;
        int w = LaneDispatch.Lanes(width);
        long groups = (total + w - 1) / w;
        int parts = (int)Math.Clamp(groups / MinGroupsPerThread, 1, Math.Max(1, threads));
        if (parts == 1)
        {
            var ws = pool.Rent(w);
            try { job.Start = 0; job.End = total; job.Work = ws.Ptr; LaneDispatch.Run(width, ref job); }
            finally { pool.Return(ws); }
        }
        else Parallel(job, pool, width, w, groups, total, parts);
    }

    // Separate method so the single-threaded path allocates no closure.
    static void Parallel<TJob>(TJob job, WorkspacePool pool, SimdWidth width, int w, long groups, long total, int parts) where TJob : struct, IRangeJob
    {
        KernelThreads.For(parts, 1, parts, (s, e) =>
        {
            var ws = pool.Rent(w);
            try
            {
                for (int i = s; i < e; i++)
                {
                    var (g0, g1) = KernelThreads.Chunk(checked((int)groups), parts, i);
                    var j = job;
                    j.Start = (long)g0 * w; j.End = Math.Min((long)g1 * w, total); j.Work = ws.Ptr;
                    LaneDispatch.Run(width, ref j);
                }
            }
            finally { pool.Return(ws); }
        });
    }
}

/// <summary>Lane math the IVec interface lacks, specialised per vector type (the typeof tests fold away in each instantiation).</summary>
internal static class LaneMath
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Sqrt<TO, TV>(TV x) where TO : struct, IVec<TV> where TV : unmanaged
    {
        if (typeof(TV) == typeof(Vector512<float>)) return Unsafe.BitCast<Vector512<float>, TV>(Vector512.Sqrt(Unsafe.BitCast<TV, Vector512<float>>(x)));
        if (typeof(TV) == typeof(Vector256<float>)) return Unsafe.BitCast<Vector256<float>, TV>(Vector256.Sqrt(Unsafe.BitCast<TV, Vector256<float>>(x)));
        if (typeof(TV) == typeof(Vector128<float>)) return Unsafe.BitCast<Vector128<float>, TV>(Vector128.Sqrt(Unsafe.BitCast<TV, Vector128<float>>(x)));
        return Unsafe.BitCast<float, TV>(MathF.Sqrt(Unsafe.BitCast<TV, float>(x)));
    }
}
