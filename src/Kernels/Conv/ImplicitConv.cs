// Implicit-GEMM 2-d convolution for stride 1, dilation 1, groups 1 (FreesoundCnn's 3x11 'same' convs; any KH x KW
// with paddings below the kernel size): no column matrix. The batch is copied once into zero-padded planes
// xp (N, Cin, Hp, Wp), Hp = OH + KH - 1, Wp = OW + KW - 1, so output (oy, ox) with tap (ki, kj) reads
// xp[c, oy + ki, ox + kj] and the GEMM's B operand is unaligned vector loads straight from xp.
// Why: im2col writes K = Cin*KH*KW copies of the input (33 for 3x11) and the GEMM then packs them again; at
// FreesoundCnn's sizes those memory passes cost as much as the multiplies.
//   forward      y[n, co, oy, ox] = sum_{c,ki,kj} w[co, c, ki, kj] * xp[n, c, oy+ki, ox+kj]
//                micro-kernel: MR output channels x 2 vectors of ox in registers, k = (c, ki, kj) in order
//   input grad   dx = forward of dy with w flipped in (ki, kj) and Cin <-> Cout swapped, padding (K-1-pad)
//   weight grad  dw[co, c, ki, kj] = sum_{n, oy, ox} dy[n, co, oy, ox] * xp[n, c, oy+ki, ox+kj]
//                tile: 4 output channels x NK taps of vector partial sums along ox, summed across lanes per row chunk
// y / dy may be NCHW or channel-major (C, N*OH*OW), the layout a fused batch norm reads (PlaneStrides).
// Deterministic: every output element is computed by one thread in a fixed order; the weight gradient is summed per
// image chunk (chunks depend only on n and the thread count), then over chunks in order.
// Scratch (padded input, packed or flipped weights, the weight gradient's partial sums and tap offsets) is one reused
// block, grown to the largest call: a warm call allocates nothing (single-threaded; a split call allocates the small
// delegate that hands the work to the threads).
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Cochlea.Kernels.Audio;
using Cochlea.Kernels.Gemm;
using Cochlea.Kernels.Numerics;
using Cochlea.Kernels.Threading;

namespace Cochlea.Kernels.Conv;

/// <summary>Where image i's channel c plane starts in a batch of planes: i*Image + c*Channel (in floats).</summary>
public readonly record struct PlaneStrides(long Image, long Channel)
{
    /// <summary>(N, C, plane) batches: (C*plane, plane).</summary>
    public static PlaneStrides Nchw(int channels, long plane) => new(channels * plane, plane);
    /// <summary>Channel-major (C, N*plane) batches: (plane, N*plane).</summary>
    public static PlaneStrides ChannelMajor(int n, long plane) => new(plane, n * plane);
}

/// <summary>Implicit-GEMM conv2d (stride 1, dilation 1, groups 1) forward, input gradient and weight gradient; layout in the file header.</summary>
[System.Runtime.CompilerServices.SkipLocalsInit]
public static unsafe class ImplicitConv
{
    /// <summary>
    /// True when these kernels handle the conv: stride 1 and dilation 1 on both axes, every padding below its kernel
    /// size (so the input gradient is again such a conv) and a non-empty output.
    /// </summary>
    public static bool Supports(ConvAxis h, ConvAxis w)
        => h.Stride == 1 && w.Stride == 1 && h.Dilation == 1 && w.Dilation == 1
           && h.PadBefore < h.Kernel && h.PadAfter < h.Kernel && w.PadBefore < w.Kernel && w.PadAfter < w.Kernel
           && h.Out > 0 && w.Out > 0;

    /// <summary>y (N, Cout, OH, OW) = conv2d(x (N, Cin, H, W), weight (Cout, Cin, KH, KW)); y is overwritten.</summary>
    public static void Forward(float* x, float* weight, float* y, int n, int cin, int cout, ConvAxis h, ConvAxis w)
        => Forward(x, weight, y, n, cin, cout, h, w, Simd.Best, KernelThreads.Count);

