// Every elementwise operator struct, at every vector width this process runs, against the
// scalar form on lengths 0..257, with a guard region after the output that must stay intact.
using Cochlea.Kernels;
using Cochlea.Kernels.Elementwise;
using NUnit.Framework;

namespace Cochlea.Tests.Kernels;

[Category("Kernels")]
public unsafe class ElementwiseKernelTests
{
    const int Guard = 19;
    const float GuardValue = -12345.5f;

    static IEnumerable<SimdWidth> Widths() => Simd.Available;

    static float[] Data(int n, int seed, float lo, float hi)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(lo + (hi - lo) * r.NextDouble())).ToArray();
    }

    static void Compare(float[] expected, float[] actual, int n, string what)
    {
        for (int i = 0; i < n; i++)
        {
            float e = expected[i], a = actual[i];
            if (float.IsNaN(e)) { Assert.That(float.IsNaN(a), $"{what}[{i}] expected NaN"); continue; }
            Assert.That(Math.Abs(a - e), Is.LessThanOrEqualTo(1e-6f + 2e-6f * Math.Abs(e)), $"{what}: element {i} of {n}");
        }
        for (int i = n; i < n + Guard; i++) Assert.That(actual[i], Is.EqualTo(GuardValue), $"{what}: guard {i - n} overwritten (n = {n})");
    }

    static void CheckUnary<TOp>(TOp op, SimdWidth w, float lo, float hi) where TOp : struct, IUnaryOp
    {
        for (int n = 0; n <= 257; n++)
        {
            var x = Data(n, n, lo, hi);
            var want = new float[n + Guard]; var got = new float[n + Guard];
            Array.Fill(want, GuardValue); Array.Fill(got, GuardValue);
            fixed (float* px = x, pw = want, pg = got)
            {
                ElementwiseLoops.Unary(op, px, pw, n, SimdWidth.Scalar);
                ElementwiseLoops.Unary(op, px, pg, n, w);
            }
            Compare(want, got, n, $"{typeof(TOp).Name} at {w}");
        }
    }

    static void CheckBinary<TOp>(TOp op, SimdWidth w, float lo, float hi) where TOp : struct, IBinaryOp
    {
        for (int n = 0; n <= 257; n++)
        {
            var a = Data(n, n, -3f, 3f); var b = Data(n, n + 1000, lo, hi);
            var want = new float[n + Guard]; var got = new float[n + Guard];
            Array.Fill(want, GuardValue); Array.Fill(got, GuardValue);
            fixed (float* pa = a, pb = b, pw = want, pg = got)
            {
                ElementwiseLoops.Binary(op, pa, pb, pw, n, SimdWidth.Scalar);
                ElementwiseLoops.Binary(op, pa, pb, pg, n, w);
                Compare(want, got, n, $"{typeof(TOp).Name} at {w}");
                if (n == 0) continue;
                Array.Fill(got, GuardValue);
                ElementwiseLoops.BinaryScalarRight(op, pa, pb[0], pg, n, w);
                for (int i = 0; i < n; i++) pw[i] = op.Invoke(pa[i], pb[0]);
                Compare(want, got, n, $"{typeof(TOp).Name} scalar-right at {w}");
                Array.Fill(got, GuardValue);
                ElementwiseLoops.BinaryScalarLeft(op, pa[0], pb, pg, n, w);
                for (int i = 0; i < n; i++) pw[i] = op.Invoke(pa[0], pb[i]);
                Compare(want, got, n, $"{typeof(TOp).Name} scalar-left at {w}");
            }
        }
    }

    [TestCaseSource(nameof(Widths))]
    public void UnaryOps(SimdWidth w)
    {
        CheckUnary(new NegOp(), w, -5, 5);
        CheckUnary(new ScaleOp(-1.5f), w, -5, 5);
        CheckUnary(new AddScalarOp(0.25f), w, -5, 5);
        CheckUnary(new ExpOp(), w, -80, 80);
        CheckUnary(new LogOp(), w, 1e-6f, 1e6f);
        CheckUnary(new Log1pOp(), w, -0.99f, 100);
        CheckUnary(new SqrtOp(), w, 0, 100);
        CheckUnary(new PowOp(3f), w, -5, 5);
        CheckUnary(new PowOp(0.5f), w, 0, 5);
        CheckUnary(new AbsOp(), w, -5, 5);
        CheckUnary(new ClampOp(-1f, 2f), w, -5, 5);
        CheckUnary(new ClampOp(0f, float.PositiveInfinity), w, -5, 5);
        CheckUnary(new SigmoidOp(), w, -30, 30);
        CheckUnary(new TanhOp(), w, -10, 10);
        CheckUnary(new SiluOp(), w, -30, 30);
    }

    [TestCaseSource(nameof(Widths))]
    public void BinaryOps(SimdWidth w)
    {
        CheckBinary(new AddOp(), w, -3, 3);
        CheckBinary(new SubOp(), w, -3, 3);
        CheckBinary(new MulOp(), w, -3, 3);
        CheckBinary(new DivOp(), w, 0.5f, 3);
        CheckBinary(new MaxOp(), w, -3, 3);
        CheckBinary(new MinOp(), w, -3, 3);
        CheckBinary(new Log1pGradOp(), w, -0.5f, 3);
        CheckBinary(new SqrtGradOp(), w, 0.5f, 3);
        CheckBinary(new PowGradOp(2.5f), w, 0.1f, 3);
        CheckBinary(new AbsGradOp(), w, -3, 3);
        CheckBinary(new ClampGradOp(-1f, 1f), w, -3, 3);
        CheckBinary(new SigmoidGradOp(), w, 0, 1);
        CheckBinary(new TanhGradOp(), w, -1, 1);
        CheckBinary(new SiluGradOp(), w, -30, 30);
    }

    [TestCaseSource(nameof(Widths))]
    public void TernaryOps(SimdWidth w)
    {
        for (int n = 0; n <= 257; n++)
        {
            var a = Data(n, n, -3, 3); var b = Data(n, n + 1, 0.5f, 3); var c = Data(n, n + 2, -1, 1);
            for (int i = 0; i < n; i += 3) c[i] = 0; // the select op needs real zeros in the mask
            var want = new float[n + Guard]; var got = new float[n + Guard];
            Array.Fill(want, GuardValue); Array.Fill(got, GuardValue);
            fixed (float* pa = a, pb = b, pc = c, pw = want, pg = got)
            {
                ElementwiseLoops.Ternary(new SelectOp(), pa, pb, pc, pw, n, SimdWidth.Scalar);
                ElementwiseLoops.Ternary(new SelectOp(), pa, pb, pc, pg, n, w);
                Compare(want, got, n, $"select at {w}");
                Array.Fill(got, GuardValue);
                ElementwiseLoops.Ternary(new DivRhsGradOp(), pa, pc, pb, pw, n, SimdWidth.Scalar);
                ElementwiseLoops.Ternary(new DivRhsGradOp(), pa, pc, pb, pg, n, w);
                Compare(want, got, n, $"div rhs grad at {w}");
            }
        }
    }

    [TestCaseSource(nameof(Widths))]
    public void SumMatchesDoubleReference(SimdWidth w)
    {
        for (int n = 0; n <= 257; n++)
        {
            var x = Data(n, n, -1, 1);
            double want = x.Sum(v => (double)v);
            fixed (float* p = x) Assert.That(ElementwiseLoops.Sum(p, n, w), Is.EqualTo(want).Within(1e-5 * Math.Max(1, n)), $"n = {n}");
        }
    }

    [Test]
    public void ScalarFormsMatchClosedForms()
    {
        // The scalar forms are the references, so check them against System.Math directly.
        Assert.That(new SigmoidOp().Invoke(0f), Is.EqualTo(0.5f));
        Assert.That(new SigmoidOp().Invoke(-100f), Is.EqualTo(0f).Within(1e-30f));
        Assert.That(new SigmoidOp().Invoke(2f), Is.EqualTo(1 / (1 + Math.Exp(-2))).Within(1e-7));
        Assert.That(new SiluOp().Invoke(1.5f), Is.EqualTo(1.5 / (1 + Math.Exp(-1.5))).Within(1e-6));
        Assert.That(new SiluGradOp().Invoke(1f, 1.5f), Is.EqualTo(1 / (1 + Math.Exp(-1.5)) * (1 + 1.5 * (1 - 1 / (1 + Math.Exp(-1.5))))).Within(1e-6));
        Assert.That(new Log1pOp().Invoke(1e-10f), Is.EqualTo(1e-10f).Within(1e-17f));
        Assert.That(new PowOp(2f).Invoke(-3f), Is.EqualTo(9f));
        Assert.That(new ClampGradOp(0, 6).Invoke(5f, 6f), Is.EqualTo(0f));
    }
}
