// Element types of the safetensors format, their on-disk names ("F32", "BF16", ...) and sizes.
namespace Cochlea.IO;

/// <summary>
/// Element type of a tensor stored in a safetensors file. The names match the format's
/// "dtype" strings: <c>BOOL U8 I8 F16 BF16 I32 F32 I64 F64</c>. All multi-byte types are little-endian.
/// </summary>
public enum SafeTensorDType
{
    /// <summary>Boolean, one byte per element (0 or 1); PyTorch <c>torch.bool</c>.</summary>
    Bool,
    /// <summary>Unsigned 8-bit integer; <c>torch.uint8</c>.</summary>
    U8,
    /// <summary>Signed 8-bit integer; <c>torch.int8</c>.</summary>
    I8,
    /// <summary>IEEE 754 half precision; <c>torch.float16</c>.</summary>
    F16,
    /// <summary>bfloat16 (the upper 16 bits of a float32); <c>torch.bfloat16</c>.</summary>
    BF16,
    /// <summary>Signed 32-bit integer; <c>torch.int32</c>.</summary>
    I32,
    /// <summary>IEEE 754 single precision; <c>torch.float32</c>.</summary>
    F32,
    /// <summary>Signed 64-bit integer; <c>torch.int64</c>.</summary>
    I64,
    /// <summary>IEEE 754 double precision; <c>torch.float64</c>.</summary>
    F64,
}

/// <summary>Helpers for <see cref="SafeTensorDType"/>: byte sizes and the format's dtype strings.</summary>
public static class SafeTensorDTypes
{
    /// <summary>Size in bytes of one element of <paramref name="dtype"/> (1, 2, 4 or 8).</summary>
    public static int SizeOf(this SafeTensorDType dtype) => dtype switch
    {
        SafeTensorDType.Bool or SafeTensorDType.U8 or SafeTensorDType.I8 => 1,
        SafeTensorDType.F16 or SafeTensorDType.BF16 => 2,
        SafeTensorDType.I32 or SafeTensorDType.F32 => 4,
        SafeTensorDType.I64 or SafeTensorDType.F64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown safetensors dtype."),
    };

    /// <summary>The dtype string written in the header, e.g. <c>"F32"</c> or <c>"BOOL"</c>.</summary>
    public static string ToFormatName(this SafeTensorDType dtype) => dtype switch
    {
        SafeTensorDType.Bool => "BOOL",
        SafeTensorDType.U8 => "U8",
        SafeTensorDType.I8 => "I8",
        SafeTensorDType.F16 => "F16",
        SafeTensorDType.BF16 => "BF16",
        SafeTensorDType.I32 => "I32",
        SafeTensorDType.F32 => "F32",
        SafeTensorDType.I64 => "I64",
        SafeTensorDType.F64 => "F64",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown safetensors dtype."),
    };

    /// <summary>Parses a header dtype string (case-sensitive, as the format requires).</summary>
    /// <returns><c>true</c> when <paramref name="name"/> is one of the supported dtypes.</returns>
    public static bool TryParse(string name, out SafeTensorDType dtype)
    {
        switch (name)
        {
            case "BOOL": dtype = SafeTensorDType.Bool; return true;
            case "U8": dtype = SafeTensorDType.U8; return true;
            case "I8": dtype = SafeTensorDType.I8; return true;
            case "F16": dtype = SafeTensorDType.F16; return true;
            case "BF16": dtype = SafeTensorDType.BF16; return true;
            case "I32": dtype = SafeTensorDType.I32; return true;
            case "F32": dtype = SafeTensorDType.F32; return true;
            case "I64": dtype = SafeTensorDType.I64; return true;
            case "F64": dtype = SafeTensorDType.F64; return true;
            default: dtype = default; return false;
        }
    }

    /// <summary><c>true</c> for F16, BF16, F32 and F64.</summary>
    public static bool IsFloatingPoint(this SafeTensorDType dtype) =>
        dtype is SafeTensorDType.F16 or SafeTensorDType.BF16 or SafeTensorDType.F32 or SafeTensorDType.F64;
}
