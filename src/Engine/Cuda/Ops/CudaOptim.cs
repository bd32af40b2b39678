// CUDA paths of the optimizers and gradient clipping (src/Engine/Optim): one fused kernel per
// parameter per step (native/cuda/optim.cu) with the constants the CPU computes (Adam: one launch per
// chunk of up to 32 parameters), and the global gradient norm and its clipping on the device (multi-tensor
// launches, partials reduced in a fixed order, no host wait).
using System.Runtime.InteropServices;

namespace Cochlea.Cuda;

/// <summary>One parameter of a multi-tensor Adam step: the tensors (one device, contiguous, same length) and its own step constants.</summary>
internal readonly record struct AdamTensor(Tensor P, Tensor G, Tensor M, Tensor V, Tensor? VMax, float StepSize, float Bc2Sqrt);

/// <summary>
/// The by-value parameter of <c>adam_multi_f32</c>: per tensor its pointers, length, step constants and the end of its block range.
/// Layout matches <c>struct AdamChunk</c> in native/cuda/optim.cu (sequential, 1920 bytes).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CudaAdamChunk
{
    public const int Max = 32;
    public fixed ulong P[Max], G[Max], M[Max], V[Max], VMax[Max];
    public fixed ulong N[Max];
    public fixed float StepSize[Max], Bc2Sqrt[Max];
    public fixed uint BlockEnd[Max];
}

/// <summary>
/// The by-value parameter of the multi-tensor gradient kernels (<c>sumsq_multi_f32</c>, <c>clip_scale_multi_f32</c>): per
/// gradient its pointer, length and the end of its block range. Layout matches <c>struct GradChunk</c> in native/cuda/optim.cu (640 bytes).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CudaGradChunk
{
    public const int Max = 32;
    public fixed ulong G[Max];
    public fixed ulong N[Max];
    public fixed uint BlockEnd[Max];
}

/// <summary>Fused optimizer updates and gradient-norm helpers on CUDA tensors.</summary>
internal static unsafe class CudaOptim
{
    static ulong N(Tensor p) => (ulong)p.Numel;

    /// <summary>SGD step in place on p (and the momentum buffer b when <paramref name="hasMomentum"/>).</summary>
    public static void Sgd(Tensor p, Tensor g, Tensor? b, float negLr, float wd, float mu, float keep, bool hasMomentum, bool nesterov, bool fresh)
    {
        if (p.Numel == 0) return;
        ulong pp = p.DevicePtr, pg = g.DevicePtr, pb = CudaLaunch.PtrOrNull(b), n = N(p);
        int hm = hasMomentum ? 1 : 0, ne = nesterov ? 1 : 0, fr = fresh ? 1 : 0;
        void** args = stackalloc void*[] { &pp, &pg, &pb, &n, &negLr, &wd, &mu, &keep, &hm, &ne, &fr };
        CudaLaunch.Dev(p).Launch("sgd_f32", CudaLaunch.Grid(p.Numel), new Dim3(CudaLaunch.Threads), 0, args);
    }

    /// <summary>Adam / AdamW step in place on p, m, v (and vmax with amsgrad).</summary>
    public static void Adam(Tensor p, Tensor g, Tensor m, Tensor v, Tensor? vmax, float stepSize, float bc2Sqrt, float b1, float b2,
        float ob1, float ob2, float eps, float l2, float shrink, bool amsgrad)
    {
        if (p.Numel == 0) return;
        ulong pp = p.DevicePtr, pg = g.DevicePtr, pm = m.DevicePtr, pv = v.DevicePtr, px = CudaLaunch.PtrOrNull(vmax), n = N(p);
        int ams = amsgrad ? 1 : 0;
        void** args = stackalloc void*[] { &pp, &pg, &pm, &pv, &px, &n, &stepSize, &bc2Sqrt, &b1, &b2, &ob1, &ob2, &eps, &l2, &shrink, &ams };
        CudaLaunch.Dev(p).Launch("adam_f32", CudaLaunch.Grid(p.Numel), new Dim3(CudaLaunch.Threads), 0, args);
    }

