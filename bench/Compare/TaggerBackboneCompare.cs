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
        using var torch = StartTorch();
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
            void Ours()
            {
                using var step = Tensor.Scope();
                if (train)
                {
                    model.Train();
                    opt.ZeroGrad();
                    var loss = Loss.BinaryCrossEntropyWithLogits(model.Forward(x), targets, 0.2f);   // targets y * 0.8 + 0.1
                    loss.Backward();
                    opt.Step();
                }
                else
                {
                    model.Eval();
                    using var ng = Tensor.NoGrad();
                    model.Forward(x);
                }
            }
            bool anchored = torch is not null && torch.Setup($"{(train ? "train" : "infer")} {batch} {Threads}");
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
                anchored ? $"torch {torch!.Version} resnet50_tagger (models.py), float32 CPU" : MissingName, false);
        }
        finally
        {
            KernelThreads.Count = saved;
            opt.ZeroGrad();
        }
    }

    const string MissingName = "torch resnet50_tagger (not available: python3-torch, python3-torchvision and ../shared/reference/models.py)";

    // The anchor: models.py's resnet50_tagger stepped as bench.py's "rfcx" case (see the file header).
    const string Script = """
        import os, sys, time
        try:
            import torch, torch.nn.functional as F
            sys.path.insert(0, sys.argv[1])
            import models as M
            import torchvision  # noqa: F401  (resnet50_tagger builds torchvision's resnet50)
        except Exception as e:
            print("notorch", repr(e), flush=True); sys.exit(0)
        print("ok", torch.__version__, flush=True)
        s = {}
        def step():
            m, x = s["model"], s["x"]
            t0 = time.perf_counter()
            if s["train"]:
                m.train()
                s["opt"].zero_grad(set_to_none=True)
                loss = F.binary_cross_entropy_with_logits(m(x), s["y"] * 0.8 + 0.1)
                loss.backward()
                s["opt"].step()
            else:
                m.eval()
                with torch.no_grad():
                    m(x)
            return time.perf_counter() - t0
        for line in sys.stdin:
            w = line.split()
            if not w: continue
            if w[0] == "setup":
                train, b, n = w[1] == "train", int(w[2]), int(w[3])
                torch.set_num_threads(n)
                torch.manual_seed(b)
                s["train"] = train
                s["model"] = M.resnet50_tagger()
                s["opt"] = torch.optim.Adam(s["model"].parameters(), lr=1e-4)
                s["x"] = torch.randn(b, 3, 192, 384)
                s["y"] = torch.randint(0, 2, (b, 24)).float()
                print("ready", torch.get_num_threads(), flush=True)
            elif w[0] == "run":
                print(repr(step()), flush=True)
            else:
                break
        """;

    static PythonAnchor? StartTorch()
    {
        string? reference = PythonAnchor.FindReference();
        if (reference is null)
        {
            Console.Error.WriteLine("compare tagging-resnet: ../shared/reference/models.py not found (set COCHLEA_REFERENCE); no anchor.");
            return null;
        }
        return PythonAnchor.Start("tagging-resnet", Script, reference);
    }
}
