// Derived-data caches (packed GEMM weights of eval-mode layers): never stale, never leaked.
// Every write path to a parameter (optimizer step, LoadStateDict, checkpoint load, CopyTo, a span write,
// re-initialisation) must make the next eval forward repack and give what an uncached layer gives; the
// packs must be given back on Train(), on CacheDerivedData(false) and with the module.
using Cochlea.Checkpoints;
using Cochlea.Kernels.Threading;
using Cochlea.Memory;
using Cochlea.Models.Kws;
using Cochlea.Nn;
using Cochlea.Optim;
using NUnit.Framework;

namespace Cochlea.Tests.Nn;

public class DerivedCacheTests
{
    // A value that records its disposal.
    sealed class Probe(int id) : IDisposable
    {
        public int Id { get; } = id;
        public bool Disposed { get; private set; }
        public void Dispose() => Disposed = true;
    }

    [Test]
    public void WriteVersionGrowsWithEveryPointerHandOut()
    {
        using var t = Tensor.Zeros(4, 3);
        long v0 = t.Storage.WriteVersion;
        _ = t.AsSpan();
        long v1 = t.Storage.WriteVersion;
        using (var src = Tensor.Ones(4, 3)) src.CopyTo(t);
        long v2 = t.Storage.WriteVersion;
        Assert.That(v1, Is.GreaterThan(v0), "AsSpan");
        Assert.That(v2, Is.GreaterThan(v1), "CopyTo into it");
        using var view = t.Slice(0, 1, 3);
        long v3 = t.Storage.WriteVersion;
        _ = view.AsSpan();
        Assert.That(t.Storage.WriteVersion, Is.GreaterThan(v3), "a view's pointer is a pointer to the same storage");
    }

    [Test]
    public void ACacheRebuildsOnlyWhenTheSourceChangesAndFreesRetiredValuesWhenTheirLeaseEnds()
    {
        int made = 0;
        var probes = new List<Probe>();
        using var cache = new DerivedCache<Probe>(_ => { var p = new Probe(made++); probes.Add(p); return p; });
        using var a = Tensor.Zeros(3, 2);
        using (var l = cache.Acquire(a)) Assert.That(l.Value.Id, Is.EqualTo(0));
        using (var l = cache.Acquire(a)) Assert.That(l.Value.Id, Is.EqualTo(0), "unchanged source: the same value");
        Assert.That(cache.Builds, Is.EqualTo(1));

        a.AsSpan()[0] = 1f;
        var held = cache.Acquire(a);
        Assert.That(held.Value.Id, Is.EqualTo(1), "written source: rebuilt");
        Assert.That(probes[0].Disposed, Is.True, "the stale value is freed once no lease holds it");

        using (var view = a.Slice(0, 0, 2))
        using (var l = cache.Acquire(view)) Assert.That(l.Value.Id, Is.EqualTo(2), "another view of the storage is another source");
        Assert.That(probes[1].Disposed, Is.False, "a value still leased is not freed when replaced");
        held.Dispose();
        Assert.That(probes[1].Disposed, Is.True, "... but when its lease is returned");

        cache.Clear();
        Assert.That(cache.HasValue, Is.False);
        Assert.That(probes.All(p => p.Disposed), Is.True, "Clear frees the held value");
        using var b = Tensor.Zeros(3, 2);
        using (var l = cache.Acquire(b)) Assert.That(l.Value.Id, Is.EqualTo(3));
    }

    // The plain op on the same weight; it only reads it, so it must not stale the layer's pack either.
    static float[] Uncached(Linear layer, Tensor x) { using var _ = Tensor.NoGrad(); return Ops.Linear(x, layer.Weight, layer.Bias).ToArray(); }

    static float[] Cached(Module m, Tensor x) { using var _ = Tensor.NoGrad(); return m.Forward(x).ToArray(); }

    // rows 1 (the thin kernel against Gemv), 5 and 47 (the packed driver against Sgemm's), widths around a panel.
    [TestCase(1, 37, 70), TestCase(5, 64, 33), TestCase(47, 300, 130)]
    public void EvalLinearWithAPackedWeightEqualsTheUncachedLayerAndRepacksAfterEachKindOfWrite(int rows, int inF, int outF)
    {
        using var scope = Tensor.Scope();
        var rng = new Random(rows);
        using var layer = new Linear(inF, outF, rng: rng);
        layer.Eval();
        var x = Tensor.Randn(rng, 1f, rows, inF);
        int builds = 0;
        void Check(string after, bool repacked)
        {
            var cached = Cached(layer, x);
            Assert.That(layer.PackedWeight.Builds, Is.EqualTo(builds += repacked ? 1 : 0), $"packs after {after}");
            Assert.That(cached, Is.EqualTo(Uncached(layer, x)).Within(1e-5f), $"output after {after}");
        }
        Check("the first call", true);
        Check("a second call", false);

        // An optimizer step in eval mode (fine-tuning without dropout).
        using var opt = new Sgd(layer.Parameters(), lr: 0.5f);
        Ops.Sum(layer.Forward(x)).Backward();
        opt.Step(); opt.ZeroGrad();
        Check("an SGD step", true);

        using (var src = Tensor.Randn(rng, 1f, outF, inF)) src.CopyTo(layer.Weight);
        Check("CopyTo", true);

        layer.Weight.AsSpan()[3] += 2f;
        Check("a span write", true);

        using (var other = new Linear(inF, outF, rng: new Random(99))) layer.LoadStateDict(other.StateDict());
        Check("LoadStateDict", true);

        using var dir = new TempDir();
        using (var other = new Linear(inF, outF, rng: new Random(7))) Checkpoint.Save(other, null, dir["w.safetensors"]);
        Checkpoint.Load(layer, null, dir["w.safetensors"]);
        Check("a checkpoint load", true);

        Init.PyTorchDefault(layer.Weight, layer.Bias, new Random(5));
        Check("re-initialisation", true);
        Assert.That(layer.PackedWeight.HasValue, Is.True);
    }