    /// <inheritdoc cref="Forward(float*, float*, float*, int, int, int, ConvAxis, ConvAxis)"/>
    /// <remarks><paramref name="yStrides"/>: y's layout (default NCHW; <see cref="PlaneStrides.ChannelMajor"/> for (Cout, N*OH*OW)).</remarks>
    public static void Forward(float* x, float* weight, float* y, int n, int cin, int cout, ConvAxis h, ConvAxis w, SimdWidth width, int threads,
        PlaneStrides? yStrides = null)
    {
        Validate(n, cin, cout, h, w, width, threads);
        KernelArgs.NotNull(x, (long)n * cin * h.In * w.In, nameof(x)); KernelArgs.NotNull(weight, 1, nameof(weight)); KernelArgs.NotNull(y, n, nameof(y));
        if (n == 0 || cout == 0) return;
        long outPlane = (long)h.Out * w.Out;
        var block = s_scratch.Take(ForwardFloats(n, cin, cout, h, w, width));
        try { Run(x, PlaneStrides.Nchw(cin, (long)h.In * w.In), weight, y, yStrides ?? PlaneStrides.Nchw(cout, outPlane), n, cin, cout, h, w, width, threads, block.Ptr); }
        finally { s_scratch.Give(block); }
    }

    // One reusable block for a call's scratch (see the file header). A call made while another thread holds it gets a fresh
    // block (concurrent calls stay correct); the last one given back is kept.
    static readonly ScratchSlot s_scratch = new();

    // Sub-blocks start on 64-byte boundaries (the block itself is 64-byte aligned).
    static long Align16(long floats) => (floats + 15) & ~15L;

    // The forward body's tile: MR output channels x NR = 2 vectors of output columns, per path (Run's instantiations).
    static (int Mr, int Nr) TileOf(SimdWidth width) => width switch
    {
        SimdWidth.V512 => (8, 32), SimdWidth.V256 => (6, 16), SimdWidth.V128 => (6, 8), _ => (4, 2),
    };

    // Scratch of the forward body: packed weights (panels of MR rows by Cin*KH*KW), then the padded batch with NR floats of slack.
    static long ForwardFloats(int n, int cin, int cout, ConvAxis h, ConvAxis w, SimdWidth width)
    {
        var (mr, nr) = TileOf(width);
        long kk = (long)cin * h.Kernel * w.Kernel;
        return Align16((cout + mr - 1) / mr * mr * kk) + Align16(PaddedLength(n, cin, h, w, nr));
    }

    /// <summary>
    /// dx (N, Cin, H, W) = the input gradient of <see cref="Forward(float*, float*, float*, int, int, int, ConvAxis, ConvAxis)"/> for
    /// dy (N, Cout, OH, OW); dx is overwritten.
    /// </summary>
    public static void BackwardInput(float* dy, float* weight, float* dx, int n, int cin, int cout, ConvAxis h, ConvAxis w)
        => BackwardInput(dy, weight, dx, n, cin, cout, h, w, Simd.Best, KernelThreads.Count);

    /// <inheritdoc cref="BackwardInput(float*, float*, float*, int, int, int, ConvAxis, ConvAxis)"/>
    /// <remarks><paramref name="dyStrides"/>: dy's layout (default NCHW; <see cref="PlaneStrides.ChannelMajor"/> for (Cout, N*OH*OW)).</remarks>
    public static void BackwardInput(float* dy, float* weight, float* dx, int n, int cin, int cout, ConvAxis h, ConvAxis w, SimdWidth width, int threads,
        PlaneStrides? dyStrides = null)
    {
        Validate(n, cin, cout, h, w, width, threads);
        KernelArgs.NotNull(dy, (long)n * cout * h.Out * w.Out, nameof(dy)); KernelArgs.NotNull(weight, 1, nameof(weight)); KernelArgs.NotNull(dx, n, nameof(dx));
        if (n == 0 || cin == 0) return;
        int kh = h.Kernel, kw = w.Kernel;
        long taps = (long)kh * kw;
        var th = new ConvAxis(h.Out, kh, 1, kh - 1 - h.PadBefore, kh - 1 - h.PadAfter);
        var tw = new ConvAxis(w.Out, kw, 1, kw - 1 - w.PadBefore, kw - 1 - w.PadAfter);
        long wtLen = Align16((long)cin * cout * taps);
        var block = s_scratch.Take(wtLen + ForwardFloats(n, cout, cin, th, tw, width));
        // wt[ci, co, ki, kj] = w[co, ci, KH-1-ki, KW-1-kj]: the transposed conv as a forward one.
        float* wt = block.Ptr;
        try
        {
            for (int co = 0; co < cout; co++)
                for (int ci = 0; ci < cin; ci++)
                {
                    float* src = weight + ((long)co * cin + ci) * taps;
                    float* dst = wt + ((long)ci * cout + co) * taps;
                    for (long t = 0; t < taps; t++) dst[taps - 1 - t] = src[t];
                }
            long outPlane = (long)h.Out * w.Out;
            Run(dy, dyStrides ?? PlaneStrides.Nchw(cout, outPlane), wt, dx, PlaneStrides.Nchw(cin, (long)h.In * w.In), n, cout, cin, th, tw, width, threads, wt + wtLen);
        }
        finally { s_scratch.Give(block); }
    }

