// `compare deepspeech`: one DeepSpeech training step on CPU (zero_grad + forward of (T=200, B=8, 494) +
// CTC on the logits with 40 random labels per sequence, blank 28, mean + backward + Adam step), and
// inference at batch 1 for information, Cochlea vs PyTorch, 2 threads each, in ms per step. The PyTorch
// side IS ../shared/reference/bench.py: the subprocess imports it (and models.py beside it) and runs its
// input maker and loss_of, timing each step itself, so the two sides alternate step by step in one run.
// A 2048-wide step takes tens of seconds, hence few steps: 1 warm-up and 3 (2048) or 5 (512) timed each.
// COCHLEA_DS_CASES=train512,train2048,infer2048 picks cases (default all); COCHLEA_REFERENCE is the folder
// holding bench.py and models.py (default: the repository's sibling ../shared/reference).
using System.Diagnostics;
using Cochlea.Kernels.Threading;
using Cochlea.Models.Speech;
using Cochlea.Optim;

namespace Cochlea.Bench.Compare;

public sealed class DeepSpeechCompare : ICompareSuite
{
    public string Name => "deepspeech";
    public string Description => "DeepSpeech train step (T=200, B=8) and batch-1 inference vs PyTorch (bench.py), ms, 2 threads";

    const int Threads = 2, T = 200, Features = 494, Labels = 40, Blank = 28;

    /// <summary>Key (for COCHLEA_DS_CASES), mode, n_hidden, batch, warm-up and timed steps per side.</summary>
    static readonly (string Key, string Mode, int Hidden, int Batch, int Warmup, int Steps)[] Cases =
    [
        ("train512", "train", 512, 8, 1, 5),
        ("train2048", "train", 2048, 8, 1, 3),
        ("infer2048", "infer", 2048, 1, 1, 5),
    ];

    const string Script = """
        import sys, time
        try:
            sys.path.insert(0, sys.argv[1])
            import torch
            import bench as R          # ../shared/reference/bench.py, which imports models.py beside it
        except Exception as e:
            print("notorch", repr(e), flush=True); sys.exit(0)
        print("ok", torch.__version__, flush=True)
        st = {}
        for line in sys.stdin:
            w = line.split()
            if not w: continue
            if w[0] == "setup":
                st.clear()
                mode, nh, b, n = w[1], int(w[2]), int(w[3]), int(w[4])
                torch.set_num_threads(n)
                torch.manual_seed(0)
                model = R.M.DeepSpeech(n_hidden=nh)
                st.update(mode=mode, model=model, x=R._ds_input(b), opt=torch.optim.Adam(model.parameters(), lr=1e-4))
                print("ready", torch.get_num_threads(), flush=True)
            elif w[0] == "run":
                model, x, opt = st["model"], st["x"], st["opt"]
                t0 = time.perf_counter()
                if st["mode"] == "train":   # as bench.time_case
                    model.train()
                    opt.zero_grad(set_to_none=True)
                    loss = R.loss_of("deepspeech", model, x, model(x))
                    loss.backward()
                    opt.step()
                else:
                    model.eval()
                    with torch.no_grad():
                        model(x)
                print(repr(time.perf_counter() - t0), flush=True)
            elif w[0] == "free":
                st.clear()
                print("freed", flush=True)
            else:
                break
        """;

    public IEnumerable<CompareResult> Run()
    {
        var pick = Environment.GetEnvironmentVariable("COCHLEA_DS_CASES")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string? reference = PythonAnchor.FindReference();
        using var torch = reference is null ? null : PythonAnchor.Start("compare deepspeech", Script, reference);
        string anchorName = torch is not null ? $"torch {torch.Version} reference/bench.py deepspeech, float32 CPU"
            : reference is null ? "torch reference/bench.py (not found: set COCHLEA_REFERENCE to the folder with bench.py and models.py)"
            : "torch reference/bench.py (not available: apt-get install python3-torch)";
        foreach (var c in Cases)
            if (pick is null || pick.Contains(c.Key))
                yield return Measure(c.Mode, c.Hidden, c.Batch, c.Warmup, c.Steps, torch, anchorName);
    }

    static CompareResult Measure(string mode, int hidden, int batch, int warmup, int steps, PythonAnchor? torch, string anchorName)
    {
        int saved = KernelThreads.Count;
        KernelThreads.Count = Threads;
        var model = new DeepSpeech(nHidden: hidden);
        var opt = new Adam(model.Parameters(), lr: 1e-4f);
        var rng = new Random(0);
        var x = Tensor.Randn(rng, 1f, T, batch, Features).Keep();
        int[] inputLengths = Enumerable.Repeat(T, batch).ToArray(), targetLengths = Enumerable.Repeat(Labels, batch).ToArray();
        var labels = new long[batch * Labels];
        try
        {
            void Ours() => ModelStep.Run(model, opt, mode == "train", x, logits =>
            {
                for (int i = 0; i < labels.Length; i++) labels[i] = rng.Next(0, Blank);
                return Ops.Mean(Loss.CtcFromLogits(logits, Tensor.FromArray(labels, batch, Labels), inputLengths, targetLengths, Blank, "none"));
            });
            bool anchored = torch is not null && torch.Setup($"{mode} {hidden} {batch} {Threads}");
            // Alternating step by step: drift on this shared machine hits both sides alike.
            var ours = new List<double>(); var theirs = new List<double>();
            for (int i = 0; i < warmup + steps; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                Ours();
                double o = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                double a = anchored ? torch!.RunOnce() : 0;
                if (i < warmup) continue;
                ours.Add(o); theirs.Add(a);
            }
            if (anchored) torch!.Ask("free");   // the torch model goes before ours grows the next one
            return new CompareResult($"deepspeech {mode} n_hidden={hidden} T={T} B={batch}", Threads, Timing.Median(ours) * 1e3,
                anchored ? Timing.Median(theirs) * 1e3 : null, "ms", anchorName, false);
        }
        finally
        {
            KernelThreads.Count = saved;
            opt.Dispose();
            x.Dispose();
            foreach (var p in model.Parameters()) p.Dispose();
        }
    }

}
