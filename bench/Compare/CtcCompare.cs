// `compare ctc`: CTC loss forward + backward on CPU, Cochlea's Loss.CtcFromLogits (log_softmax fused,
// mean reduction, gradient into the logits) vs PyTorch's F.ctc_loss(log_softmax(x)) + backward, at 1
// and 2 threads, in ms. PyTorch runs in a python3 subprocess (Debian's /usr/bin/python3 with
// python3-torch) that times itself on request, so both sides are timed in the same run, alternating
// call by call (drift on this shared machine hits both alike), and only the op is timed, not the pipe.
using System.Diagnostics;
using System.Globalization;
using Cochlea.Kernels.Threading;

namespace Cochlea.Bench.Compare;

public sealed class CtcCompare : ICompareSuite
{
    public string Name => "ctc";
    public string Description => "CTC loss fwd+bwd vs PyTorch F.ctc_loss(log_softmax), ms";

    static readonly (int T, int B, int C, int L)[] Shapes = [(200, 8, 29, 40), (500, 32, 29, 100)];

    public IEnumerable<CompareResult> Run()
    {
        using var torch = TorchAnchor.Start();
        foreach (var (T, B, C, L) in Shapes)
            foreach (int threads in new[] { 1, 2 })
                yield return Measure(T, B, C, L, threads, torch);
    }

    static CompareResult Measure(int T, int B, int C, int L, int threads, TorchAnchor? torch)
    {
        string label = $"ctc fwd+bwd T={T} B={B} C={C} L={L}";
        var rng = new Random(T * 31 + B);
        var logits = Tensor.Randn(rng, 1f, T, B, C).Keep();
        logits.RequiresGrad = true;
        var labels = new long[B * L];
        for (int i = 0; i < labels.Length; i++) labels[i] = rng.Next(1, C);   // blank 0, as torch's default
        var targets = Tensor.FromArray(labels, B, L).Keep();
        int[] inputLengths = Enumerable.Repeat(T, B).ToArray(), targetLengths = Enumerable.Repeat(L, B).ToArray();
        int saved = KernelThreads.Count;
        KernelThreads.Count = threads;
        try
        {
            void Ours()
            {
                using var step = Tensor.Scope();
                var loss = Loss.CtcFromLogits(logits, targets, inputLengths, targetLengths, 0, "mean");
                loss.Backward();
                logits.Grad!.Dispose();
                logits.Grad = null;
            }
            bool anchored = torch is not null && torch.Setup(T, B, C, L, threads);
            var ours = new List<double>();
            var anchor = new List<double>();
            for (int i = 0; i < 2; i++) { Ours(); if (anchored) torch!.RunOnce(); }
            var total = Stopwatch.StartNew();
            while (ours.Count < 51 && (ours.Count < 7 || total.Elapsed.TotalSeconds < 3.0))
            {
                long t0 = Stopwatch.GetTimestamp();
                Ours();
                ours.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                if (anchored) anchor.Add(torch!.RunOnce() * 1e3);
            }
            return new CompareResult(label, threads, Median(ours), anchored ? Median(anchor) : null, "ms",
                anchored ? torch!.Name : TorchAnchor.MissingName, false);
        }
        finally
        {
            KernelThreads.Count = saved;
            logits.Dispose();
            targets.Dispose();
        }
    }

    static double Median(List<double> xs)
    {
        xs.Sort();
        int n = xs.Count;
        return n % 2 == 1 ? xs[n / 2] : 0.5 * (xs[n / 2 - 1] + xs[n / 2]);
    }

    /// <summary>A python3 + torch process answering "setup T B C L threads" and "run" (its own timing of one fwd+bwd, seconds).</summary>
    sealed class TorchAnchor : PythonTimer
    {
        public const string MissingName = "torch F.ctc_loss (not available: apt-get install python3-torch)";
        const string Script = TorchPrelude + """
            print("ok", torch.__version__, flush=True)
            state = {}
            def step():
                x = state["x"]; x.grad = None
                t0 = time.perf_counter()
                loss = F.ctc_loss(x.log_softmax(-1), state["tg"], state["il"], state["tl"], blank=0, reduction="mean")
                loss.backward()
                return time.perf_counter() - t0
            for line in sys.stdin:
                w = line.split()
                if not w: continue
                if w[0] == "setup":
                    T, B, C, L, n = map(int, w[1:])
                    torch.set_num_threads(n)
                    g = torch.Generator().manual_seed(T * 31 + B)
                    state["x"] = torch.randn(T, B, C, generator=g).requires_grad_(True)
                    state["tg"] = torch.randint(1, C, (B, L), generator=g)
                    state["il"] = torch.full((B,), T, dtype=torch.long)
                    state["tl"] = torch.full((B,), L, dtype=torch.long)
                    print("ready", torch.get_num_threads(), flush=True)
                elif w[0] == "run":
                    print(repr(step()), flush=True)
                else:
                    break
            """;

        public string Name { get; }

        TorchAnchor(Process p, string version) : base(p, "compare ctc") { Name = $"torch {version} F.ctc_loss(log_softmax) fwd+bwd, float32 CPU"; }

        /// <summary>The anchor process, or null (with the reason on stderr) when python3 or torch is missing.</summary>
        public static TorchAnchor? Start()
        {
            if (!File.Exists(Python)) { Console.Error.WriteLine($"compare ctc: {Python} not found; no anchor."); return null; }
            var psi = new ProcessStartInfo(Python) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
            psi.ArgumentList.Add("-u");
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(Script);
            // One thread pool per side: torch's OpenMP must not spin on the cores while Cochlea runs.
            psi.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
            var p = Process.Start(psi)!;
            string? first = p.StandardOutput.ReadLine();
            if (first is null || !first.StartsWith("ok ", StringComparison.Ordinal))
            {
                Console.Error.WriteLine($"compare ctc: torch unavailable ({first ?? "no answer"}); no anchor.");
                p.Dispose();
                return null;
            }
            return new TorchAnchor(p, first[3..].Trim());
        }

        public bool Setup(int T, int B, int C, int L, int threads)
        {
            Process.StandardInput.WriteLine($"setup {T} {B} {C} {L} {threads}");
            string? reply = Process.StandardOutput.ReadLine();
            return reply is not null && reply.StartsWith("ready", StringComparison.Ordinal);
        }
    }
}
