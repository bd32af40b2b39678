// The eval caches of conv -> batch norm (Nn.ConvBatchNorm): the conv's weight packed as the GEMM's A
// (PackedConvWeightCache) and the batch norm folded into s, t (FoldedBatchNormCache). Never stale: every write path
// (an SGD step, CopyTo, a span write, LoadStateDict, a checkpoint load, a training-mode forward moving the running
// statistics) makes the next eval forward rebuild exactly what it changed and give the bits of the uncached op; an
// unchanged module rebuilds nothing (the op reads weight and statistics without bumping their versions). Never leaked:
// given back on Train(), To(), CacheDerivedData(false) and with the module. Plus DerivedCache over several sources.
using Cochlea.Checkpoints;
using Cochlea.Kernels.Threading;
using Cochlea.Memory;
using Cochlea.Nn;
using Cochlea.Optim;
using Cochlea.Tests.Data;
using NUnit.Framework;

namespace Cochlea.Tests.Nn;

[Category("Nn")]
public class ConvBatchNormCacheTests
{
    static (Conv2d Conv, BatchNorm2d Bn) Block(int seed, int stride)
    {
        var rng = new Random(seed);
        var conv = new Conv2d(6, 20, (3, 3), (stride, stride), 1, bias: false, rng: rng);
        var bn = new BatchNorm2d(20);
        Tensor.Randn(rng, 0.3f, 20).CopyTo(bn.RunningMean);
        Tensor.Rand(rng, 0.5f, 1.5f, 20).CopyTo(bn.RunningVar);
        Tensor.Rand(rng, 0.5f, 1.5f, 20).CopyTo(bn.Weight);
        Tensor.Randn(rng, 0.2f, 20).CopyTo(bn.Bias);
        return (conv, bn);
    }

    static float[] Cached(Conv2d conv, BatchNorm2d bn, Tensor x, Tensor? residual)
    {
        using var _ = Tensor.NoGrad();
        return ConvBatchNorm.Forward(conv, bn, x, residual).ToArray();
    }

    // The op without caches on the same tensors: weight packed and s, t folded for this call.
    static float[] Uncached(Conv2d conv, BatchNorm2d bn, Tensor x, Tensor? residual)
    {
        using var _ = Tensor.NoGrad();
        return Ops.ConvBatchNormEval(x, conv.Weight, conv.Stride, conv.Padding, bn.Weight, bn.Bias, bn.RunningMean, bn.RunningVar, bn.Eps, residual).ToArray();
    }

    [TestCase(1, 1), TestCase(2, 1), TestCase(2, 2)]
    public void EvalForwardEqualsTheUncachedOpAndRebuildsWhatEachWriteChanged(int threads, int stride)
    {
        int saved = KernelThreads.Count;
        KernelThreads.Count = threads;
        try
        {
            using var scope = Tensor.Scope();
            var (conv, bn) = Block(3, stride);
            using var _c = conv; using var _b = bn;
            conv.Eval(); bn.Eval();
            var rng = new Random(4);
            // Batch 2 over 9 x 40 (stride 2: 5 x 20): several images share one pack; wide enough for the blocked driver.
            var x = Tensor.Randn(rng, 1f, 2, 6, 9, 40);
            int oh = (9 - 1) / stride + 1, ow = (40 - 1) / stride + 1;
            var residual = Tensor.Randn(rng, 1f, 2, 20, oh, ow);
            int packs = 0, folds = 0;
            void Check(string after, int newPacks, int newFolds)
            {
                var got = Cached(conv, bn, x, residual);
                Assert.That(conv.PackedWeight.Builds, Is.EqualTo(packs += newPacks), $"weight packs after {after}");
                Assert.That(bn.FoldedScaleShift.Builds, Is.EqualTo(folds += newFolds), $"s, t folds after {after}");
                Assert.That(got, Is.EqualTo(Uncached(conv, bn, x, residual)), $"output after {after} (bit for bit)");
            }
            Check("the first call", 1, 1);
            Check("a second call", 0, 0);

            // An SGD step in eval mode (gradients on: ConvBatchNorm records the separate ops): the conv weight, gamma and beta move.
            using (var opt = new Sgd(conv.Parameters().Concat(bn.Parameters()), lr: 0.1f))
            {
                Ops.Sum(ConvBatchNorm.Forward(conv, bn, x, residual)).Backward();
                opt.Step(); opt.ZeroGrad();
            }
            Check("an SGD step", 1, 1);

            using (var src = Tensor.Randn(rng, 0.3f, conv.Weight.ShapeArray)) src.CopyTo(conv.Weight);
            Check("CopyTo into the weight", 1, 0);

            bn.RunningVar.AsSpan()[3] += 0.5f;
            Check("a span write to running_var", 0, 1);

            var (otherConv, otherBn) = Block(8, stride);
            using (otherConv) using (otherBn)
            {
                conv.LoadStateDict(otherConv.StateDict());
                Check("LoadStateDict into the conv", 1, 0);
                using var dir = new TempDir();
                Checkpoint.Save(otherBn, null, dir["bn.safetensors"]);
                Checkpoint.Load(bn, null, dir["bn.safetensors"]);
                Check("a checkpoint load into the batch norm", 0, 1);
            }

            // A training-mode forward moves the running statistics; back in eval they are folded again.
            var meanBefore = bn.RunningMean.ToArray();
            bn.Train();
            using (Tensor.NoGrad()) ConvBatchNorm.Forward(conv, bn, x);
            bn.Eval();
            Assert.That(bn.RunningMean.ToArray(), Is.Not.EqualTo(meanBefore), "the training forward updated running_mean");
            Check("a training-mode forward", 0, 1);
        }
        finally { KernelThreads.Count = saved; }
    }

