// SiLU / swish, the activation of EfficientNet: y = x * sigmoid(x). Kept in its own file (the
// pointwise family lives in Unary.cs) so the tagging backbones' ops merge without conflicts.
using Cochlea.Kernels.Elementwise;

namespace Cochlea;

public static partial class Ops
{
    /// <summary>x * sigmoid(x) (torch.nn.SiLU); dx = dy * s * (1 + x (1 - s)).</summary>
    public static Tensor Silu(Tensor x) => UnaryFromInput(x, new SiluOp(), new SiluGradOp(), "silu");
}
