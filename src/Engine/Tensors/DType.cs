// Element types a tensor can hold: float32 for data, int32/int64 for labels and indices.
namespace Cochlea;

/// <summary>Element type of a tensor.</summary>
public enum DType { Float32, Int32, Int64 }

/// <summary>Sizes and names of <see cref="DType"/>s.</summary>
public static class DTypeInfo
{
    /// <summary>Bytes per element.</summary>
    public static int Size(this DType t) => t == DType.Int64 ? 8 : 4;
}
