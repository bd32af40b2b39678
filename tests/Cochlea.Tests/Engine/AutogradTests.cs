// Autograd and memory behaviour: accumulation, no-grad, graph release, scopes, disposal errors.
using Cochlea.Memory;
using NUnit.Framework;

namespace Cochlea.Tests.Engine;

public class AutogradTests
{
    [Test]
    public void GradientsAccumulateAcrossBackwardCalls()
    {
        using var x = Tensor.FromArray([1f, 2f, 3f], 3);
        x.RequiresGrad = true;
        using (var s = Tensor.Scope()) Ops.Sum(Ops.Mul(x, x)).Backward();
        using (var s = Tensor.Scope()) Ops.Sum(Ops.Mul(x, x)).Backward();
        Assert.That(x.Grad!.ToArray(), Is.EqualTo(new[] { 4f, 8f, 12f }));   // 2 * (2x)
        x.Grad.Dispose();
    }

    [Test]
    public void SharedSubexpressionsSumTheirGradients()
    {
        using var x = Tensor.FromArray([3f], 1);
        x.RequiresGrad = true;
        using var s = Tensor.Scope();
        var y = Ops.Mul(x, x);              // x^2
        var z = Ops.Add(Ops.Mul(y, x), y);  // x^3 + x^2 -> 3x^2 + 2x = 33 at x = 3
        Ops.Sum(z).Backward();
        Assert.That(x.Grad!.Item(), Is.EqualTo(33f));
        x.Grad.Dispose();
    }

    // A leaf's first gradient becomes .Grad without a copy only when no other tensor shares its storage: add hands one
    // gradient to both inputs (two views of one storage), so one leaf must get a private copy.
    [Test]
    public void AGradientSharedByTwoLeavesIsNotTakenByBoth()
    {
        using var a = Tensor.FromArray([1f, 2f], 2);
        using var b = Tensor.FromArray([3f, 4f], 2);
        a.RequiresGrad = b.RequiresGrad = true;
        using (var s = Tensor.Scope()) Ops.Sum(Ops.Add(a, b)).Backward();
        Assert.That(a.Grad!.Storage, Is.Not.SameAs(b.Grad!.Storage));
        Assert.That(a.Grad.ToArray(), Is.EqualTo(new[] { 1f, 1f }));
        Assert.That(b.Grad.ToArray(), Is.EqualTo(new[] { 1f, 1f }));
        a.Grad.Dispose();
        b.Grad.Dispose();
    }

    // The output gradient passed to Backward belongs to the caller: a leaf root copies it.
    [Test]
    public void TheCallersOutputGradientIsNotTakenAsGrad()
    {
        using var x = Tensor.FromArray([1f, 2f, 3f], 3);
        x.RequiresGrad = true;
        var g = Tensor.FromArray([5f, 6f, 7f], 3);
        x.Backward(g);
        Assert.That(x.Grad!.Storage, Is.Not.SameAs(g.Storage));
        g.Dispose();
        Assert.That(x.Grad.ToArray(), Is.EqualTo(new[] { 5f, 6f, 7f }));
        x.Grad.Dispose();
    }

    [Test]
    public void NoGradRecordsNothing()
    {
        using var x = Tensor.Ones(2, 2);
        x.RequiresGrad = true;
        using var ng = Tensor.NoGrad();
        using var y = Ops.Exp(x);
        Assert.That(y.RequiresGrad, Is.False);
        Assert.That(y.GradFn, Is.Null);
        Assert.Throws<InvalidOperationException>(() => Ops.Sum(y).Backward());
    }

    [Test]
    public void TheGraphIsReleasedAfterBackward()
    {
        using var x = Tensor.Ones(3);
        x.RequiresGrad = true;
        using var s = Tensor.Scope();
        var y = Ops.Exp(x);
        var loss = Ops.Sum(y);
        Assert.That(y.GradFn, Is.Not.Null);
        loss.Backward();
        Assert.That(y.GradFn, Is.Null, "intermediate nodes drop their backward closures");
        Assert.That(loss.GradFn, Is.Null);
        x.Grad!.Dispose();
    }

    [Test]
    public void NonScalarBackwardNeedsAnExplicitGradient()
    {
        using var x = Tensor.Ones(3);
        x.RequiresGrad = true;
        using var s = Tensor.Scope();
        var e = Assert.Throws<InvalidOperationException>(() => Ops.Exp(x).Backward());
        Assert.That(e!.Message, Does.Contain("not a scalar"));
    }

    [Test]
    public void ScopeDisposesTemporariesButNotKeptOrOuterTensors()
    {
        var outer = Tensor.Ones(4);
        Tensor inner, kept;
        using (var s = Tensor.Scope())
        {
            inner = Ops.Exp(outer);
            kept = Ops.Exp(outer).Keep();
        }
        Assert.That(inner.IsDisposed, Is.True);
        Assert.That(kept.IsDisposed, Is.False);
        Assert.That(outer.IsDisposed, Is.False);
        var e = Assert.Throws<ObjectDisposedException>(() => inner.ToArray());
        Assert.That(e!.Message, Does.Contain("disposed"));
        kept.Dispose(); outer.Dispose();
    }

    [Test]
    public void ViewsKeepStorageAliveUntilTheLastReferenceGoes()
    {
        var x = Tensor.FromArray([1f, 2f, 3f, 4f], 2, 2);
        var v = x.Transpose(0, 1);
        x.Dispose();
        Assert.That(v.ToArray(), Is.EqualTo(new[] { 1f, 3f, 2f, 4f }));
        v.Dispose();
        Assert.Throws<ObjectDisposedException>(() => _ = v.Storage, "the last view released the storage");
    }

    [Test]
    public void PoolReusesBuffersSoRepeatedStepsAllocateNothingNew()
    {
        using var w = Tensor.Randn(new Random(1), 1f, 64, 64);
        w.RequiresGrad = true;
        void Step()
        {
            using var s = Tensor.Scope();
            using var x = Tensor.Randn(new Random(2), 1f, 32, 64);
            Ops.Sum(Ops.Relu(Ops.Matmul(x, w))).Backward();
            w.Grad!.Dispose(); w.Grad = null;
        }
        for (int i = 0; i < 5; i++) Step();
        var before = CpuBufferPool.Shared.Stats;
        for (int i = 0; i < 50; i++) Step();
        var after = CpuBufferPool.Shared.Stats;
        Assert.That(after.BytesInUse, Is.EqualTo(before.BytesInUse));
        Assert.That(after.BytesAllocatedTotal, Is.EqualTo(before.BytesAllocatedTotal), "steady state served from the pool");
    }

    [Test]
    public void BuffersAre64ByteAligned()
    {
        for (int n = 1; n < 300; n += 37)
        {
            using var t = Tensor.Empty(n);
            unsafe { Assert.That((long)t.Storage.Pointer % 64, Is.Zero); }
        }
    }
}
