// add, sub, mul, div (broadcasting), neg, and the scalar forms. Backward: the output
// gradient, scaled as the chain rule says, summed back to each input's shape.
using Cochlea.Autograd;
using Cochlea.Kernels.Elementwise;

namespace Cochlea;

/// <summary>Differentiable tensor operations (functional form). Every op validates its inputs and records its backward rule.</summary>
public static partial class Ops
{
    /// <summary>a + b, broadcasting.</summary>
    public static Tensor Add(Tensor a, Tensor b)
    {
        var y = BinaryRaw(new AddOp(), a, b, "add");
        int[] sa = a.ShapeArray, sb = b.ShapeArray;
        return BackwardPass.Record(y, "add", [a, b], g => [a.RequiresGrad ? SumTo(g, sa) : null, b.RequiresGrad ? SumTo(g, sb) : null]);
    }

    /// <summary>a - b, broadcasting.</summary>
    public static Tensor Sub(Tensor a, Tensor b)
    {
        var y = BinaryRaw(new SubOp(), a, b, "sub");
        int[] sa = a.ShapeArray, sb = b.ShapeArray;
        return BackwardPass.Record(y, "sub", [a, b], g =>
        {
            Tensor? db = null;
            if (b.RequiresGrad) { using var s = SumTo(g, sb); db = UnaryRaw(new NegOp(), s, "sub"); }
            return [a.RequiresGrad ? SumTo(g, sa) : null, db];
        });
    }

    /// <summary>a * b, broadcasting.</summary>
    public static Tensor Mul(Tensor a, Tensor b)
    {
        var y = BinaryRaw(new MulOp(), a, b, "mul");
        int[] sa = a.ShapeArray, sb = b.ShapeArray;
        return BackwardPass.Record(y, "mul", [a, b], g =>
        {
            Tensor? da = null, db = null;
            if (a.RequiresGrad) { using var t = BinaryRaw(new MulOp(), g, b, "mul"); da = SumTo(t, sa); }
            if (b.RequiresGrad) { using var t = BinaryRaw(new MulOp(), g, a, "mul"); db = SumTo(t, sb); }
            return [da, db];
        });
    }

    /// <summary>a / b, broadcasting.</summary>
    public static Tensor Div(Tensor a, Tensor b)
    {
        var y = BinaryRaw(new DivOp(), a, b, "div");
        int[] sa = a.ShapeArray, sb = b.ShapeArray;
        return BackwardPass.Record(y, "div", [a, b], g =>
        {
            Tensor? da = null, db = null;
            if (a.RequiresGrad) { using var t = BinaryRaw(new DivOp(), g, b, "div"); da = SumTo(t, sa); }
            if (b.RequiresGrad) { using var t = TernaryRaw(new DivRhsGradOp(), g, a, b, "div"); db = SumTo(t, sb); }
            return [da, db];
        });
    }

    /// <summary>-x.</summary>
    public static Tensor Neg(Tensor x)
    {
        var y = UnaryRaw(new NegOp(), x, "neg");
        return BackwardPass.Record(y, "neg", [x], g => [UnaryRaw(new NegOp(), g, "neg")]);
    }

    /// <summary>s * x for a constant s.</summary>
    public static Tensor Scale(Tensor x, float s)
    {
        var y = UnaryRaw(new ScaleOp(s), x, "scale");
        return BackwardPass.Record(y, "scale", [x], g => [UnaryRaw(new ScaleOp(s), g, "scale")]);
    }

    /// <summary>x + s for a constant s.</summary>
    public static Tensor AddScalar(Tensor x, float s)
    {
        var y = UnaryRaw(new AddScalarOp(s), x, "add_scalar");
        return BackwardPass.Record(y, "add_scalar", [x], g => [g]);
    }
}

public sealed partial class Tensor
{
    /// <summary>Elementwise sum with broadcasting.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => Ops.Add(a, b);
    /// <summary>Elementwise difference with broadcasting.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => Ops.Sub(a, b);
    /// <summary>Elementwise product with broadcasting.</summary>
    public static Tensor operator *(Tensor a, Tensor b) => Ops.Mul(a, b);
    /// <summary>Elementwise quotient with broadcasting.</summary>
    public static Tensor operator /(Tensor a, Tensor b) => Ops.Div(a, b);
    /// <summary>Negation.</summary>
    public static Tensor operator -(Tensor a) => Ops.Neg(a);
    /// <summary>Adds a constant.</summary>
    public static Tensor operator +(Tensor a, float s) => Ops.AddScalar(a, s);
    /// <summary>Subtracts a constant.</summary>
    public static Tensor operator -(Tensor a, float s) => Ops.AddScalar(a, -s);
    /// <summary>Multiplies by a constant.</summary>
    public static Tensor operator *(Tensor a, float s) => Ops.Scale(a, s);
    /// <summary>Multiplies by a constant.</summary>
    public static Tensor operator *(float s, Tensor a) => Ops.Scale(a, s);
    /// <summary>Divides by a constant.</summary>
    public static Tensor operator /(Tensor a, float s) => Ops.Scale(a, 1f / s);
}
