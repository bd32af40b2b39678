// The writer side of the runtime format's lossless float32 encoding (format version 2; the reader is
// Cochlea.Runtime.TensorEncoding): each float32 tensor is split into 4 byte planes (plane b = byte b of every
// value, little endian), and each plane is stored zlib-compressed when that is smaller, else raw. The planes
// go back to back into one U8 tensor of the same name; metadata "cochlea.encoding" gives the logical dtype
// and shape and each plane's codec and stored size. Why planes: the sign/exponent byte of trained weights
// takes few values and compresses ~5x, while DEFLATE on the interleaved floats finds almost nothing.
using System.IO.Compression;
using System.Runtime.InteropServices;

namespace Cochlea.Models.Kws;

/// <summary>Byte-plane + zlib encoding of float32 weights for the runtime format.</summary>
public static class KwsExportEncoding
{
    /// <summary>Metadata key of the encoding map (kept equal to Cochlea.Runtime.TensorEncoding.Key).</summary>
    public const string Key = "cochlea.encoding";

    /// <summary>Tensors smaller than this stay raw (and memory-mapped): the metadata would cost more than it saves.</summary>
    public const int MinElements = 4096;

    /// <summary>The stored blob of <paramref name="data"/> and its metadata entry (planes in order 0..3).</summary>
    public static (byte[] Blob, Dictionary<string, object> Entry) Encode(ReadOnlySpan<float> data, int[] shape)
    {
        var bytes = MemoryMarshal.AsBytes(data);
        int n = data.Length;
        var plane = new byte[n];
        using var blob = new MemoryStream();
        var planes = new Dictionary<string, object>[4];
        for (int b = 0; b < 4; b++)
        {
            for (int i = 0; i < n; i++) plane[i] = bytes[i * 4 + b];
            var packed = Compress(plane);
            bool zlib = packed.Length < n;
            blob.Write(zlib ? packed : plane);
            planes[b] = new Dictionary<string, object> { ["codec"] = zlib ? "zlib" : "raw", ["bytes"] = zlib ? packed.Length : n };
        }
        var entry = new Dictionary<string, object> { ["dtype"] = "F32", ["shape"] = shape, ["layout"] = "byte_planes", ["planes"] = planes };
        return (blob.ToArray(), entry);
    }

    static byte[] Compress(byte[] plane)
    {
        using var ms = new MemoryStream();
        using (var z = new ZLibStream(ms, CompressionLevel.SmallestSize, leaveOpen: true)) z.Write(plane);
        return ms.ToArray();
    }
}
