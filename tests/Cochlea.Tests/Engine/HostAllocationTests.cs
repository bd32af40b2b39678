// The per-step host allocation savings keep results unchanged: lazily made contiguous strides, the tensor list a
// new scope takes over from the last one, and the backward pass's reused collections.
using Cochlea.Autograd;
using NUnit.Framework;

namespace Cochlea.Tests.Engine;

public class HostAllocationTests
{
    // A fresh tensor's strides are made on first read; views made from it before and after that read have their own.
    [Test]
    public void LazyStridesAreRowMajorAndViewsKeepTheirOwn()
    {
        using var x = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        using var t = x.Permute(1, 0);                 // reads x's strides (made lazily here)
        Assert.That(x.Strides.ToArray(), Is.EqualTo(new long[] { 3, 1 }));
        Assert.That(t.Strides.ToArray(), Is.EqualTo(new long[] { 1, 3 }));
        Assert.That(x.IsContiguous, Is.True);
        Assert.That(t.IsContiguous, Is.False);
        using var c = t.Contiguous();                  // a copy: row-major strides of (3, 2)
        Assert.That(c.Strides.ToArray(), Is.EqualTo(new long[] { 2, 1 }));
        Assert.That(c.ToArray(), Is.EqualTo(new[] { 1f, 4f, 2f, 5f, 3f, 6f }));
        using var r = x.Reshape(3, 2);                 // a view of x's storage with its own shape and strides
        Assert.That(r.Strides.ToArray(), Is.EqualTo(new long[] { 2, 1 }));
        Assert.That(x.Strides.ToArray(), Is.EqualTo(new long[] { 3, 1 }));
        Assert.That(x[1, 0], Is.EqualTo(4f));
        Assert.That(r[1, 0], Is.EqualTo(3f));
    }

    // Views share storage, never shape or stride arrays they could change: a write through one view shows in the
    // other at the right index, and neither's layout moves.
    [Test]
    public void AWriteThroughAViewKeepsEveryLayout()
    {
        using var x = Tensor.FromArray([0f, 1f, 2f, 3f, 4f, 5f], 2, 3);
        using var r = x.Reshape(3, 2);
        using var a = x.Alias();
        using var ones = Tensor.Full(9f, 3, 2);
        ones.CopyTo(r);                               // in-place write through the reshaped view
        Assert.That(x.Shape.ToArray(), Is.EqualTo(new[] { 2, 3 }));
        Assert.That(a.Shape.ToArray(), Is.EqualTo(new[] { 2, 3 }));
        Assert.That(r.Shape.ToArray(), Is.EqualTo(new[] { 3, 2 }));
        Assert.That(x.Strides.ToArray(), Is.EqualTo(new long[] { 3, 1 }));
        Assert.That(a.ToArray(), Is.EqualTo(Enumerable.Repeat(9f, 6).ToArray()));
    }

    // An elementwise op's output keeps its input's shape array (no copy): writing the output in place or viewing it
    // in another shape leaves the input's values and shape alone.
    [Test]
    public void AnOutputSharingItsInputsShapeArrayIsIndependentOfIt()
    {
        using var x = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        using var y = Ops.Neg(x);
        using var sevens = Tensor.Full(7f, 2, 3);
        sevens.CopyTo(y);                              // in place into the output
        using var v = y.Reshape(3, 2);
        using var z = Ops.Neg(v);                      // shares v's shape array
        Assert.That(x.ToArray(), Is.EqualTo(new[] { 1f, 2f, 3f, 4f, 5f, 6f }));
        Assert.That(x.Shape.ToArray(), Is.EqualTo(new[] { 2, 3 }));
        Assert.That(y.Shape.ToArray(), Is.EqualTo(new[] { 2, 3 }));
        Assert.That(z.Shape.ToArray(), Is.EqualTo(new[] { 3, 2 }));
        Assert.That(z.ToArray(), Is.EqualTo(Enumerable.Repeat(-7f, 6).ToArray()));
    }

