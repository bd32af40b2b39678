// The shared STFT driver: frames of a (B, N) batch are numbered f + b*F and processed W at a time in
// the lane layout (FftLanes): each lane points at its frame's first windowed sample (or, for frames
// that reach into the padding, at a small per-lane buffer filled by the pad mode), the frames are
// packed with the window into the real-FFT input, transformed, and handed to a sink (complex store,
// power/magnitude/phase/log, mel, ...) that writes the frame's output row. Groups may span clips,
// so a batch of short clips still fills every lane. Work is split across threads by whole groups;
// every frame is computed the same way whatever the split, so results do not depend on the thread count.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Cochlea.Kernels.Numerics;
using Cochlea.Kernels.Threading;

namespace Cochlea.Kernels.Audio;

/// <summary>
/// Which frames a lane group holds: lane l is frame First + Stride*l (frames numbered b*F + f; Stride 1 for a plain group, K
/// in a lane block). Seq is the group's position in the driver's order (g for a plain group, g + gg*W for group gg of a lane
/// block), so a worker's groups tile its range [start, end) by Seq in steps of W, whatever frames they hold.
/// </summary>
internal readonly record struct LaneGroup(long Seq, long First, int Stride);

/// <summary>Consumes the spectra of W frames (lane rows xr/xi, Bins x W) and writes each live lane's output row dst[l].</summary>
internal unsafe interface IFrameSink
{
    /// <summary>Floats per output row (per frame).</summary>
    int RowFloats { get; }

    /// <summary>Lane work floats the sink needs at W lanes.</summary>
    long WorkFloats(int w);

    /// <summary>True when the sink needs only |X|^2: then xr holds the power rows and xi is unused.</summary>
    bool PowerOnly { get; }

    void Consume<TO, TV>(float* xr, float* xi, float** dst, float* work, LaneGroup group) where TO : struct, IVec<TV> where TV : unmanaged;
}

internal static unsafe class StftEngine
{
    /// <summary>Workspace floats for one worker at W lanes with a sink needing <paramref name="sinkWork"/> floats and rows of <paramref name="rowFloats"/>.</summary>
    public static long WorkFloats(StftSpec spec, RealPlan plan, int w, long sinkWork, int rowFloats)
        => plan.WorkFloats(w) + Math.Max((long)w * spec.FrameLength, (long)(LaneBlock.Groups(spec, plan) * w - 1) * spec.Hop + spec.FrameLength) + spec.FrameLength
            + Math.Max(FftLanes.StridedScratch(spec.FrameLength, spec.Hop, w), LaneBlock.XtFloats(spec, plan, w)) + rowFloats + sinkWork + 64;

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

        public readonly void Run<TO, TV>() where TO : struct, IVec<TV> where TV : unmanaged => LaneDispatch.RunRange<Job<TSink>, TO, TV>(this);

