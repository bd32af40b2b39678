// Checks the grid-stride kernels of native/cuda on the host (tools/cuda-emu/run.sh builds them) against the engine's CPU ops.
using System.Runtime.InteropServices;
using Cochlea;
using Cochlea.Cuda;
using Cochlea.Kernels.Elementwise;

unsafe
{
    int fails = 0;
    void Same(string what, float[] got, float[] want, double atol = 0, double rtol = 0)
    {
        if (got.Length != want.Length) { Console.WriteLine($"FAIL {what}: length {got.Length} vs {want.Length}"); fails++; return; }
        for (int i = 0; i < got.Length; i++)
        {
            bool ok = got[i] == want[i] || (float.IsNaN(got[i]) && float.IsNaN(want[i])) || Math.Abs(got[i] - want[i]) <= atol + rtol * Math.Abs(want[i]);
            if (!ok) { Console.WriteLine($"FAIL {what}: [{i}] {got[i]:R} vs {want[i]:R}"); fails++; return; }
        }
        Console.WriteLine($"ok   {what} ({got.Length})");
    }
    var rng = new Random(1);

    // ---- dropout (mask drawn in the kernel) vs the CPU: the whole-tensor kernel from offset + start * inner when
    // nothing precedes the slice axis (as CudaDropout.Apply), the per-element slice kernel otherwise
    foreach (var (seed, off, shape, slice) in new (ulong, ulong, int[], BatchSlice?)[]
        { (5, 0, [4, 6], null), (9, 3, [257], null), (11, 1, [3, 4, 5], new BatchSlice(1, 2, 7)), (0x1234567890ul, 77, [2, 3, 9], new BatchSlice(0, 1, 4)), (3, 5, [70001], null) })
    {
        float p = 0.3f, scale = 1f / (1f - p);
        var cpuRng = new Philox(seed, off);
        using var x = Tensor.Ones(shape);
        using var y = Ops.Dropout(x, p, true, cpuRng, slice);
        var (o, n, total, start, inner) = Ops.DropoutLayout(x, slice);
        var got = new float[x.Numel];
        fixed (float* py = got)
            if (o == 1) K.dropout_f32(x.DataPtr, py, seed, off + (ulong)(start * inner), (ulong)x.Numel, p, scale);
            else K.dropout_slice_f32(x.DataPtr, py, seed, off, (ulong)o, (ulong)n, (ulong)total, (ulong)start, (ulong)inner, p, scale);
        Same($"dropout seed {seed} offset {off} ({string.Join(",", shape)}) slice {slice}", got, y.ToArray());
        Same("  stream end", [(float)(off + (ulong)(o * total * inner))], [(float)cpuRng.Offset]);
    }

    // ---- binary / ternary with broadcast vs the CPU
    foreach (var (sa, sb, transpose) in new (int[], int[], bool)[] { ([2, 1, 3, 1, 5], [4, 1, 6, 1], false), ([3, 4], [3, 4], false), ([5], [], false), ([], [7], false), ([9, 5], [5, 1], true), ([2, 3, 5], [3, 1], false) })
    {
        using var a0 = Tensor.Randn(rng, 1f, sa);
        using var b = Tensor.Rand(rng, 0.5f, 2f, sb);
        using var a = transpose ? a0.Transpose(0, 1) : a0.Alias();
        using var want = Ops.Sub(a, b);
        using var wantG = Ops.BinaryRaw(new ClampGradOp(-0.5f, 0.5f), a, b, "x");
        var shape = Ops.BroadcastShape(a.Shape, b.Shape);
        var plan = CudaBroadcastPlan.Create("sub", shape, Ops.BroadcastStrides(a, shape), Ops.BroadcastStrides(b, shape), null);
        var got = new float[want.Numel];
        var got2 = new float[want.Numel];
        fixed (float* py = got, py2 = got2)
        {
            K.sub_strided_f32(a.DataPtr, b.DataPtr, py, (ulong)got.Length, plan, 0, 0);
            K.clamp_grad_strided_f32(a.DataPtr, b.DataPtr, py2, (ulong)got.Length, plan, -0.5f, 0.5f);
        }
        Same($"sub_strided ({string.Join(",", sa)}){(transpose ? "^T" : "")} - ({string.Join(",", sb)}) rank {plan.Rank}", got, want.ToArray());
        Same($"clamp_grad_strided same shapes", got2, wantG.ToArray());
        // ternary: select(a, b, c = a > 0) and div_rhs_grad(a, a, b)
        int last = shape.Length == 0 ? 1 : shape[^1];
        using var c = Tensor.FromArray(Enumerable.Range(0, last).Select(_ => (float)rng.Next(2)).ToArray(), last);
        using var wantSel = Ops.TernaryRaw(new SelectOp(), a, b, c, "where");
        var shape3 = Ops.BroadcastShape(shape, c.Shape);
        var plan3 = CudaBroadcastPlan.Create("where", shape3, Ops.BroadcastStrides(a, shape3), Ops.BroadcastStrides(b, shape3), Ops.BroadcastStrides(c, shape3));
        var got3 = new float[wantSel.Numel];
        fixed (float* py = got3) K.select_strided_f32(a.DataPtr, b.DataPtr, c.DataPtr, py, (ulong)got3.Length, plan3, 0, 0);
        Same("select_strided", got3, wantSel.ToArray());
        using var wantD = Ops.TernaryRaw(new DivRhsGradOp(), a, a, b, "div");
        var plan4 = CudaBroadcastPlan.Create("div", shape, Ops.BroadcastStrides(a, shape), Ops.BroadcastStrides(a, shape), Ops.BroadcastStrides(b, shape));
        var got4 = new float[wantD.Numel];
        fixed (float* py = got4) K.div_rhs_grad_strided_f32(a.DataPtr, a.DataPtr, b.DataPtr, py, (ulong)got4.Length, plan4, 0, 0);
        Same("div_rhs_grad_strided", got4, wantD.ToArray(), 0, 1e-6);
    }
    {
        using var a = Tensor.Randn(rng, 1f, 33);
        using var s = Tensor.FromArray([0.75f]);
        var got = new float[33]; var got2 = new float[33];
        fixed (float* py = got, py2 = got2) { K.sub_rscalar_f32(a.DataPtr, s.DataPtr, py, 33, 0, 0); K.sub_lscalar_f32(s.DataPtr, a.DataPtr, py2, 33, 0, 0); }
        Same("sub_rscalar", got, Ops.Sub(a, s).ToArray());
        Same("sub_lscalar", got2, Ops.Sub(s, a).ToArray());
        var u = new float[33];
        fixed (float* py = u) K.clamp_f32(a.DataPtr, py, 33, -0.5f, 0.25f);
        Same("clamp_f32", u, Ops.Clamp(a, -0.5f, 0.25f).ToArray());
        fixed (float* py = u) K.pow_f32(a.DataPtr, py, 33, 3f, 0);
        Same("pow_f32 p=3", u, Ops.Pow(a, 3f).ToArray(), 0, 1e-6);
        fixed (float* py = u) K.log1p_f32(a.DataPtr, py, 33, 0, 0);
        Same("log1p_f32", u, Ops.Log1p(a).ToArray(), 1e-6, 1e-6);
        fixed (float* py = u) K.silu_f32(a.DataPtr, py, 33, 0, 0);
        Same("silu_f32", u, Ops.Silu(a).ToArray(), 1e-6, 1e-5);
    }

    // ---- gather forward and backward
    foreach (var (xs, dim, idx, transpose) in new (int[], int, Tensor, bool)[]
        { ([2, 4], 1, Tensor.FromArray(new long[] { 0, 2, 2, 1, 0, 0 }, 2, 3), false), ([3, 5], 0, Tensor.FromArray(new[] { 4, 0, 4, 1, 1, 2 }, 2, 3), true), ([3, 4, 5], 2, Tensor.FromArray(new long[] { 4, 4, 0, 1, 3, 3, 2, 2, 1, 0, 0, 4, 4, 4, 4, 1, 2, 3 }, 3, 2, 3), false) })
    {
        using var x0 = Tensor.Randn(rng, 1f, xs);
        x0.RequiresGrad = true;
        using var x = transpose ? x0.Transpose(0, 1) : x0.Alias();
        var xr = transpose ? x0.Transpose(0, 1) : x0;
        var y = Ops.Gather(xr, dim, idx);
        using var g = Tensor.Randn(rng, 1f, y.Shape.ToArray());
        y.Backward(g);
        var plan = new CudaGatherPlan { Rank = idx.Rank, Dim = dim, XDim = x.Shape[dim] };
        for (int i = 0; i < idx.Rank; i++) { plan.Shape[i] = idx.Shape[i]; plan.Xs[i] = x.Strides[i]; }
        var got = new float[y.Numel]; ulong err = 0;
        fixed (float* py = got) K.gather_f32(x.DataPtr, idx.RawPtr, idx.DType == DType.Int32 ? 1 : 0, py, (ulong)got.Length, plan, &err);
        Same($"gather dim {dim} ({string.Join(",", xs)}){(transpose ? "^T" : "")} err {err}", got, y.ToArray());
        var dxShape = x.Shape.ToArray();
        using var dx = Tensor.Zeros(dxShape);
        var bplan = new CudaGatherPlan { Rank = idx.Rank, Dim = dim, XDim = x.Shape[dim] };
        for (int i = 0; i < idx.Rank; i++) { bplan.Shape[i] = idx.Shape[i]; bplan.Xs[i] = dx.Strides[i]; }
        K.gather_backward_f32(g.DataPtr, idx.RawPtr, idx.DType == DType.Int32 ? 1 : 0, dx.DataPtr, (ulong)(idx.Numel / idx.Shape[dim]), bplan);
        using var wantDx = transpose ? x0.Grad!.Transpose(0, 1).Contiguous() : x0.Grad!.Alias();
        Same("  gather backward", dx.ToArray(), wantDx.ToArray());
        using var bad = Tensor.FromArray(new long[] { 0, 99 }, 1, 2);
        var p2 = plan; p2.Shape[0] = 1; p2.Shape[1] = 2; p2.Rank = 2; p2.Dim = 1; err = 0;
        if (xs.Length == 2)
        {
            var o = new float[2]; fixed (float* po = o) K.gather_f32(x.DataPtr, bad.RawPtr, 0, po, 2, p2, &err);
            Same("  gather bad index: check slot ~(position 1 << 32 | 99), NaN there", [~err == ((1UL << 32) | 99UL) && float.IsNaN(o[1]) ? 1f : 0f], [1f]);
        }
    }

    // ---- pad and concat
    foreach (var pads in new[] { new[] { 1, 2 }, new[] { 0, 1, 2, 0 }, new[] { -1, 1 }, new[] { 2, -3, 1, 1, 0, 2 } })
    {
        using var x0 = Tensor.Randn(rng, 1f, 4, 3, 5);
        using var x = x0.Transpose(0, 1);
        using var want = Ops.Pad(x, pads, 3f);
        var before = new int[x.Rank];
        for (int i = 0; i < pads.Length / 2; i++) before[x.Rank - 1 - i] = pads[2 * i];
        var plan = new CudaPadPlan { Rank = x.Rank };
        for (int i = 0; i < x.Rank; i++) { plan.Shape[i] = want.Shape[i]; plan.Before[i] = before[i]; plan.XShape[i] = x.Shape[i]; plan.Xs[i] = x.Strides[i]; }
        var got = new float[want.Numel];
        fixed (float* py = got) K.pad_f32(x.DataPtr, py, (ulong)got.Length, plan, 3f);
        Same($"pad [{string.Join(",", pads)}] strided", got, want.ToArray());
    }
    {
        using var a = Tensor.Randn(rng, 1f, 2, 3, 4); using var b = Tensor.Randn(rng, 1f, 2, 5, 4);
        using var want = Ops.Concat([a, b], 1);
        var got = new float[want.Numel];
        fixed (float* py = got) { K.concat_copy_f32(a.DataPtr, py, 2, 12, 32, 0); K.concat_copy_f32(b.DataPtr, py, 2, 20, 32, 12); }
        Same("concat dim 1", got, want.ToArray());
    }

    // ---- reductions
    foreach (var (shape, d) in new (int[], int)[] { ([3000, 5], 0), ([4, 70, 3], 1), ([1000, 7], 1), ([3, 4, 5], 0) })
    {
        using var x = Tensor.FromArray(Enumerable.Range(0, shape.Aggregate(1, (p, q) => p * q)).Select(_ => (float)rng.Next(4)).ToArray(), shape);
        using var want = Ops.Sum(x, [d], keepDim: true);
        var (outer, r, inner) = Ops.Split3(x.Shape, d);
        var got = new float[outer * inner];
        fixed (float* py = got) K.sum_cols_f32(x.DataPtr, py, (ulong)outer, (ulong)r, (ulong)inner);
        Same($"sum_cols ({string.Join(",", shape)}) dim {d}", got, want.ToArray());
        long chunk = 16, chunks = (r + chunk - 1) / chunk;
        var part = new float[outer * chunks * inner];
        fixed (float* pp = part, py = got)
        {
            K.sum_cols_chunked_f32(x.DataPtr, pp, (ulong)outer, (ulong)r, (ulong)inner, (ulong)chunk, (ulong)chunks);
            K.sum_cols_f32(pp, py, (ulong)outer, (ulong)chunks, (ulong)inner);
        }
        Same($"  chunked (16)", got, want.ToArray());
        using var xv = Tensor.Randn(rng, 1f, shape);
        var (vals, idx) = Ops.MaxWithIndex(xv, d, keepDim: true);
        var gv = new float[outer * inner]; var gi = new long[outer * inner];
        fixed (float* pv = gv) fixed (long* pi = gi) K.max_axis_f32(xv.DataPtr, pv, pi, (ulong)outer, (ulong)r, (ulong)inner);
        Same("  max values", gv, vals.ToArray());
        Same("  max indices", gi.Select(v => (float)v).ToArray(), idx.ToInt64Array().Select(v => (float)v).ToArray());
    }

    // ---- softmax over a middle dim (thread per column)
    foreach (var log in new[] { false, true })
    {
        using var x = Tensor.Randn(rng, 1f, 2, 33, 7);
        x.RequiresGrad = true;
        var y = log ? Ops.LogSoftmax(x, 1) : Ops.Softmax(x, 1);
        using var g = Tensor.Randn(rng, 1f, 2, 33, 7);
        y.Backward(g);
        var got = new float[y.Numel]; var dx = new float[y.Numel];
        fixed (float* py = got, pd = dx)
        {
            if (log) { K.log_softmax_cols_f32(x.DataPtr, py, 2, 33, 7); K.log_softmax_backward_cols_f32(py, g.DataPtr, pd, 2, 33, 7); }
            else { K.softmax_cols_f32(x.DataPtr, py, 2, 33, 7); K.softmax_backward_cols_f32(py, g.DataPtr, pd, 2, 33, 7); }
        }
        Same($"{(log ? "log_" : "")}softmax_cols", got, y.ToArray(), 1e-6, 1e-5);
        Same($"  backward", dx, x.Grad!.ToArray(), 1e-6, 1e-5);
    }

    // ---- elementwise losses: per-element loss and unit gradient
    {
        using var x = Tensor.Randn(rng, 4f, 3, 41); using var t = Tensor.Rand(rng, 0f, 1f, 3, 41);
        x.RequiresGrad = true;
        var l = Loss.BinaryCrossEntropyWithLogits(x, t, 0.2f, "none");
        l.Backward(Tensor.Ones(3, 41));
        var got = new float[l.Numel]; var unit = new float[l.Numel];
        fixed (float* pl = got, pu = unit) K.bce_with_logits_f32(x.DataPtr, t.DataPtr, (ulong)got.Length, 0.8, 0.1, pu, pl, null);
        Same("bce_with_logits loss", got, l.ToArray(), 1e-7, 1e-6);
        Same("  unit gradient", unit, x.Grad!.ToArray(), 1e-7, 1e-6);
        x.Grad = null;
        var m = Loss.Mse(x, t, "none");
        m.Backward(Tensor.Ones(3, 41));
        fixed (float* pl = got, pu = unit) K.mse_f32(x.DataPtr, t.DataPtr, (ulong)got.Length, pu, pl);
        Same("mse loss", got, m.ToArray());
        Same("  unit gradient", unit, x.Grad!.ToArray());
        // backward scaling: mean over 3 rows of 41 with g = 0.7; none with g per row
        using var g0 = Tensor.FromArray([0.7f]);
        var sc = new float[unit.Length];
        fixed (float* pu = unit, ps = sc) K.loss_scale_rows_f32(pu, g0.DataPtr, ps, 3, 41, -1.0, 3.0, 0);
        Same("loss_scale_rows mean", sc, unit.Select(u => u * (float)(0.7f * -1.0 / 3.0)).ToArray());
        using var gr = Tensor.FromArray([0.5f, -2f, 3f]);
        fixed (float* pu = unit, ps = sc) K.loss_scale_rows_f32(pu, gr.DataPtr, ps, 3, 41, 1.0, 1.0, 1);
        Same("loss_scale_rows none", sc, unit.Select((u, i) => u * new[] { 0.5f, -2f, 3f }[i / 41]).ToArray());
    }

    // ---- optimizers: two steps of the kernel vs the CPU optimizer, bit for bit (constants as the dispatch computes them)
    foreach (var kind in new[] { "sgd", "sgd-mom", "sgd-nesterov", "adam", "adam-ams", "adamw", "rms", "rms-mom-centered", "rms-tf", "rms-tf-centered" })
    {
        int n = 37;
        using var p = Tensor.Randn(rng, 1f, n);
        var pk = p.ToArray();
        p.RequiresGrad = true;
        Cochlea.Optim.Optimizer opt = kind switch
        {
            "sgd" => new Cochlea.Optim.Sgd([p], 0.1f),
            "sgd-mom" => new Cochlea.Optim.Sgd([p], 0.1f, momentum: 0.9f, dampening: 0.1f, weightDecay: 1e-2f),
            "sgd-nesterov" => new Cochlea.Optim.Sgd([p], 0.05f, momentum: 0.9f, nesterov: true),
            "adam" => new Cochlea.Optim.Adam([p], 1e-2f, weightDecay: 1e-3f),
            "adam-ams" => new Cochlea.Optim.Adam([p], 3e-3f, amsgrad: true),
            "adamw" => new Cochlea.Optim.AdamW([p], 1e-2f),
            "rms" => new Cochlea.Optim.RmsProp([p], 1e-2f),
            "rms-mom-centered" => new Cochlea.Optim.RmsProp([p], 1e-2f, momentum: 0.9f, centered: true, weightDecay: 1e-3f),
            "rms-tf" => new Cochlea.Optim.RmsProp([p], 1e-3f, alpha: 0.9f, eps: 1e-10f, momentum: 0.9f, tfStyle: true),
            _ => new Cochlea.Optim.RmsProp([p], 1e-3f, alpha: 0.9f, eps: 1e-10f, centered: true, tfStyle: true),
        };
        var s0 = new float[n]; var s1 = new float[n]; var s2 = new float[n];
        if (kind == "rms-tf" || kind == "rms-tf-centered") Array.Fill(s0, 1f);
        for (int step = 1; step <= 2; step++)
        {
            var grad = Tensor.Randn(rng, 1f, n);
            var gk = grad.ToArray();
            p.Grad = grad;
            opt.Step();
            fixed (float* pp = pk, pg = gk, a0 = s0, a1 = s1, a2 = s2)
            {
                double lr = opt.LearningRate;
                switch (opt)
                {
                    case Cochlea.Optim.Sgd o:
                        K.sgd_f32(pp, pg, a0, (ulong)n, -o.LearningRate, o.WeightDecay, o.Momentum, (float)(1.0 - o.Dampening), o.Momentum != 0 ? 1 : 0, o.Nesterov ? 1 : 0, step == 1 ? 1 : 0);
                        break;
                    case Cochlea.Optim.Adam o:
                        bool dec = o is Cochlea.Optim.AdamW;
                        K.adam_f32(pp, pg, a0, a1, a2, (ulong)n, (float)(lr / (1 - Math.Pow(o.Beta1, step))), (float)Math.Sqrt(1 - Math.Pow(o.Beta2, step)), o.Beta1, o.Beta2,
                            (float)(1.0 - o.Beta1), (float)(1.0 - o.Beta2), o.Eps, dec ? 0f : o.WeightDecay, dec ? (float)(1 - lr * o.WeightDecay) : 1f, o.Amsgrad ? 1 : 0);
                        break;
                    case Cochlea.Optim.RmsProp o:
                        bool hasB = o.Momentum > 0 || o.TfStyle;
                        K.rmsprop_f32(pp, pg, a0, hasB ? a1 : null, o.Centered ? (hasB ? a2 : a1) : null, (ulong)n, o.LearningRate, -o.LearningRate, o.Alpha, (float)(1.0 - o.Alpha), o.Eps, o.WeightDecay, o.Momentum,
                            o.Momentum > 0 ? 1 : 0, o.Centered ? 1 : 0, o.TfStyle ? 1 : 0);
                        break;
                }
            }
            Same($"{kind} step {step}", pk, p.ToArray());
        }
        opt.Dispose();
    }

    // ---- sum of squares partials (blockDim 1: one partial)
    {
        using var g = Tensor.Randn(rng, 3f, 5000);
        double part = 0;
        K.sumsq_partial_f32(g.DataPtr, 5000, &part);
        double want = g.ToArray().Sum(v => (double)v * v);
        Same("sumsq", [(float)part], [(float)want]);
    }
    Console.WriteLine(fails == 0 ? "ALL OK" : $"{fails} FAILURES");
    return fails;
}