    /// <summary>
    /// Adam / AdamW step in place on every tensor of <paramref name="ts"/> (empty ones skipped): per device, one
    /// <c>adam_multi_f32</c> launch per <see cref="CudaAdamChunk.Max"/> tensors, each tensor given the blocks
    /// <see cref="CudaLaunch.Grid"/> gives it alone, so every element gets adam_f32's arithmetic. The shared constants as in <see cref="Optim.Adam"/>.
    /// </summary>
    public static void AdamMulti(IReadOnlyList<AdamTensor> ts, float b1, float b2, float ob1, float ob2, float eps, float l2, float shrink, bool amsgrad)
    {
        // Allocation-free (a step's garbage would bring garbage collections into the training loop): one pass per device.
        int ams = amsgrad ? 1 : 0;
        for (int d = NextDevice(ts, -1); d >= 0; d = NextDevice(ts, d))
        {
            var dev = CudaBackend.Get(d);
            var c = new CudaAdamChunk();
            int k = 0;
            uint blocks = 0;
            for (int i = 0; i < ts.Count; i++)
            {
                var t = ts[i];
                if (t.P.Numel == 0 || t.P.Device.Index != d) continue;
                c.P[k] = t.P.DevicePtr; c.G[k] = t.G.DevicePtr; c.M[k] = t.M.DevicePtr; c.V[k] = t.V.DevicePtr; c.VMax[k] = CudaLaunch.PtrOrNull(t.VMax);
                c.N[k] = N(t.P);
                c.StepSize[k] = t.StepSize; c.Bc2Sqrt[k] = t.Bc2Sqrt;
                blocks += CudaLaunch.Grid(t.P.Numel).X;
                c.BlockEnd[k] = blocks;
                if (++k < CudaAdamChunk.Max) continue;
                LaunchAdamChunk(dev, ref c, blocks, b1, b2, ob1, ob2, eps, l2, shrink, ams);
                c = default; k = 0; blocks = 0;
            }
            if (k > 0) LaunchAdamChunk(dev, ref c, blocks, b1, b2, ob1, ob2, eps, l2, shrink, ams);
        }
    }

    // The smallest CUDA device index above `after` holding a non-empty tensor of ts; -1 when none.
    static int NextDevice(IReadOnlyList<AdamTensor> ts, int after)
    {
        int next = -1;
        for (int i = 0; i < ts.Count; i++)
        {
            int d = ts[i].P.Device.Index;
            if (ts[i].P.Numel > 0 && d > after && (next < 0 || d < next)) next = d;
        }
        return next;
    }

    // One adam_multi_f32 launch over a filled chunk whose last tensor ends at block `blocks`.
    static void LaunchAdamChunk(CudaDevice dev, ref CudaAdamChunk chunk, uint blocks, float b1, float b2, float ob1, float ob2, float eps, float l2, float shrink, int ams)
    {
        fixed (CudaAdamChunk* c = &chunk)
        {
            void** args = stackalloc void*[] { c, &b1, &b2, &ob1, &ob2, &eps, &l2, &shrink, &ams };
            dev.Launch("adam_multi_f32", new Dim3(blocks), new Dim3(CudaLaunch.Threads), 0, args);
        }
    }

    /// <summary>RMSprop step in place on p, s, and the momentum buffer b / gradient average a when present.</summary>
    public static void RmsProp(Tensor p, Tensor g, Tensor s, Tensor? b, Tensor? a, float lr, float negLr, float alpha, float oneMinusAlpha,
        float eps, float wd, float mu, bool hasMomentum, bool centered, bool tfStyle)
    {
        if (p.Numel == 0) return;
        ulong pp = p.DevicePtr, pg = g.DevicePtr, ps = s.DevicePtr, pb = CudaLaunch.PtrOrNull(b), pa = CudaLaunch.PtrOrNull(a), n = N(p);
        int hm = hasMomentum ? 1 : 0, ce = centered ? 1 : 0, tf = tfStyle ? 1 : 0;
        void** args = stackalloc void*[] { &pp, &pg, &ps, &pb, &pa, &n, &lr, &negLr, &alpha, &oneMinusAlpha, &eps, &wd, &mu, &hm, &ce, &tf };
        CudaLaunch.Dev(p).Launch("rmsprop_f32", CudaLaunch.Grid(p.Numel), new Dim3(CudaLaunch.Threads), 0, args);
    }

