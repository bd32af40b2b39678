// Writer for the safetensors format: collects tensors and metadata, then saves atomically
// (temp file in the same directory, fsync, rename over the target), so a crash or an I/O error never
// leaves a half-written file at the destination.
//
// Layout written: [u64 LE header length][JSON header padded with spaces so the data starts at a multiple
// of 8][data]. Header: "__metadata__" first (if any), then tensors in data order, which is the order the
// Python library uses: larger element size first, then name (ordinal) - so every tensor is aligned to
// its element size when the file is memory-mapped.
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Cochlea.IO;

/// <summary>
/// Builds a safetensors file. Every <c>Add*</c> call validates and copies its data immediately (so a
/// mismatched size is rejected before anything is written); <see cref="Save"/> writes atomically.
/// </summary>
/// <example><code>
/// var w = new SafeTensorsWriter();
/// w.AddFloat32("conv.weight", weights, 32, 1, 3);
/// w.AddMetadata("format", "pt");
/// w.Save("run/best.safetensors");
/// </code></example>
public sealed class SafeTensorsWriter
{
    private readonly Dictionary<string, Entry> _tensors = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, string> _metadata = new(StringComparer.Ordinal);

    private sealed record Entry(string Name, SafeTensorDType DType, long[] Shape, byte[] Data);

    /// <summary>Number of tensors added so far.</summary>
    public int Count => _tensors.Count;

    /// <summary>The metadata added so far (written as "__metadata__").</summary>
    public IReadOnlyDictionary<string, string> Metadata => _metadata;

    /// <summary>Test hook: wraps the temp-file stream, e.g. to inject an I/O failure midway.</summary>
    internal Func<Stream, Stream>? WrapStreamForTesting { get; set; }

    /// <summary>Adds (or replaces) a "__metadata__" entry.</summary>
    public SafeTensorsWriter AddMetadata(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        _metadata[key] = value;
        return this;
    }

    /// <summary>
    /// Adds a tensor from raw little-endian bytes. <paramref name="data"/>.Length must equal
    /// product(<paramref name="shape"/>) * dtype size.
    /// </summary>
    /// <exception cref="ArgumentException">Bad name, duplicate name, negative dimension, or size mismatch.</exception>
    public SafeTensorsWriter AddBytes(string name, SafeTensorDType dtype, ReadOnlySpan<byte> data, params ReadOnlySpan<long> shape)
    {
        long count = CheckNameAndShape(name, shape);
        long expected = checked(count * dtype.SizeOf());
        if (data.Length != expected)
            throw new ArgumentException(
                $"tensor '{name}' is declared {dtype.ToFormatName()}[{string.Join(", ", shape.ToArray())}] = {expected} bytes, but {data.Length} bytes were given.",
                nameof(data));
        _tensors.Add(name, new Entry(name, dtype, shape.ToArray(), data.ToArray()));
        return this;
    }

    /// <summary>Adds a float32 tensor (<c>F32</c>). <paramref name="data"/> is row-major, length = product(shape).</summary>
    public SafeTensorsWriter AddFloat32(string name, ReadOnlySpan<float> data, params ReadOnlySpan<long> shape) =>
        AddBytes(name, SafeTensorDType.F32, MemoryMarshal.AsBytes(data), shape);

    /// <summary>Adds a float64 tensor (<c>F64</c>).</summary>
    public SafeTensorsWriter AddFloat64(string name, ReadOnlySpan<double> data, params ReadOnlySpan<long> shape) =>
        AddBytes(name, SafeTensorDType.F64, MemoryMarshal.AsBytes(data), shape);

    /// <summary>Adds an int32 tensor (<c>I32</c>).</summary>
    public SafeTensorsWriter AddInt32(string name, ReadOnlySpan<int> data, params ReadOnlySpan<long> shape) =>
        AddBytes(name, SafeTensorDType.I32, MemoryMarshal.AsBytes(data), shape);

    /// <summary>Adds an int64 tensor (<c>I64</c>).</summary>
    public SafeTensorsWriter AddInt64(string name, ReadOnlySpan<long> data, params ReadOnlySpan<long> shape) =>
        AddBytes(name, SafeTensorDType.I64, MemoryMarshal.AsBytes(data), shape);

