// A Conv2d followed by a BatchNorm2d (and optionally a residual and a ReLU), as CNN backbones chain them: in eval
// mode one fused op (Ops.ConvBatchNormEval: batch norm, residual and ReLU in the convolution's GEMM epilogue), in
// training the modules one after another (batch statistics, running-statistics update, autograd). In eval the conv's
// packed weight and the batch norm's folded scale and shift come from the modules' caches (CacheDerivedData).
namespace Cochlea.Nn;

/// <summary>act(bn(conv(x)) + residual) over a bias-free, ungrouped, undilated <see cref="Conv2d"/> and a <see cref="BatchNorm2d"/>.</summary>
public static class ConvBatchNorm
{
    /// <summary>
    /// relu?(bn(conv(x)) + residual): the same values as calling the modules and <see cref="Ops.Add"/> / <see cref="Ops.Relu"/>;
    /// fused when <paramref name="bn"/> is in eval mode (see <see cref="Ops.ConvBatchNormEval"/>). <paramref name="residual"/> may be null.
    /// </summary>
    public static Tensor Forward(Conv2d conv, BatchNorm2d bn, Tensor x, Tensor? residual = null, bool relu = true)
    {
        bool fusable = !bn.IsTraining && conv.Bias is null && conv.Groups == 1 && conv.Dilation == (1, 1) && x.Rank == 4;
        if (!fusable)
        {
            var z = bn.Forward(conv.Forward(x));
            if (residual is not null) z = Ops.Add(z, residual);
            return relu ? Ops.Relu(z) : z;
        }
        return Ops.ConvBatchNormEval(x, conv.Weight, conv.Stride, conv.Padding, bn.Weight, bn.Bias, bn.RunningMean, bn.RunningVar, bn.Eps, residual, relu,
            conv.EvalPackedWeight, bn.EvalFolded);
    }
}
