// Convolution geometry: output lengths for 'valid', 'same' and explicit padding, and the
// per-axis description shared by im2col/col2im, the depthwise kernels and pooling.
namespace Cochlea.Kernels.Conv;

/// <summary>How a convolution pads its input.</summary>
public enum PaddingMode
{
    /// <summary>No padding.</summary>
    Valid,
    /// <summary>TF/PyTorch 'same': out = ceil(in / stride); total pad = max((out-1)*stride + (k-1)*dilation + 1 - in, 0), before = total/2 (the extra one after).</summary>
    Same,
    /// <summary>Caller-given padBefore / padAfter.</summary>
    Explicit,
}

/// <summary>One spatial axis of a convolution or pooling window: input length, kernel, stride, padding, dilation.</summary>
/// <param name="In">Input length (&gt;= 0).</param>
/// <param name="Kernel">Kernel taps (&gt;= 1).</param>
/// <param name="Stride">Stride (&gt;= 1).</param>
/// <param name="PadBefore">Zero (or -inf for max pooling) elements logically before the input.</param>
/// <param name="PadAfter">Padding after the input.</param>
/// <param name="Dilation">Distance between taps (&gt;= 1).</param>
public readonly record struct ConvAxis(int In, int Kernel, int Stride = 1, int PadBefore = 0, int PadAfter = 0, int Dilation = 1)
{
    /// <summary>Output length: floor((In + PadBefore + PadAfter - Dilation*(Kernel-1) - 1) / Stride) + 1, or 0 when the window does not fit.</summary>
    public int Out => ConvShape.OutputLength(In, Kernel, Stride, PadBefore, PadAfter, Dilation);

    /// <summary>Throws when a field is out of range.</summary>
    public void Validate(string name)
    {
        if (In < 0 || Kernel < 1 || Stride < 1 || Dilation < 1 || PadBefore < 0 || PadAfter < 0)
            throw new ArgumentOutOfRangeException(name, this, "Expected In >= 0, Kernel >= 1, Stride >= 1, Dilation >= 1, paddings >= 0.");
    }

    /// <summary>The axis with padding resolved from <paramref name="mode"/> (see <see cref="ConvShape.Padding"/>).</summary>
    public static ConvAxis Create(PaddingMode mode, int input, int kernel, int stride = 1, int dilation = 1, int padBefore = 0, int padAfter = 0)
    {
        var (b, a) = ConvShape.Padding(mode, input, kernel, stride, dilation, padBefore, padAfter);
        return new ConvAxis(input, kernel, stride, b, a, dilation);
    }
}

/// <summary>Output-length and padding rules of PyTorch / TensorFlow convolutions.</summary>
public static class ConvShape
{
    /// <summary>floor((input + padBefore + padAfter - dilation*(kernel-1) - 1) / stride) + 1, clamped at 0.</summary>
    public static int OutputLength(int input, int kernel, int stride = 1, int padBefore = 0, int padAfter = 0, int dilation = 1)
    {
        if (stride < 1 || kernel < 1 || dilation < 1) throw new ArgumentOutOfRangeException(nameof(stride), "kernel, stride and dilation must be >= 1.");
        long span = (long)input + padBefore + padAfter - (long)dilation * (kernel - 1) - 1;
        return span < 0 ? 0 : (int)(span / stride + 1);
    }

    /// <summary>
    /// (padBefore, padAfter) for <paramref name="mode"/>. Same: out = ceil(input/stride),
    /// total = max((out-1)*stride + (kernel-1)*dilation + 1 - input, 0), before = total/2 — TF's rule, which for
    /// stride 1 equals PyTorch's padding='same' (total = dilation*(kernel-1), the odd one after).
    /// </summary>
    public static (int Before, int After) Padding(PaddingMode mode, int input, int kernel, int stride = 1, int dilation = 1, int padBefore = 0, int padAfter = 0)
    {
        switch (mode)
        {
            case PaddingMode.Valid: return (0, 0);
            case PaddingMode.Explicit:
                if (padBefore < 0 || padAfter < 0) throw new ArgumentOutOfRangeException(nameof(padBefore), "Paddings must be >= 0.");
                return (padBefore, padAfter);
            case PaddingMode.Same:
                if (stride < 1 || kernel < 1 || dilation < 1) throw new ArgumentOutOfRangeException(nameof(stride), "kernel, stride and dilation must be >= 1.");
                int o = (input + stride - 1) / stride;
                int total = Math.Max((o - 1) * stride + (kernel - 1) * dilation + 1 - input, 0);
                return (total / 2, total - total / 2);
            default: throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown padding mode.");
        }
    }

    /// <summary>
    /// The outputs o in [Lo, Hi) whose input index o*stride + offset lies in [0, inLen); outside it the
    /// window reads padding. Hi &gt;= Lo, both within [0, outLen].
    /// </summary>
    internal static (int Lo, int Hi) ValidRange(int outLen, int stride, int offset, int inLen)
    {
        int lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
        int rem = inLen - offset;
        int hi = rem <= 0 ? 0 : (rem - 1) / stride + 1;
        lo = Math.Min(lo, outLen);
        hi = Math.Clamp(hi, lo, outLen);
        return (lo, hi);
    }
}

/// <summary>Argument checks shared by the conv and pooling kernels.</summary>
internal static unsafe class KernelArgs
{
    /// <summary>Throws when a buffer of <paramref name="length"/> &gt; 0 elements is given as a null pointer.</summary>
    public static void NotNull(void* p, long length, string name)
    {
        if (length > 0 && p == null) throw new ArgumentNullException(name, $"{name} ({length} elements) must not be null.");
    }
}
