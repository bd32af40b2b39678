// Kernel lab for the feature front end (DESIGN.md's "kernel lab"): `lab features [n_fft] [mels] [batch] [cold]`
// times the log-mel and MFCC kernels of `compare features` and, separately, the
// real FFT with the power fused in, at each SIMD width, one thread, the variants interleaved round by round (a new shuffled
// order each round) so they see the same machine load; best and quartiles (meaningful on a busy shared machine). `cold` writes 1 MiB
// between samples (as torchaudio's turn in `compare` does to the caches); `loop [seconds] [mfcc]` instead spins one
// kernel for `perf record` (DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0). A/B variants: "packed" (the STFT
// without the fused first FFT stage), "mfcc row-major mel" (MFCC's former two passes), and the packing alone
// (PackStrided, TransposeHops); `coldcost` times 10-call samples after 8 MiB of writes, as `compare` samples batch 1;
// `wakeprofile [spin|vspin] [mfcc]` times each of 10 calls after a 2 ms idle gap (see WakeProfile); `parts` times the log-mel
// against itself without the top_db pass and without the log (what those cost); `pairs` the log-mel against itself with one
// multiply-add chain per mel instead of the pairwise walk (MelPairSchedule).
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Cochlea.Kernels;
using Cochlea.Kernels.Audio;
using Cochlea.Kernels.Numerics;

namespace Cochlea.Bench.Lab;

