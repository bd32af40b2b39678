// `compare tagging`: the audio-tagging models of issue 8 side by side with ../shared/reference/bench.py, in ms per step at
// 2 threads (CPU). A training step is forward + cross-entropy on random labels + backward + Adam(lr 1e-4) step, in train
// mode; inference is a forward in eval mode without gradients - exactly bench.py's time_case. PyTorch runs in a
// python3 subprocess (Debian's /usr/bin/python3 with python3-torch) that imports the reference's bench.py and models.py
// and times itself on request, so both sides are timed in the same run, alternating step by step (drift on this shared
// machine hits both alike), and only the step is timed, not the pipe.
// The reference is found at $COCHLEA_REFERENCE, else <repo>/../shared/reference (the repo: the folder holding Cochlea.sln
// above the working directory or the binary).
using System.Diagnostics;
using System.Globalization;
using Cochlea.Kernels.Threading;
using Cochlea.Models.Tagging;
using Cochlea.Nn;
using Cochlea.Optim;

namespace Cochlea.Bench.Compare;

public sealed class TaggingCompare : ICompareSuite
{
    public string Name => "tagging";
    public string Description => "FreesoundCnn (and the species taggers) train step / inference vs PyTorch, bench.py's cases, ms";

    const int Threads = 2;

    /// <summary>One bench.py case: its name in bench.py's CASES, the mode, the batch, and Cochlea's model and input.</summary>
    sealed record Case(string BenchName, string Mode, int Batch, Func<Module> Model, Func<Random, int, Tensor> Input, string Label);

    static readonly Case[] Cases =
    [
        new("freesound", "train", 32, () => new FreesoundCnn(), (r, b) => Tensor.Randn(r, 1f, b, 8000), "FreesoundCnn train step b32 (32, 8000)"),
        new("freesound", "infer", 1, () => new FreesoundCnn(), (r, b) => Tensor.Randn(r, 1f, b, 8000), "FreesoundCnn inference b1 (1, 8000)"),
        // The species tagger goes here (issue 8): bench.py's "rfcx" case is the ResNet50 AttentionTagger on (B, 3, 192, 384),
        // train b8 with BCE on smoothed random targets (loss_of's "rfcx" branch; add it to Loss below) and inference b1:
        //   new("rfcx", "train", 8, () => <ResNet50 tagger>, (r, b) => Tensor.Randn(r, 1f, b, 3, 192, 384), "ResNet50 tagger train step b8 (8, 3, 192, 384)"),
        //   new("rfcx", "infer", 1, ...),
    ];

    public IEnumerable<CompareResult> Run()
    {
        if (Environment.GetEnvironmentVariable("COCHLEA_TAGGING_PROFILE") == "1") Profile();
        using var torch = ReferenceBench.Start("compare tagging");
        foreach (var c in Cases) yield return Measure(c, torch);
    }

    // bench.py's loss_of for the classification cases: cross-entropy against labels drawn uniformly each step.
    static Tensor Loss(string benchName, Tensor logits, Random rng)
    {
        var labels = Enumerable.Range(0, logits.Size(0)).Select(_ => (long)rng.Next(logits.Size(1))).ToArray();
        return benchName switch
        {
            "freesound" => Cochlea.Loss.CrossEntropy(logits, Tensor.FromArray(labels, labels.Length)),
            _ => throw new NotSupportedException($"compare tagging: no loss for bench case '{benchName}'."),
        };
    }

