// `gpu-audit [model...] [--warmup W] [--steps K] [--repeats R] [--batch B] [--clip N | --clip-read N] [--names]`: what one steady-state training step of the
// gpu-train models (WaveKws, DeepSpeechKws, TutorialConv, FreesoundCnn; gpu-train's step and batch sizes) asks of the
// CUDA driver and libraries, and its host time. After W warm-up steps (default 3) it runs K more (default 5) and
// reports (counts after W+K steps - counts after W) / K: kernel launches, host waits, copies, memsets, cuMemAlloc and
// cuMemFree (0 after warm-up = memory flat), cuBLAS calls, cuDNN calls and cuDNN Find calls (0 after the first step),
// managed KB allocated per step on the host (GC.GetTotalAllocatedBytes over the K steps: garbage the step leaves for the
// collector, a cost PyTorch's C++ core does not have), and host ms per step (stopwatch over the K steps, no synchronize inside them; with R > 1, R more blocks of K steps
// are timed after the counted ones and the fastest block's mean is printed: this shared machine's noise only adds).
// On a real GPU the host time is the time to enqueue the steps, plus any wait inside a step (none in these four
// models; a full launch queue would also block).
// The counts come from the host emulator (tools/cuda-emu/host-libs: COCHLEA_EMU_STATS=<file> and its export
// cochlea_emu_stats_dump); on a real driver only the time is printed. Under COCHLEA_EMU_SKIP_WORK=1 the emulator runs
// no kernel, cuBLAS or cuDNN work, so the time is the engine's own host cost per step (results are garbage then).
// --clip N clips the gradients to global norm N between backward and Adam in every step (FreesoundCnn's recipe clips at 15)
// with GradClip.ClipByGlobalNormTensor (the norm stays on the device); --clip-read N with GradClip.ClipByGlobalNorm, which
// reads the norm back (one host wait: what a caller pays that needs the number every step).
// --names adds the per-name counts (kernel names, cuDNN/cuBLAS entry points) behind each total.
using System.Diagnostics;
using System.Globalization;
using Cochlea.Cuda;
using Cochlea.Optim;

namespace Cochlea.Bench.Compare;

public static class GpuStepAudit
{
    // The columns: a label and the emulator's counter groups (libcuda.cpp) it sums.
    static readonly (string Column, string[] Groups)[] Columns =
    [
        ("launches", ["launch"]), ("waits", ["wait"]), ("copies", ["copy"]), ("memsets", ["memset"]),
        ("allocs", ["alloc"]), ("frees", ["free"]), ("cublas", ["cublas"]), ("cublaslt", ["cublaslt"]), ("cudnn", ["cudnn"]), ("cudnn-find", ["cudnn-find"]),
    ];

    public static int Run(string[] args)
    {
        int warmup = Option(args, "--warmup", 3), steps = Option(args, "--steps", 5), repeats = Option(args, "--repeats", 1);
        int batchOverride = Option(args, "--batch", 0);
        bool names = args.Contains("--names");
        int clipTensor = Option(args, "--clip", 0), clipRead = Option(args, "--clip-read", 0);
        Action<IReadOnlyList<Tensor>>? clip = clipTensor > 0 ? ps => GradClip.ClipByGlobalNormTensor(ps, clipTensor)
            : clipRead > 0 ? ps => GradClip.ClipByGlobalNorm(ps, clipRead) : null;
        var wanted = new HashSet<string>();   // model names: the arguments that are neither options nor their values
        for (int i = 0; i < args.Length; i++)
            if (args[i] is "--warmup" or "--steps" or "--repeats" or "--batch" or "--clip" or "--clip-read") i++;
            else if (!args[i].StartsWith("--", StringComparison.Ordinal)) wanted.Add(args[i]);
        CudaDevice dev;
        try { dev = GpuBench.RequireGpu("gpu-audit"); }
        catch (NoGpuException e) { Console.WriteLine($"no GPU: {e.Message}"); return 3; }
        CudaOptions.AllowTf32 = false;
        var dump = EmulatorCounters.Open((Environment.GetEnvironmentVariable("COCHLEA_EMU_STATS") ?? "") + ".audit");
        bool skip = Environment.GetEnvironmentVariable("COCHLEA_EMU_SKIP_WORK") is { Length: > 0 } v && v != "0";
        Console.WriteLine($"gpu-audit: per training step, mean of steps {warmup + 1}..{warmup + steps} on {dev}"
            + (dump is null ? " (no emulator counters: times only)" : "") + (skip ? "; COCHLEA_EMU_SKIP_WORK=1: host cost only, results garbage" : "")
            + (clipTensor > 0 ? $"; gradients clipped to norm {clipTensor} (norm kept on the device)" : clipRead > 0 ? $"; gradients clipped to norm {clipRead} (norm read back)" : ""));
        Console.WriteLine($"{"model",-14} {"B",4} " + string.Join(" ", Columns.Select(c => $"{c.Column,10}")) + $" {"host KB",9} {"host ms",9}");
        foreach (var (name, label, fullBatch) in GpuTrainCompare.Cases)
        {
            if (wanted.Count > 0 && !wanted.Contains(name) && !wanted.Contains(label)) continue;
            int batch = batchOverride > 0 ? batchOverride : fullBatch;
            using var c = GpuTrainCompare.Build(name, batch, dev, syncEachStep: false);
            c.BeforeOptimizerStep = clip;
            for (int i = 0; i < warmup; i++) c.Step();
            dev.Synchronize();
            var before = dump?.Invoke();
            long bytes0 = GC.GetTotalAllocatedBytes(precise: true);
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < steps; i++) c.Step();
            double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds / steps;
            double kb = (GC.GetTotalAllocatedBytes(precise: true) - bytes0) / 1024.0 / steps;
            var after = dump?.Invoke();
            dev.Synchronize();
            for (int r = 1; r < repeats; r++)
            {
                t0 = Stopwatch.GetTimestamp();
                for (int i = 0; i < steps; i++) c.Step();
                ms = Math.Min(ms, Stopwatch.GetElapsedTime(t0).TotalMilliseconds / steps);   // as the first block: no sync timed
                dev.Synchronize();
            }
            string Cell(string[] groups) => before is null ? "-" : PerStep(EmulatorCounters.Sum(after!, groups) - EmulatorCounters.Sum(before, groups), steps);
            Console.WriteLine($"{label,-14} {batch,4} " + string.Join(" ", Columns.Select(col => $"{Cell(col.Groups),10}")) + $" {kb,9:F1} {ms,9:F2}");
            if (names && before is not null)
                foreach (var (key, n) in after!.OrderBy(kv => kv.Key))
                {
                    long d = n - before.GetValueOrDefault(key);
                    if (d != 0) Console.WriteLine($"    {key,-60} {PerStep(d, steps),8}");
                }
        }
        return 0;
    }

    static string PerStep(long count, int steps) => (count / (double)steps).ToString("0.##", CultureInfo.InvariantCulture);

    static int Option(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