public static unsafe class FeaturesLab
{
    public static int Run(string[] args)
    {
        int At(int i, int d) => args.Length > i && char.IsDigit(args[i][0]) ? int.Parse(args[i], CultureInfo.InvariantCulture) : d;
        int nfft = At(0, 400), mels = At(1, 40), batch = At(2, 1);
        const int sr = 16000, n = 16000;
        var x = new float[batch * n];
        var rng = new Random(7);
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1) * 0.5f;
        var spec = StftSpec.Torch(nfft, 160);
        var bank = MelFilterbank.Create(nfft / 2 + 1, sr, mels);
        var mel = new MelSpectrogramKernel(spec, bank, 2f, LogCompression.AmplitudeToDb(true, 80f));
        // Parts of the log-mel's cost (`parts`): without the per-clip top_db pass, without the log.
        var melNoTop = new MelSpectrogramKernel(spec, bank, 2f, LogCompression.AmplitudeToDb(true, null));
        var melPlain = new MelSpectrogramKernel(spec, bank, 2f);
        // `pairs`: the filterbank product by the pairwise walk (the default) against one dependent chain per mel.
        var melChain = new MelSpectrogramKernel(spec, bank, 2f, LogCompression.AmplitudeToDb(true, 80f), 1f, appendEnergy: false, pairSchedule: false);
        var mfcc = new MfccKernel(spec, bank, 40, LogCompression.AmplitudeToDb(true, 80f));
        // The same kernels on the packed input path (no fused first FFT stage), for the side-by-side A/B.
        var packedSpec = StftSpec.Torch(nfft, 160);
        packedSpec.KeepPackedInput();
        var melPacked = new MelSpectrogramKernel(packedSpec, bank, 2f, LogCompression.AmplitudeToDb(true, 80f));
        var mfccPacked = new MfccKernel(packedSpec, bank, 40, LogCompression.AmplitudeToDb(true, 80f));
        int frames = spec.FrameCount(n);
        var y = new float[batch * frames * Math.Max(mels, 40)];
        // MfccKernel's former two passes (row-major mel rows, clip pass, then the DCT's own transposes), for the A/B.
        var dct = new DctLanes(mels, MfccKernel.DctScale(40, mels, ortho: true));
        var melRows = new PinnedFloats((long)batch * frames * mels);
        if (args.Contains("loop"))
        {
            double secs = At(3, 20);
            var sw = Stopwatch.StartNew();
            long calls = 0;
            bool useMfcc = args.Contains("mfcc");
            while (sw.Elapsed.TotalSeconds < secs)
            {
                for (int i = 0; i < 100; i++)
                    if (useMfcc) mfcc.Run(x, batch, y, threads: 1); else mel.Run(x, batch, y, threads: 1);
                calls += 100;
            }
            Console.WriteLine(FormattableString.Invariant($"{calls} calls, {sw.Elapsed.TotalSeconds / calls * 1e6:F1} us/call"));
            return 0;
        }
        if (args.Contains("wakeprofile"))
        {
            bool useMfcc = args.Contains("mfcc");
            WakeProfile(useMfcc ? () => mfcc.Run(x, batch, y, threads: 1) : () => mel.Run(x, batch, y, threads: 1),
                args.Contains("vspin") ? "vspin" : args.Contains("spin") ? "spin" : "sleep", useMfcc ? "mfcc" : "log-mel");
            return 0;
        }
        if (args.Contains("coldcost"))
        {
            // As `compare` times batch 1: 10 calls per sample, each sample after the anchor's turn has run through the caches
            // (here: 8 MiB written). Warm samples (no write) interleaved, so both see the same load.
            var junk = new float[1 << 21];
            var cold = new List<double>(); var warm = new List<double>();
            for (int i = 0; i < 50; i++) mel.Run(x, batch, y, threads: 1);
            for (int r = 0; r < 200; r++)
            {
                for (int i = 0; i < junk.Length; i += 16) junk[i] += 1f;
                long t0 = Stopwatch.GetTimestamp();
                for (int i = 0; i < 10; i++) mel.Run(x, batch, y, threads: 1);
                cold.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds / 10);
                t0 = Stopwatch.GetTimestamp();
                for (int i = 0; i < 10; i++) mel.Run(x, batch, y, threads: 1);
                warm.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds / 10);
            }
            cold.Sort(); warm.Sort();
            Console.WriteLine(FormattableString.Invariant($"log-mel, 10 calls per sample: after 8 MiB written best {cold[0] * 1e6:F2} median {cold[100] * 1e6:F2} us/call; warm best {warm[0] * 1e6:F2} median {warm[100] * 1e6:F2}"));
            return 0;
        }
        Console.WriteLine(FormattableString.Invariant($"n_fft {nfft}, {mels} mels, batch {batch}, {frames} frames/clip; us per call, variants interleaved round by round"));
        var variants = new List<(string Name, Action Run)>();
        foreach (var width in new[] { SimdWidth.V512, SimdWidth.V256, SimdWidth.V128 })
        {
            if (!Simd.Supports(width)) continue;
            var wd = width;
            variants.Add(($"log-mel dB {wd}", () => mel.Run(x, batch, y, wd, 1)));
            if (args.Contains("pairs"))
            {
                variants.Add(($"log-mel dB one chain per mel {wd}", () => melChain.Run(x, batch, y, wd, 1)));
                continue;
            }
            variants.Add(($"log-mel dB no top_db {wd}", () => melNoTop.Run(x, batch, y, wd, 1)));
            variants.Add(($"mel power (no log) {wd}", () => melPlain.Run(x, batch, y, wd, 1)));
            if (args.Contains("parts")) continue;
            variants.Add(($"log-mel dB packed {wd}", () => melPacked.Run(x, batch, y, wd, 1)));
            variants.Add(($"mfcc {wd}", () => mfcc.Run(x, batch, y, wd, 1)));
            variants.Add(($"mfcc packed {wd}", () => mfccPacked.Run(x, batch, y, wd, 1)));
            variants.Add(($"mfcc row-major mel {wd}", () => MfccRowMajor(mel, dct, x, batch, melRows, y, wd)));
            var plan = RealFft.Get(nfft).Plan;
            int w = LaneDispatch.Lanes(width);
            var ws = new PinnedFloats(plan.WorkFloats(w) + 4096L * w);
            // Fresh packed input per transform (ForwardPower clobbers it; transforming its own output again overflows to inf).
            var input = new PinnedFloats(2L * plan.ComplexLength * w);
            for (long i = 0; i < input.Length; i++) input.Ptr[i] = (float)(rng.NextDouble() - 0.5);
            long groups = ((long)batch * frames + w - 1) / w;
            variants.Add(($"{groups} x ForwardPower W{w}", () => { for (long g = 0; g < groups; g++) Fft(plan, wd, ws.Ptr, input.Ptr); }));
            if (w > 1)
            {
                var sig = new PinnedFloats(n);
                var win = new PinnedFloats(nfft);
                variants.Add(($"{groups} x PackStrided W{w}", () => { for (long g = 0; g < groups; g++) Pack(plan, wd, ws.Ptr, sig.Ptr, win.Ptr, nfft, false); }));
                variants.Add(($"{groups} x TransposeHops W{w}", () => { for (long g = 0; g < groups; g++) Pack(plan, wd, ws.Ptr, sig.Ptr, win.Ptr, nfft, true); }));
            }
        }
        Report(variants, batch);
        return 0;
    }

    /// <summary>
    /// `wakeprofile`: each of 200 samples first idles 2 ms (sleep: blocked, as `compare` is while torchaudio runs; spin: a scalar
    /// busy loop; vspin: a 512-bit FMA busy loop), then times 10 calls one by one; prints the median of call i. Shows what the first
    /// call after an idle gap costs over the steady ones (10-call samples in `compare` carry a tenth of it per call).
    /// </summary>
    static void WakeProfile(Action run, string idle, string name)
    {
        var per = Enumerable.Range(0, 10).Select(_ => new List<double>()).ToArray();
        for (int i = 0; i < 50; i++) run();
        var acc = Vector512<float>.Zero;
        for (int r = 0; r < 200; r++)
        {
            long s0 = Stopwatch.GetTimestamp();
            if (idle == "sleep") Thread.Sleep(2);
            else if (idle == "spin") while (Stopwatch.GetElapsedTime(s0).TotalMilliseconds < 2) { }
            else
                while (Stopwatch.GetElapsedTime(s0).TotalMilliseconds < 2)
                    for (int i = 0; i < 64; i++) acc = Vector512.FusedMultiplyAdd(acc, Vector512.Create(0.5f), Vector512.Create(0.25f));
            for (int i = 0; i < 10; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                run();
                per[i].Add(Stopwatch.GetElapsedTime(t0).TotalSeconds * 1e6);
            }
        }
        string medians = string.Join(" ", per.Select(p => { p.Sort(); return p[p.Count / 2].ToString("F1", CultureInfo.InvariantCulture); }));
        // acc is printed (times 0) so the JIT cannot drop the FMA busy loop as dead code.
        Console.WriteLine($"{name}, after 2 ms {idle} ({acc[0] * 0:F0}): median us of calls 1..10: {medians}");
    }

    static void MfccRowMajor(MelSpectrogramKernel mel, DctLanes dct, float[] x, int batch, PinnedFloats rows, float[] y, SimdWidth width)
    {
        long count = rows.Length;
        mel.Run(x, batch, new Span<float>(rows.Ptr, (int)count), width, 1);
        fixed (float* o = y) dct.Run(rows.Ptr, count / mel.Mels, mel.Mels, o, width, 1);
    }

    static void Fft(RealPlan plan, SimdWidth width, float* work, float* input)
    {
        var job = new FftJob { Plan = plan, Work = work, Input = input };
        LaneDispatch.Run(width, ref job);
    }

    static void Pack(RealPlan plan, SimdWidth width, float* work, float* sig, float* win, int len, bool transposeOnly)
    {
        var job = new PackJob { Plan = plan, Work = work, Sig = sig, Win = win, Len = len, TransposeOnly = transposeOnly };
        LaneDispatch.Run(width, ref job);
    }

    struct PackJob : ILaneJob
    {
        public RealPlan Plan;
        public float* Work, Sig, Win;
        public int Len;
        public bool TransposeOnly;
        public readonly void Run<TO, TV>() where TO : struct, IVec<TV> where TV : unmanaged
        {
            Plan.Carve(Work, TO.Count, out float* zr, out float* zi, out _, out _, out float* scratch);
            if (TransposeOnly) FftLanes.TransposeHops<TO, TV>(Sig, 160, Len, scratch);
            else FftLanes.PackStrided<TO, TV>(Sig, 160, Len, Win, 0, true, zr, zi, scratch);
        }
    }

    struct FftJob : ILaneJob
    {
        public RealPlan Plan;
        public float* Work, Input;
        public readonly void Run<TO, TV>() where TO : struct, IVec<TV> where TV : unmanaged
        {
            Plan.Carve(Work, TO.Count, out float* zr, out float* zi, out float* xr, out _, out float* scratch);
            long bytes = (long)Plan.ComplexLength * TO.Count * sizeof(float);
            Buffer.MemoryCopy(Input, zr, bytes, bytes);
            Buffer.MemoryCopy(Input + Plan.ComplexLength * TO.Count, zi, bytes, bytes);
            Plan.ForwardPower<TO, TV>(zr, zi, xr, scratch);
        }
    }

    /// <summary>Round-robin over the variants (20 calls each per round) so all see the same machine load; best and median per call.</summary>
    static void Report(List<(string Name, Action Run)> variants, int batch)
    {
        foreach (var v in variants) for (int i = 0; i < 50; i++) v.Run();
        var times = variants.Select(_ => new List<double>()).ToArray();
        // `cold`: 1 MiB written between samples, as the other side of `compare` does to the caches between our samples.
        var junk = Environment.GetCommandLineArgs().Contains("cold") ? new float[1 << 18] : null;
        // A new order every round (seeded shuffle), so no variant always runs right after the same neighbour. Measured: a fixed
        // order gave two runs of identical code 0.3-0.6 us apart, and a variant right after its own A/B twin (same plans,
        // workspace in cache) gained ~0.5 us per call (2-3 %) whichever of the two it was, even when only rotated.
        var order = Enumerable.Range(0, variants.Count).ToArray();
        var shuffle = new Random(11);
        for (int r = 0; r < 100; r++)
        {
            shuffle.Shuffle(order);
            foreach (int k in order)
            {
                if (junk is not null) for (int i = 0; i < junk.Length; i += 16) junk[i] += 1f;
                long t0 = Stopwatch.GetTimestamp();
                for (int i = 0; i < 20; i++) variants[k].Run();
                times[k].Add(Stopwatch.GetElapsedTime(t0).TotalSeconds / 20);
            }
        }
        for (int k = 0; k < variants.Count; k++)
        {
            var t = times[k];
            t.Sort();
            Console.WriteLine(FormattableString.Invariant($"  {variants[k].Name,-28} best {t[0] * 1e6,8:F2}  p25 {t[t.Count / 4] * 1e6,8:F2}  median {t[t.Count / 2] * 1e6,8:F2}  ({t[0] * 1e6 / batch:F2} us/clip best)"));
        }
    }
}
