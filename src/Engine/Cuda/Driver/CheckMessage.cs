// The message argument of the status checks (DriverCheck.Check, Cudnn.Check, Cublas.Check) as an interpolated string
// handler: `Check(status, $"cudnnPoolingForward({name}, {x.Describe()})")` formats its message only when the status is
// a failure. Why: those calls sit on every launch, copy and library call of a training step, and formatting the
// messages of successful calls (ConvKey.ToString, Tensor.Describe, numbers) was the largest host cost left in
// WaveKws's step once the GPU work was taken away (host emulator, COCHLEA_EMU_SKIP_WORK=1).
using System.Runtime.CompilerServices;
using Cochlea.Cuda.Cublas;

namespace Cochlea.Cuda.Driver;

/// <summary>A check's message, built only when the status passed beside it is a failure.</summary>
[InterpolatedStringHandler]
public ref struct CheckMessage
{
    DefaultInterpolatedStringHandler _inner;
    readonly bool _active;

    /// <summary>For a driver result: formats only when <paramref name="result"/> is not CUDA_SUCCESS.</summary>
    public CheckMessage(int literalLength, int formattedCount, CuResult result, out bool failed)
        : this(literalLength, formattedCount, result != CuResult.Success, out failed) { }

    /// <summary>For a cuDNN status: formats only when <paramref name="status"/> is not CUDNN_STATUS_SUCCESS (0).</summary>
    public CheckMessage(int literalLength, int formattedCount, int status, out bool failed)
        : this(literalLength, formattedCount, status != 0, out failed) { }

    /// <summary>For a cuBLAS status: formats only when <paramref name="status"/> is not success.</summary>
    public CheckMessage(int literalLength, int formattedCount, CublasStatus status, out bool failed)
        : this(literalLength, formattedCount, status != CublasStatus.Success, out failed) { }

    CheckMessage(int literalLength, int formattedCount, bool active, out bool failed)
    {
        _active = failed = active;
        _inner = active ? new DefaultInterpolatedStringHandler(literalLength, formattedCount) : default;
    }

    /// <summary>Appends literal text (failures only).</summary>
    public void AppendLiteral(string s) { if (_active) _inner.AppendLiteral(s); }

    /// <summary>Appends a value (failures only).</summary>
    public void AppendFormatted<T>(T value) { if (_active) _inner.AppendFormatted(value); }

    /// <summary>Appends a formatted value (failures only).</summary>
    public void AppendFormatted<T>(T value, string? format) { if (_active) _inner.AppendFormatted(value, format); }

    /// <summary>The message (empty for a success, which never throws).</summary>
    public string ToStringAndClear() => _active ? _inner.ToStringAndClear() : "";
}
