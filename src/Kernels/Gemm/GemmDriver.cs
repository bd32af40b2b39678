// The blocked GEMM driver (the BLIS loop nest) around the register-tiled micro-kernel, plus the
// per-thread pack buffers. Generic over the vector ops and tile height, so one source serves
// every ISA; Sgemm picks the instantiation.
//   for each unit (jc, ic) of the (NC, MC) block grid, taken dynamically by the threads:
//     for k0 in K step KS:          KS = all of K unless K is very deep
//       pack B(k0:k0+ks, jc:jc+nc) unless this thread has it   (lives in L3)
//       pack A(ic:ic+mc, k0:k0+ks) unless this thread has it   (KC slab in L2)
//       for pc in ks step KC:       beta applies on the first K block only
//         for jr in nc step NR:     B micro-panel (KC, NR) reused across the ir loop (L1/L2)
//           for ir in mc step MR:   micro-kernel on one (MR, NR) tile of C
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Cochlea.Kernels.Threading;

using Cochlea.Kernels.Numerics;

namespace Cochlea.Kernels.Gemm;

/// <summary>One GEMM call's operands: C(m,n) = alpha * op(A)(m,k) * op(B)(k,n) + beta * C, row-major.</summary>
internal readonly unsafe struct GemmArgs
{
    public readonly bool TransA, TransB;
    public readonly int M, N, K;
    public readonly float Alpha, Beta;
    public readonly float* A, B, C;
    public readonly int Lda, Ldb, Ldc;
    /// <summary>Applied to each C tile after its last K block (GemmEpilogue); the default does nothing.</summary>
    public readonly GemmEpilogue Epilogue;
    /// <summary>A already packed (PackedGemmA's layout for this path's MR and KC), read in place by the driver; null: pack A.</summary>
    public readonly float* PackedA;

    public GemmArgs(bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda,
        float* b, int ldb, float beta, float* c, int ldc, GemmEpilogue epilogue = default, float* packedA = null)
    {
        TransA = transA; TransB = transB; M = m; N = n; K = k; Alpha = alpha; Beta = beta;
        A = a; B = b; C = c; Lda = lda; Ldb = ldb; Ldc = ldc; Epilogue = epilogue; PackedA = packedA;
    }

    /// <summary>Address of op(A)[i, p], and the strides of op(A) along i and along p.</summary>
    public float* AAt(int i, int p) => TransA ? A + (nint)p * Lda + i : A + (nint)i * Lda + p;
    public nint AStrideI => TransA ? 1 : Lda;
    public nint AStrideP => TransA ? Lda : 1;
    /// <summary>Address of op(B)[p, j], and the strides of op(B) along j and along p.</summary>
    public float* BAt(int p, int j) => TransB ? B + (nint)j * Ldb + p : B + (nint)p * Ldb + j;
    public nint BStrideJ => TransB ? Ldb : 1;
    public nint BStrideP => TransB ? 1 : Ldb;
}

/// <summary>Cache-block sizes (in elements). KC is the depth of one packed panel; NC is an upper bound.</summary>
/// <remarks>BBytes bounds one thread's packed B block (NC columns by all of K, or by a K super-block; it lives in L3).</remarks>
/// <remarks>SplitTallA: the row-block grid for A taller than B is wide (see GemmDriver.Run); off only in the kernel lab, for A/B.
/// DirectB: a short A reads a row-major B in place instead of packing it (see GemmDriver.Worker); off only in the lab.</remarks>
internal readonly record struct GemmBlocking(int Mc, int Kc, int Nc, long BBytes = 4L << 20, bool SplitTallA = true, bool DirectB = true)
{
    /// <summary>
    /// Defaults, measured with `bench lab gemm` on the dev box (Zen 4: 32 KiB L1d, 1 MiB L2 per core, 32 MiB L3;
    /// KC 256..1024 x MC 96..512 swept). KC = 512 halves the C read-modify-write traffic of KC = 256 and won
    /// by ~5%; the (KC, NR) B micro-panel (64 KiB) then streams from L2 with the hardware prefetcher, the
    /// (MC, KC) A block (384 KiB) stays in L2, and a (KC, NC) B block sits in L3. Also fine for Skylake-X
    /// (1 MiB L2) and, being a multiple of every MR and NR, for the Pi's smaller tiles.
    /// </summary>
    public static readonly GemmBlocking Default = new(Mc: 192, Kc: 512, Nc: 4096);
}

/// <summary>Thread-local, 64-byte aligned, grow-only scratch buffers for packed panels (no allocation once warm).</summary>
internal static unsafe class PackBuffers
{
    [ThreadStatic] static float* t_a, t_b;
    [ThreadStatic] static nint t_capA, t_capB;

