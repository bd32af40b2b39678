// Profiling driver for the keyword spotters: `lab kws wave|ds train|infer [steps] [threads]` runs the same
// step as `compare kws` (our side only) and prints each step's milliseconds, so a profiler (perf with
// DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0) can attach to a steady loop without the anchor
// process in the samples; `vs` instead runs that one case of `compare kws` against PyTorch; `ab` (inference)
// alternates two copies of the model, one with the derived-data caches (packed weights) and one without, in one process.
using System.Diagnostics;
using System.Globalization;
using Cochlea.Bench.Compare;
using Cochlea.Kernels.Threading;

namespace Cochlea.Bench.Lab;

public static class KwsLab
{
    public static int Run(string[] args)
    {
        if (args.Length > 0 && args[0] == "gemv") return RecurrentGemv(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 30);
        if (args.Length < 2 || args[0] is not ("wave" or "ds") || args[1] is not ("train" or "infer"))
        {
            Console.Error.WriteLine("lab kws: usage: lab kws wave|ds train|infer [steps 20] [threads 2] [quiet] | lab kws wave|ds train|infer vs");
            return 2;
        }
        bool train = args[1] == "train";
        if (args.Contains("vs"))
        {
            Console.WriteLine(CompareRunner.ToJson(KwsCompare.MeasureOne(args[0] == "wave" ? "wavekws" : "dskws", train)));
            return 0;
        }
        int steps = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 20;
        KernelThreads.Count = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 2;
        using var c = KwsCompare.Build(args[0] == "wave" ? "wavekws" : "dskws", train, train ? 64 : 1);
        if (args.Contains("ab") && !train)
        {
            using var plain = KwsCompare.Build(args[0] == "wave" ? "wavekws" : "dskws", train, 1, cacheDerived: false);
            var (cached, repacked) = Timing.Alternate(() => Timing.Time(c.Step), () => Timing.Time(plain.Step), 1e9, steps, steps, 5);
            Console.WriteLine($"ab: cached packs {cached * 1e3:F2} ms, no cache {repacked!.Value * 1e3:F2} ms (medians, alternating, {steps} pairs, {KernelThreads.Count} threads)");
            return 0;
        }
        // CPU time too: on this shared machine it moves far less with the neighbours' load than wall time.
        var ms = new List<double>();
        var cpu = new List<double>();
        var me = Process.GetCurrentProcess();
        bool quiet = args.Contains("quiet");
        for (int i = 0; i < steps; i++)
        {
            me.Refresh();
            var c0 = me.TotalProcessorTime;
            ms.Add(Timing.Time(c.Step) * 1e3);
            me.Refresh();
            cpu.Add((me.TotalProcessorTime - c0).TotalMilliseconds);
            if (!quiet) Console.WriteLine($"step {i}: {ms[^1]:F1} ms, cpu {cpu[^1]:F0} ms");
        }
        // The mean CPU time too: short steps (inference) are below the per-step clock resolution.
        Console.WriteLine($"median {Timing.Median(ms):F2} ms (cpu {Timing.Median(cpu):F0} ms, mean cpu {cpu.Sum() / steps:F2} ms) over {steps} steps, {KernelThreads.Count} threads");
        return 0;
    }

    // `lab kws gemv [reps]`: one direction of DeepSpeechKws' batch-1 RNN (46 steps of h (1, 1024) x W_hh (1024, 1024) packed,
    // one thread) with h half zeros, as the ReLU state is: the thin kernel skipping the zero rows of W_hh, against the same
    // h with its zeros replaced by 1e-30 (nothing to skip, same arithmetic), alternating in one process.
    static unsafe int RecurrentGemv(int reps)
    {
        const int H = 1024, Steps = 46;
        var rng = new Random(1);
        var w = new float[H * H];
        for (int i = 0; i < w.Length; i++) w[i] = (float)(rng.NextDouble() - 0.5) * 0.06f;
        float[] sparse = new float[H], dense = new float[H], y = new float[H];
        for (int i = 0; i < H; i++) { sparse[i] = rng.NextDouble() < 0.5 ? 0f : (float)rng.NextDouble(); dense[i] = sparse[i] == 0f ? 1e-30f : sparse[i]; }
        fixed (float* pw = w, ps = sparse, pd = dense, py = y)
        {
            using var packed = new Cochlea.Kernels.Gemm.PackedGemmB(false, H, H, pw, H);
            float* s = ps, d = pd, o = py;
            void Run(float* h) { for (int t = 0; t < Steps; t++) packed.Run(1, 1f, h, H, 0f, o, H, 1); }
            var (skip, full) = Timing.Alternate(() => Run(s), () => Run(d), 1e9, reps, reps, 3);
            Console.WriteLine($"gemv: {Steps} steps of (1, {H}) x ({H}, {H}): half-zero h {skip * 1e3:F3} ms, no zeros {full!.Value * 1e3:F3} ms (medians of {reps}, alternating, 1 thread)");
        }
        return 0;
    }
}
