// Method-call forms of the common ops (x.Relu(), x.Sum(1)), forwarding to Ops.
namespace Cochlea;

public sealed partial class Tensor
{
    /// <summary>Sum over dims (all when none).</summary>
    public Tensor Sum(params int[] dims) => Ops.Sum(this, dims);
    /// <summary>Sum over one dim.</summary>
    public Tensor Sum(int dim, bool keepDim) => Ops.Sum(this, [dim], keepDim);
    /// <summary>Mean over dims (all when none).</summary>
    public Tensor Mean(params int[] dims) => Ops.Mean(this, dims);
    /// <summary>Mean over one dim.</summary>
    public Tensor Mean(int dim, bool keepDim) => Ops.Mean(this, [dim], keepDim);
    /// <summary>max(x, 0).</summary>
    public Tensor Relu() => Ops.Relu(this);
    /// <summary>e^x.</summary>
    public Tensor Exp() => Ops.Exp(this);
    /// <summary>ln x.</summary>
    public Tensor Log() => Ops.Log(this);
    /// <summary>Matrix product.</summary>
    public Tensor Matmul(Tensor other) => Ops.Matmul(this, other);
}