    /// <summary>
    /// dweight (Cout, Cin, KH, KW) = sum over images and positions of dy (N, Cout, OH, OW) times the input window of
    /// x (N, Cin, H, W); dweight is overwritten.
    /// </summary>
    public static void BackwardWeight(float* x, float* dy, float* dweight, int n, int cin, int cout, ConvAxis h, ConvAxis w)
        => BackwardWeight(x, dy, dweight, n, cin, cout, h, w, Simd.Best, KernelThreads.Count);

    /// <inheritdoc cref="BackwardWeight(float*, float*, float*, int, int, int, ConvAxis, ConvAxis)"/>
    /// <remarks><paramref name="dyStrides"/>: dy's layout (default NCHW; <see cref="PlaneStrides.ChannelMajor"/> for (Cout, N*OH*OW)).</remarks>
    public static void BackwardWeight(float* x, float* dy, float* dweight, int n, int cin, int cout, ConvAxis h, ConvAxis w, SimdWidth width, int threads,
        PlaneStrides? dyStrides = null)
    {
        Validate(n, cin, cout, h, w, width, threads);
        long wlen = (long)cout * cin * h.Kernel * w.Kernel;
        KernelArgs.NotNull(x, (long)n * cin * h.In * w.In, nameof(x)); KernelArgs.NotNull(dy, (long)n * cout * h.Out * w.Out, nameof(dy));
        KernelArgs.NotNull(dweight, wlen, nameof(dweight));
        if (wlen == 0) return;
        if (n == 0) { new Span<float>(dweight, checked((int)wlen)).Clear(); return; }
        var gs = dyStrides ?? PlaneStrides.Nchw(cout, (long)h.Out * w.Out);
        switch (width)
        {
            // Why 4 output channels x 4 taps on AVX-512: 16 accumulators + 4 dy + 4 xp vectors fit 32 registers;
            // 4 x 2 keeps the 16-register ISAs from spilling.
            case SimdWidth.V512: Weight<V512Ops, Vector512<float>, Rows4>(x, dy, gs, dweight, n, cin, cout, h, w, threads); break;
            case SimdWidth.V256: Weight<V256Ops, Vector256<float>, Rows2>(x, dy, gs, dweight, n, cin, cout, h, w, threads); break;
            case SimdWidth.V128: Weight<V128Ops, Vector128<float>, Rows2>(x, dy, gs, dweight, n, cin, cout, h, w, threads); break;
            default: Weight<ScalarOps, float, Rows2>(x, dy, gs, dweight, n, cin, cout, h, w, threads); break;
        }
    }