    static CompareResult Measure(Case c, PythonAnchor? torch)
    {
        int saved = KernelThreads.Count;
        KernelThreads.Count = Threads;
        var rng = new Random(c.Batch * 31 + c.Mode.Length);
        using var model = c.Model();
        using var x = c.Input(rng, c.Batch).Keep();
        using var opt = new Adam(model.Parameters(), 1e-4f);
        try
        {
            void Ours() => ModelStep.Run(model, opt, c.Mode == "train", x, logits => Loss(c.BenchName, logits, rng));
            bool anchored = torch is not null && torch.Setup(string.Create(CultureInfo.InvariantCulture, $"{c.BenchName} {c.Mode} {c.Batch} {Threads}"));
            var ours = new List<double>();
            var anchor = new List<double>();
            for (int i = 0; i < 2; i++) { Ours(); if (anchored) torch!.RunOnce(); }   // bench.py's --warmup 2
            var total = Stopwatch.StartNew();
            double budget = c.Mode == "train" ? 20.0 : 5.0;
            while (ours.Count < 101 && (ours.Count < 7 || total.Elapsed.TotalSeconds < budget))
            {
                long t0 = Stopwatch.GetTimestamp();
                Ours();
                ours.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                if (anchored) anchor.Add(torch!.RunOnce() * 1e3);
            }
            return new CompareResult(c.Label, Threads, Timing.Median(ours), anchored ? Timing.Median(anchor) : null, "ms",
                anchored ? $"torch {torch!.Version} float32 CPU, bench.py {c.BenchName} {c.Mode}" : MissingName, false);
        }
        finally
        {
            KernelThreads.Count = saved;
        }
    }

