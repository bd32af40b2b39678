// `compare runtime`: the frozen-model runtime (Cochlea.Runtime) on WaveKws, batch 1 — one inference of a
// 1 s clip, our one thread (float32 and int8 files) vs PyTorch's eval-mode latency (torch.no_grad, 2
// threads) of the reference WaveKws (../shared/reference/models.py), in ms; then the model file sizes
// (ours float32 and int8 vs torch.save(state_dict)) and our peak working memory (activation arena plus
// weights dequantised or decompressed at load; weights are otherwise mapped from the file), and the load
// time of the compressed float32 file against the raw (memory-mapped) one. PyTorch runs in a python3
// subprocess that times itself on request; both sides are warmed up well and timed alternating.
using System.Diagnostics;
using System.Globalization;
using Cochlea.Models.Kws;
using Cochlea.Runtime;

namespace Cochlea.Bench.Compare;

public sealed class RuntimeCompare : ICompareSuite
{
    public string Name => "runtime";
    public string Description => "WaveKws batch 1: frozen runtime (1 thread) vs PyTorch eval (2 threads), ms; file sizes; peak memory";

    static readonly string[] Labels = ["_silence_", "_unknown_", "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"];
    const int TorchThreads = 2;

    public IEnumerable<CompareResult> Run()
    {
        string dir = Path.Combine(Path.GetTempPath(), "cochlea-compare-runtime-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(dir);
        try
        {
            using var kws = KwsClassifier.Create(KwsModelKind.Wave, Labels, seed: 1);
            string f32 = Path.Combine(dir, "wavekws.cochlea"), i8 = Path.Combine(dir, "wavekws-int8.cochlea");
            string raw = Path.Combine(dir, "wavekws-raw.cochlea");
            KwsExport.Save(kws, f32);
            KwsExport.Save(kws, i8, int8: true);
            KwsExport.Save(kws, raw, compress: false);
            yield return LoadTime(f32, raw);
            using var torch = TorchWaveKws.Start(TorchThreads);
            var clip = new float[KwsClassifier.ClipSamples];
            var rng = new Random(3);
            for (int i = 0; i < clip.Length; i++) clip[i] = (float)(rng.NextDouble() - 0.5);
            string anchorName = torch?.Name ?? TorchWaveKws.MissingName;
            foreach (var (file, what) in new[] { (f32, "float32"), (i8, "int8") })
            {
                using var m = FrozenModel.Load(file, threads: 1);
                var probs = new float[m.OutputLength];
                void Ours() => m.Run(clip, probs);
                // Warm up well: tiered JIT reaches its optimised code and torch its kernels' steady state.
                for (int i = 0; i < 200; i++) Ours();
                for (int i = 0; i < 50 && torch is not null; i++) torch.RunOnce();
                var ours = new List<double>();
                var anchor = new List<double>();
                var total = Stopwatch.StartNew();
                while (ours.Count < 2001 && (ours.Count < 101 || total.Elapsed.TotalSeconds < 4.0))
                {
                    long t0 = Stopwatch.GetTimestamp();
                    Ours();
                    ours.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                    if (torch is not null) anchor.Add(torch.RunOnce() * 1e3);
                }
                yield return new CompareResult($"wavekws b1 latency, runtime {what}, {m.Width}", 1, Timing.Median(ours), torch is null ? null : Timing.Median(anchor),
                    "ms", anchorName, false);
                yield return new CompareResult($"wavekws model file, {what}", 1, m.FileBytes, torch?.StateDictBytes, "bytes",
                    torch is null ? TorchWaveKws.MissingName : "torch.save(state_dict) of the reference WaveKws", false);
                yield return new CompareResult($"wavekws peak working memory, {what}", 1, m.ArenaBytes + m.DequantizedBytes + m.DecodedBytes, null, "bytes",
                    $"arena {m.ArenaBytes} + dequantised weights {m.DequantizedBytes} + decompressed weights {m.DecodedBytes} (mapped file not counted); no torch figure", false);
            }
            foreach (var r in SpectralModels(dir, clip)) yield return r;
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>The frozen DeepSpeechKws and TutorialConv (full size, statistics fitted on one clip): b1 latency on one thread, file size, arena. No anchor.</summary>
    static IEnumerable<CompareResult> SpectralModels(string dir, float[] clip)
    {
        foreach (var kind in new[] { KwsModelKind.DeepSpeech, KwsModelKind.Conv })
        {
            using var kws = KwsClassifier.Create(kind, Labels, seed: 1);
            using (var batch = Cochlea.Tensor.FromArray(clip, 1, clip.Length)) kws.FrontEnd.FitStatistics([batch]);
            foreach (bool int8 in new[] { false, true })
            {
                string file = Path.Combine(dir, $"{kind}-{(int8 ? "int8" : "float32")}.cochlea");
                KwsExport.Save(kws, file, int8);
                using var m = FrozenModel.Load(file, threads: 1);
                var probs = new float[m.OutputLength];
                for (int i = 0; i < 20; i++) m.Run(clip, probs);
                var ours = new List<double>();
                var total = Stopwatch.StartNew();
                while (ours.Count < 21 || (ours.Count < 501 && total.Elapsed.TotalSeconds < 3.0))
                {
                    long t0 = Stopwatch.GetTimestamp();
                    m.Run(clip, probs);
                    ours.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                }
                string name = kind.Name(), what = int8 ? "int8" : "float32";
                yield return new CompareResult($"{name} b1 latency, runtime {what}, {m.Width}", 1, Timing.Median(ours), null, "ms",
                    $"no anchor (the engine's and PyTorch's eval latency of this model: compare kws); file {m.FileBytes} bytes, arena {m.ArenaBytes} bytes", false);
            }
        }
    }

    /// <summary>Median time of FrozenModel.Load + Dispose for the compressed float32 file vs the raw one (alternating, after warm-up), ms.</summary>
    static CompareResult LoadTime(string compressed, string raw)
    {
        double Load(string f) { long t0 = Stopwatch.GetTimestamp(); FrozenModel.Load(f).Dispose(); return Stopwatch.GetElapsedTime(t0).TotalMilliseconds; }
        for (int i = 0; i < 5; i++) { Load(compressed); Load(raw); }
        var ours = new List<double>();
        var anchor = new List<double>();
        for (int i = 0; i < 21; i++) { ours.Add(Load(compressed)); anchor.Add(Load(raw)); }
        return new CompareResult($"wavekws load, float32 compressed ({new FileInfo(compressed).Length} bytes)", 1, Timing.Median(ours), Timing.Median(anchor), "ms",
            $"load of the raw float32 file ({new FileInfo(raw).Length} bytes, memory-mapped, no decoding)", false);
    }

    /// <summary>A python3 + torch process with the reference WaveKws in eval mode answering "run" with its own timing (seconds).</summary>
    sealed class TorchWaveKws(PythonAnchor anchor, string name, long stateDictBytes) : IDisposable
    {
        public const string MissingName = "torch WaveKws (not available: apt-get install python3-torch, and ../shared/reference/models.py)";
        const string Script = """
            import sys, time, io, importlib.util
            try:
                import torch
            except Exception as e:
                print("notorch", repr(e), flush=True); sys.exit(0)
            spec = importlib.util.spec_from_file_location("reference_models", sys.argv[1])
            ref = importlib.util.module_from_spec(spec); spec.loader.exec_module(ref)
            torch.set_num_threads(int(sys.argv[2]))
            torch.manual_seed(0)
            net = ref.WaveKws(12).eval()
            x = torch.randn(1, 16000)
            buf = io.BytesIO(); torch.save(net.state_dict(), buf)
            print("ok", torch.__version__, torch.get_num_threads(), buf.getbuffer().nbytes, flush=True)
            for line in sys.stdin:
                if line.strip() != "run": break
                with torch.no_grad():
                    t0 = time.perf_counter(); net(x); dt = time.perf_counter() - t0
                print(repr(dt), flush=True)
            """;

        public string Name { get; } = name;
        public long StateDictBytes { get; } = stateDictBytes;

        public double RunOnce() => anchor.RunOnce();

        public void Dispose() => anchor.Dispose();

        public static TorchWaveKws? Start(int threads)
        {
            string? dir = PythonAnchor.FindReference();
            if (dir is null) { Console.Error.WriteLine("compare runtime: ../shared/reference/models.py not found (set COCHLEA_REFERENCE); no anchor."); return null; }
            var p = PythonAnchor.Start("compare runtime", Script, Path.Combine(dir, "models.py"), threads.ToString(CultureInfo.InvariantCulture));
            if (p is null) return null;
            var w = p.Version.Split(' ');   // version, threads, state_dict bytes
            return new TorchWaveKws(p, $"torch {w[0]} reference WaveKws eval, no_grad, batch 1, {w[1]} threads", long.Parse(w[2], CultureInfo.InvariantCulture));
        }
    }
}
