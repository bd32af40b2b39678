// Checks the warp-shuffle and shared-memory kernels of native/cuda on host threads (tools/cuda-emu/run.sh) against the CPU ops.
using System.Runtime.InteropServices;
using Cochlea;

unsafe
{
    int fails = 0;
    void Same(string what, float[] got, float[] want, double atol, double rtol)
    {
        for (int i = 0; i < got.Length; i++)
            if (!(Math.Abs(got[i] - want[i]) <= atol + rtol * Math.Abs(want[i])))
            { Console.WriteLine($"FAIL {what}: [{i}] {got[i]:R} vs {want[i]:R}"); fails++; return; }
        Console.WriteLine($"ok   {what} ({got.Length})");
    }
    var rng = new Random(2);
    uint Grid(long n) => (uint)Math.Clamp((n + 255) / 256, 1, 4096);

    foreach (var (rows, n) in new[] { (3, 5), (9, 257), (17, 41), (1, 1) })
        foreach (var log in new[] { false, true })
        {
            using var x = Tensor.Randn(rng, 2f, rows, n); x.RequiresGrad = true;
            var y = log ? Ops.LogSoftmax(x, 1) : Ops.Softmax(x, 1);
            using var g = Tensor.Randn(rng, 1f, rows, n);
            y.Backward(g);
            var got = new float[rows * n]; var dx = new float[rows * n];
            fixed (float* py = got, pd = dx)
            {
                if (log) { K.emu_log_softmax_rows_f32(Grid(rows * 32L), 256, x.DataPtr, py, (ulong)rows, (ulong)n); K.emu_log_softmax_backward_rows_f32(Grid(rows * 32L), 256, py, g.DataPtr, pd, (ulong)rows, (ulong)n); }
                else { K.emu_softmax_rows_f32(Grid(rows * 32L), 256, x.DataPtr, py, (ulong)rows, (ulong)n); K.emu_softmax_backward_rows_f32(Grid(rows * 32L), 256, py, g.DataPtr, pd, (ulong)rows, (ulong)n); }
            }
            Same($"{(log ? "log_" : "")}softmax_rows ({rows},{n})", got, y.ToArray(), 1e-6, 1e-5);
            Same("  backward", dx, x.Grad!.ToArray(), 1e-6, 1e-5);
        }

    // cross-entropy with labels: per-row losses ("none") and the unit gradient (upstream ones)
    foreach (var (rows, c, ls) in new[] { (4, 5, 0.1f), (37, 41, 0f), (9, 3, 0.2f) })
    {
        using var x = Tensor.Randn(rng, 2f, rows, c); x.RequiresGrad = true;
        var labels = Enumerable.Range(0, rows).Select(i => (long)rng.Next(c)).ToArray();
        using var lt = Tensor.FromArray(labels, rows);
        var l = Loss.CrossEntropy(x, lt, ls, "none");
        l.Backward(Tensor.Ones(rows));
        var loss = new float[rows]; var unit = new float[rows * c];
        double keep = 1.0 - ls, uni = ls / (double)c;
        ulong check = 0;
        fixed (float* pl = loss, pu = unit) fixed (long* plab = labels) K.emu_cross_entropy_labels_f32(Grid(rows * 32L), 256, x.DataPtr, plab, 0, (ulong)rows, (ulong)c, keep, uni, pu, pl, &check);
        Same($"cross_entropy labels ({rows},{c}) ls {ls}", loss, l.ToArray(), 1e-6, 1e-6);
        Same("  good labels leave the check slot 0", [check == 0 ? 1f : 0f], [1f], 0, 0);
        // Bad labels in several warps (threads race on the slot): the lowest position wins, with its value; NaN rows.
        var bad = (long[])labels.Clone(); bad[rows - 1] = c; bad[rows / 2] = -7;
        var badLoss = new float[rows]; var badUnit = new float[rows * c];
        fixed (float* pl = badLoss, pu = badUnit) fixed (long* plab = bad) K.emu_cross_entropy_labels_f32(Grid(rows * 32L), 256, x.DataPtr, plab, 0, (ulong)rows, (ulong)c, keep, uni, pu, pl, &check);
        Same("  bad labels: slot = ~(lowest position << 32 | value)", [~check == (((ulong)(rows / 2) << 32) | unchecked((uint)-7)) ? 1f : 0f], [1f], 0, 0);
        Same("  bad labels: NaN rows", [float.IsNaN(badLoss[rows / 2]) && float.IsNaN(badLoss[rows - 1]) && float.IsNaN(badUnit[(rows - 1) * c]) ? 1f : 0f], [1f], 0, 0);
        Same("  unit gradient", unit, x.Grad!.ToArray(), 1e-7, 1e-6);
        // mean over rows by loss_sum (one block, fixed tree)
        using var mean = Loss.CrossEntropy(x, lt, ls, "mean");
        var total = new float[1];
        fixed (float* pl = loss, po = total) K.emu_loss_sum_f32(1, 256, pl, (ulong)rows, 1.0 / rows, po);
        Same("  mean via loss_sum", total, [mean.Item()], 1e-6, 1e-6);
    }
    // soft targets: loss, unit, log-probabilities
    foreach (var (rows, c) in new[] { (3, 6), (5, 40) })
    {
        using var x = Tensor.Randn(rng, 2f, rows, c); x.RequiresGrad = true;
        using var t = Tensor.Rand(rng, 0.05f, 0.6f, rows, c); t.RequiresGrad = true;
        var l = Loss.CrossEntropy(x, t, 0.1f, "none");
        l.Backward(Tensor.Ones(rows));
        var loss = new float[rows]; var unit = new float[rows * c]; var lp = new float[rows * c];
        fixed (float* pl = loss, pu = unit, plp = lp) K.emu_cross_entropy_probs_f32(Grid(rows * 32L), 256, x.DataPtr, t.DataPtr, (ulong)rows, (ulong)c, 0.9, 0.1 / c, pu, plp, pl);
        Same($"cross_entropy probs ({rows},{c})", loss, l.ToArray(), 1e-6, 1e-6);
        Same("  unit gradient", unit, x.Grad!.ToArray(), 1e-7, 1e-6);
        Same("  targets' gradient = -keep lp", lp.Select(v => (float)(-0.9 * v)).ToArray(), t.Grad!.ToArray(), 1e-6, 1e-6);
    }
    // distillation: total and unit gradient
    foreach (var (rows, c, temp, probs) in new[] { (4, 6, 3f, false), (9, 41, 1f, false), (2, 4, 2f, true) })
    {
        using var s = Tensor.Randn(rng, 1f, rows, c); s.RequiresGrad = true;
        using var tch = probs ? Tensor.FromArray([0.7f, 0.2f, 0.1f, 0f, 0.25f, 0.25f, 0.25f, 0.25f], 2, 4) : Tensor.Randn(rng, 2f, rows, c);
        var l = probs ? Loss.KlDivDistillFromProbs(s, tch, temp) : Loss.KlDivDistill(s, tch, temp);
        l.Backward();
        var per = new float[rows]; var unit = new float[rows * c]; var total = new float[1];
        fixed (float* pl = per, pu = unit, po = total)
        {
            K.emu_kl_div_distill_f32(Grid(rows * 32L), 256, s.DataPtr, tch.DataPtr, (ulong)rows, (ulong)c, 1.0 / temp, probs ? 1 : 0, pu, pl, null, null);
            K.emu_loss_sum_f32(1, 256, pl, (ulong)rows, (double)temp * temp / rows, po);
        }
        Same($"kl_div_distill ({rows},{c}) T {temp}{(probs ? " probs" : "")}", total, [l.Item()], 1e-6, 1e-5);
        Same("  gradient T/B (p - q)", unit.Select(u => u * (float)(temp / (double)rows)).ToArray(), s.Grad!.ToArray(), 1e-7, 1e-5);
    }
    // sum_rows with fewer blocks than rows (grid-stride rows around the barriers)
    foreach (var (rows, r, grid) in new[] { (10, 1000, 3u), (1, 70001, 1u), (5, 65, 5u) })
    {
        var data = Enumerable.Range(0, rows * r).Select(_ => (float)rng.Next(4)).ToArray();
        using var x = Tensor.FromArray(data, rows, r);
        using var want = Ops.Sum(x, [1]);
        var got = new float[rows];
        fixed (float* py = got) K.emu_sum_rows_f32(grid, 256, x.DataPtr, py, (ulong)rows, (ulong)r);
        Same($"sum_rows ({rows},{r}) grid {grid}", got, want.ToArray(), 0, 0);
    }
    // max over long rows: ties (small integers) and NaNs must give the CPU's first maximal element
    foreach (var (rows, r, grid, nan) in new[] { (4, 300, 2u, false), (3, 1000, 3u, true), (1, 70001, 1u, false) })
    {
        var data = Enumerable.Range(0, rows * r).Select(_ => (float)rng.Next(4)).ToArray();
        if (nan) { data[5] = float.NaN; data[r + 700] = float.NaN; data[r + 900] = float.NaN; }
        using var x = Tensor.FromArray(data, rows, r);
        var (vals, idx) = Ops.MaxWithIndex(x, 1);
        var gv = new float[rows]; var gi = new long[rows];
        fixed (float* pv = gv) fixed (long* pi = gi) K.emu_max_rows_f32(grid, 256, x.DataPtr, pv, pi, (ulong)rows, (ulong)r);
        Same($"max_rows ({rows},{r}) grid {grid}{(nan ? " with NaN" : "")} values", gv.Select(v => float.IsNaN(v) ? -1f : v).ToArray(), vals.ToArray().Select(v => float.IsNaN(v) ? -1f : v).ToArray(), 0, 0);
        Same("  indices", gi.Select(v => (float)v).ToArray(), idx.ToInt64Array().Select(v => (float)v).ToArray(), 0, 0);
    }
    // sum of squares partials with several blocks, and Adam with a grid stride
    {
        using var g = Tensor.Randn(rng, 3f, 5000);
        var parts = new double[3];
        fixed (double* pp = parts) K.emu_sumsq_partial_f32(3, 256, g.DataPtr, 5000, pp);
        double want = g.ToArray().Sum(v => (double)v * v);
        Same("sumsq 3 blocks", [(float)parts.Sum()], [(float)want], 0, 1e-7);
    }
    Console.WriteLine(fails == 0 ? "ALL OK" : $"{fails} FAILURES");
    return fails;
}