    static void Validate(int n, int cin, int cout, ConvAxis h, ConvAxis w, SimdWidth width, int threads)
    {
        h.Validate(nameof(h)); w.Validate(nameof(w));
        if (n < 0 || cin < 0 || cout < 0) throw new ArgumentOutOfRangeException(nameof(n), $"Expected n, cin, cout >= 0, got {n}, {cin}, {cout}.");
        if (!Supports(h, w))
            throw new ArgumentException($"ImplicitConv handles stride 1, dilation 1, paddings below the kernel size and a non-empty output; got h {h}, w {w}. Use Im2Col + Sgemm for other convs.");
        if (!Simd.Supports(width)) throw new PlatformNotSupportedException($"{width} is not available here (best: {Simd.Best}).");
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "Expected threads >= 1.");
    }

    // ---- padding ----

    /// <summary>Floats of the padded batch: N*Cin planes of (Hp, Wp) plus slack for the last tile's over-read.</summary>
    static long PaddedLength(int n, int cin, ConvAxis h, ConvAxis w, int slack) => (long)n * cin * (h.Out + h.Kernel - 1) * (w.Out + w.Kernel - 1) + slack;

    // xp (N*Cin, Hp, Wp) <- x's (H, W) planes (image i, channel c at i*xs.Image + c*xs.Channel) placed at (PadBefore,
    // PadBefore), zeros elsewhere (input rows/columns past what the output reads are dropped: 'valid' tails). The slack
    // floats after the last plane are zeroed.
    static void Pad(float* x, PlaneStrides xs, int cin, float* xp, int planes, ConvAxis h, ConvAxis w, int slack, int threads)
    {
        var job = new PadJob(x, xs, cin, xp, h, w);
        KernelThreads.For(planes, Math.Max(1, (int)(65536 / Math.Max(1, job.PadPlane))), threads, job);
        new Span<float>(xp + planes * job.PadPlane, slack).Clear();
    }

    readonly struct PadJob(float* x, PlaneStrides xs, int cin, float* xp, ConvAxis h, ConvAxis w) : KernelThreads.IRangeBody
    {
        readonly int _hp = h.Out + h.Kernel - 1, _wp = w.Out + w.Kernel - 1;
        public long PadPlane => (long)_hp * _wp;

        public void Run(int p0, int p1)
        {
            int hp = _hp, wp = _wp;
            long padPlane = PadPlane;
            int rowsIn = Math.Min(h.In, hp - h.PadBefore), colsIn = Math.Min(w.In, wp - w.PadBefore);
            for (int p = p0; p < p1; p++)
            {
                float* dst = xp + p * padPlane;
                float* src = x + p / cin * xs.Image + p % cin * xs.Channel;
                new Span<float>(dst, h.PadBefore * wp).Clear();
                for (int r = 0; r < rowsIn; r++)
                {
                    float* d = dst + (long)(h.PadBefore + r) * wp;
                    new Span<float>(d, w.PadBefore).Clear();
                    new ReadOnlySpan<float>(src + (long)r * w.In, colsIn).CopyTo(new Span<float>(d + w.PadBefore, colsIn));
                    new Span<float>(d + w.PadBefore + colsIn, wp - w.PadBefore - colsIn).Clear();
                }
                int below = hp - h.PadBefore - rowsIn;
                new Span<float>(dst + (long)(h.PadBefore + rowsIn) * wp, below * wp).Clear();
            }
        }
    }

    // ---- forward ----

    // ws: ForwardFloats(n, cin, cout, h, w, width) floats of scratch.
    static void Run(float* x, PlaneStrides xs, float* weight, float* y, PlaneStrides ys, int n, int cin, int cout, ConvAxis h, ConvAxis w, SimdWidth width, int threads,
        float* ws)
    {
        switch (width)
        {
            // MR x 2 vectors: 16 accumulators on AVX-512 (as the GEMM's 8x32), 12 on the 16-register ISAs.
            case SimdWidth.V512: Forward<V512Ops, Vector512<float>, Rows8>(x, xs, weight, y, ys, n, cin, cout, h, w, threads, ws); break;
            case SimdWidth.V256: Forward<V256Ops, Vector256<float>, Rows6>(x, xs, weight, y, ys, n, cin, cout, h, w, threads, ws); break;
            case SimdWidth.V128: Forward<V128Ops, Vector128<float>, Rows6>(x, xs, weight, y, ys, n, cin, cout, h, w, threads, ws); break;
            default: Forward<ScalarOps, float, Rows4>(x, xs, weight, y, ys, n, cin, cout, h, w, threads, ws); break;
        }
    }

    static void Forward<TO, TV, TR>(float* x, PlaneStrides xs, float* weight, float* y, PlaneStrides ys, int n, int cin, int cout, ConvAxis h, ConvAxis w, int threads,
        float* ws)
        where TO : struct, IVec<TV> where TV : struct where TR : struct, IRows
    {
        int mr = TR.Count, nr = 2 * TO.Count;
        int kk = cin * h.Kernel * w.Kernel, panels = (cout + mr - 1) / mr;
        // wpk: panel q (kk, MR), wpk[q*kk*MR + k*MR + r] = w[q*MR + r, k]; rows past cout are zero. The GEMM's A packing
        // (4x4 register transposes) does exactly this. xp after it (ForwardFloats' layout).
        float* wpk = ws, xp = ws + Align16((long)panels * kk * mr);
        GemmPack.Block(wpk, weight, cout, kk, kk, 1, mr);
        Pad(x, xs, cin, xp, n * cin, h, w, nr, threads);
        // Units are (image, output row): enough of them to keep both threads busy at batch 1.
        KernelThreads.For(n * h.Out, 1, threads, new ForwardJob<TO, TV, TR>(xp, wpk, y, ys, cin, cout, h, w));
    }

    // Output rows [u0, u1) of the (image, output row) units: every MR-channel panel, NR columns at a time.
    readonly struct ForwardJob<TO, TV, TR>(float* xp, float* wpk, float* y, PlaneStrides ys, int cin, int cout, ConvAxis h, ConvAxis w) : KernelThreads.IRangeBody
        where TO : struct, IVec<TV> where TV : struct where TR : struct, IRows
    {
        public void Run(int u0, int u1)
        {
            int mr = TR.Count, nr = 2 * TO.Count;
            int kh = h.Kernel, kw = w.Kernel, oh = h.Out, ow = w.Out;
            int wp = ow + kw - 1, kk = cin * kh * kw, panels = (cout + mr - 1) / mr;
            long padPlane = (long)(oh + kh - 1) * wp;
            float* tile = stackalloc float[mr * nr];
            for (int u = u0; u < u1; u++)
            {
                int img = u / oh, oy = u % oh;
                float* src = xp + (long)img * cin * padPlane + (long)oy * wp;
                float* dst = y + img * ys.Image + (long)oy * ow;
                for (int q = 0; q < panels; q++)
                {
                    float* pa = wpk + (long)q * kk * mr;
                    int mEff = Math.Min(mr, cout - q * mr);
                    for (int ox = 0; ox < ow; ox += nr)
                    {
                        int nEff = Math.Min(nr, ow - ox);
                        float* c = dst + q * mr * ys.Channel + ox;
                        if (mEff == mr && nEff == nr) Tile<TO, TV, TR>(pa, src + ox, cin, kh, kw, padPlane, wp, c, ys.Channel);
                        else
                        {
                            // Edge tile: computed whole into the scratch (xp's slack covers the over-read), valid part copied.
                            Tile<TO, TV, TR>(pa, src + ox, cin, kh, kw, padPlane, wp, tile, nr);
                            for (int r = 0; r < mEff; r++)
                                new ReadOnlySpan<float>(tile + r * nr, nEff).CopyTo(new Span<float>(c + r * ys.Channel, nEff));
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// c (MR, 2*Lanes) with row stride ldc = sum over k = (ch, ki, kj) of pa[k*MR + r] * src[ch*plane + ki*wp + kj + j].
    /// pa: packed weights (kk, MR); src: the padded input at (output row, first output column).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile<TO, TV, TR>(float* pa, float* src, int cin, int kh, int kw, long plane, int wp, float* c, long ldc)
        where TO : struct, IVec<TV> where TV : struct where TR : struct, IRows
    {
        int mr = TR.Count, lanes = TO.Count;
        TV c0a = TO.Splat(0f), c0b = TO.Splat(0f), c1a = TO.Splat(0f), c1b = TO.Splat(0f);
        TV c2a = TO.Splat(0f), c2b = TO.Splat(0f), c3a = TO.Splat(0f), c3b = TO.Splat(0f);
        TV c4a = TO.Splat(0f), c4b = TO.Splat(0f), c5a = TO.Splat(0f), c5b = TO.Splat(0f);
        TV c6a = TO.Splat(0f), c6b = TO.Splat(0f), c7a = TO.Splat(0f), c7b = TO.Splat(0f);
        for (int ch = 0; ch < cin; ch++)
            for (int ki = 0; ki < kh; ki++)
            {
                float* row = src + ch * plane + (long)ki * wp;
                for (int kj = 0; kj < kw; kj++, pa += mr)
                {
                    TV b0 = TO.Load(row + kj), b1 = TO.Load(row + kj + lanes);
                    TV a;
                    a = TO.Splat(pa[0]); c0a = TO.MulAdd(a, b0, c0a); c0b = TO.MulAdd(a, b1, c0b);
                    a = TO.Splat(pa[1]); c1a = TO.MulAdd(a, b0, c1a); c1b = TO.MulAdd(a, b1, c1b);
                    a = TO.Splat(pa[2]); c2a = TO.MulAdd(a, b0, c2a); c2b = TO.MulAdd(a, b1, c2b);
                    a = TO.Splat(pa[3]); c3a = TO.MulAdd(a, b0, c3a); c3b = TO.MulAdd(a, b1, c3b);
                    if (mr > 4)
                    {
                        a = TO.Splat(pa[4]); c4a = TO.MulAdd(a, b0, c4a); c4b = TO.MulAdd(a, b1, c4b);
                        a = TO.Splat(pa[5]); c5a = TO.MulAdd(a, b0, c5a); c5b = TO.MulAdd(a, b1, c5b);
                    }
                    if (mr > 6)
                    {
                        a = TO.Splat(pa[6]); c6a = TO.MulAdd(a, b0, c6a); c6b = TO.MulAdd(a, b1, c6b);
                        a = TO.Splat(pa[7]); c7a = TO.MulAdd(a, b0, c7a); c7b = TO.MulAdd(a, b1, c7b);
                    }
                }
            }
        TO.Store(c, c0a); TO.Store(c + lanes, c0b); c += ldc;
        TO.Store(c, c1a); TO.Store(c + lanes, c1b); c += ldc;
        TO.Store(c, c2a); TO.Store(c + lanes, c2b); c += ldc;
        TO.Store(c, c3a); TO.Store(c + lanes, c3b);
        if (mr > 4)
        {
            c += ldc; TO.Store(c, c4a); TO.Store(c + lanes, c4b);
            c += ldc; TO.Store(c, c5a); TO.Store(c + lanes, c5b);
        }
        if (mr > 6)
        {
            c += ldc; TO.Store(c, c6a); TO.Store(c + lanes, c6b);
            c += ldc; TO.Store(c, c7a); TO.Store(c + lanes, c7b);
        }
    }

    // ---- weight gradient ----

    // Output rows per chunk: a chunk's dy rows (Cout, R, OW) and xp rows (Cin, R + KH - 1, Wp) should stay in L2 (512 KiB
    // of the 1 MiB) while every (channel, tap) tile streams over them. Chunks are made equal: a short last chunk
    // would pay the per-tile set-up and lane sums for a few rows of work.
    const int ChunkFloats = 131072;

    static void Weight<TO, TV, TK>(float* x, float* dy, PlaneStrides gs, float* dw, int n, int cin, int cout, ConvAxis h, ConvAxis w, int threads)
        where TO : struct, IVec<TV> where TV : struct where TK : struct, IRows
    {
        int kh = h.Kernel, kw = w.Kernel, oh = h.Out, ow = w.Out;
        int hp = oh + kh - 1, wp = ow + kw - 1;
        int kk = cin * kh * kw;
        long padPlane = (long)hp * wp, wlen = (long)cout * kk;
        int rowsPerChunk = Math.Clamp(ChunkFloats / Math.Max(1, cout * ow + cin * wp), 1, oh);
        int chunks = (oh + rowsPerChunk - 1) / rowsPerChunk;
        rowsPerChunk = (oh + chunks - 1) / chunks;
        int parts = Math.Min(threads, n);
        // Scratch: xp (+ 16 floats), the partial sums of parts 1.. (part 0 sums straight into dw), the tap offsets.
        long xpLen = Align16(PaddedLength(n, cin, h, w, 0) + 16), partLen = Align16((parts - 1) * wlen);
        var block = s_scratch.Take(xpLen + partLen + Align16(kk));
        try
        {
            float* xp = block.Ptr, partial = xp + xpLen;
            // off[k]: where tap k = (c, ki, kj) starts in an image's xp, relative to the output position.
            int* off = (int*)(partial + partLen);
            for (int c = 0, k = 0; c < cin; c++)
                for (int ki = 0; ki < kh; ki++)
                    for (int kj = 0; kj < kw; kj++, k++) off[k] = (int)(c * padPlane + (long)ki * wp + kj);
            Pad(x, PlaneStrides.Nchw(cin, (long)h.In * w.In), cin, xp, n * cin, h, w, 0, threads);
            KernelThreads.For(n, 1, parts, new WeightJob<TO, TV, TK>(xp, dy, gs, dw, partial, off, n, parts, cin, cout, h, w, rowsPerChunk));
            // Parts in a fixed order: the sum does not depend on which thread ran which part. Part 0's sum is dw itself, so this is
            // bit for bit the former zeroed dw plus every partial (0 + p0 is p0: a sum started at +0 is never -0).
            for (int p = 1; p < parts; p++)
            {
                float* src = partial + (p - 1) * wlen;
                for (long j = 0; j < wlen; j++) dw[j] += src[j];
            }
        }
        finally { s_scratch.Give(block); }
    }

    // Images [i0, i1): one part of KernelThreads.Chunk(n, parts, .), summed into dw (part 0) or its own partial (zeroed here).
    readonly struct WeightJob<TO, TV, TK>(float* xp, float* dy, PlaneStrides gs, float* dw, float* partial, int* off, int n, int parts, int cin, int cout,
        ConvAxis h, ConvAxis w, int rowsPerChunk) : KernelThreads.IRangeBody
        where TO : struct, IVec<TV> where TV : struct where TK : struct, IRows
    {
        public void Run(int i0, int i1)
        {
            int kh = h.Kernel, kw = w.Kernel, oh = h.Out, ow = w.Out, kk = cin * kh * kw, wp = ow + kw - 1;
            long padPlane = (long)(oh + kh - 1) * wp, wlen = (long)cout * kk;
            int part = KernelThreads.ChunkOf(n, parts, i0);
            float* acc = part == 0 ? dw : partial + (part - 1) * wlen;
            new Span<float>(acc, checked((int)wlen)).Clear();
            for (int img = i0; img < i1; img++)
                for (int r0 = 0; r0 < oh; r0 += rowsPerChunk)
                {
                    int r1 = Math.Min(oh, r0 + rowsPerChunk);
                    float* xi = xp + (long)img * cin * padPlane + (long)r0 * wp;
                    float* gi = dy + img * gs.Image + (long)r0 * ow;
                    WeightChunk<TO, TV, TK>(xi, gi, acc, off, cout, kk, r1 - r0, ow, wp, gs.Channel);
                }
        }
    }

    // acc (Cout, kk) += sum over the chunk's rows of dy (Cout, rows, OW; row stride OW, channel stride outPlane: dy's layout)
    // times xp at the tap offsets (row stride wp). Tiles of 4 output channels x NK taps (tails: 1 channel / 1 tap).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void WeightChunk<TO, TV, TK>(float* xp, float* dy, float* acc, int* off, int cout, int kk, int rows, int ow, int wp, long outPlane)
        where TO : struct, IVec<TV> where TV : struct where TK : struct, IRows
    {
        int nk = TK.Count;
        int co = 0;
        for (; co + 4 <= cout; co += 4)
        {
            int k = 0;
            for (; k + nk <= kk; k += nk) WeightTile<TO, TV, Rows4, TK>(xp, dy + co * outPlane, acc + (long)co * kk + k, off + k, kk, rows, ow, wp, outPlane);
            for (; k < kk; k++) WeightTile<TO, TV, Rows4, Rows1>(xp, dy + co * outPlane, acc + (long)co * kk + k, off + k, kk, rows, ow, wp, outPlane);
        }
        for (; co < cout; co++)
        {
            int k = 0;
            for (; k + nk <= kk; k += nk) WeightTile<TO, TV, Rows1, TK>(xp, dy + co * outPlane, acc + (long)co * kk + k, off + k, kk, rows, ow, wp, outPlane);
            for (; k < kk; k++) WeightTile<TO, TV, Rows1, Rows1>(xp, dy + co * outPlane, acc + (long)co * kk + k, off + k, kk, rows, ow, wp, outPlane);
        }
    }

    // acc[r*kk + t] += sum_{row, ox} dy[r*outPlane + row*ow + ox] * xp[off[t] + row*wp + ox]  for r < CO, t < NK.
    // Vector partial sums along ox, reduced across lanes at the end; the ox tail is scalar.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void WeightTile<TO, TV, TC, TK>(float* xp, float* dy, float* acc, int* off, int kk, int rows, int ow, int wp, long outPlane)
        where TO : struct, IVec<TV> where TV : struct where TC : struct, IRows where TK : struct, IRows
    {
        int nc = TC.Count, nk = TK.Count, lanes = TO.Count;
        int vecEnd = ow - ow % lanes;
        TV s00 = TO.Splat(0f), s01 = TO.Splat(0f), s02 = TO.Splat(0f), s03 = TO.Splat(0f);
        TV s10 = TO.Splat(0f), s11 = TO.Splat(0f), s12 = TO.Splat(0f), s13 = TO.Splat(0f);
        TV s20 = TO.Splat(0f), s21 = TO.Splat(0f), s22 = TO.Splat(0f), s23 = TO.Splat(0f);
        TV s30 = TO.Splat(0f), s31 = TO.Splat(0f), s32 = TO.Splat(0f), s33 = TO.Splat(0f);
        float* tail = stackalloc float[16];
        for (int i = 0; i < 16; i++) tail[i] = 0f;
        float* x0 = xp + off[0], x1 = nk > 1 ? xp + off[1] : x0, x2 = nk > 2 ? xp + off[2] : x0, x3 = nk > 3 ? xp + off[3] : x0;
        for (int row = 0; row < rows; row++)
        {
            float* g0 = dy + (long)row * ow;
            float* g1 = g0 + outPlane, g2 = g1 + outPlane, g3 = g2 + outPlane;
            long xr = (long)row * wp;
            for (int ox = 0; ox < vecEnd; ox += lanes)
            {
                TV a0 = TO.Load(x0 + xr + ox);
                TV b0 = TO.Load(g0 + ox);
                s00 = TO.MulAdd(b0, a0, s00);
                TV b1 = default, b2 = default, b3 = default;
                if (nc > 1)
                {
                    b1 = TO.Load(g1 + ox); b2 = TO.Load(g2 + ox); b3 = TO.Load(g3 + ox);
                    s10 = TO.MulAdd(b1, a0, s10); s20 = TO.MulAdd(b2, a0, s20); s30 = TO.MulAdd(b3, a0, s30);
                }
                if (nk > 1)
                {
                    TV a1 = TO.Load(x1 + xr + ox);
                    s01 = TO.MulAdd(b0, a1, s01);
                    if (nc > 1) { s11 = TO.MulAdd(b1, a1, s11); s21 = TO.MulAdd(b2, a1, s21); s31 = TO.MulAdd(b3, a1, s31); }
                }
                if (nk > 2)
                {
                    TV a2 = TO.Load(x2 + xr + ox), a3 = TO.Load(x3 + xr + ox);
                    s02 = TO.MulAdd(b0, a2, s02); s03 = TO.MulAdd(b0, a3, s03);
                    if (nc > 1)
                    {
                        s12 = TO.MulAdd(b1, a2, s12); s22 = TO.MulAdd(b2, a2, s22); s32 = TO.MulAdd(b3, a2, s32);
                        s13 = TO.MulAdd(b1, a3, s13); s23 = TO.MulAdd(b2, a3, s23); s33 = TO.MulAdd(b3, a3, s33);
                    }
                }
            }
            for (int ox = vecEnd; ox < ow; ox++)
                for (int r = 0; r < nc; r++)
                {
                    float g = dy[r * outPlane + (long)row * ow + ox];
                    for (int t = 0; t < nk; t++) tail[r * 4 + t] += g * xp[off[t] + xr + ox];
                }
        }
        acc[0] += TO.SumAcross(s00) + tail[0];
        if (nk > 1) acc[1] += TO.SumAcross(s01) + tail[1];
        if (nk > 2) { acc[2] += TO.SumAcross(s02) + tail[2]; acc[3] += TO.SumAcross(s03) + tail[3]; }
        if (nc > 1)
        {
            float* a1 = acc + kk, a2 = a1 + kk, a3 = a2 + kk;
            a1[0] += TO.SumAcross(s10) + tail[4]; a2[0] += TO.SumAcross(s20) + tail[8]; a3[0] += TO.SumAcross(s30) + tail[12];
            if (nk > 1) { a1[1] += TO.SumAcross(s11) + tail[5]; a2[1] += TO.SumAcross(s21) + tail[9]; a3[1] += TO.SumAcross(s31) + tail[13]; }
            if (nk > 2)
            {
                a1[2] += TO.SumAcross(s12) + tail[6]; a2[2] += TO.SumAcross(s22) + tail[10]; a3[2] += TO.SumAcross(s32) + tail[14];
                a1[3] += TO.SumAcross(s13) + tail[7]; a2[3] += TO.SumAcross(s23) + tail[11]; a3[3] += TO.SumAcross(s33) + tail[15];
            }
        }
    }
}
