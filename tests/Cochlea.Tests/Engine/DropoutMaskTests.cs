// The parallel dropout mask (src/Engine/Ops/DropoutMask.cs) against the element-by-element draw from the Philox stream
// it replaced: the same mask bit for bit, at any stream offset and across chunk boundaries, and the stream advanced by
// one word per element.
using NUnit.Framework;

namespace Cochlea.Tests.Engine;

public class DropoutMaskTests
{
    [Test]
    public void MaskEqualsTheSequentialDraw([Values(1, 5, 16387, 40000)] int n, [Values(0ul, 3ul, 1001ul)] ulong offset)
    {
        const float p = 0.3f;
        var rng = new Philox(77, offset);
        var reference = new Philox(77, offset);
        var expected = new float[n];
        for (int i = 0; i < n; i++) expected[i] = reference.NextFloat() >= p ? 1f / (1f - p) : 0f;
        using var scope = Tensor.Scope();
        var y = Ops.Dropout(Tensor.Ones(n), p, training: true, rng);
        Assert.That(y.ToArray(), Is.EqualTo(expected));
        Assert.That(rng.Offset, Is.EqualTo(reference.Offset));
    }
}
