// NumPy .npy output for features (format version 1.0, little-endian float32, C order), so anyone can load
// `cochlea features` results with numpy.load and compare with librosa or torchaudio.
using System.Text;

namespace Cochlea.Models.Audio;

/// <summary>Writes float32 arrays as .npy files.</summary>
public static class FeatureNpy
{
    /// <summary>
    /// Writes <paramref name="data"/> (row-major, shape <paramref name="shape"/>) to <paramref name="path"/>: magic "\x93NUMPY",
    /// version 1.0, a header dict {'descr': '&lt;f4', 'fortran_order': False, 'shape': (...), } padded with spaces to a 64-byte
    /// boundary and ending in a newline, then the values little-endian. Written to a temporary file and renamed.
    /// </summary>
    public static void Write(string path, ReadOnlySpan<float> data, ReadOnlySpan<int> shape)
    {
        long count = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"Negative dimension in shape ({string.Join(", ", shape.ToArray())}).", nameof(shape));
            count *= d;
        }
        if (count != data.Length) throw new ArgumentException($"{data.Length} values do not fill shape ({string.Join(", ", shape.ToArray())}).", nameof(data));
        var tmp = path + ".tmp";
        using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write))
        {
            f.Write(Header(shape));
            var buf = new byte[data.Length * sizeof(float)];
            for (int i = 0; i < data.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(buf.AsSpan(4 * i), data[i]);
            f.Write(buf);
        }
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>The header bytes (magic, version, length, dict) for a float32 C-order array of the given shape.</summary>
    public static byte[] Header(ReadOnlySpan<int> shape)
    {
        // Python tuple syntax: () for a scalar, (n,) for one dimension.
        string dims = shape.Length == 1 ? $"{shape[0]}," : string.Join(", ", shape.ToArray());
        string dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({dims}), }}";
        int unpadded = 10 + dict.Length + 1;
        string text = dict + new string(' ', (64 - unpadded % 64) % 64) + "\n";
        var h = new byte[10 + text.Length];
        h[0] = 0x93; "NUMPY"u8.CopyTo(h.AsSpan(1));
        h[6] = 1; h[7] = 0;
        h[8] = (byte)(text.Length & 0xff); h[9] = (byte)(text.Length >> 8);
        Encoding.ASCII.GetBytes(text, h.AsSpan(10));
        return h;
    }
}
