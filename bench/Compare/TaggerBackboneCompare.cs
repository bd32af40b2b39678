// `compare tagging-resnet`: the ResNet50 AttentionTagger (DESIGN.md model 4) on 3 x 192 x 384 spectrogram images,
// Cochlea vs the PyTorch twin resnet50_tagger of ../shared/reference/models.py, timed as
// ../shared/reference/bench.py's "rfcx" case does: a training step at batch 8 (train-mode forward, BCE with
// logits on targets y * 0.8 + 0.1, backward, Adam 1e-4 step, gradients set to none) and inference at batch 1
// (eval mode, no grad), in ms, at 2 threads (the issue's setting). PyTorch runs in a /usr/bin/python3 subprocess
// that times itself on request; both sides are timed in the same run, alternating step by step, medians after
// one untimed warm-up step each. The anchor needs python3-torch, python3-torchvision and models.py (found at
// ../shared/reference from the repository root, or COCHLEA_REFERENCE).
using System.Diagnostics;
using Cochlea.Kernels.Threading;
using Cochlea.Models.Tagging;
using Cochlea.Optim;

namespace Cochlea.Bench.Compare;

public sealed class TaggerBackboneCompare : ICompareSuite
{
    public string Name => "tagging-resnet";
    public string Description => "ResNet50 AttentionTagger train step b8 / inference b1 on 3x192x384 vs PyTorch resnet50_tagger, ms";

    const int Threads = 2, H = 192, W = 384, Classes = 24;

    public IEnumerable<CompareResult> Run()
    {
        using var torch = ReferenceBench.Start("compare tagging-resnet");
        yield return Measure(train: true, batch: 8, torch, minSteps: 5, seconds: 60);
        yield return Measure(train: false, batch: 1, torch, minSteps: 15, seconds: 20);
    }

    static CompareResult Measure(bool train, int batch, PythonAnchor? torch, int minSteps, double seconds)
    {
        string label = $"resnet50 tagger {(train ? "train step" : "inference")} b{batch} 3x{H}x{W}";
        int saved = KernelThreads.Count;
        KernelThreads.Count = Threads;
        using var model = AttentionTagger.Create(TaggerBackbone.ResNet50, Classes, seed: 1);
        var opt = new Adam(model.Parameters(), lr: 1e-4f);
        var rng = new Random(batch);
        using var x = Tensor.Randn(rng, 1f, batch, 3, H, W).Keep();
        var y = new float[batch * Classes];
        for (int i = 0; i < y.Length; i++) y[i] = rng.Next(2);
        using var targets = Tensor.FromArray(y, batch, Classes).Keep();
        try
        {
            void Ours() => ModelStep.Run(model, opt, train, x, logits => Loss.BinaryCrossEntropyWithLogits(logits, targets, 0.2f));   // targets y * 0.8 + 0.1
            bool anchored = torch is not null && torch.Setup($"rfcx {(train ? "train" : "infer")} {batch} {Threads}");
            var ours = new List<double>();
            var anchor = new List<double>();
            Ours();
            if (anchored) torch!.RunOnce();
            var total = Stopwatch.StartNew();
            while (ours.Count < 51 && (ours.Count < minSteps || total.Elapsed.TotalSeconds < seconds))
            {
                long t0 = Stopwatch.GetTimestamp();
                Ours();
                ours.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                if (anchored) anchor.Add(torch!.RunOnce() * 1e3);
            }
            return new CompareResult(label, Threads, Timing.Median(ours), anchored ? Timing.Median(anchor) : null, "ms",
                anchored ? $"torch {torch!.Version} float32 CPU, bench.py rfcx (resnet50_tagger)" : MissingName, false);
        }
        finally
        {
            KernelThreads.Count = saved;
            opt.ZeroGrad();
        }
    }

    const string MissingName = "torch resnet50_tagger (not available: python3-torch, python3-torchvision and ../shared/reference/models.py)";
}