        public readonly void Range<TO, TV>(long start, long end) where TO : struct, IVec<TV> where TV : unmanaged
        {
            int w = TO.Count, len = Spec.FrameLength, off = Spec.WindowOffset, hop = Spec.Hop, pad = Spec.Pad, n = N;
            int nfft = Plan.N, row = Sink.RowFloats, span = (w - 1) * hop + len;
            int kb = LaneBlock.Groups(Spec, Plan), blockSpan = (kb * w - 1) * hop + len;
            Plan.Carve(Work, w, out float* zr, out float* zi, out float* xr, out float* xi, out float* scratch);
            float* edge = Work + Plan.WorkFloats(w);          // per-lane padded frames, or one padded group (block) span
            float* xt = edge + Math.Max((nint)w * len, blockSpan);
            float* zeroRow = xt + Math.Max(FftLanes.StridedScratch(len, hop, w), LaneBlock.XtFloats(Spec, Plan, w));
            float* dummy = zeroRow + len;
            float* sinkWork = (float*)(((nint)(dummy + row) + 63) & ~(nint)63);
            new Span<float>(zeroRow, len).Clear();
            float** src = stackalloc float*[w];
            float** dst = stackalloc float*[w];
            // Strided groups skip the packed input when the plan and framing allow (see StridedFrames); at 8 and 16 lanes, where it
            // measured faster (`lab features`, Zen 4, one process, variants interleaved: AVX2 path, the 400-point log-mel 4-5 %; AVX-512
            // path, 5 runs, the 400-point log-mel 20.8-20.9 vs 21.5-22.2 us and its MFCC 22.4-23.1 vs 23.6-23.9 us best per clip, the
            // 512-point within noise). At 4 lanes the table lookups in the first stage cost what the saved stores give (+-3 %).
            var table = w >= 8 && hop >= w && Plan.CanFuseInput ? Spec.Strided : null;
            bool fuse = table is { Fusable: true }; // then lane blocks too, kb = (len-1)/hop + 1 (LaneBlock.Groups)
            fixed (float* win = Spec.Window)
            {
                for (long g = start; g < end; g += w)
                {
                    long b0 = g / Frames;
                    int f0 = (int)(g - b0 * Frames), live = (int)Math.Min(w, end - g);
                    float* clip0 = X + b0 * n;
                    // At 16 lanes a block whose span reaches into the padding (31-42 KB to materialise for n_fft 400-512, about L1)
                    // costs what the block saves: those frames take plain groups (`lab features 512 64 1`, variants shuffled, 6 pairs:
                    // log-mel 0.1-0.9 us, MFCC -0.4 to +1.4 us faster per clip of ~23-26; n_fft 400 within noise). At 8 lanes (half
                    // the span) the edge block still wins.
                    if (fuse && g + (long)kb * w <= end && f0 + kb * w <= Frames
                        && (w < 16 || InClip((long)f0 * hop + off - pad, blockSpan)))
                    {
                        // A lane block: kb groups whose lanes interleave (see LaneBlock), all from one span.
                        float* sp = GroupSpan(clip0, (long)f0 * hop + off - pad, blockSpan, edge);
                        LaneBlock.Transpose<TO, TV>(Spec, sp, xt);
                        for (int gg = 0; gg < kb; gg++)
                        {
                            for (int l = 0; l < w; l++) dst[l] = Output + (g + gg + (long)kb * l) * row;
                            var rows = new PositionRows<BlockRows>(new BlockRows { Xt = xt + (nint)gg * hop * w, Win = table!.WindowPtr, Row = table.RowPtr });
                            if (Sink.PowerOnly) Plan.ForwardPowerFrom<TO, TV, PositionRows<BlockRows>>(rows, zr, zi, xr, scratch);
                            else Plan.ForwardFrom<TO, TV, PositionRows<BlockRows>>(rows, zr, zi, xr, xi, scratch);
                            Sink.Consume<TO, TV>(xr, xi, dst, sinkWork, new LaneGroup(g + (long)gg * w, g + gg, kb));
                        }
                        g += (long)(kb - 1) * w;
                        continue;
                    }
                    for (int l = 0; l < w; l++) dst[l] = l < live ? Output + (g + l) * row : dummy;
                    bool strided = w > 1 && hop >= w && f0 + live <= Frames;
                    if (strided && fuse)
                    {
                        // As below, but the first FFT stage computes the packed rows where it loads them (StridedFrames).
                        float* sp = GroupSpan(clip0, (long)f0 * hop + off - pad, span, edge);
                        FftLanes.TransposeHops<TO, TV>(sp, hop, len, xt);
                        var input = FftLanes.Strided(sp, hop, xt, table!, w);
                        if (Sink.PowerOnly) Plan.ForwardPowerFrom<TO, TV, PositionRows<StridedFrames>>(input, zr, zi, xr, scratch);
                        else Plan.ForwardFrom<TO, TV, PositionRows<StridedFrames>>(input, zr, zi, xr, xi, scratch);
                        Sink.Consume<TO, TV>(xr, xi, dst, sinkWork, new LaneGroup(g, g, 1));
                        continue;
                    }
                    // FFT positions outside the window are zero; the imaginary part too for odd n (no z packing).
                    ZeroPositions<TO, TV>(0, off, Plan.Split, zr, zi);
                    ZeroPositions<TO, TV>(off + len, nfft, Plan.Split, zr, zi);
                    if (!Plan.Split) FftLanes.Zero<TO, TV>(zi, 0, nfft);
                    if (strided)
                    {
                        // All live lanes are consecutive frames of one clip: pack through one transpose of the group's
                        // span (PackStrided). A span reaching into the padding (or past the end, for dead lanes) is
                        // materialised first, so edge groups take this path too.
                        float* sp = GroupSpan(clip0, (long)f0 * hop + off - pad, span, edge);
                        FftLanes.PackStrided<TO, TV>(sp, hop, len, win, off, Plan.Split, zr, zi, xt);
                    }
                    else
                    {
                        for (int l = 0; l < w; l++)
                        {
                            long gi = g + l;
                            if (l >= live) { src[l] = zeroRow; continue; }
                            long b = gi / Frames;
                            float* clip = X + b * n;
                            long lo = (gi - b * Frames) * hop + off - pad;
                            if (lo >= 0 && lo + len <= n) src[l] = clip + lo;
                            else
                            {
                                // Frame reaches into the padding (or past the end): materialise it for this lane.
                                Spec.FillPadded(new ReadOnlySpan<float>(clip, n), lo, new Span<float>(edge + (nint)l * len, len));
                                src[l] = edge + (nint)l * len;
                            }
                        }
                        FftLanes.Pack<TO, TV>(src, len, win, off, Plan.Split, zr, zi);
                    }
                    if (Sink.PowerOnly) Plan.ForwardPower<TO, TV>(zr, zi, xr, scratch);
                    else Plan.Forward<TO, TV>(zr, zi, xr, xi, scratch);
                    Sink.Consume<TO, TV>(xr, xi, dst, sinkWork, new LaneGroup(g, g, 1));
                }
            }
        }

