// How a convolution of the engine (ConvAxis per spatial axis, possibly asymmetric padding) maps onto cuDNN, which
// pads symmetrically: the symmetric part goes to the convolution descriptor, the excess is padded explicitly first
// (conv_pad2d_f32) and cropped off the input gradient (conv_crop2d_f32). 1-d convolutions are 2-d with H = 1.
using Cochlea.Kernels.Conv;

namespace Cochlea.Cuda.Cudnn;

/// <summary>Which convolution pass an algorithm is for.</summary>
internal enum ConvPass { Forward, BackwardData, BackwardFilter }

/// <summary>Everything that decides cuDNN's descriptors and algorithm choice for one convolution; H/W are the (explicitly padded) input sizes cuDNN sees.</summary>
internal readonly record struct ConvKey(int N, int C, int H, int W, int K, int KH, int KW, int PadH, int PadW,
    int StrideH, int StrideW, int DilationH, int DilationW, int Groups, bool Tf32)
{
    /// <summary>Output height by cuDNN's rule (the same as ConvShape.OutputLength with symmetric padding).</summary>
    public int OutH => (H + 2 * PadH - DilationH * (KH - 1) - 1) / StrideH + 1;

    /// <summary>Output width.</summary>
    public int OutW => (W + 2 * PadW - DilationW * (KW - 1) - 1) / StrideW + 1;
}

/// <summary>A convolution as cuDNN runs it: its key plus the explicit padding (top, bottom, left, right) applied before.</summary>
internal readonly record struct ConvPlan(ConvKey Key, int PadTop, int PadBottom, int PadLeft, int PadRight)
{
    /// <summary>True when the input must be padded explicitly (asymmetric padding on some axis).</summary>
    public bool NeedsPad => PadTop + PadBottom + PadLeft + PadRight > 0;

    /// <summary>The plan for x (n, cin, ah.In, aw.In) convolved with (cout, cin/groups, ah.Kernel, aw.Kernel).</summary>
    public static ConvPlan Create(int n, int cin, int cout, int groups, ConvAxis ah, ConvAxis aw, bool tf32)
    {
        int sh = Math.Min(ah.PadBefore, ah.PadAfter), sw = Math.Min(aw.PadBefore, aw.PadAfter);
        int top = ah.PadBefore - sh, bottom = ah.PadAfter - sh, left = aw.PadBefore - sw, right = aw.PadAfter - sw;
        var key = new ConvKey(n, cin, ah.In + top + bottom, aw.In + left + right, cout, ah.Kernel, aw.Kernel, sh, sw,
            ah.Stride, aw.Stride, ah.Dilation, aw.Dilation, groups, tf32);
        return new ConvPlan(key, top, bottom, left, right);
    }
}

/// <summary>An algorithm chosen for one pass: its id, workspace, math type and the time the search measured for it (ms).</summary>
internal readonly record struct ConvAlgoChoice(int Algo, long WorkspaceBytes, CudnnMathType MathType, float Milliseconds);