    /// <summary>At least <paramref name="floats"/> floats for packed A, reused by later calls on this thread.</summary>
    public static float* A(nint floats) => Get(ref t_a, ref t_capA, floats);
    /// <summary>At least <paramref name="floats"/> floats for packed B, reused by later calls on this thread.</summary>
    public static float* B(nint floats) => Get(ref t_b, ref t_capB, floats);

    static float* Get(ref float* p, ref nint cap, nint floats)
    {
        if (floats <= cap) return p;
        // Why 64-byte alignment: packed panels are read one cache line (= one Vector512) at a time.
        // Grow-only and never freed while the thread lives: the pool threads that run kernels are
        // long-lived and the sizes are bounded by the block sizes (a few MiB per thread).
        if (p != null) NativeMemory.AlignedFree(p);
        nint size = Math.Max(floats, cap * 2);
        p = (float*)NativeMemory.AlignedAlloc((nuint)(size * sizeof(float)), 64);
        cap = size;
        return p;
    }
}

internal static unsafe class GemmDriver<TOps, TV, TRows>
    where TOps : struct, IVec<TV> where TV : struct where TRows : struct, IRows
{
    public static int Mr => TRows.Count;
    public static int Nr => 2 * TOps.Count;
    /// <summary>Narrowest column block worth packing B for (see Run).</summary>
    const int NcFloor = 512;

    /// <summary>
    /// Runs the whole call on up to <paramref name="threads"/> threads. C is cut into (MC, NC) blocks on a fixed
    /// grid (block starts are multiples of MR and NR); the blocks are work units. Each thread owns a contiguous
    /// range of them and, when done, takes the next unclaimed units of the others (atomic counters), so a
    /// thread that gets less CPU (a busy machine) simply ends up with fewer units. Each thread keeps the
    /// packed B of its current NC column block and the packed A of its current MC row block, over all of K
    /// (or over the current K super-block when K is very deep), and repacks only when a unit needs another
    /// one; units go column-block-major so B is packed about once per thread per column block. Every C
    /// element is computed by one unit, over k in KC steps in ascending order, on the same tile grid for any
    /// thread count or schedule: results are bit-identical.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(GemmArgs g, int threads, GemmBlocking blk)
    {
        int mr = Mr, nr = Nr;
        int mc = Math.Max(mr, blk.Mc / mr * mr);
        // NC: bounded so one thread's packed B block stays near blk.BBytes (L3-resident), and small enough
        // that there are a few units per thread to balance (columns are cheaper to split than rows when
        // m is small: A is then packed once per thread). Not below NcFloor: when K is so deep that even
        // that does not fit, K is cut into super-blocks (KS) instead; narrower blocks would repack A too often.
        int ncCap = Math.Max(nr, blk.Nc / nr * nr);
        int ncFit = (int)Math.Clamp(blk.BBytes / (4L * g.K) / nr * nr, Math.Min(ncCap, NcFloor / nr * nr), ncCap);
        int icBlocks = (g.M + mc - 1) / mc;
        int wantUnits = threads == 1 ? 1 : 4 * threads;
        int jcWanted = Math.Max(1, (wantUnits + icBlocks - 1) / icBlocks);
        int ncBal = RoundUp((g.N + jcWanted - 1) / jcWanted, nr);
        int nc = Math.Max(nr, Math.Min(ncFit, Math.Max(ncBal, 4 * nr)));
        // A at least half as tall as B is wide (batch-1 convolutions past the first stage: C is Cout x a few hundred positions, A the
        // weights, B the columns): one column block, and rows cut into about wantUnits blocks. A is then packed once in
        // all (each unit has its own rows; the column split above made every thread pack all of A), B once per thread,
        // and units are small enough for the claiming to balance the threads (three 192-row blocks on two threads left
        // one idle a third of the time). Only the grid changes, never the k order: results stay bit-identical.
        if (blk.SplitTallA && threads > 1 && 2L * g.M >= g.N && RoundUp(g.N, nr) <= ncFit)
        {
            nc = RoundUp(g.N, nr);
            // Not below 4 * MR rows: each (KC, NR) B micro-panel then still serves 4 tiles from L1/L2.
            mc = Math.Clamp(RoundUp((g.M + wantUnits - 1) / wantUnits, mr), Math.Min(mc, 4 * mr), mc);
            icBlocks = (g.M + mc - 1) / mc;
        }
        // Fewer units than threads (a weight gradient: m and n are channel counts, k is every position of the
        // batch): narrower column blocks, then shorter row blocks, so each thread gets one. Only the grid
        // changes, never the k order, so results stay bit-identical.
        if (threads > 1 && icBlocks * ((g.N + nc - 1) / nc) < threads)
        {
            nc = Math.Max(nr, RoundUp((g.N + threads - 1) / threads, nr));
            int jcNow = (g.N + nc - 1) / nc;
            if (icBlocks * jcNow < threads)
            {
                mc = Math.Max(mr, RoundUp((g.M + threads / jcNow - 1) / (threads / jcNow), mr));
                icBlocks = (g.M + mc - 1) / mc;
            }
        }
        int jcBlocks = (g.N + nc - 1) / nc;
        int units = icBlocks * jcBlocks;
        // KS: the K extent packed at once, a multiple of KC so the KC grid (and so every result bit) is the
        // same whether K fits in one super-block or not.
        int ks = (int)Math.Clamp(blk.BBytes / (4L * nc) / blk.Kc * blk.Kc, blk.Kc, RoundUp(g.K, blk.Kc));
        // At most 256 parts keeps the counters below on the stack small (16 KiB) whatever thread count is asked.
        int parts = Math.Min(Math.Min(threads, units), 256);

        // One claim counter per thread, 64 bytes apart (no false sharing), starting at the thread's own
        // contiguous range of units.
        int* counters = stackalloc int[parts * 16];
        for (int t = 0; t < parts; t++) counters[t * 16] = KernelThreads.Chunk(units, parts, t).Start;
        // Direct B: with at most MaxDirectRows rows of A, each packed B element would serve at most 16 tiles, so packing B
        // (a read and a write of all of it: a third of the time of a batch-1 64-channel conv) costs more than the tiles
        // gain from reading a packed panel; they read B's rows in place instead (two vectors per k step, row stride ldb).
        // Same tiles, same k order: bit-identical to the packed path.
        bool direct = blk.DirectB && !g.TransB && g.M <= MaxDirectRows;
        var state = new Work(g, mc, nc, ks, icBlocks, units, blk.Kc, parts, counters, direct);
        if (parts <= 1) { Worker(state, 0); return; }
        KernelThreads.For(parts, 1, parts, (s, e) => { for (int t = s; t < e; t++) Worker(state, t); });
    }

    /// <summary>What every worker of one call shares; `Counters` points at the claim counters on the caller's stack.</summary>
    readonly struct Work(GemmArgs g, int mc, int nc, int ks, int icBlocks, int units, int kc, int parts, int* counters, bool direct)
    {
        public readonly GemmArgs G = g;
        public readonly int Mc = mc, Nc = nc, Ks = ks, IcBlocks = icBlocks, Units = units, Kc = kc, Parts = parts;
        public readonly int* Counters = counters;
        public readonly bool DirectB = direct;
    }

    /// <summary>Rows of A up to which B is read in place rather than packed (see Run).</summary>
    const int MaxDirectRows = 128;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Worker(Work w, int self)
    {
        ref readonly GemmArgs g = ref w.G;
        int mr = Mr, nr = Nr, kcMax = w.Kc;
        int mcPad = RoundUp(Math.Min(w.Mc, g.M), mr), ncPad = RoundUp(Math.Min(w.Nc, g.N), nr);
        int ksMax = Math.Min(w.Ks, g.K);
        // Packed super-blocks: the KC slab at offset pc (within the super-block) starts at pc * mcPad (A), pc * ncPad (B).
        // A packed beforehand (PackedGemmA) is read in place: the KC slab at k starts at k * mPadAll, row block ic at + ic * kc.
        bool prepacked = g.PackedA != null;
        int mPadAll = RoundUp(g.M, mr);
        float* pa = prepacked ? null : PackBuffers.A((nint)mcPad * ksMax);
        // Direct B packs only a last, partial micro-panel (one (KC, NR) panel; reading past B's row end is not allowed).
        float* pb = PackBuffers.B(w.DirectB ? (nint)kcMax * nr : (nint)ncPad * ksMax);
        float* edge = stackalloc float[mr * nr];
        // What this thread has packed now: (column block, super-block start) of B and (row block, start) of A.
        int packedJb = -1, packedIb = -1, packedBk = -1, packedAk = -1;
        // Own range first (consecutive units share the packed B), then help the others from their fronts.
        for (int v = 0; v < w.Parts; v++)
        {
            int owner = (self + v) % w.Parts, end = KernelThreads.Chunk(w.Units, w.Parts, owner).End, u;
            while ((u = Interlocked.Increment(ref w.Counters[owner * 16]) - 1) < end)
            {
                int jb = u / w.IcBlocks, ib = u % w.IcBlocks;
                int jc = jb * w.Nc, ic = ib * w.Mc;
                int nc = Math.Min(w.Nc, g.N - jc), mc = Math.Min(w.Mc, g.M - ic);
                for (int k0 = 0; k0 < g.K; k0 += w.Ks)
                {
                    int kLen = Math.Min(w.Ks, g.K - k0);
                    if (!w.DirectB && (jb != packedJb || k0 != packedBk))
                    {
                        for (int pc = 0; pc < kLen; pc += kcMax)
                            GemmPack.Block(pb + (nint)pc * ncPad, g.BAt(k0 + pc, jc), nc, Math.Min(kcMax, kLen - pc), g.BStrideJ, g.BStrideP, nr);
                        packedJb = jb; packedBk = k0;
                    }
                    if (!prepacked && (ib != packedIb || k0 != packedAk))
                    {
                        for (int pc = 0; pc < kLen; pc += kcMax)
                            GemmPack.Block(pa + (nint)pc * mcPad, g.AAt(ic, k0 + pc), mc, Math.Min(kcMax, kLen - pc), g.AStrideI, g.AStrideP, mr);
                        packedIb = ib; packedAk = k0;
                    }
                    for (int pc = 0; pc < kLen; pc += kcMax)
                    {
                        bool last = k0 + pc + kcMax >= g.K;
                        float beta = k0 + pc == 0 ? g.Beta : 1f;
                        int kc = Math.Min(kcMax, kLen - pc);
                        float* paSlab = prepacked ? g.PackedA + (nint)(k0 + pc) * mPadAll + (nint)ic * kc : pa + (nint)pc * mcPad;
                        if (w.DirectB) MacroDirect(g, paSlab, k0 + pc, pb, ic, jc, mc, nc, kc, beta, edge, last);
                        else Macro(g, paSlab, pb + (nint)pc * ncPad, ic, jc, mc, nc, kc, beta, edge, last);
                    }
                }
            }
        }
    }

    /// <summary>
    /// <see cref="Macro"/> with B read in place: the full NR-column panels of op(B)[p0:p0+kc, jc:jc+nc] straight from B
    /// (row stride ldb), a last partial panel packed into <paramref name="panel"/> (kc, NR) first.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void MacroDirect(in GemmArgs g, float* pa, int p0, float* panel, int ic, int jc, int mc, int nc, int kc, float beta, float* edge, bool last)
    {
        int nr = Nr, full = nc / nr * nr;
        if (full > 0) Macro(g, pa, g.BAt(p0, jc), ic, jc, mc, full, kc, beta, edge, last, g.Ldb);
        if (full == nc) return;
        GemmPack.Block(panel, g.BAt(p0, jc + full), nc - full, kc, g.BStrideJ, g.BStrideP, nr);
        Macro(g, pa, panel, ic, jc + full, mc, nc - full, kc, beta, edge, last);
    }

    /// <summary>All (MR, NR) tiles of one (mc, nc) block of C from packed A (mc, kc) and packed B (kc, nc).</summary>
    /// <remarks>
    /// <paramref name="last"/>: this is the tiles' last K block, so the epilogue (if any) applies to each tile once it is stored.
    /// <paramref name="bStride"/>: 0 for packed B; else B is read in place with this row stride (MacroDirect), panel jr at pb + jr.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Macro(in GemmArgs g, float* pa, float* pb, int ic, int jc, int mc, int nc, int kc, float beta, float* edge, bool last = false, nint bStride = 0)
    {
        int mr = Mr, nr = Nr;
        nint ldc = g.Ldc;
        bool epilogue = last && !g.Epilogue.IsNone;
        for (int jr = 0; jr < nc; jr += nr)
        {
            int nEff = Math.Min(nr, nc - jr);
            float* pbj = bStride == 0 ? pb + (nint)jr * kc : pb + jr;
            for (int ir = 0; ir < mc; ir += mr)
            {
                int mEff = Math.Min(mr, mc - ir);
                float* pai = pa + (nint)ir * kc;
                float* c = g.C + (nint)(ic + ir) * ldc + jc + jr;
                if (mEff == mr && nEff == nr)
                {
                    GemmMicroKernel.Tile<TOps, TV, TRows>(kc, pai, pbj, c, ldc, g.Alpha, beta, bStride);
                }
                else
                {
                    // Edge tile: full tile into scratch (packing zero-padded the missing rows/columns),
                    // then only the valid part is merged, so nothing outside C is read or written.
                    GemmMicroKernel.Tile<TOps, TV, TRows>(kc, pai, pbj, edge, nr, 1f, 0f, bStride);
                    for (int i = 0; i < mEff; i++)
                    {
                        float* ci = c + (nint)i * ldc;
                        float* ei = edge + i * nr;
                        if (beta == 0) for (int j = 0; j < nEff; j++) ci[j] = g.Alpha * ei[j];
                        else for (int j = 0; j < nEff; j++) ci[j] = g.Alpha * ei[j] + beta * ci[j];
                    }
                }
                if (epilogue) g.Epilogue.Apply<TOps, TV>(c, ldc, ic + ir, jc + jr, mEff, nEff);
            }
        }
    }

    static int RoundUp(int x, int q) => (x + q - 1) / q * q;
}
