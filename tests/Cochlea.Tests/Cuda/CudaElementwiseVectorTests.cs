// The float4 path of the contiguous elementwise kernels (native/cuda/common.cuh's map_f32: unary.cu and the dense forms
// of binary.cu) against the CPU, forward and gradient: lengths that are only a tail (1, 3), one float4 with and without
// a tail (4, 5, 7), and many grid-stride steps (4096, 4097, 100003), with one operand a view at offset 4 (16-byte
// aligned: the float4 path) or 1 element (4 bytes past: the one-float path; on the host emulator a float4 access there
// traps), each operand position in turn; and the in-place scale (x == y) on such views, with the elements around the
// view unchanged. Skipped (not passed) without a GPU.
using Cochlea.Cuda;
using NUnit.Framework;
using static Cochlea.Tests.Engine.GradCheck;

namespace Cochlea.Tests.Cuda;

[Category("Gpu")]
public class CudaElementwiseVectorTests
{
    static readonly int[] Lengths = [1, 3, 4, 5, 7, 4096, 4097, 100003];

    // One op per touched family. Exact ops (one IEEE rounding, or none) must match bit for bit; exp within CudaOpTests'
    // tolerance (GPU expf vs .NET's). Inputs: (rng, n, position) -> the CPU leaf or constant at that position.
    sealed record Op(string Name, int Inputs, Func<Tensor[], Tensor> F, Func<Random, int, int, Tensor> Make, double Atol, double Rtol);

    static Tensor Signed(Random rng, int n, int pos) => Normal(rng, n);

    static readonly Op[] All =
    [
        new("relu", 1, t => Ops.Relu(t[0]), Signed, 0, 0),                   // clamp_f32; backward clamp_grad_f32 (dy, x)
        new("exp", 1, t => Ops.Exp(t[0]), Signed, 1e-4, 2e-4),               // exp_f32; backward mul_f32 (dy, y)
        new("mul", 2, t => t[0] * t[1], Signed, 0, 0),                      // mul_f32 forward and for both gradients
        // div_f32 forward and for a's gradient; b's gradient div_rhs_grad_f32 (ternary: dy, a, b).
        new("div", 2, t => t[0] / t[1], (rng, n, pos) => pos == 1 ? Leaf(rng, 0.5f, 2f, n) : Normal(rng, n), 0, 0),
        // select_f32 (ternary: a, b, c) forward; c a constant mask of 0 and 1.
        new("where", 3, t => Ops.Where(t[2], t[0], t[1]),
            (rng, n, pos) => pos == 2 ? Tensor.FromArray(Enumerable.Range(0, n).Select(_ => (float)rng.Next(2)).ToArray(), n) : Normal(rng, n), 0, 0),
    ];

    public static IEnumerable<TestCaseData> Cases()
    {
        foreach (var op in All)
        {
            yield return new TestCaseData(op.Name, -1, 0).SetName($"{op.Name}, all operands fresh (aligned)");
            for (int pos = 0; pos < op.Inputs; pos++)
                foreach (int offset in new[] { 1, 4 })
                    yield return new TestCaseData(op.Name, pos, offset).SetName($"{op.Name}, operand {pos} a view at offset {offset}");
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void MatchesCpu(string name, int viewAt, int offset)
    {
        GpuTest.RequireGpu();
        var op = All.Single(o => o.Name == name);
        foreach (int n in Lengths)
        {
            using var scope = Tensor.Scope();
            var rng = new Random(n);
            // Each operand: its own tensor (a leaf or a constant); the one at viewAt has `offset` extra elements before
            // and 3 after, and the op reads the view [offset, offset + n) of it.
            var whole = Enumerable.Range(0, op.Inputs).Select(p => op.Make(rng, p == viewAt ? n + offset + 3 : n, p)).ToArray();
            var wholeD = whole.Select(t => GpuTest.LeafOn(t, GpuTest.Cuda)).ToArray();
            Tensor[] Operands(Tensor[] ts) => ts.Select((t, p) => p == viewAt ? t.Slice(0, offset, offset + n) : t).ToArray();
            var xs = Operands(whole);
            var xd = Operands(wholeD);
            if (viewAt >= 0)   // the layout under test: a fresh allocation is 16-byte aligned, the view `offset` floats past it
                Assert.That(xd[viewAt].DevicePtr % 16, Is.EqualTo((ulong)(offset * 4 % 16)), $"{name} n={n}: the view's address");

            var y = op.F(xs);
            var yd = op.F(xd);
            var g = Tensor.Randn(rng, 1f, n);
            y.Backward(g);
            yd.Backward(GpuTest.LeafOn(g, GpuTest.Cuda));

            string what = $"{name} n={n}, operand {viewAt} at offset {offset}";
            GpuTest.AssertClose(yd.ToArray(), y.ToArray(), op.Atol, op.Rtol, what + ": forward");
            for (int p = 0; p < op.Inputs; p++)
            {
                if (!whole[p].RequiresGrad) continue;
                Assert.That(wholeD[p].Grad, Is.Not.Null, $"{what}: input {p} got no gradient on the GPU");
                GpuTest.AssertClose(wholeD[p].Grad!.ToArray(), whole[p].Grad!.ToArray(), op.Atol, op.Rtol, $"{what}: gradient of input {p}");
            }
        }
    }

    // scale_f32 with x == y (CudaElementwise.ScaleInPlace, as the gradient clipping did): the view's elements become
    // s * x exactly, the 8 elements around it (offset before, 8 - offset after) stay as they were.
    [TestCase(0), TestCase(1), TestCase(4)]
    public void ScaleInPlaceOnAView(int offset)
    {
        GpuTest.RequireGpu();
        const float s = -2.5f;
        foreach (int n in Lengths)
        {
            using var scope = Tensor.Scope();
            var host = Tensor.Randn(new Random(n), 1f, n + 8).ToArray();
            var whole = Tensor.FromArray(host, n + 8).To(GpuTest.Cuda);
            var view = whole.Slice(0, offset, offset + n);
            Assert.That(view.DevicePtr % 16, Is.EqualTo((ulong)(offset * 4 % 16)), $"n={n}: the view's address");
            CudaElementwise.ScaleInPlace(view, s);
            var expected = host.Select((v, i) => i >= offset && i < offset + n ? s * v : v).ToArray();
            Assert.That(whole.ToArray(), Is.EqualTo(expected), $"scale in place, n={n} at offset {offset}");
        }
    }
}
