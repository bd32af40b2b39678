// `compare features`: log-mel and MFCC of 1 s of 16 kHz audio, Cochlea's kernels vs torchaudio, one
// thread each, at batch 1 and 64, in clips per second. torchaudio runs in a persistent /usr/bin/python3
// subprocess (torch.set_num_threads(1), OpenBLAS held to one thread) that times each call itself with perf_counter, so the pipe's
// round trip is not charged to it; the two sides alternate call by call and medians are reported.
using System.Diagnostics;
using System.Globalization;
using Cochlea.Kernels.Audio;

namespace Cochlea.Bench.Compare;

public sealed class FeaturesCompare : ICompareSuite
{
    public string Name => "features";
    public string Description => "log-mel / MFCC of 1 s at 16 kHz vs torchaudio, clips/s, 1 thread";

    const int SampleRate = 16000, Samples = 16000;
    const double WarmupSeconds = 0.5;

    /// <summary>Cases: label, Python expression building the torchaudio module, and our kernel.</summary>
    static (string Label, string Torch, Func<IFeatureKernel> Ours)[] Cases() =>
    [
        ("logmel n_fft512 hop160 64 mels dB", "torch.nn.Sequential(torchaudio.transforms.MelSpectrogram(16000, n_fft=512, hop_length=160, n_mels=64), torchaudio.transforms.AmplitudeToDB('power', top_db=80.0))",
            () => new MelKernelAdapter(new MelSpectrogramKernel(StftSpec.Torch(512, 160), MelFilterbank.Create(257, SampleRate, 64), 2f, LogCompression.AmplitudeToDb(true, 80f)))),
        ("logmel n_fft400 hop160 40 mels dB", "torch.nn.Sequential(torchaudio.transforms.MelSpectrogram(16000, n_fft=400, hop_length=160, n_mels=40), torchaudio.transforms.AmplitudeToDB('power', top_db=80.0))",
            () => new MelKernelAdapter(new MelSpectrogramKernel(StftSpec.Torch(400, 160), MelFilterbank.Create(201, SampleRate, 40), 2f, LogCompression.AmplitudeToDb(true, 80f)))),
        ("mfcc n_fft400 hop160 40 mels 40 coefs", "torchaudio.transforms.MFCC(16000, n_mfcc=40, melkwargs=dict(n_fft=400, hop_length=160, n_mels=40))",
            () => new MfccKernelAdapter(new MfccKernel(StftSpec.Torch(400, 160), MelFilterbank.Create(201, SampleRate, 40), 40, LogCompression.AmplitudeToDb(true, 80f)))),
        ("mfcc n_fft512 hop160 64 mels 40 coefs", "torchaudio.transforms.MFCC(16000, n_mfcc=40, melkwargs=dict(n_fft=512, hop_length=160, n_mels=64))",
            () => new MfccKernelAdapter(new MfccKernel(StftSpec.Torch(512, 160), MelFilterbank.Create(257, SampleRate, 64), 40, LogCompression.AmplitudeToDb(true, 80f)))),
    ];

    interface IFeatureKernel
    {
        int Row { get; }
        int Frames(int n);
        void Run(float[] x, int batch, float[] y);
    }

    sealed class MelKernelAdapter(MelSpectrogramKernel k) : IFeatureKernel
    {
        public int Row => k.RowFloats;
        public int Frames(int n) => k.FrameCount(n);
        public void Run(float[] x, int batch, float[] y) => k.Run(x, batch, y, threads: 1);
    }

    sealed class MfccKernelAdapter(MfccKernel k) : IFeatureKernel
    {
        public int Row => k.Coefficients;
        public int Frames(int n) => k.FrameCount(n);
        public void Run(float[] x, int batch, float[] y) => k.Run(x, batch, y, threads: 1);
    }

    public IEnumerable<CompareResult> Run()
    {
        using var py = TorchAudio.Start(Cases().Select(c => c.Torch).ToArray());
        string anchorName = py is null ? TorchAudio.MissingReason : $"torchaudio {py.Version} (torch {py.TorchVersion}), 1 thread";
        var cases = Cases();
        for (int ci = 0; ci < cases.Length; ci++)
            foreach (int batch in new[] { 1, 64 })
                yield return Measure(ci, cases[ci].Label, cases[ci].Ours(), batch, py, anchorName);
    }