static unsafe class K
{
    const string U = "/tmp/cuda-emu/libunary.so", B = "/tmp/cuda-emu/libbinary.so", R = "/tmp/cuda-emu/libreduce.so", S = "/tmp/cuda-emu/libsoftmax.so", D = "/tmp/cuda-emu/libdropout.so",
        I = "/tmp/cuda-emu/libindexing.so", J = "/tmp/cuda-emu/libjoining.so", L = "/tmp/cuda-emu/libloss.so", O = "/tmp/cuda-emu/liboptim.so";
    [DllImport(D)] public static extern void dropout_f32(float* x, float* y, ulong seed, ulong offset, ulong count, float p, float scale);
    [DllImport(D)] public static extern void dropout_slice_f32(float* x, float* y, ulong seed, ulong offset, ulong outer, ulong n, ulong total, ulong start, ulong inner, float p, float scale);
    [DllImport(B)] public static extern void sub_strided_f32(float* a, float* b, float* y, ulong n, CudaBroadcastPlan plan, float p0, float p1);
    [DllImport(B)] public static extern void clamp_grad_strided_f32(float* a, float* b, float* y, ulong n, CudaBroadcastPlan plan, float p0, float p1);
    [DllImport(B)] public static extern void select_strided_f32(float* a, float* b, float* c, float* y, ulong n, CudaBroadcastPlan plan, float p0, float p1);
    [DllImport(B)] public static extern void div_rhs_grad_strided_f32(float* a, float* b, float* c, float* y, ulong n, CudaBroadcastPlan plan, float p0, float p1);
    [DllImport(B)] public static extern void sub_rscalar_f32(float* a, float* b, float* y, ulong n, float p0, float p1);
    [DllImport(B)] public static extern void sub_lscalar_f32(float* a, float* b, float* y, ulong n, float p0, float p1);
    [DllImport(U)] public static extern void clamp_f32(float* x, float* y, ulong n, float p0, float p1);
    [DllImport(U)] public static extern void pow_f32(float* x, float* y, ulong n, float p0, float p1);
    [DllImport(U)] public static extern void log1p_f32(float* x, float* y, ulong n, float p0, float p1);
    [DllImport(U)] public static extern void silu_f32(float* x, float* y, ulong n, float p0, float p1);
    [DllImport(I)] public static extern void gather_f32(float* x, void* index, int i32, float* y, ulong n, CudaGatherPlan plan, ulong* check);
    [DllImport(I)] public static extern void gather_backward_f32(float* g, void* index, int i32, float* dx, ulong columns, CudaGatherPlan plan);
    [DllImport(J)] public static extern void pad_f32(float* x, float* y, ulong n, CudaPadPlan plan, float value);
    [DllImport(J)] public static extern void concat_copy_f32(float* src, float* dst, ulong outer, ulong cols, ulong dstCols, ulong offset);
    [DllImport(R)] public static extern void sum_cols_f32(float* x, float* y, ulong outer, ulong r, ulong inner);
    [DllImport(R)] public static extern void sum_cols_chunked_f32(float* x, float* partial, ulong outer, ulong r, ulong inner, ulong chunk, ulong chunks);
    [DllImport(R)] public static extern void max_axis_f32(float* x, float* v, long* i, ulong outer, ulong r, ulong inner);
    [DllImport(S)] public static extern void softmax_cols_f32(float* x, float* y, ulong outer, ulong n, ulong inner);
    [DllImport(S)] public static extern void log_softmax_cols_f32(float* x, float* y, ulong outer, ulong n, ulong inner);
    [DllImport(S)] public static extern void softmax_backward_cols_f32(float* y, float* g, float* dx, ulong outer, ulong n, ulong inner);
    [DllImport(S)] public static extern void log_softmax_backward_cols_f32(float* y, float* g, float* dx, ulong outer, ulong n, ulong inner);
    [DllImport(L)] public static extern void bce_with_logits_f32(float* x, float* t, ulong n, double keep, double half, float* unit, float* loss, ulong* check);
    [DllImport(L)] public static extern void mse_f32(float* p, float* t, ulong n, float* unit, float* loss);
    [DllImport(L)] public static extern void loss_scale_rows_f32(float* unit, float* g, float* o, ulong rows, ulong k, double factor, double div, int perRow);
    [DllImport(O)] public static extern void sgd_f32(float* p, float* g, float* b, ulong n, float negLr, float wd, float mu, float keep, int hm, int ne, int fr);
    [DllImport(O)] public static extern void adam_f32(float* p, float* g, float* m, float* v, float* vmax, ulong n, float ss, float bc2, float b1, float b2, float ob1, float ob2, float eps, float l2, float shrink, int ams);
    [DllImport(O)] public static extern void rmsprop_f32(float* p, float* g, float* s, float* b, float* a, ulong n, float lr, float negLr, float alpha, float oma, float eps, float wd, float mu, int hm, int ce, int tf);
    [DllImport(O)] public static extern void sumsq_partial_f32(float* g, ulong n, double* partials);
}
