// Pointwise math ops: exp, log, log1p, sqrt, pow, abs, clamp and the relu family, sigmoid,
// tanh. Each pairs a forward operator struct with the gradient struct beside it in Kernels.
using Cochlea.Autograd;
using Cochlea.Kernels.Elementwise;

namespace Cochlea;

public static partial class Ops
{
    // Backward computed from the input x: dx = grad(dy, x).
    static Tensor UnaryFromInput<TF, TG>(Tensor x, TF f, TG grad, string name)
        where TF : struct, IUnaryOp where TG : struct, IBinaryOp
    {
        var y = UnaryRaw(f, x, name);
        return BackwardPass.Record(y, name, [x], g => [BinaryRaw(grad, g, x, name)]);
    }

    // Backward computed from the output y (cheaper for exp, sigmoid, tanh, sqrt).
    static Tensor UnaryFromOutput<TF, TG>(Tensor x, TF f, TG grad, string name)
        where TF : struct, IUnaryOp where TG : struct, IBinaryOp
    {
        var y = UnaryRaw(f, x, name);
        // Backward reads y: disposing y before Backward() makes backward fail with a clear ObjectDisposedException.
        return BackwardPass.Record(y, name, [x], g => [BinaryRaw(grad, g, y, name)]);
    }

    /// <summary>e^x.</summary>
    public static Tensor Exp(Tensor x) => UnaryFromOutput(x, new ExpOp(), new MulOp(), "exp");
    /// <summary>ln x.</summary>
    public static Tensor Log(Tensor x) => UnaryFromInput(x, new LogOp(), new DivOp(), "log");
    /// <summary>ln(1 + x).</summary>
    public static Tensor Log1p(Tensor x) => UnaryFromInput(x, new Log1pOp(), new Log1pGradOp(), "log1p");
    /// <summary>sqrt(x).</summary>
    public static Tensor Sqrt(Tensor x) => UnaryFromOutput(x, new SqrtOp(), new SqrtGradOp(), "sqrt");
    /// <summary>x^p for a constant exponent p.</summary>
    public static Tensor Pow(Tensor x, float p) => UnaryFromInput(x, new PowOp(p), new PowGradOp(p), "pow");
    /// <summary>|x|.</summary>
    public static Tensor Abs(Tensor x) => UnaryFromInput(x, new AbsOp(), new AbsGradOp(), "abs");
    /// <summary>min(max(x, min), max); the gradient passes strictly inside the interval.</summary>
    public static Tensor Clamp(Tensor x, float min = float.NegativeInfinity, float max = float.PositiveInfinity)
    {
        if (min > max) throw new ArgumentException($"clamp: min ({min}) is greater than max ({max}).");
        return UnaryFromInput(x, new ClampOp(min, max), new ClampGradOp(min, max), "clamp");
    }
    /// <summary>max(x, 0).</summary>
    public static Tensor Relu(Tensor x) => UnaryFromInput(x, new ClampOp(0, float.PositiveInfinity), new ClampGradOp(0, float.PositiveInfinity), "relu");
    /// <summary>min(max(x, 0), c): the clipped ReLU of DeepSpeech (c = 20).</summary>
    public static Tensor ReluClip(Tensor x, float c)
    {
        if (!(c > 0)) throw new ArgumentOutOfRangeException(nameof(c), c, "relu_clip: the clip value must be positive.");
        return UnaryFromInput(x, new ClampOp(0, c), new ClampGradOp(0, c), "relu_clip");
    }
    /// <summary>min(max(x, 0), 6).</summary>
    public static Tensor Relu6(Tensor x) => UnaryFromInput(x, new ClampOp(0, 6), new ClampGradOp(0, 6), "relu6");
    /// <summary>1 / (1 + e^-x).</summary>
    public static Tensor Sigmoid(Tensor x) => UnaryFromOutput(x, new SigmoidOp(), new SigmoidGradOp(), "sigmoid");
    /// <summary>tanh(x).</summary>
    public static Tensor Tanh(Tensor x) => UnaryFromOutput(x, new TanhOp(), new TanhGradOp(), "tanh");
}