    // Blocks of the sum-of-squares kernel: a function of n only, so the summation order is fixed for a size.
    internal static int SumSquaresBlocks(long n) => (int)Math.Clamp((n + 2047) / 2048, 1, 256);

    // Per-block partial sums of g^2 (double) to partials[0 .. SumSquaresBlocks(n)).
    static void LaunchSumSquares(CudaDevice dev, Tensor g, ulong partials)
    {
        ulong pg = g.DevicePtr, n = N(g);
        void** args = stackalloc void*[] { &pg, &n, &partials };
        dev.Launch("sumsq_partial_f32", new Dim3((uint)SumSquaresBlocks(g.Numel)), new Dim3(CudaLaunch.Threads), 0, args);
    }

    /// <summary>
    /// sum(g^2) in double of each contiguous CUDA tensor in <paramref name="grads"/>: per-block partials of every
    /// tensor into one device buffer per GPU, one copy back (one wait) per GPU, partials added in order on the host.
    /// The host-summed reference of <see cref="GlobalNorm"/> (tests compare the two bit for bit); training uses GlobalNorm.
    /// </summary>
    public static double[] SumSquares(IReadOnlyList<Tensor> grads)
    {
        var sums = new double[grads.Count];
        foreach (var group in Enumerable.Range(0, grads.Count).Where(i => grads[i].Numel > 0).GroupBy(i => grads[i].Device.Index))
        {
            var dev = CudaBackend.Get(group.Key);
            var members = group.ToArray();
            var first = new int[members.Length];
            int total = 0;
            for (int k = 0; k < members.Length; k++) { first[k] = total; total += SumSquaresBlocks(grads[members[k]].Numel); }
            ulong partials = dev.Allocate(total * sizeof(double));
            try
            {
                for (int k = 0; k < members.Length; k++) LaunchSumSquares(dev, grads[members[k]], partials + (ulong)first[k] * sizeof(double));
                var host = new double[total];
                fixed (double* ph = host) dev.CopyToHost(ph, partials, total * sizeof(double));
                for (int k = 0; k < members.Length; k++)
                {
                    int end = k + 1 < members.Length ? first[k + 1] : total;
                    double sum = 0;
                    for (int j = first[k]; j < end; j++) sum += host[j];
                    sums[members[k]] = sum;
                }
            }
            finally { dev.Free(partials, total * sizeof(double)); }
        }
        return sums;
    }

    /// <summary>
    /// norm[0] = (float)sqrt(sum over <paramref name="grads"/> in order of sum(g^2)), empty gradients skipped, all on
    /// <paramref name="dev"/> with no host wait: one <c>sumsq_multi_f32</c> launch per <see cref="CudaGradChunk.Max"/>
    /// gradients (each gradient the blocks <see cref="SumSquaresBlocks"/> gives it, so the same partials as
    /// <see cref="SumSquares"/>), then one single-block <c>sumsq_norm_f32</c> that adds them in the host loop's order:
    /// the norm is bit-identical to summing <see cref="SumSquares"/> in double and rounding sqrt to float.
    /// </summary>
    /// <param name="dev">The device of every gradient and of <paramref name="norm"/>.</param>
    /// <param name="grads">Contiguous float32 gradients on <paramref name="dev"/>.</param>
    /// <param name="norm">A float32 tensor of at least one element on <paramref name="dev"/>.</param>
    public static void GlobalNorm(CudaDevice dev, IReadOnlyList<Tensor> grads, Tensor norm)
    {
        int count = 0;
        long partialCount = 0;
        foreach (var g in grads)
            if (g.Numel > 0) { count++; partialCount += SumSquaresBlocks(g.Numel); }
        // One scratch block from the caching allocator (no cuMemAlloc once the size has been seen): the partials
        // (double), then each gradient's end in them (uint), written by the partial kernels, read by the final one.
        long bytes = partialCount * sizeof(double) + count * sizeof(uint);
        ulong scratch = count > 0 ? dev.Allocate(bytes) : 0, ends = count > 0 ? scratch + (ulong)(partialCount * sizeof(double)) : 0;
        try
        {
            var c = new CudaGradChunk();
            int start = 0, done = 0;
            uint based = 0;
            do
            {
                int next = FillChunk(grads, start, sumSquares: true, ref c, out int k, out uint blocks);
                if (k > 0)
                {
                    LaunchSumSquaresChunk(dev, ref c, blocks, k, scratch + based * sizeof(double), ends + (ulong)done * sizeof(uint), based);
                    based += blocks; done += k;
                }
                start = next;
            } while (start > 0);
            ulong pn = norm.DevicePtr;
            uint n = (uint)count;
            void** fin = stackalloc void*[] { &scratch, &ends, &n, &pn };
            dev.Launch("sumsq_norm_f32", new Dim3(1), new Dim3(CudaLaunch.Threads), 0, fin);
        }
        finally { if (count > 0) dev.Free(scratch, bytes); }
    }