    [Test]
    public void PacksAreGivenBackOnTrainOnCachingOffAndWithTheModule()
    {
        using var scope = Tensor.Scope();
        var layer = new Linear(20, 40);
        var x = Tensor.Randn(new Random(1), 1f, 3, 20);
        layer.Eval();
        Cached(layer, x);
        Assert.That(layer.PackedWeight.HasValue, Is.True);
        layer.Train();
        Assert.That(layer.PackedWeight.HasValue, Is.False, "Train() frees the pack");
        Cached(layer, x);
        Assert.That(layer.PackedWeight.HasValue, Is.False, "training mode does not pack");
        layer.Eval();
        Cached(layer, x);
        layer.CacheDerivedData(false);
        Assert.That(layer.PackedWeight.HasValue, Is.False, "caching off frees the pack");
        Cached(layer, x);
        Assert.That(layer.PackedWeight.HasValue, Is.False, "caching off does not pack");
        layer.CacheDerivedData(true);
        Cached(layer, x);
        layer.Dispose();
        Assert.That(layer.PackedWeight.HasValue, Is.False, "disposing the module frees the pack");
    }

    [Test]
    public void PackedOperandsGiveTheValuesOfTheUnpackedOps()
    {
        using var scope = Tensor.Scope();
        var rng = new Random(2);
        var a = Tensor.Randn(rng, 1f, 2, 9, 33);
        var b = Tensor.Randn(rng, 1f, 33, 50);
        using var pb = new PackedWeightCache(outputMajor: false);
        Assert.That(Ops.Matmul(a, b, pb).ToArray(), Is.EqualTo(Ops.Matmul(a, b).ToArray()), "matmul, 18 rows");
        Assert.That(pb.Builds, Is.EqualTo(1));

        const int T = 6, B = 3, H = 29;
        var xw = Ops.Scale(Tensor.Randn(rng, 1f, T, B, H), 0.5f);
        var wIn = Ops.Scale(Tensor.Randn(rng, 1f, H, H), 0.2f);   // input-major (Keras) recurrent kernel
        var wOut = Ops.Scale(Tensor.Randn(rng, 1f, H, H), 0.2f);  // output-major (torch) recurrent kernel
        using var pIn = new PackedWeightCache(outputMajor: false);
        using var pOut = new PackedWeightCache(outputMajor: true);
        Assert.That(Ops.Recurrence(xw, wIn, null, RecurrentCell.RnnRelu, hhInputMajor: true, packedHh: pIn).ToArray(),
            Is.EqualTo(Ops.Recurrence(xw, wIn, null, RecurrentCell.RnnRelu, hhInputMajor: true).ToArray()), "recurrence, input-major");
        Assert.That(Ops.BidirectionalRecurrence(xw, wOut, null, xw, wIn, null, RecurrentCell.RnnTanh, packedF: pOut).ToArray(),
            Is.EqualTo(Ops.BidirectionalRecurrence(xw, wOut, null, xw, wIn, null, RecurrentCell.RnnTanh).ToArray()), "bidirectional, one direction packed");
        var ex = Assert.Throws<ArgumentException>(() => Ops.Recurrence(xw, wOut, null, RecurrentCell.RnnRelu, packedHh: pIn));
        Assert.That(ex!.Message, Does.Contain("output-major"));
        ex = Assert.Throws<ArgumentException>(() => Ops.Linear(a, b, null, pb));
        Assert.That(ex!.Message, Does.Contain("linear"));
    }

    [TestCase(1), TestCase(2)]
    public void DeepSpeechKwsEvalLogitsFollowEveryWeightChange(int threads)
    {
        int saved = KernelThreads.Count;
        KernelThreads.Count = threads;
        try
        {
            using var scope = Tensor.Scope();
            using var net = new DeepSpeechKws(numClasses: 5, hidden: [24, 40, 32, 20, 16], numFrames: 3, frameStep: 2, freqBins: 11, seed: 3);
            using var plain = new DeepSpeechKws(numClasses: 5, hidden: [24, 40, 32, 20, 16], numFrames: 3, frameStep: 2, freqBins: 11, seed: 3);
            net.Eval(); plain.Eval(); plain.CacheDerivedData(false);
            var x = Tensor.Randn(new Random(4), 1f, 2, 15, 11);
            Assert.That(Cached(net, x), Is.EqualTo(Cached(plain, x)).Within(1e-5f), "first call");
            Assert.That(Cached(net, x), Is.EqualTo(Cached(plain, x)).Within(1e-5f), "second call (packs reused)");
            // An Adam step on both (eval mode): the recurrent kernels and the dense layers change.
            foreach (var m in new[] { net, plain })
            {
                using var opt = new Adam(m.Parameters(), lr: 0.05f);
                Ops.Sum(Ops.Mul(m.Forward(x), m.Forward(x))).Backward();
                opt.Step();
            }
            Assert.That(Cached(net, x), Is.EqualTo(Cached(plain, x)).Within(1e-5f), "after an Adam step");
            var rnnFwd = net.StateDict()["rnn.fwd"];
            rnnFwd.AsSpan()[0] += 1f;
            plain.StateDict()["rnn.fwd"].AsSpan()[0] += 1f;
            Assert.That(Cached(net, x), Is.EqualTo(Cached(plain, x)).Within(1e-5f), "after a write to the forward recurrent kernel");
        }
        finally { KernelThreads.Count = saved; }
    }
}