    static CompareResult Measure(int ci, string label, IFeatureKernel k, int batch, TorchAudio? py, string anchorName)
    {
        var rng = new Random(7);
        var x = new float[batch * Samples];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1) * 0.5f;
        var y = new float[batch * k.Frames(Samples) * k.Row];
        // Warm up both (plan and workspace creation, torch's first-call costs) for at least WarmupSeconds each: the JIT's
        // tier-1 code replaces the first tiers on a background thread only after ~30 calls and a 100 ms quiet spell, and
        // 20 calls (what this did before) left the first case calibrating and timing partly unoptimised code.
        var warm = Stopwatch.StartNew();
        for (int i = 0; i < 20 || warm.Elapsed.TotalSeconds < WarmupSeconds; i++) k.Run(x, batch, y);
        warm.Restart();
        for (int i = 0; py is not null && (i < 3 || warm.Elapsed.TotalSeconds < WarmupSeconds); i++) py.Time(ci, batch);
        // Turns of about equal wall time: each turn begins with caches the other process just used, and with a fixed
        // call count the faster side's short turn would carry that cold start over fewer calls (at batch 1 our 10 calls
        // take ~0.25 ms, the first of them 2-3x a warm one; torchaudio's 10 take ~3 ms).
        int anchorInner = batch == 1 ? 10 : 1;
        int inner = anchorInner;
        if (py is not null)
        {
            long c0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < anchorInner; i++) k.Run(x, batch, y);
            double perCall = Stopwatch.GetElapsedTime(c0).TotalSeconds / anchorInner;
            double anchorPerCall = py.Time(ci, batch, anchorInner);
            inner = (int)Math.Clamp(Math.Round(anchorInner * anchorPerCall / perCall), anchorInner, 50 * anchorInner);
        }
        var ours = new List<double>(); var anchor = new List<double>();
        var total = Stopwatch.StartNew();
        double budget = batch == 1 ? 2.0 : 4.0;
        while (ours.Count < 7 || (total.Elapsed.TotalSeconds < budget && ours.Count < 401))
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < inner; i++) k.Run(x, batch, y);
            ours.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds / inner);
            if (py is not null) anchor.Add(py.Time(ci, batch, anchorInner));
        }
        // COCHLEA_BENCH_TURNS=1: both sides' per-turn spread on stderr, to tell the VM's drift from a real change.
        if (Environment.GetEnvironmentVariable("COCHLEA_BENCH_TURNS") == "1")
            Console.Error.WriteLine(FormattableString.Invariant($"{label} batch {batch}: {ours.Count} turns of {inner} calls; us per call ours {Spread(ours)} | torchaudio {Spread(anchor)}"));
        double o = batch / Timing.Median(ours);
        double? a = py is null ? null : batch / Timing.Median(anchor);
        return new CompareResult($"{label} (1 s @16 kHz) batch {batch}", 1, o, a, "clips/s", anchorName, true);
    }

    static string Spread(List<double> xs)
    {
        if (xs.Count == 0) return "-";
        var s = xs.Order().ToList();
        return FormattableString.Invariant($"min {s[0] * 1e6:F1} p25 {s[s.Count / 4] * 1e6:F1} median {s[s.Count / 2] * 1e6:F1}");
    }

    /// <summary>A /usr/bin/python3 process holding the torchaudio modules; each request returns the seconds one call took (its own clock).</summary>
    sealed class TorchAudio : IDisposable
    {
        readonly Process _p;
        public string Version = "", TorchVersion = "";
        public static string MissingReason = "torchaudio (not installed: apt-get install python3-torchaudio)";

        TorchAudio(Process p) => _p = p;

        const string Script = """
import sys, time
try:
    import torch, torchaudio
except Exception as e:
    print("ERR " + repr(e), flush=True); sys.exit(0)
torch.set_num_threads(1)
mods = [eval(line) for line in sys.argv[1:]]
inputs = {}
print("OK", torchaudio.__version__, torch.__version__, flush=True)
with torch.inference_mode():
    for line in sys.stdin:
        ci, b, reps = map(int, line.split())
        x = inputs.get(b)
        if x is None:
            g = torch.Generator().manual_seed(7)
            x = inputs[b] = (torch.rand(b, 16000, generator=g) * 2 - 1) * 0.5
        m = mods[ci]
        t0 = time.perf_counter()
        for _ in range(reps):
            m(x)
        print((time.perf_counter() - t0) / reps, flush=True)
""";

        public static TorchAudio? Start(string[] modules)
        {
            if (!File.Exists("/usr/bin/python3")) { MissingReason = "torchaudio (no /usr/bin/python3)"; return null; }
            var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add("-c"); psi.ArgumentList.Add(Script);
            foreach (var m in modules) psi.ArgumentList.Add(m);
            // torch.set_num_threads(1) covers torch's OpenMP pool but not OpenBLAS's (Debian's torch calls it for the mel
            // matmul): without these, OpenBLAS keeps a second worker spinning on the other core, through our turns too.
            SetDefault(psi, "OPENBLAS_NUM_THREADS", "1");
            SetDefault(psi, "OMP_NUM_THREADS", "1");
            SetDefault(psi, "OMP_WAIT_POLICY", "PASSIVE");
            SetDefault(psi, "OPENBLAS_CORETYPE", "SkylakeX"); // as `compare gemm`: OpenBLAS's detection may pick its SSE3 kernels
            var p = Process.Start(psi)!;
            p.ErrorDataReceived += (_, _) => { };
            p.BeginErrorReadLine();
            var first = p.StandardOutput.ReadLine();
            if (first is null || !first.StartsWith("OK", StringComparison.Ordinal))
            {
                MissingReason = $"torchaudio (not usable: {first ?? "python3 exited"}; apt-get install python3-torchaudio)";
                try { p.Kill(); } catch (InvalidOperationException) { }
                p.Dispose();
                return null;
            }
            var parts = first.Split(' ');
            return new TorchAudio(p) { Version = parts[1], TorchVersion = parts[2] };
        }

        /// <summary>Sets <paramref name="name"/> in the child's environment unless the user set it.</summary>
        static void SetDefault(ProcessStartInfo psi, string name, string value)
        {
            if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(name))) psi.Environment[name] = value;
        }

        /// <summary>Seconds per call of module <paramref name="ci"/> on a (batch, 16000) input, averaged over <paramref name="reps"/> calls.</summary>
        public double Time(int ci, int batch, int reps = 1)
        {
            _p.StandardInput.WriteLine($"{ci} {batch} {reps}");
            _p.StandardInput.Flush();
            var line = _p.StandardOutput.ReadLine() ?? throw new InvalidOperationException("torchaudio subprocess exited");
            return double.Parse(line, CultureInfo.InvariantCulture);
        }

        public void Dispose()
        {
            try { _p.StandardInput.Close(); if (!_p.WaitForExit(5000)) _p.Kill(); } catch (InvalidOperationException) { }
            _p.Dispose();
        }
    }
}