        /// <summary>True when samples [lo, lo + span) lie inside the clip (no padding to materialise).</summary>
        readonly bool InClip(long lo, int span) => lo >= 0 && lo + span <= N;

        /// <summary>
        /// The group's span of (W-1)*hop + frame length samples from lo on: in the clip, or materialised into edge when it reaches into
        /// the padding (or past the end, for dead lanes).
        /// </summary>
        readonly float* GroupSpan(float* clip, long lo, int span, float* edge)
        {
            if (InClip(lo, span)) return clip + lo;
            Spec.FillPadded(new ReadOnlySpan<float>(clip, N), lo, new Span<float>(edge, span));
            return edge;
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

/// <summary>
/// Lane blocks: K = q+1 groups of W lanes (q = (len-1)/hop, the most hops a frame reaches past its first) in which lane l
/// of group gg holds frame f0 + gg + K*l. With s the span from frame f0's first sample, block d (d &lt; K + q) row r lane l
/// is s[(d + K*l)*hop + r]; window sample j = r + q'*hop of group gg's lane l is s[(gg + K*l)*hop + j], which is block
/// gg + q', row r, lane l. Stacked (block d at row d*hop), group gg's frames are the aligned rows gg*hop + j: no lane
/// shifts (consecutive-frame groups shift lanes for every sample past the first hop; in perf, those shifts and their
/// table decode were about a third of the first FFT stage). The cost: 2K - 1 transposes per K groups instead of K.
/// </summary>
internal static unsafe class LaneBlock
{
    /// <summary>Groups per block (K); 1 (no extra workspace) where the fused first stage, and so the blocks, do not apply.</summary>
    public static int Groups(StftSpec spec, RealPlan plan)
        => spec.Strided.Fusable && plan.CanFuseInput ? (spec.FrameLength - 1) / spec.Hop + 1 : 1;

    /// <summary>Floats of the stacked transposed blocks at W lanes.</summary>
    public static long XtFloats(StftSpec spec, RealPlan plan, int w) => (long)(2 * Groups(spec, plan) - 1) * spec.Hop * w + 16;

    /// <summary>Transposes the block span sp (frames f0 .. f0 + K*W - 1 from their first sample on) into the stacked blocks xt.</summary>
    public static void Transpose<TO, TV>(StftSpec spec, float* sp, float* xt) where TO : struct, IVec<TV> where TV : unmanaged
    {
        int w = TO.Count, hop = spec.Hop, len = spec.FrameLength, k = (len - 1) / hop + 1;
        for (int d = 0; d < 2 * k - 1; d++)
        {
            // Rows block d must hold: window samples j = r + q'*hop < len for the smallest q' = d - gg of any group gg < K.
            int rows = Math.Min(hop, len - Math.Max(0, d - k + 1) * hop);
            FftLanes.TransposeColumns<TO, TV>(sp + (nint)d * hop, k * hop, rows, xt + (nint)d * hop * w);
        }
    }
}

/// <summary>A lane job over items [Start, End) (frames, rows) with a worker's workspace.</summary>
internal unsafe interface IRangeJob : ILaneJob
{
    long Start { get; set; }
    long End { get; set; }
    float* Work { get; set; }

    /// <summary>The kernel body over items [start, end) at width TO (run through <see cref="LaneDispatch.RunRange"/>).</summary>
    void Range<TO, TV>(long start, long end) where TO : struct, IVec<TV> where TV : unmanaged;
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

    /// <summary>
    /// (v[1], v[2], ..., v[W-1], next): the lanes move down by one and <paramref name="next"/> enters the top lane (valignd on
    /// AVX-512; a shuffle and a blend elsewhere).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV ShiftIn<TO, TV>(TV v, float next) where TO : struct, IVec<TV> where TV : unmanaged
    {
        if (typeof(TV) == typeof(Vector512<float>))
        {
            var a = Unsafe.BitCast<TV, Vector512<float>>(v).AsInt32();
            if (Avx512F.IsSupported) return Unsafe.BitCast<Vector512<float>, TV>(Avx512F.AlignRight32(Vector512.Create(next).AsInt32(), a, 1).AsSingle());
            var sh = Vector512.Shuffle(a.AsSingle(), Vector512.Create(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0));
            return Unsafe.BitCast<Vector512<float>, TV>(Vector512.ConditionalSelect(Vector512.Create(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1).AsSingle(), Vector512.Create(next), sh));
        }
        if (typeof(TV) == typeof(Vector256<float>))
        {
            var a = Unsafe.BitCast<TV, Vector256<float>>(v);
            if (Avx512F.VL.IsSupported) return Unsafe.BitCast<Vector256<float>, TV>(Avx512F.VL.AlignRight32(Vector256.Create(next).AsInt32(), a.AsInt32(), 1).AsSingle());
            var sh = Vector256.Shuffle(a, Vector256.Create(1, 2, 3, 4, 5, 6, 7, 0));
            return Unsafe.BitCast<Vector256<float>, TV>(Vector256.ConditionalSelect(Vector256.Create(0, 0, 0, 0, 0, 0, 0, -1).AsSingle(), Vector256.Create(next), sh));
        }
        if (typeof(TV) == typeof(Vector128<float>))
        {
            var a = Unsafe.BitCast<TV, Vector128<float>>(v);
            if (Avx512F.VL.IsSupported) return Unsafe.BitCast<Vector128<float>, TV>(Avx512F.VL.AlignRight32(Vector128.Create(next).AsInt32(), a.AsInt32(), 1).AsSingle());
            var sh = Vector128.Shuffle(a, Vector128.Create(1, 2, 3, 0));
            return Unsafe.BitCast<Vector128<float>, TV>(Vector128.ConditionalSelect(Vector128.Create(0, 0, 0, -1).AsSingle(), Vector128.Create(next), sh));
        }
        return Unsafe.BitCast<float, TV>(next);
    }

    /// <summary>
    /// ln x for positive, normal, finite x only (no special-value handling): x = m 2^e, m in [sqrt(.5), sqrt(2)),
    /// f = m - 1, ln(1+f) = f - f^2/2 + f^3 P(f) with a degree-5 P fitted (weighted least squares on Chebyshev nodes) for
    /// |error| &lt; 2e-7 on that interval. About two thirds of VectorMath.Log's work: the decibel step of a log-mel
    /// (inputs clamped to amin first) is the one caller.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV LogPositive<TO, TV>(TV x) where TO : struct, IVec<TV> where TV : unmanaged
    {
        TV e, f;
        if (typeof(TV) == typeof(Vector512<float>) && Avx512F.IsSupported)
        {
            // The same e and f in 6 instructions instead of 12: vgetmantps gives m1 = 2m in [1, 2), vgetexpps floor(log2 x) = e + 1;
            // m < c (c = 0.70710677f) is m1 < 2c exactly (power-of-two scaling), and f is m1 - 1 there, else m1/2 - 1 (m1/2 = m exactly).
            var v = Unsafe.BitCast<TV, Vector512<float>>(x);
            var m1 = Avx512F.GetMantissa(v, 0);
            var hi = Vector512.GreaterThanOrEqual(m1, Vector512.Create(2 * 0.707106781186547524f));
            e = Unsafe.BitCast<Vector512<float>, TV>(Avx512F.GetExponent(v) + (hi & Vector512<float>.One));
            f = Unsafe.BitCast<Vector512<float>, TV>(Vector512.ConditionalSelect(hi, m1 * 0.5f, m1) - Vector512<float>.One);
        }
        else
        {
            TV m = TO.Frexp(x, out e);
            TV lo = TO.Lt(m, TO.Splat(0.707106781186547524f));
            e = TO.Sub(e, TO.And(lo, TO.Splat(1f)));
            f = TO.Sub(TO.Add(m, TO.And(lo, m)), TO.Splat(1f));
        }
        TV p = TO.Splat(-0.10069556534290314f);
        p = TO.MulAdd(p, f, TO.Splat(0.15987879037857056f));
        p = TO.MulAdd(p, f, TO.Splat(-0.17155025899410248f));
        p = TO.MulAdd(p, f, TO.Splat(0.19928079843521118f));
        p = TO.MulAdd(p, f, TO.Splat(-0.24982547760009766f));
        p = TO.MulAdd(p, f, TO.Splat(0.3333421051502228f));
        TV f2 = TO.Mul(f, f);
        TV y = TO.MulAdd(TO.Mul(f2, f), p, TO.MulAdd(f2, TO.Splat(-0.5f), f));
        return TO.MulAdd(e, TO.Splat(0.693147180559945309f), y);
    }
}
