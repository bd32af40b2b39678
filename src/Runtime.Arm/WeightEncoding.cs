// The lossless weight encoding of format version 2 (metadata key cochlea.encoding). Why: a float32 WaveKws
// has 1,267,328 weights (5,069,312 bytes raw), so no raw float32 file fits the 5,000,000-byte budget. The
// four bytes of each float32 are split into four planes (plane b holds byte b of every value, little
// endian: plane 3 is the sign and the high 7 exponent bits, which take few values and compress very well;
// planes 0-1 are mantissa noise and stay raw) and each plane is stored raw or zlib-compressed (RFC 1950:
// DEFLATE plus an Adler-32 of the plane, so a corrupt plane is detected, not decoded into wrong weights).
// The stored tensor is a U8 blob (planes back to back); the metadata gives its logical dtype and shape:
//   {"<name>": {"dtype": "F32", "shape": [k, n], "layout": "byte_planes",
//               "planes": [{"codec": "raw"|"zlib", "bytes": stored bytes}, x4]}}
// Decoding at load is bit-exact: the same float32 bits as the raw file, in a 64-byte-aligned arena.
using System.IO.Compression;
using System.Text.Json;

namespace Cochlea.Runtime;

/// <summary>How one tensor is stored: its logical F32 shape and the codec and stored size of each byte plane.</summary>
public sealed record TensorEncoding(int[] Shape, string[] Codecs, long[] PlaneBytes)
{
    /// <summary>Metadata key of the encoding map.</summary>
    public const string Key = "cochlea.encoding";

    /// <summary>The only layout so far: float32 split into 4 byte planes.</summary>
    public const string BytePlanes = "byte_planes";

    /// <summary>Codecs a plane may use.</summary>
    public const string Raw = "raw", Zlib = "zlib";

    /// <summary>Logical elements.</summary>
    public long Elements => Shape.Aggregate(1L, (a, d) => a * d);

    /// <summary>Parses the encoding map of <paramref name="path"/>'s metadata (empty when absent).</summary>
    /// <exception cref="RuntimeModelException">Malformed, or an unknown layout, dtype or codec.</exception>
    public static Dictionary<string, TensorEncoding> Parse(string path, IReadOnlyDictionary<string, string> metadata)
    {
        var map = new Dictionary<string, TensorEncoding>(StringComparer.Ordinal);
        if (!metadata.TryGetValue(Key, out var json)) return map;
        try
        {
            using var doc = JsonDocument.Parse(json);
            foreach (var t in doc.RootElement.EnumerateObject())
            {
                var v = t.Value;
                string dtype = v.GetProperty("dtype").GetString() ?? "", layout = v.GetProperty("layout").GetString() ?? "";
                if (dtype != "F32" || layout != BytePlanes)
                    throw RuntimeModelFile.Bad(path, $"tensor '{t.Name}' is encoded as {dtype}/{layout}; this runtime decodes F32/{BytePlanes} only (export the model again with this version).");
                var shape = v.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
                var planes = v.GetProperty("planes").EnumerateArray().ToArray();
                if (planes.Length != 4 || shape.Any(d => d < 0))
                    throw RuntimeModelFile.Bad(path, $"tensor '{t.Name}' has {planes.Length} byte planes and shape ({string.Join(", ", shape)}); expected 4 planes and dimensions >= 0.");
                var codecs = planes.Select(p => p.GetProperty("codec").GetString() ?? "").ToArray();
                var bytes = planes.Select(p => p.GetProperty("bytes").GetInt64()).ToArray();
                foreach (var c in codecs)
                    if (c is not (Raw or Zlib)) throw RuntimeModelFile.Bad(path, $"tensor '{t.Name}' has a plane with codec '{c}'; this runtime knows '{Raw}' and '{Zlib}'.");
                map.Add(t.Name, new TensorEncoding(shape, codecs, bytes));
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException or ArgumentException)
        {
            throw RuntimeModelFile.Bad(path, $"its metadata '{Key}' is malformed ({e.Message}).", e);
        }
        return map;
    }

    /// <summary>
    /// Decodes the stored planes <paramref name="src"/> (<paramref name="srcBytes"/> bytes) into <paramref name="dst"/>
    /// (Elements float32 values, bit-exact). <paramref name="plane"/> is scratch of at least Elements bytes.
    /// </summary>
    /// <exception cref="RuntimeModelException">A plane is truncated or corrupt (short, overlong or failing its checksum).</exception>
    public unsafe void Decode(string path, string name, byte* src, long srcBytes, float* dst, byte[] plane)
    {
        long n = Elements;
        if (PlaneBytes.Any(b => b < 0) || PlaneBytes.Sum() != srcBytes)
            throw RuntimeModelFile.Bad(path, $"tensor '{name}' stores {srcBytes} bytes but its planes list {PlaneBytes.Sum()}: the file is damaged.");
        byte* p = src, d = (byte*)dst;
        fixed (byte* scratch = plane)
            for (int b = 0; b < 4; b++)
            {
                long stored = PlaneBytes[b];
                byte* bytes = p;   // a raw plane is read straight from the mapping
                if (Codecs[b] == Raw)
                {
                    if (stored != n) throw RuntimeModelFile.Bad(path, $"tensor '{name}' plane {b} is raw with {stored} bytes; expected {n}: the file is damaged.");
                }
                else
                {
                    Inflate(path, name, b, p, stored, plane.AsSpan(0, (int)n));
                    bytes = scratch;
                }
                // Interleave plane b back into byte b of every float (little endian).
                byte* o = d + b;
                for (long i = 0; i < n; i++) o[i * 4] = bytes[i];
                p += stored;
            }
    }

    static unsafe void Inflate(string path, string name, int b, byte* src, long stored, Span<byte> dst)
    {
        try
        {
            using var input = new UnmanagedMemoryStream(src, stored);
            using var z = new ZLibStream(input, CompressionMode.Decompress);
            int got = 0;
            while (got < dst.Length)
            {
                int r = z.Read(dst[got..]);
                if (r == 0) break;
                got += r;
            }
            if (got < dst.Length)
                throw RuntimeModelFile.Bad(path, $"tensor '{name}' plane {b} decompresses to {got} of {dst.Length} bytes: its compressed data is truncated or corrupt.");
            // Reading on to the end verifies the Adler-32 and that nothing follows the plane.
            Span<byte> extra = stackalloc byte[1];
            if (z.Read(extra) != 0)
                throw RuntimeModelFile.Bad(path, $"tensor '{name}' plane {b} decompresses to more than {dst.Length} bytes: its compressed data is corrupt.");
        }
        catch (InvalidDataException e)
        {
            throw RuntimeModelFile.Bad(path, $"tensor '{name}' plane {b} does not decompress ({e.Message}): its compressed data is truncated or corrupt.", e);
        }
    }
}