    // COCHLEA_TAGGING_PROFILE=1: where a FreesoundCnn b32 training step goes (medians of 5, ms, on stderr).
    static void Profile()
    {
        int saved = KernelThreads.Count;
        KernelThreads.Count = Threads;
        using var model = new FreesoundCnn();
        using var x = Tensor.Randn(new Random(1), 1f, 32, 8000).Keep();
        model.Train();
        double T(Action a)
        {
            var xs = new List<double>();
            for (int i = 0; i < 6; i++) { long t0 = Stopwatch.GetTimestamp(); a(); if (i > 0) xs.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds); }
            return Timing.Median(xs);
        }
        double features = T(() => { using var s = Tensor.Scope(); using var ng = Tensor.NoGrad(); model.Features(x); });
        double forward = T(() => { using var s = Tensor.Scope(); model.Forward(x); });
        double both = T(() => { using var s = Tensor.Scope(); var l = Ops.Sum(model.Forward(x)); l.Backward(); model.ZeroGrad(); });
        var h = Tensor.Randn(new Random(2), 1f, 32, 16, 24, 128).Keep();
        var w = Tensor.Randn(new Random(3), 0.1f, 32, 16, 3, 11).Keep();
        double conv2 = T(() => { using var s = Tensor.Scope(); using var ng = Tensor.NoGrad(); Ops.Conv2d(h, w, padding: ConvPadding.Symmetric(1, 5)); });
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"profile FreesoundCnn b32: features {features:F1} ms, train forward {forward:F1} ms, forward+backward {both:F1} ms; conv2 forward alone {conv2:F1} ms (1.66 GMAC: {2 * 1.66e9 / conv2 / 1e6:F0} GFLOP/s)"));
        h.Dispose(); w.Dispose();
        ProfileLayers(T);
        ProfileInference();
        KernelThreads.Count = saved;
    }

    // Each stage of the three conv blocks at b32 in train mode, forward and forward+backward (the backward of the stage
    // alone is the difference), on inputs of the model's shapes.
    static void ProfileLayers(Func<Action, double> time)
    {
        var rng = new Random(4);
        int[] chans = [2, .. FreesoundCnn.Channels];
        (int H, int W)[] sizes = [(48, 257), (24, 128), (12, 64)];
        var parts = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            using var x = Tensor.Randn(rng, 1f, 32, chans[i], sizes[i].H, sizes[i].W).Keep();
            using var conv = new Conv2d(chans[i], chans[i + 1], (3, 11), padding: ConvPadding.Symmetric(1, 5), bias: false, rng: rng);
            using var bn = new BatchNorm2d(chans[i + 1], eps: 1e-3f, momentum: 1e-3f);
            using var drop = new Dropout(0.1f, new Philox(1));
            using var y = Tensor.Randn(rng, 1f, 32, chans[i + 1], sizes[i].H, sizes[i].W).Keep();
            x.RequiresGrad = i > 0; y.RequiresGrad = true;   // the model's first conv input (features) needs no gradient
            conv.Train(); bn.Train(); drop.Train();
            string Stage(string name, Func<Tensor> f)
            {
                double fw = time(() => { using var s = Tensor.Scope(); f(); });
                double fb = time(() =>
                {
                    using var s = Tensor.Scope();
                    var o = f();
                    if (o.RequiresGrad) Ops.Sum(o).Backward();   // block 1's dropout has nothing to differentiate
                    x.Grad = null; y.Grad = null; conv.ZeroGrad(); bn.ZeroGrad();
                });
                return string.Create(CultureInfo.InvariantCulture, $"{name} {fw:F1}/{fb:F1}");
            }
            parts.Add($"block {i + 1}: " + string.Join(", ", Stage("dropout", () => drop.Forward(x)), Stage("conv", () => conv.Forward(x)),
                Stage("bn", () => bn.Forward(y)), Stage("relu", () => Ops.Relu(y)), Stage("maxpool", () => Ops.MaxPool2d(y, (2, 2)))));
        }
        Console.Error.WriteLine("profile stages (ms, forward/forward+backward): " + string.Join("; ", parts));
    }

    // Batch-1 inference (eval, no gradients) stage by stage; fastest of 40 runs (a busy machine only ever adds time).
    static void ProfileInference()
    {
        using var model = new FreesoundCnn();
        model.Eval();
        using var ng = Tensor.NoGrad();
        using var wav = Tensor.Randn(new Random(5), 1f, 1, 8000).Keep();
        double Min(Action a)
        {
            double best = double.MaxValue;
            for (int i = 0; i < 40; i++) { long t0 = Stopwatch.GetTimestamp(); a(); best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalMilliseconds); }
            return best;
        }
        var rng = new Random(6);
        int[] chans = [2, .. FreesoundCnn.Channels];
        (int H, int W)[] sizes = [(48, 257), (24, 128), (12, 64)];
        var parts = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture, $"whole {Min(() => { using var s = Tensor.Scope(); model.Forward(wav); }):F2}"),
            string.Create(CultureInfo.InvariantCulture, $"features {Min(() => { using var s = Tensor.Scope(); model.Features(wav); }):F2}"),
        };
        for (int i = 0; i < 3; i++)
        {
            using var x = Tensor.Randn(rng, 1f, 1, chans[i], sizes[i].H, sizes[i].W).Keep();
            using var y = Tensor.Randn(rng, 1f, 1, chans[i + 1], sizes[i].H, sizes[i].W).Keep();
            using var conv = new Conv2d(chans[i], chans[i + 1], (3, 11), padding: ConvPadding.Symmetric(1, 5), bias: false, rng: rng);
            using var bn = new BatchNorm2d(chans[i + 1], eps: 1e-3f, momentum: 1e-3f);
            bn.Eval();
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"block {i + 1}: conv {Min(() => { using var s = Tensor.Scope(); conv.Forward(x); }):F2}, "
                + $"bn {Min(() => { using var s = Tensor.Scope(); bn.Forward(y); }):F2}, relu {Min(() => { using var s = Tensor.Scope(); Ops.Relu(y); }):F2}, "
                + $"maxpool {Min(() => { using var s = Tensor.Scope(); Ops.MaxPool2d(y, (2, 2)); }):F2}"));
        }
        Console.Error.WriteLine("profile inference b1 (ms, fastest of 40): " + string.Join("; ", parts));
    }

    // The anchor: a python3 + torch process that imports bench.py and answers "setup NAME MODE BATCH THREADS" and "run".
    public const string MissingName = "torch reference bench.py (not available: apt-get install python3-torch, and ../shared/reference)";
}
