// Description of one tensor in a safetensors file: name, dtype, shape and byte range.
namespace Cochlea.IO;

/// <summary>
/// One tensor entry of a safetensors header. <see cref="Begin"/> and <see cref="End"/> are byte offsets
/// relative to the start of the data buffer (the byte after the header), as in the format's "data_offsets".
/// </summary>
/// <param name="Name">Tensor name (e.g. a PyTorch state_dict key).</param>
/// <param name="DType">Element type.</param>
/// <param name="Shape">Dimensions, outermost first; empty for a scalar.</param>
/// <param name="Begin">First byte, relative to the data buffer.</param>
/// <param name="End">One past the last byte, relative to the data buffer.</param>
public sealed record SafeTensorInfo(string Name, SafeTensorDType DType, long[] Shape, long Begin, long End)
{
    /// <summary>Number of elements: the product of <see cref="Shape"/> (1 for a scalar).</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long d in Shape) n *= d;
            return n;
        }
    }

    /// <summary>Size in bytes: <c>End - Begin</c> = <see cref="ElementCount"/> * dtype size.</summary>
    public long ByteLength => End - Begin;

    /// <summary>The shape as <c>int[]</c>; throws <see cref="OverflowException"/> if a dimension exceeds int.MaxValue.</summary>
    public int[] ShapeInt32 => Array.ConvertAll(Shape, d => checked((int)d));

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: {DType.ToFormatName()}[{string.Join(", ", Shape)}] @ {Begin}..{End}";
}