static unsafe class K
{
    const string S = "/tmp/cuda-emu/libemu_softmax.so", L = "/tmp/cuda-emu/libemu_loss.so", R = "/tmp/cuda-emu/libemu_reduce.so", O = "/tmp/cuda-emu/libemu_optim.so";
    [DllImport(S)] public static extern void emu_softmax_rows_f32(uint g, uint b, float* x, float* y, ulong rows, ulong n);
    [DllImport(S)] public static extern void emu_log_softmax_rows_f32(uint g, uint b, float* x, float* y, ulong rows, ulong n);
    [DllImport(S)] public static extern void emu_softmax_backward_rows_f32(uint g, uint b, float* y, float* gr, float* dx, ulong rows, ulong n);
    [DllImport(S)] public static extern void emu_log_softmax_backward_rows_f32(uint g, uint b, float* y, float* gr, float* dx, ulong rows, ulong n);
    [DllImport(L)] public static extern void emu_cross_entropy_labels_f32(uint g, uint b, float* x, void* labels, int i32, ulong rows, ulong c, double keep, double uniform, float* unit, float* loss, ulong* check);
    [DllImport(L)] public static extern void emu_cross_entropy_probs_f32(uint g, uint b, float* x, float* t, ulong rows, ulong c, double keep, double uniform, float* unit, float* logp, float* loss);
    [DllImport(L)] public static extern void emu_kl_div_distill_f32(uint g, uint b, float* s, float* t, ulong rows, ulong c, double invT, int probs, float* unit, float* loss, ulong* checkValue, ulong* checkSum);
    [DllImport(L)] public static extern void emu_loss_sum_f32(uint g, uint b, float* v, ulong n, double scale, float* o);
    [DllImport(R)] public static extern void emu_max_rows_f32(uint g, uint b, float* x, float* v, long* i, ulong rows, ulong r);
    [DllImport(R)] public static extern void emu_sum_rows_f32(uint g, uint b, float* x, float* y, ulong rows, ulong r);
    [DllImport(O)] public static extern void emu_sumsq_partial_f32(uint g, uint b, float* x, ulong n, double* partials);
}
