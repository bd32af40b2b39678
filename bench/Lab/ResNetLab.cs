// Per-layer profile of the ResNet50 AttentionTagger's inference (issue 8: `compare tagging-resnet` b1 on
// 3 x 192 x 384): `lab resnet [steps 9] [threads 2]` times the whole eval forward, then every conv of the backbone
// alone on an input of its shape (conv only, and conv -> BN -> ReLU through the module path), grouped by kind
// (stem 7x7, 1x1 stride 1, 3x3, 1x1 stride 2), medians in ms. `cache` after the numbers: the backbone's eval caches on vs off. Our side only, no anchor: for finding where the
// milliseconds go, not for claims (use `compare tagging-resnet` for those). `loop` after the numbers: only the forward.
using System.Globalization;
using Cochlea.Bench.Compare;
using Cochlea.Kernels.Threading;
using Cochlea.Models.Tagging;
using Cochlea.Nn;

namespace Cochlea.Bench.Lab;

public static class ResNetLab
{
    const int H = 192, W = 384;

    public static int Run(string[] args)
    {
        if (args.Length > 0 && args[0] == "gemm") return GemmGrid(args[1..]);
        int steps = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 9;
        KernelThreads.Count = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2;
        using var model = AttentionTagger.Create(TaggerBackbone.ResNet50, 24, seed: 1);
        model.Eval();
        using var x = Tensor.Randn(new Random(1), 1f, 1, 3, H, W).Keep();
        double Med(Action a)
        {
            a();
            var xs = new List<double>();
            for (int i = 0; i < steps; i++) xs.Add(Timing.Time(a) * 1e3);
            return Timing.Median(xs);
        }
        double whole = Med(() => { using var s = Tensor.Scope(); using var ng = Tensor.NoGrad(); model.Forward(x); });
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"forward b1 eval: {whole:F1} ms ({KernelThreads.Count} threads)"));
        if (args.Contains("loop")) return 0;
        if (args.Contains("cache")) return CacheAB(model, x, steps);
        StemPool(steps);   // `lab resnet 50 2 loop`: the forward alone, for a profiler (perf) to sample

        // A/B in this process, alternating: the backbone's eval forward (fused conv+BN+add+ReLU) against the same
        // backbone as separate ops (conv, batch norm, add, ReLU: the forward before ConvBatchNorm), and their largest difference.
        var bb = model.Backbone;
        // Wall medians and minima, and CPU-time medians: on this shared machine the minimum and the CPU time move far less with the load.
        var fusedMs = new List<double>();
        var composedMs = new List<double>();
        var fusedCpu = new List<double>();
        var composedCpu = new List<double>();
        var me = System.Diagnostics.Process.GetCurrentProcess();
        (double Wall, double Cpu) Both(Action a)
        {
            me.Refresh();
            var c0 = me.TotalProcessorTime;
            double wall = Timing.Time(a) * 1e3;
            me.Refresh();
            return (wall, (me.TotalProcessorTime - c0).TotalMilliseconds);
        }
        for (int i = 0; i <= steps; i++)
        {
            var tf = Both(() => { using var s = Tensor.Scope(); using var ng = Tensor.NoGrad(); bb.Forward(x); });
            var tc = Both(() => { using var s = Tensor.Scope(); using var ng = Tensor.NoGrad(); ComposedBackbone(bb, x); });
            if (i > 0) { fusedMs.Add(tf.Wall); composedMs.Add(tc.Wall); fusedCpu.Add(tf.Cpu); composedCpu.Add(tc.Cpu); }
        }
        float diff, scale;
        using (Tensor.Scope())
        using (Tensor.NoGrad())
        {
            var a = bb.Forward(x).ToArray();
            var b = ComposedBackbone(bb, x).ToArray();
            diff = a.Zip(b, (u, v) => MathF.Abs(u - v)).Max();
            scale = b.Max(MathF.Abs);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"backbone b1 eval, alternating x{steps}: fused median {Timing.Median(fusedMs):F1} / min {fusedMs.Min():F1} ms / cpu {Timing.Median(fusedCpu):F0} ms, " +
            $"separate ops median {Timing.Median(composedMs):F1} / min {composedMs.Min():F1} ms / cpu {Timing.Median(composedCpu):F0} ms; max |diff| {diff:G3} of max |y| {scale:G3}"));

        // Walk the convs in registration order (conv1, bn1, conv2, bn2, conv3, bn3, downsample.0, downsample.1 per
        // block), tracking each conv's input size: a block's conv1 and downsample see the block input, conv3 the
        // output of conv2 (strided).
        var mods = model.NamedModules().ToList();
        var byKind = new SortedDictionary<string, (double Conv, double Fused, double Gflop, int Count)>();
        int cin, bh = H / 4, bw = W / 4;                // bh, bw: the current block's input size
        int ch = H, cw = W, s2 = 1;            // s2: the current block's conv2 stride
        for (int i = 0; i < mods.Count; i++)
        {
            if (mods[i].Module is not Conv2d conv) continue;
            string name = mods[i].Name;
            var bn = i + 1 < mods.Count ? mods[i + 1].Module as BatchNorm2d : null;
            int kh = conv.Weight.Size(2), cout = conv.Weight.Size(0);
            cin = conv.Weight.Size(1);
            if (name.EndsWith(".0", StringComparison.Ordinal) && !name.Contains("downsample", StringComparison.Ordinal)) { ch = H; cw = W; }   // the stem
            else if (name.EndsWith("conv1", StringComparison.Ordinal) || name.Contains("downsample", StringComparison.Ordinal)) { ch = bh; cw = bw; }
            else if (name.EndsWith("conv2", StringComparison.Ordinal)) { ch = bh; cw = bw; s2 = conv.Stride.H; }
            else if (name.EndsWith("conv3", StringComparison.Ordinal)) { ch = bh / s2; cw = bw / s2; }
            using var input = Tensor.Randn(new Random(i), 1f, 1, cin, ch, cw).Keep();
            double tc = Med(() => { using var s = Tensor.Scope(); using var ng = Tensor.NoGrad(); conv.Forward(input); });
            double tf = bn is null ? tc : Med(() => { using var s = Tensor.Scope(); using var ng = Tensor.NoGrad(); Ops.Relu(bn.Forward(conv.Forward(input))); });
            int oh = (ch + 2 * (kh / 2) - kh) / conv.Stride.H + 1, ow = (cw + 2 * (kh / 2) - kh) / conv.Stride.W + 1;
            double gflop = 2.0 * cout * cin * kh * conv.Weight.Size(3) * oh * ow / 1e9;
            string kind = $"{kh}x{conv.Weight.Size(3)} s{conv.Stride.H}";
            var e = byKind.GetValueOrDefault(kind);
            byKind[kind] = (e.Conv + tc, e.Fused + tf, e.Gflop + gflop, e.Count + 1);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {name,-24} {cin,4}->{cout,-4} {kind,-6} in {ch}x{cw}: conv {tc,6:F2} ms ({gflop / tc * 1e3,5:F0} GFLOP/s), +bn+relu {tf,6:F2} ms"));
            if (name.EndsWith("conv3", StringComparison.Ordinal)) { bh = ch; bw = cw; }
            if (name == "backbone.0") { bh = H / 4; bw = W / 4; }
        }
        double sumConv = 0, sumFused = 0;
        foreach (var (kind, v) in byKind)
        {
            sumConv += v.Conv; sumFused += v.Fused;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{kind,-6} x{v.Count,2}: conv {v.Conv,7:F1} ms ({v.Gflop / v.Conv * 1e3,4:F0} GFLOP/s), conv+bn+relu {v.Fused,7:F1} ms, {v.Gflop:F2} GFLOP"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sum: conv {sumConv:F1} ms, conv+bn+relu {sumFused:F1} ms; whole forward {whole:F1} ms"));
        return 0;
    }

    // `lab resnet [steps] [threads] cache`: the whole tagger's b1 eval forward with the backbone's eval caches (packed conv
    // weights, folded batch norms) against a second copy of the model (same seed) whose backbone caches are off (the weights
    // packed for every image's GEMM and s, t folded on every call: the path before the caches), alternating in this process.
    static int CacheAB(Module model, Tensor x, int steps)
    {
        using var plain = AttentionTagger.Create(TaggerBackbone.ResNet50, 24, seed: 1);
        plain.Eval();
        plain.Backbone.CacheDerivedData(false);
        var me = System.Diagnostics.Process.GetCurrentProcess();
        (double Wall, double Cpu) Both(Module m)
        {
            me.Refresh();
            var c0 = me.TotalProcessorTime;
            double wall = Timing.Time(() => { using var s = Tensor.Scope(); using var ng = Tensor.NoGrad(); m.Forward(x); }) * 1e3;
            me.Refresh();
            return (wall, (me.TotalProcessorTime - c0).TotalMilliseconds);
        }
        var on = new List<(double Wall, double Cpu)>();
        var off = new List<(double Wall, double Cpu)>();
        for (int i = 0; i <= steps; i++)
        {
            var a = Both(model); var b = Both(plain);
            if (i > 0) { on.Add(a); off.Add(b); }
        }
        float diff;
        using (Tensor.Scope())
        using (Tensor.NoGrad())
            diff = model.Forward(x).ToArray().Zip(plain.Forward(x).ToArray(), (u, v) => MathF.Abs(u - v)).Max();
        string Line(List<(double Wall, double Cpu)> t) => string.Create(CultureInfo.InvariantCulture,
            $"median {Timing.Median(t.Select(v => v.Wall).ToList()):F1} / min {t.Min(v => v.Wall):F1} ms / cpu median {Timing.Median(t.Select(v => v.Cpu).ToList()):F0} ms");
        Console.WriteLine($"forward b1 eval, alternating x{steps}: caches on {Line(on)}; caches off {Line(off)}; max |diff| {diff.ToString("G3", CultureInfo.InvariantCulture)}");
        return 0;
    }

    // `lab resnet gemm [reps 15] [threads 2] [tall|direct|both] [b8]`: the batch-1 GEMMs of ResNet50 on 3 x 192 x 384 (M = Cout,
    // N = positions, K = Cin * KH * KW, one line per distinct shape with its count in the network), each timed with the
    // driver's defaults and with SplitTallA, DirectB or both off, alternating; totals weighted by the counts. Wall minima, CPU medians.
    static unsafe int GemmGrid(string[] args)
    {
        int reps = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 15;
        int threads = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2;
        string what = args.Length > 2 ? args[2] : "tall";   // the feature turned off on the B side: tall, direct or both
        var shapes = new (int M, int N, int K, int Count)[]
        {
            (64, 4608, 64, 1), (64, 4608, 576, 3), (256, 4608, 64, 4), (64, 4608, 256, 2),
            (128, 4608, 256, 1), (128, 1152, 1152, 4), (512, 1152, 128, 4), (512, 1152, 256, 1), (128, 1152, 512, 3),
            (256, 1152, 512, 1), (256, 288, 2304, 6), (1024, 288, 256, 6), (1024, 288, 512, 1), (256, 288, 1024, 5),
            (512, 288, 1024, 1), (512, 72, 4608, 3), (2048, 72, 512, 3), (2048, 72, 1024, 1), (512, 72, 2048, 2),
        };
        // `... b8`: the same convs over a batch of 8 (the training step's forward GEMMs: N = 8 * positions).
        if (args.Contains("b8")) shapes = shapes.Select(t => (t.M, t.N * 8, t.K, t.Count)).ToArray();
        var me = System.Diagnostics.Process.GetCurrentProcess();
        double totNew = 0, totOld = 0, cpuNew = 0, cpuOld = 0;
        foreach (var (m, n, k, count) in shapes)
        {
            float* a = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(m * k * 4), 64);
            float* b = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(k * n * 4), 64);
            float* c = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(m * n * 4), 64);
            new Span<float>(a, m * k).Fill(0.01f); new Span<float>(b, k * n).Fill(0.02f);
            var g = new Kernels.Gemm.GemmArgs(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n);
            var on = Kernels.Gemm.GemmBlocking.Default;
            var off = what == "direct" ? on with { DirectB = false } : what == "both" ? on with { DirectB = false, SplitTallA = false } : on with { SplitTallA = false };
            (double Wall, double Cpu) T(Kernels.Gemm.GemmBlocking blk)
            {
                me.Refresh();
                var c0 = me.TotalProcessorTime;
                long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                Kernels.Gemm.Sgemm.Execute<Kernels.Numerics.V512Ops, System.Runtime.Intrinsics.Vector512<float>, Kernels.Gemm.Rows8>(g, threads, blk);
                double wall = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                me.Refresh();
                return (wall, (me.TotalProcessorTime - c0).TotalMilliseconds);
            }
            var wn = new List<double>(); var wo = new List<double>(); var cn = new List<double>(); var co = new List<double>();
            T(on); T(off);
            for (int r = 0; r < reps; r++)
            {
                var x = T(on); var y = T(off);
                wn.Add(x.Wall); cn.Add(x.Cpu); wo.Add(y.Wall); co.Add(y.Cpu);
            }
            totNew += wn.Min() * count; totOld += wo.Min() * count; cpuNew += Timing.Median(cn) * count; cpuOld += Timing.Median(co) * count;
            double gf = 2.0 * m * n * k / 1e6;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{m,5} x {n,5} x {k,5} (x{count}): default min {wn.Min(),6:F2} ms ({gf / wn.Min(),4:F0} GFLOP/s), without {what} min {wo.Min(),6:F2} ms ({gf / wo.Min(),4:F0}); cpu med {Timing.Median(cn):F1} vs {Timing.Median(co):F1}"));
            System.Runtime.InteropServices.NativeMemory.AlignedFree(a); System.Runtime.InteropServices.NativeMemory.AlignedFree(b); System.Runtime.InteropServices.NativeMemory.AlignedFree(c);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"weighted total: default {totNew:F1} ms (cpu {cpuNew:F0}), without {what} {totOld:F1} ms (cpu {cpuOld:F0}), {threads} threads"));
        return 0;
    }

    // The stem's 3x3 stride-2 max pool on (1, 64, 96, 192): with argmax indices (the training kernel) and without (inference), alternating.
    static unsafe void StemPool(int steps)
    {
        using var x = Tensor.Randn(new Random(4), 1f, 1, 64, H / 2, W / 2).Keep();
        using var y = Tensor.Empty(1, 64, H / 4, W / 4).Keep();
        using var idx = Tensor.Empty([1, 64, H / 4, W / 4], DType.Int32).Keep();
        var ah = new Kernels.Conv.ConvAxis(H / 2, 3, 2, 1, 1);
        var aw = new Kernels.Conv.ConvAxis(W / 2, 3, 2, 1, 1);
        var a = new List<double>(); var b = new List<double>();
        for (int i = 0; i <= steps; i++)
        {
            double ta = Timing.Time(() => Kernels.Pooling.Pool.MaxForward2d(x.DataPtr, y.DataPtr, (int*)idx.RawPtr, 64, ah, aw)) * 1e3;
            double tb = Timing.Time(() => Kernels.Pooling.Pool.MaxForward2dNoIndex(x.DataPtr, y.DataPtr, 64, ah, aw)) * 1e3;
            if (i > 0) { a.Add(ta); b.Add(tb); }
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"stem max pool: with indices min {a.Min():F2} / median {Timing.Median(a):F2} ms, without min {b.Min():F2} / median {Timing.Median(b):F2} ms"));
    }

    // ResNet50's forward as separate ops, from its public children (stem "0" conv, "1" bn, stages "4".."7" of
    // Bottlenecks with children conv1, bn1, conv2, bn2, conv3, bn3 and downsample): what Bottleneck.Forward computed
    // before the eval path went through ConvBatchNorm.
    static Tensor ComposedBackbone(Module backbone, Tensor img)
    {
        Module Child(Module m, string name) => m.NamedChildren().First(c => c.Name == name).Module;
        Tensor CB(Module m, string conv, string bn, Tensor t) => Child(m, bn).Forward(Child(m, conv).Forward(t));
        var x = Ops.Relu(CB(backbone, "0", "1", img));
        x = Ops.MaxPool2d(x, (3, 3), (2, 2), (1, 1));
        foreach (var stage in new[] { "4", "5", "6", "7" })
            foreach (var (_, block) in Child(backbone, stage).NamedChildren())
            {
                var h = Ops.Relu(CB(block, "conv1", "bn1", x));
                h = Ops.Relu(CB(block, "conv2", "bn2", h));
                h = CB(block, "conv3", "bn3", h);
                var down = block.NamedChildren().FirstOrDefault(c => c.Name == "downsample").Module;
                x = Ops.Relu(Ops.Add(h, down is null ? x : down.Forward(x)));
            }
        return x;
    }
}