    // StridedPlan collapses in scratch now: contiguous runs merge, size-1 dims drop, broadcast (stride 0) and permuted
    // dims stay apart, an all-ones shape is one element, and ranks past the scratch sizes take the heap path.
    [Test]
    public void StridedPlanCollapsesAsBefore()
    {
        var p = new StridedPlan([2, 3, 4], [12, 4, 1], [12, 4, 1]);
        Assert.That(p.Shape, Is.EqualTo(new[] { 24 }));
        Assert.That(p.Strides[0], Is.EqualTo(new long[] { 1 }));
        p = new StridedPlan([2, 1, 3, 4], [12, 99, 4, 1], [0, 0, 4, 1], [12, 12, 4, 1]);   // b broadcast over dim 0
        Assert.That(p.Shape, Is.EqualTo(new[] { 2, 12 }));
        Assert.That(p.Strides[0], Is.EqualTo(new long[] { 12, 1 }));
        Assert.That(p.Strides[1], Is.EqualTo(new long[] { 0, 1 }));
        Assert.That(p.Strides[2], Is.EqualTo(new long[] { 12, 1 }));
        p = new StridedPlan([3, 2], [1, 3], [2, 1]);                                        // a transposed
        Assert.That(p.Shape, Is.EqualTo(new[] { 3, 2 }));
        Assert.That(p.Strides[0], Is.EqualTo(new long[] { 1, 3 }));
        p = new StridedPlan([1, 1], [5, 7], [1, 1]);
        Assert.That(p.Shape, Is.EqualTo(new[] { 1 }));
        Assert.That(p.Strides[1], Is.EqualTo(new long[] { 1 }));
        var shape = Enumerable.Repeat(2, 20).ToArray();                                     // rank 20: heap scratch
        var contiguous = Enumerable.Range(0, 20).Select(d => 1L << (19 - d)).ToArray();
        var odd = contiguous.Select((s, d) => d == 10 ? 0L : s).ToArray();
        p = new StridedPlan(shape, contiguous, odd, contiguous, contiguous);
        Assert.That(p.Shape, Is.EqualTo(new[] { 1 << 10, 2, 1 << 9 }));   // dims 0..9 merge, 10 alone (stride 0 for b), 11..19 merge
        Assert.That(p.Strides[1], Is.EqualTo(new long[] { 1 << 10, 0, 1 }));
    }

    // Permute without LINQ: negative dims, the values of the view, and the errors for a repeat and an out-of-range dim.
    [Test]
    public void PermuteChecksAndReordersAsBefore()
    {
        using var x = Tensor.FromArray(Enumerable.Range(0, 24).Select(i => (float)i).ToArray(), 2, 3, 4);
        using var p = x.Permute(-1, 0, 1);                                   // (4, 2, 3)
        Assert.That(p.Shape.ToArray(), Is.EqualTo(new[] { 4, 2, 3 }));
        Assert.That(p.Strides.ToArray(), Is.EqualTo(new long[] { 1, 12, 4 }));
        Assert.That(p[3, 1, 2], Is.EqualTo(x[1, 2, 3]));
        Assert.Throws<ArgumentException>(() => x.Permute(0, 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => x.Permute(0, 1, 3));
        Assert.Throws<ArgumentException>(() => x.Permute(0, 1));
    }

    // The second scope on a thread takes the first one's emptied list: the first, disposed again, must not dispose
    // (or count) the second one's tensors.
    [Test]
    public void AReusedScopeListBelongsToTheNewScopeOnly()
    {
        var first = Tensor.Scope();
        var old = Tensor.Zeros(2);
        first.Dispose();
        Assert.That(old.IsDisposed, Is.True);
        using var second = Tensor.Scope();
        var t = Tensor.Zeros(3);
        var u = Tensor.Zeros(4);
        first.Dispose();                               // idempotent: touches nothing of the second scope
        Assert.That(first.Count, Is.EqualTo(0));
        Assert.That(second.Count, Is.EqualTo(2));
        Assert.That(t.IsDisposed || u.IsDisposed, Is.False);
    }

    // A pass that fails midway leaves no state behind for the next pass on the thread.
    [Test]
    public void ABackwardPassAfterAFailedOneGivesTheRightGradients()
    {
        using var x = Tensor.FromArray([1f, 2f, 3f], 3);
        x.RequiresGrad = true;
        using (Tensor.Scope())
        {
            var y = Ops.Mul(x, x);
            var bad = BackwardPass.Record(Ops.Sum(y).Detach(), "bad", [y], g => [g, g]);   // two gradients for one input
            Assert.Throws<InvalidOperationException>(() => bad.Backward());
        }
        Assert.That(x.Grad, Is.Null);
        for (int pass = 0; pass < 2; pass++)
        {
            using (Tensor.Scope()) Ops.Sum(Ops.Mul(x, x)).Backward();
            Assert.That(x.Grad!.ToArray(), Is.EqualTo(new[] { 2f, 4f, 6f }), $"pass {pass}");
            x.Grad.Dispose();
            x.Grad = null;
        }
    }
}