    /// <summary>
    /// Adds float data stored as <paramref name="dtype"/>: F32 or F64 exactly, F16 or BF16 rounded to nearest even.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="dtype"/> is not a floating-point dtype, or sizes mismatch.</exception>
    public SafeTensorsWriter AddFloat(string name, SafeTensorDType dtype, ReadOnlySpan<float> data, params ReadOnlySpan<long> shape)
    {
        long count = CheckNameAndShape(name, shape);
        if (data.Length != count)
            throw new ArgumentException($"tensor '{name}' has shape [{string.Join(", ", shape.ToArray())}] = {count} elements, but {data.Length} values were given.", nameof(data));
        switch (dtype)
        {
            case SafeTensorDType.F32:
                return AddFloat32(name, data, shape);
            case SafeTensorDType.F64:
            {
                var d = new double[data.Length];
                for (int i = 0; i < d.Length; i++) d[i] = data[i];
                return AddFloat64(name, d, shape);
            }
            case SafeTensorDType.F16:
            {
                var h = new Half[data.Length];
                for (int i = 0; i < h.Length; i++) h[i] = (Half)data[i];
                return AddBytes(name, dtype, MemoryMarshal.AsBytes(h.AsSpan()), shape);
            }
            case SafeTensorDType.BF16:
            {
                var b = new ushort[data.Length];
                for (int i = 0; i < b.Length; i++) b[i] = ToBFloat16(data[i]);
                return AddBytes(name, dtype, MemoryMarshal.AsBytes(b.AsSpan()), shape);
            }
            default:
                throw new ArgumentException($"AddFloat stores F32, F64, F16 or BF16, not {dtype.ToFormatName()}; use AddBytes/AddInt32/AddInt64 for integer tensors.", nameof(dtype));
        }
    }

    /// <summary>float32 to bfloat16 bits with round-to-nearest-even (NaN stays a quiet NaN), as PyTorch does.</summary>
    public static ushort ToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x40);
        uint rounding = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }

    private long CheckNameAndShape(string name, ReadOnlySpan<long> shape)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name == "__metadata__")
            throw new ArgumentException("'__metadata__' is reserved by the format; use AddMetadata.", nameof(name));
        if (_tensors.ContainsKey(name))
            throw new ArgumentException($"a tensor named '{name}' was already added.", nameof(name));
        long count = 1;
        foreach (long d in shape)
        {
            if (d < 0) throw new ArgumentException($"tensor '{name}' has a negative dimension in shape [{string.Join(", ", shape.ToArray())}].", nameof(shape));
            count = checked(count * d);
        }
        return count;
    }

    /// <summary>
    /// Writes the file atomically: to <c>path + ".tmp-&lt;random&gt;"</c> in the same directory, flushed to disk,
    /// then renamed over <paramref name="path"/>. On any failure the temp file is deleted, the exception
    /// propagates, and an existing file at <paramref name="path"/> is left untouched.
    /// </summary>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = System.IO.Path.GetFullPath(path);
        string temp = full + ".tmp-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(6)).ToLowerInvariant();
        try
        {
            using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                var wrapped = WrapStreamForTesting?.Invoke(fs) ?? fs;
                WriteTo(wrapped);
                wrapped.Flush();
                fs.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>Writes the complete file image (header and data) to <paramref name="stream"/>; not atomic.</summary>
    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var ordered = DataOrder();
        byte[] header = BuildHeader(ordered);
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
        stream.Write(len);
        stream.Write(header);
        foreach (var e in ordered) stream.Write(e.Data);
    }

    /// <summary>The complete file image as a byte array (for tests and in-memory use).</summary>
    public byte[] ToArray()
    {
        using var ms = new MemoryStream();
        WriteTo(ms);
        return ms.ToArray();
    }

    private List<Entry> DataOrder() =>
        _tensors.Values.OrderByDescending(e => e.DType.SizeOf()).ThenBy(e => e.Name, StringComparer.Ordinal).ToList();

    private byte[] BuildHeader(List<Entry> ordered)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            if (_metadata.Count > 0)
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in _metadata) w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var e in ordered)
            {
                w.WriteStartObject(e.Name);
                w.WriteString("dtype", e.DType.ToFormatName());
                w.WriteStartArray("shape");
                foreach (long d in e.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + e.Data.Length);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += e.Data.Length;
            }
            w.WriteEndObject();
        }
        // Pad with spaces so that 8 + header length is a multiple of 8: the data buffer starts aligned.
        int len = (int)ms.Length;
        int padded = (len + 7) / 8 * 8;
        while (ms.Length < padded) ms.WriteByte((byte)' ');
        return ms.ToArray();
    }
}
