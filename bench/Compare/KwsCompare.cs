// `compare kws`: the two keyword spotters end to end on CPU, Cochlea vs the PyTorch reference models
// (../shared/reference/models.py, as ../shared/reference/bench.py times them), in ms per step:
//   train: zero_grad + forward (train mode) + cross-entropy + backward + Adam(1e-4) step, batch 64;
//   infer: eval-mode forward under no_grad, batch 1.
// WaveKws takes (B, 16000) waveforms, DeepSpeechKws (B, 99, 161) spectrograms. PyTorch runs in a
// python3 subprocess (Debian's /usr/bin/python3 with python3-torch) that times one step on request, so
// both sides run in the same process pair, alternating step by step after their own warm-up, and only
// the step is timed, not the pipe. Both sides use the same thread count.
using Cochlea.Kernels.Threading;
using Cochlea.Models.Kws;

namespace Cochlea.Bench.Compare;

public sealed class KwsCompare : ICompareSuite
{
    public string Name => "kws";
    public string Description => "WaveKws / DeepSpeechKws train step (B=64) and inference (B=1) vs the PyTorch reference, ms";

    const int Threads = 2;

    // (reference model name, train?, batch, warm-up steps per side, at least this many timed pairs, seconds budget)
    static readonly (string Model, bool Train, int Batch, int Warmup, int MinReps, double Budget)[] Cases =
    [
        ("wavekws", true, 64, 3, 9, 6.0),
        ("dskws", true, 64, 2, 5, 20.0),
        ("wavekws", false, 1, 20, 31, 3.0),
        ("dskws", false, 1, 10, 21, 6.0),
    ];

    public IEnumerable<CompareResult> Run()
    {
        using var torch = ReferenceBench.Start("compare kws");
        foreach (var c in Cases)
            yield return Measure(c.Model, c.Train, c.Batch, c.Warmup, c.MinReps, c.Budget, torch);
    }

    /// <summary>One case of the table, with its own anchor process (for `lab kws ... vs`).</summary>
    public static CompareResult MeasureOne(string model, bool train)
    {
        var c = Cases.First(c => c.Model == model && c.Train == train);
        using var torch = ReferenceBench.Start("lab kws");
        return Measure(c.Model, c.Train, c.Batch, c.Warmup, c.MinReps, c.Budget, torch);
    }

    static CompareResult Measure(string model, bool train, int batch, int warmup, int minReps, double budget, PythonAnchor? torch)
    {
        string label = $"{(model == "wavekws" ? "WaveKws" : "DeepSpeechKws")} {(train ? "train step" : "inference")} B={batch}";
        int saved = KernelThreads.Count;
        KernelThreads.Count = Threads;
        try
        {
            using var c = Build(model, train, batch);
            bool anchored = torch is not null && torch.Setup($"{model} {(train ? "train" : "infer")} {batch} {Threads}");
            var (ours, anchor) = Timing.Alternate(() => Timing.Time(c.Step), anchored ? torch!.RunOnce : null, budget, minReps, 101, warmup);
            return new CompareResult(label, Threads, ours * 1e3, anchor * 1e3, "ms",
                anchored ? $"torch {torch!.Version} reference models.py {model} {(train ? "train (zero_grad+fwd+CE+bwd+Adam)" : "eval fwd, no_grad")}, float32 CPU" : MissingName, false);
        }
        finally { KernelThreads.Count = saved; }
    }

    /// <summary>Our side of a case ("wavekws" or "dskws"), ready to step (also used by `lab kws` for profiling).</summary>
    public static ModelStepCase Build(string model, bool train, int batch, bool cacheDerived = true)
    {
        bool wave = model == "wavekws";
        var c = new ModelStepCase(wave ? new WaveKws(numClasses: 12) : new DeepSpeechKws(numClasses: 21), wave ? 12 : 21,
            wave ? [batch, 16000] : [batch, 99, 161], new Random(batch * 7 + (train ? 1 : 0)), train);
        c.Net.CacheDerivedData(cacheDerived);
        return c;
    }

    const string MissingName = "torch reference models (not available: apt-get install python3-torch, and ../shared/reference/models.py or COCHLEA_REFERENCE)";
}
