// The frozen-model runtime on the two spectral keyword spotters: DeepSpeechKws (log spectrogram, per-bin
// standardisation, FrameStack + time-distributed dense as one conv1d, the shared-input bidirectional ReLU RNN,
// dense head) and TutorialConv (MFCC, standardisation, conv2d 'same', max pool, conv2d, dense). Each is built at
// its full size with feature statistics fitted on synthetic clips, exported by KwsExport, and run by FrozenModel
// from raw audio: probabilities equal the engine's eval-mode ones within 1e-5 on every SIMD path, threads give
// identical results, an inference allocates nothing, and the int8 file stays close.
using Cochlea.Kernels;
using Cochlea.Models.Kws;
using Cochlea.Runtime;
using NUnit.Framework;

namespace Cochlea.Tests.Runtime;

[Category("Runtime")]
[NonParallelizable]
[TestFixture(KwsModelKind.DeepSpeech)]
[TestFixture(KwsModelKind.Conv)]
public class FrozenSpectralModelTests(KwsModelKind kind)
{
    TempDir _dir = null!;
    KwsClassifier _kws = null!;
    string _file = null!;

    [OneTimeSetUp]
    public void Setup()
    {
        _dir = new TempDir("runtime-" + kind.Name());
        _kws = KwsClassifier.Create(kind, RuntimeTestKit.Labels, seed: 5);
        using (var batch = Tensor.FromArray(Clips(8, 21), 8, KwsClassifier.ClipSamples)) _kws.FrontEnd.FitStatistics([batch]);
        _kws.Model.Eval();
        _file = _dir["model.cochlea"];
        KwsExport.Save(_kws, _file);
    }

    [OneTimeTearDown]
    public void Teardown()
    {
        _kws.Dispose();
        _dir.Dispose();
    }

    /// <summary>Decaying tones with noise at random pitch and level: features with structure, unlike white noise.</summary>
    static float[] Clips(int count, int seed)
    {
        var rng = new Random(seed);
        var x = new float[count * KwsClassifier.ClipSamples];
        for (int c = 0; c < count; c++)
        {
            double f = 200 + 1800 * rng.NextDouble(), amp = 0.05 + 0.5 * rng.NextDouble(), onset = 0.6 * rng.NextDouble();
            for (int i = 0; i < KwsClassifier.ClipSamples; i++)
            {
                double t = i / 16000.0, env = t < onset ? 0 : Math.Exp(-4.0 * (t - onset));
                x[c * KwsClassifier.ClipSamples + i] = (float)(amp * env * Math.Sin(2 * Math.PI * f * t) + 0.01 * (rng.NextDouble() - 0.5));
            }
        }
        return x;
    }

    [Test]
    public void ProbabilitiesMatchTheEngineOnEveryPath()
    {
        const int count = 3;
        var clips = Clips(count, 7);
        var expected = _kws.Probabilities(clips, count);
        foreach (var width in Simd.Available)
        {
            using var m = FrozenModel.Load(_file, 1, width);
            Assert.That(m.Labels, Is.EqualTo(_kws.Labels));
            var p = new float[m.OutputLength];
            double worst = 0, spread = 0;
            for (int c = 0; c < count; c++)
            {
                m.Run(clips.AsSpan(c * KwsClassifier.ClipSamples, KwsClassifier.ClipSamples), p);
                for (int j = 0; j < p.Length; j++) worst = Math.Max(worst, Math.Abs(p[j] - expected[c * p.Length + j]));
                spread = Math.Max(spread, expected.Skip(c * p.Length).Take(p.Length).Max() - expected.Skip(c * p.Length).Take(p.Length).Min());
            }
            TestContext.Out.WriteLine($"{kind} {width}: max |p - p_engine| = {worst:E2} (engine probabilities spread {spread:F3})");
            Assert.That(worst, Is.LessThanOrEqualTo(1e-5), $"{width}");
            // The comparison means something only if the classes differ: the outputs are not a flat 1/12.
            Assert.That(spread, Is.GreaterThan(1e-3));
        }
    }

    [Test]
    public void ThreadsGiveTheSameResultAndNothingIsAllocated()
    {
        var clip = Clips(1, 9);
        using var one = FrozenModel.Load(_file, 1);
        var a = new float[one.OutputLength];
        one.Run(clip, a);
        foreach (int threads in new[] { 1, 2 })
        {
            using var m = FrozenModel.Load(_file, threads);
            var p = new float[m.OutputLength];
            for (int i = 0; i < 3; i++) m.Run(clip, p);
            Assert.That(p, Is.EqualTo(a), $"threads {threads}");
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 5; i++) m.Run(clip, p);
            Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero, $"threads {threads}: bytes allocated by 5 inferences");
        }
    }

    [Test]
    public void Int8FileIsSmallerAndClose()
    {
        string q = _dir["model-int8.cochlea"];
        long bytes = KwsExport.Save(_kws, q, int8: true);
        string raw = _dir["model-raw.cochlea"];
        long rawBytes = KwsExport.Save(_kws, raw, compress: false);
        using var f = FrozenModel.Load(_file);
        using var i8 = FrozenModel.Load(q);
        TestContext.Out.WriteLine($"{kind}: float32 raw {rawBytes} bytes, compressed {f.FileBytes}, int8 {bytes}; arena {f.ArenaBytes} bytes");
        Assert.That(bytes, Is.LessThan(rawBytes / 3));
        Assert.That(f.FileBytes, Is.LessThan(rawBytes));
        var (a, b) = RuntimeTestKit.RunBoth(f, i8, Clips(1, 13));
        for (int j = 0; j < a.Length; j++) Assert.That(b[j], Is.EqualTo(a[j]).Within(0.05), $"int8 class {j}");
    }
}