    /// <summary>
    /// Every gradient of <paramref name="grads"/> times maxNorm / (norm + 1e-6), decided on the device from
    /// <paramref name="norm"/>[0] (no host wait): only when that norm is finite and above <paramref name="maxNorm"/>, as
    /// GradClip's CPU rule; one <c>clip_scale_multi_f32</c> launch per <see cref="CudaGradChunk.Max"/> non-empty gradients.
    /// </summary>
    public static void ScaleByNorm(CudaDevice dev, IReadOnlyList<Tensor> grads, Tensor norm, float maxNorm)
    {
        ulong pn = norm.DevicePtr;
        var c = new CudaGradChunk();
        int start = 0;
        do
        {
            int next = FillChunk(grads, start, sumSquares: false, ref c, out int k, out uint blocks);
            if (k > 0) LaunchScaleChunk(dev, ref c, blocks, pn, maxNorm);
            start = next;
        } while (start > 0);
    }

    // sumsq_multi_f32 over a filled chunk of `count` gradients and `blocks` blocks.
    static void LaunchSumSquaresChunk(CudaDevice dev, ref CudaGradChunk chunk, uint blocks, int count, ulong partials, ulong ends, uint based)
    {
        fixed (CudaGradChunk* c = &chunk)
        {
            void** args = stackalloc void*[] { c, &count, &partials, &ends, &based };
            dev.Launch("sumsq_multi_f32", new Dim3(blocks), new Dim3(CudaLaunch.Threads), 0, args);
        }
    }

    // clip_scale_multi_f32 over a filled chunk of `blocks` blocks.
    static void LaunchScaleChunk(CudaDevice dev, ref CudaGradChunk chunk, uint blocks, ulong norm, float maxNorm)
    {
        fixed (CudaGradChunk* c = &chunk)
        {
            void** args = stackalloc void*[] { c, &norm, &maxNorm };
            dev.Launch("clip_scale_multi_f32", new Dim3(blocks), new Dim3(CudaLaunch.Threads), 0, args);
        }
    }

    // Fills c with up to CudaGradChunk.Max non-empty gradients from grads[start..] (k of them, `blocks` blocks in all:
    // SumSquaresBlocks or CudaLaunch.Grid each; the rest of c zero) and returns
    // where the next chunk starts, 0 when none is left.
    static int FillChunk(IReadOnlyList<Tensor> grads, int start, bool sumSquares, ref CudaGradChunk c, out int k, out uint blocks)
    {
        c = default;
        k = 0; blocks = 0;
        for (int i = start; i < grads.Count; i++)
        {
            var g = grads[i];
            if (g.Numel == 0) continue;
            if (k == CudaGradChunk.Max) return i;
            c.G[k] = g.DevicePtr; c.N[k] = N(g);
            blocks += sumSquares ? (uint)SumSquaresBlocks(g.Numel) : CudaLaunch.Grid(g.Numel).X;
            c.BlockEnd[k++] = blocks;
        }
        return 0;
    }
}