    [Test]
    public void CachesAreGivenBackOnTrainToCachingOffAndWithTheModule()
    {
        using var scope = Tensor.Scope();
        var (conv, bn) = Block(5, 1);
        var block = new Sequential(conv, bn);
        var x = Tensor.Randn(new Random(6), 1f, 1, 6, 8, 30);
        bool Held() => conv.PackedWeight.HasValue || bn.FoldedScaleShift.HasValue;
        block.Eval();
        Cached(conv, bn, x, null);
        Assert.That(conv.PackedWeight.HasValue && bn.FoldedScaleShift.HasValue, Is.True, "eval forward caches both");
        block.Train();
        Assert.That(Held(), Is.False, "Train() frees them");
        Cached(conv, bn, x, null);
        Assert.That(Held(), Is.False, "training mode does not cache");
        block.Eval();
        Cached(conv, bn, x, null);
        block.To(Device.Cpu);
        Assert.That(Held(), Is.False, "To() frees them");
        Cached(conv, bn, x, null);
        block.CacheDerivedData(false);
        Assert.That(Held(), Is.False, "caching off frees them");
        var off = Cached(conv, bn, x, null);
        Assert.That(Held(), Is.False, "caching off does not cache");
        block.CacheDerivedData(true);
        Assert.That(Cached(conv, bn, x, null), Is.EqualTo(off), "cached and uncached give the same bits");
        block.Dispose();
        Assert.That(Held(), Is.False, "disposing the module frees them");
    }

    // A value built from several sources (some null) is rebuilt when any of them is written or replaced, not otherwise.
    [Test]
    public void ACacheOverSeveralSourcesRebuildsWhenAnyChanges()
    {
        int made = 0;
        using var cache = DerivedCache<Tensor>.OfSources(s => { made++; using (TensorScope.Suspend()) return Tensor.Zeros(s.Length); });
        using var a = Tensor.Zeros(3);
        using var b = Tensor.Zeros(3);
        void Use(Tensor? p, Tensor q) { using var l = cache.Acquire(p, q); Assert.That(l.Value.Size(0), Is.EqualTo(2)); }
        Use(a, b); Use(a, b);
        Assert.That(made, Is.EqualTo(1), "unchanged sources");
        b.AsSpan()[0] = 1f;
        Use(a, b);
        Assert.That(made, Is.EqualTo(2), "the second source written");
        Use(null, b);
        Assert.That(made, Is.EqualTo(3), "a source replaced by null");
        Use(null, b);
        Assert.That(made, Is.EqualTo(3), "null matches null");
        Use(b, a);
        Assert.That(made, Is.EqualTo(4), "sources swapped");
    }

    [Test]
    public void AFoldedCacheOfAnotherEpsIsRefused()
    {
        using var scope = Tensor.Scope();
        using var ng = Tensor.NoGrad();
        using var folded = new FoldedBatchNormCache(1e-3f);
        var ok = Tensor.Ones(4);
        var ex = Assert.Throws<ArgumentException>(() =>
            Ops.ConvBatchNormEval(Tensor.Zeros(1, 2, 3, 3), Tensor.Zeros(4, 2, 1, 1), (1, 1), 0, ok, ok, ok, ok, 1e-5f, folded: folded));
        Assert.That(ex!.Message, Does.Contain("eps"));
    }
}
