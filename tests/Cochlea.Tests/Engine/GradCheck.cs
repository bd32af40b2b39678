// Central-difference gradient checking: compares an op's backward rule with
// (L(x + eps e_j) - L(x - eps e_j)) / 2 eps for L = sum(y * g) with a random g,
// evaluating L in double from the float32 forward.
using Cochlea.Autograd;
using NUnit.Framework;

namespace Cochlea.Tests.Engine;

public static class GradCheck
{
    /// <summary>Random float32 leaf requiring grad, values in [lo, hi).</summary>
    public static Tensor Leaf(Random rng, float lo, float hi, params int[] shape)
    {
        var t = Tensor.Rand(rng, lo, hi, shape);
        t.RequiresGrad = true;
        return t;
    }

    /// <summary>Random normal leaf requiring grad.</summary>
    public static Tensor Normal(Random rng, params int[] shape)
    {
        var t = Tensor.Randn(rng, 1f, shape);
        t.RequiresGrad = true;
        return t;
    }

    /// <summary>Leaf holding a shuffled 0.1-spaced ramp: no ties, so max/argmax stay put under +-eps perturbations.</summary>
    public static Tensor Distinct(Random rng, params int[] shape)
    {
        int n = shape.Aggregate(1, (a, b) => a * b);
        var v = Enumerable.Range(0, n).Select(i => (i - n / 2) * 0.1f).OrderBy(_ => rng.Next()).ToArray();
        var t = Tensor.FromArray(v, shape);
        t.RequiresGrad = true;
        return t;
    }

    /// <summary>Checks d sum(f(x) * g) / dx for every input that requires grad.</summary>
    public static void Check(Func<Tensor[], Tensor> f, Tensor[] inputs, double eps = 1e-2, double atol = 2e-3, double rtol = 2e-2, int seed = 7, int maxPerInput = 400)
    {
        using var scope = Tensor.Scope();
        foreach (var x in inputs) { x.Grad?.Dispose(); x.Grad = null; }
        var y = f(inputs);
        var rng = new Random(seed);
        var g = Tensor.Randn(rng, 1f, y.ShapeArrayCopy());
        var gv = g.ToArray();
        y.Backward(g);

        double Loss()
        {
            using var ng = Tensor.NoGrad();
            using var yy = f(inputs);
            var v = yy.ToArray();
            double s = 0;
            for (int i = 0; i < v.Length; i++) s += (double)v[i] * gv[i];
            return s;
        }

        for (int k = 0; k < inputs.Length; k++)
        {
            var x = inputs[k];
            if (!x.RequiresGrad) continue;
            Assert.That(x.Grad, Is.Not.Null, $"input {k} got no gradient");
            var analytic = x.Grad!.ToArray();
            var data = x.AsSpan();
            int step = Math.Max(1, data.Length / maxPerInput);
            for (int j = 0; j < data.Length; j += step)
            {
                float orig = data[j];
                data[j] = orig + (float)eps; double lp = Loss();
                data[j] = orig - (float)eps; double lm = Loss();
                data[j] = orig;
                double num = (lp - lm) / (2 * eps);
                double a = analytic[j];
                Assert.That(Math.Abs(a - num), Is.LessThanOrEqualTo(atol + rtol * Math.Max(Math.Abs(num), Math.Abs(a))),
                    $"input {k} element {j}: analytic {a}, numeric {num}");
            }
        }
    }

    static int[] ShapeArrayCopy(this Tensor t) => t.Shape.ToArray();
}
