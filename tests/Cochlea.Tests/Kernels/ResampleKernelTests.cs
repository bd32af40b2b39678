// Bilinear resize and adaptive average pooling kernels against their plain double references on odd
// shapes (up- and down-sampling, identity, one-pixel inputs), with a guard after the output.
using Cochlea.Kernels.Pooling;
using Cochlea.Kernels.Resize;
using NUnit.Framework;

namespace Cochlea.Tests.Kernels;

[Category("Kernels")]
public unsafe class ResampleKernelTests
{
    const int Guard = 13;
    const float GuardValue = -777.25f;

    static readonly (int P, int H, int W, int OH, int OW)[] Shapes =
    [
        (1, 1, 1, 1, 1), (1, 1, 1, 3, 5), (2, 3, 4, 7, 11), (3, 9, 8, 4, 3), (1, 5, 5, 5, 5), (2, 3, 16, 6, 4),
        (4, 17, 13, 8, 31), (1, 2, 257, 3, 100), (5, 7, 7, 1, 1),
    ];

    static float[] Data(int n, int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 4 - 2)).ToArray();
    }

    delegate void Kernel(float* a, float* b, int p, int h, int w, int oh, int ow);

    static void Compare(Kernel fast, Kernel reference, bool backward)
    {
        foreach (var (p, h, w, oh, ow) in Shapes)
        {
            int nIn = backward ? p * oh * ow : p * h * w, nOut = backward ? p * h * w : p * oh * ow;
            var x = Data(nIn, nIn + 7);
            var want = new float[nOut + Guard]; var got = new float[nOut + Guard];
            Array.Fill(want, GuardValue); Array.Fill(got, GuardValue);
            fixed (float* px = x, pw = want, pg = got)
            {
                reference(px, pw, p, h, w, oh, ow);
                fast(px, pg, p, h, w, oh, ow);
            }
            for (int i = 0; i < nOut; i++)
                Assert.That(got[i], Is.EqualTo(want[i]).Within(1e-5 + 1e-5 * Math.Abs(want[i])), $"({p},{h},{w})->({oh},{ow}) element {i}");
            for (int i = nOut; i < nOut + Guard; i++) Assert.That(got[i], Is.EqualTo(GuardValue), "guard overwritten");
        }
    }

    [Test]
    public void BilinearForwardMatchesReference() => Compare(Bilinear.Forward, BilinearReference.Forward, backward: false);

    [Test]
    public void BilinearBackwardMatchesReference() => Compare(Bilinear.Backward, BilinearReference.Backward, backward: true);

    [Test]
    public void AdaptiveAvgPoolForwardMatchesReference() => Compare(AdaptiveAvgPool.Forward, AdaptiveAvgPoolReference.Forward, backward: false);

    [Test]
    public void BilinearIsTheIdentityAtTheSameSizeAndAdaptivePoolOfOneIsTheMean()
    {
        var x = Data(3 * 5 * 7, 3);
        var y = new float[x.Length]; var m = new float[3];
        fixed (float* px = x, py = y, pm = m)
        {
            Bilinear.Forward(px, py, 3, 5, 7, 5, 7);
            AdaptiveAvgPool.Forward(px, pm, 3, 5, 7, 1, 1);
        }
        Assert.That(y, Is.EqualTo(x));
        for (int p = 0; p < 3; p++) Assert.That(m[p], Is.EqualTo(x.Skip(p * 35).Take(35).Average()).Within(1e-5));
    }
}
