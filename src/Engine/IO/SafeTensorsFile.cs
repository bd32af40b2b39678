// Reader for the safetensors format (https://github.com/huggingface/safetensors): validates the whole
// header on Open, then reads tensors lazily with positional reads, so large checkpoints are never loaded at once.
//
// Layout: [u64 little-endian N][N bytes UTF-8 JSON header][data buffer].
// Header: { "__metadata__": {str: str}?, name: {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]} ... }
// with offsets relative to the data buffer; tensors must tile the buffer exactly (no gaps, no overlaps).
using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace Cochlea.IO;

/// <summary>
/// An open safetensors file. <see cref="Open"/> validates the header completely (sizes, JSON, dtypes,
/// offsets, contiguity); tensor data is read on demand. Reads are positional and thread-safe.
/// Dispose to close the file handle.
/// </summary>
public sealed class SafeTensorsFile : IDisposable
{
    /// <summary>Largest header accepted, as in the reference implementation (100 MB).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private const int ChunkElements = 1 << 16;

    private readonly SafeFileHandle _handle;
    private readonly Dictionary<string, SafeTensorInfo> _byName;
    private readonly SafeTensorInfo[] _ordered;
    private readonly Dictionary<string, string> _metadata;

    private SafeTensorsFile(string path, SafeFileHandle handle, long dataStart, long fileLength,
        SafeTensorInfo[] ordered, Dictionary<string, string> metadata)
    {
        Path = path;
        _handle = handle;
        DataStart = dataStart;
        FileLength = fileLength;
        _ordered = ordered;
        _metadata = metadata;
        _byName = new Dictionary<string, SafeTensorInfo>(ordered.Length, StringComparer.Ordinal);
        foreach (var t in ordered) _byName[t.Name] = t;
    }

    /// <summary>The path the file was opened from.</summary>
    public string Path { get; }

    /// <summary>Absolute file offset of the data buffer: 8 + header length.</summary>
    public long DataStart { get; }

    /// <summary>File size in bytes at the time of <see cref="Open"/>.</summary>
    public long FileLength { get; }

    /// <summary>The "__metadata__" string map (empty when the file has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata => _metadata;

    /// <summary>All tensors, in data-buffer order (ascending <see cref="SafeTensorInfo.Begin"/>).</summary>
    public IReadOnlyList<SafeTensorInfo> Tensors => _ordered;

    /// <summary>Tensor names, in data-buffer order.</summary>
    public IEnumerable<string> Names => _ordered.Select(t => t.Name);

    /// <summary><c>true</c> if a tensor called <paramref name="name"/> exists.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>Looks up a tensor's description without throwing.</summary>
    public bool TryGetInfo(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SafeTensorInfo? info) =>
        _byName.TryGetValue(name, out info);

    /// <summary>The description of tensor <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such tensor; the message lists the names present.</exception>
    public SafeTensorInfo GetInfo(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_byName.TryGetValue(name, out var info)) return info;
        string names = string.Join(", ", _ordered.Take(20).Select(t => t.Name)) + (_ordered.Length > 20 ? ", ..." : "");
        throw new KeyNotFoundException($"safetensors file '{Path}' has no tensor named '{name}'. It has {_ordered.Length}: {names}.");
    }

    /// <summary>
    /// Opens and validates <paramref name="path"/>. The header is parsed completely; no tensor data is read.
    /// </summary>
    /// <exception cref="SafeTensorsException">The file is not a valid safetensors file (the message says why).</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static SafeTensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("safetensors reading is implemented for little-endian machines only.");
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            var file = Parse(path, handle);
            return file;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static SafeTensorsFile Parse(string path, SafeFileHandle handle)
    {
        long fileLength = RandomAccess.GetLength(handle);
        if (fileLength < 8)
            throw new SafeTensorsException(path, $"file is {fileLength} bytes; a safetensors file starts with an 8-byte header length. " +
                "The file is truncated or not a safetensors file.");
        Span<byte> lenBytes = stackalloc byte[8];
        ReadExactly(path, handle, lenBytes, 0);
        ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
        if (headerLen > (ulong)(fileLength - 8))
            throw new SafeTensorsException(path, $"header length {headerLen} exceeds the {fileLength - 8} bytes after the length field. " +
                "The file is truncated (re-download or re-save it) or not a safetensors file.");
        if (headerLen > MaxHeaderBytes)
            throw new SafeTensorsException(path, $"header length {headerLen} exceeds the {MaxHeaderBytes}-byte limit; the file is probably not a safetensors file.");
        if (headerLen < 2)
            throw new SafeTensorsException(path, $"header length {headerLen} is too small for a JSON object ('{{}}' at least).");

        var headerBytes = new byte[(int)headerLen];
        ReadExactly(path, handle, headerBytes, 8);
        long dataStart = 8 + (long)headerLen;
        long bufferLength = fileLength - dataStart;
        if (headerBytes[0] != (byte)'{')
            throw new SafeTensorsException(path, $"header does not start with '{{' (found byte 0x{headerBytes[0]:X2}); the file is not a safetensors file.");

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(headerBytes, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw new SafeTensorsException(path, $"header is not valid JSON ({e.Message}). The file is corrupt or was written by a broken writer.", e);
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new SafeTensorsException(path, $"header JSON is a {root.ValueKind}, expected an object mapping tensor names to entries.");

            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var tensors = new List<SafeTensorInfo>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            bool sawMetadata = false;
            foreach (var prop in root.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    if (sawMetadata) throw new SafeTensorsException(path, "header has two '__metadata__' entries.");
                    sawMetadata = true;
                    if (prop.Value.ValueKind != JsonValueKind.Object)
                        throw new SafeTensorsException(path, $"'__metadata__' is a {prop.Value.ValueKind}; it must be an object of string to string.");
                    foreach (var m in prop.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String)
                            throw new SafeTensorsException(path, $"metadata value '{m.Name}' is a {m.Value.ValueKind}; the format allows only strings (JSON-encode structured values).");
                        if (!metadata.TryAdd(m.Name, m.Value.GetString()!))
                            throw new SafeTensorsException(path, $"metadata key '{m.Name}' appears twice.");
                    }
                    continue;
                }
                if (!seen.Add(prop.Name))
                    throw new SafeTensorsException(path, $"tensor '{prop.Name}' appears twice in the header.");
                tensors.Add(ParseEntry(path, prop));
            }

            var ordered = tensors.OrderBy(t => t.Begin).ThenBy(t => t.End).ToArray();
            long expected = 0;
            foreach (var t in ordered)
            {
                if (t.End > bufferLength)
                    throw new SafeTensorsException(path, $"tensor '{t.Name}' data_offsets [{t.Begin}, {t.End}] lie beyond the {bufferLength}-byte data buffer. " +
                        "The file is truncated (re-download or re-save it).");
                if (t.Begin < expected)
                    throw new SafeTensorsException(path, $"tensor '{t.Name}' data_offsets [{t.Begin}, {t.End}] overlap the previous tensor, which ends at {expected}.");
                if (t.Begin > expected)
                    throw new SafeTensorsException(path, $"tensor '{t.Name}' starts at {t.Begin} but the previous tensor ends at {expected}; the format requires tensors to tile the buffer without gaps.");
                expected = t.End;
            }
            if (expected != bufferLength)
                throw new SafeTensorsException(path, $"tensors cover {expected} bytes but the data buffer holds {bufferLength}; " +
                    (expected < bufferLength ? "there are trailing bytes after the last tensor." : "the file is truncated."));

            return new SafeTensorsFile(path, handle, dataStart, fileLength, ordered, metadata);
        }
    }

    private static SafeTensorInfo ParseEntry(string path, JsonProperty prop)
    {
        string name = prop.Name;
        var v = prop.Value;
        if (v.ValueKind != JsonValueKind.Object)
            throw new SafeTensorsException(path, $"entry '{name}' is a {v.ValueKind}; expected an object with dtype, shape and data_offsets.");

        if (!v.TryGetProperty("dtype", out var dtypeEl) || dtypeEl.ValueKind != JsonValueKind.String)
            throw new SafeTensorsException(path, $"tensor '{name}' has no string 'dtype'.");
        string dtypeName = dtypeEl.GetString()!;
        if (!SafeTensorDTypes.TryParse(dtypeName, out var dtype))
            throw new SafeTensorsException(path, $"tensor '{name}' has dtype '{dtypeName}', which is not supported (supported: BOOL, U8, I8, F16, BF16, I32, F32, I64, F64). " +
                "Convert the tensor to one of these before saving (e.g. tensor.float()).");

        if (!v.TryGetProperty("shape", out var shapeEl) || shapeEl.ValueKind != JsonValueKind.Array)
            throw new SafeTensorsException(path, $"tensor '{name}' has no 'shape' array.");
        var shape = new long[shapeEl.GetArrayLength()];
        int i = 0;
        foreach (var d in shapeEl.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long dim) || dim < 0)
                throw new SafeTensorsException(path, $"tensor '{name}' shape {shapeEl.GetRawText()} has an entry that is not a non-negative integer.");
            shape[i++] = dim;
        }

        if (!v.TryGetProperty("data_offsets", out var offEl) || offEl.ValueKind != JsonValueKind.Array || offEl.GetArrayLength() != 2)
            throw new SafeTensorsException(path, $"tensor '{name}' has no 'data_offsets' array of two integers [begin, end].");
        var b = offEl[0];
        var e = offEl[1];
        if (b.ValueKind != JsonValueKind.Number || e.ValueKind != JsonValueKind.Number ||
            !b.TryGetInt64(out long begin) || !e.TryGetInt64(out long end) || begin < 0 || end < begin)
            throw new SafeTensorsException(path, $"tensor '{name}' data_offsets {offEl.GetRawText()} must be two non-negative integers with begin <= end.");

        long bytes;
        try
        {
            long n = 1;
            foreach (long d in shape) n = checked(n * d);
            bytes = checked(n * dtype.SizeOf());
        }
        catch (OverflowException)
        {
            throw new SafeTensorsException(path, $"tensor '{name}' shape {shapeEl.GetRawText()} is too large (element count overflows).");
        }
        if (bytes != end - begin)
            throw new SafeTensorsException(path, $"tensor '{name}' is {dtypeName}{shapeEl.GetRawText()} = {bytes} bytes, but its data_offsets [{begin}, {end}] span {end - begin} bytes.");
        return new SafeTensorInfo(name, dtype, shape, begin, end);
    }

    // ---- raw bytes -------------------------------------------------------------------------------

    /// <summary>Reads the raw little-endian bytes of tensor <paramref name="name"/>.</summary>
    public byte[] ReadBytes(string name)
    {
        var info = GetInfo(name);
        var result = new byte[checked((int)info.ByteLength)];
        ReadBytes(info, result);
        return result;
    }

    /// <summary>Reads the raw bytes of tensor <paramref name="name"/> into <paramref name="destination"/>, whose length must equal the tensor's byte length.</summary>
    public void ReadBytes(string name, Span<byte> destination) => ReadBytes(GetInfo(name), destination);

    /// <summary>Reads the raw bytes of <paramref name="info"/> (a tensor of this file) into <paramref name="destination"/>.</summary>
    public void ReadBytes(SafeTensorInfo info, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(info);
        if (destination.Length != info.ByteLength)
            throw new ArgumentException($"tensor '{info.Name}' is {info.ByteLength} bytes; destination has {destination.Length}.", nameof(destination));
        ReadExactly(Path, _handle, destination, DataStart + info.Begin);
    }

    // ---- typed reads ----------------------------------------------------------------------------

    /// <summary>
    /// Reads tensor <paramref name="name"/> as float32, converting from F16, BF16, F64 or any integer/bool dtype.
    /// Elements are in row-major order of <see cref="SafeTensorInfo.Shape"/>.
    /// </summary>
    public float[] ReadFloat32(string name)
    {
        var info = GetInfo(name);
        var result = new float[checked((int)info.ElementCount)];
        ReadFloat32(info, result);
        return result;
    }

    /// <summary>Reads tensor <paramref name="name"/> as float32 into <paramref name="destination"/> (length = element count).</summary>
    public void ReadFloat32(string name, Span<float> destination) => ReadFloat32(GetInfo(name), destination);

    private void ReadFloat32(SafeTensorInfo info, Span<float> destination)
    {
        CheckLength(info, destination.Length);
        if (info.DType == SafeTensorDType.F32)
        {
            ReadBytes(info, MemoryMarshal.AsBytes(destination));
            return;
        }
        ReadConverted(info, destination, static (src, dtype, dst) =>
        {
            switch (dtype)
            {
                case SafeTensorDType.F16:
                    var h = MemoryMarshal.Cast<byte, Half>(src);
                    for (int i = 0; i < h.Length; i++) dst[i] = (float)h[i];
                    break;
                case SafeTensorDType.BF16:
                    var u = MemoryMarshal.Cast<byte, ushort>(src);
                    for (int i = 0; i < u.Length; i++) dst[i] = BitConverter.Int32BitsToSingle(u[i] << 16);
                    break;
                case SafeTensorDType.F64:
                    var d = MemoryMarshal.Cast<byte, double>(src);
                    for (int i = 0; i < d.Length; i++) dst[i] = (float)d[i];
                    break;
                case SafeTensorDType.I32:
                    var i32 = MemoryMarshal.Cast<byte, int>(src);
                    for (int i = 0; i < i32.Length; i++) dst[i] = i32[i];
                    break;
                case SafeTensorDType.I64:
                    var i64 = MemoryMarshal.Cast<byte, long>(src);
                    for (int i = 0; i < i64.Length; i++) dst[i] = i64[i];
                    break;
                default: // I8, U8, Bool
                    WidenBytes(src, dtype, dst);
                    break;
            }
        });
    }

    /// <summary>Reads tensor <paramref name="name"/> as float64, converting from any dtype (exact for all but I64 values beyond 2^53).</summary>
    public double[] ReadFloat64(string name)
    {
        var info = GetInfo(name);
        var result = new double[checked((int)info.ElementCount)];
        if (info.DType == SafeTensorDType.F64)
        {
            ReadBytes(info, MemoryMarshal.AsBytes(result.AsSpan()));
            return result;
        }
        if (info.DType == SafeTensorDType.I64)
        {
            var l = ReadInt64(name);
            for (int i = 0; i < l.Length; i++) result[i] = l[i];
            return result;
        }
        var f = new float[result.Length];
        ReadFloat32(info, f);
        for (int i = 0; i < f.Length; i++) result[i] = f[i];
        return result;
    }

    /// <summary>
    /// Reads tensor <paramref name="name"/> as int32 from I32, I8, U8, BOOL or I64 (I64 values must fit in int32).
    /// </summary>
    /// <exception cref="SafeTensorsException">The tensor is floating point, or an I64 value does not fit.</exception>
    public int[] ReadInt32(string name)
    {
        var info = GetInfo(name);
        RequireInteger(info, "ReadInt32");
        var result = new int[checked((int)info.ElementCount)];
        if (info.DType == SafeTensorDType.I32)
        {
            ReadBytes(info, MemoryMarshal.AsBytes(result.AsSpan()));
            return result;
        }
        string path = Path;
        ReadConverted(info, result.AsSpan(), (src, dtype, dst) =>
        {
            switch (dtype)
            {
                case SafeTensorDType.I64:
                    var l = MemoryMarshal.Cast<byte, long>(src);
                    for (int i = 0; i < l.Length; i++)
                    {
                        if (l[i] < int.MinValue || l[i] > int.MaxValue)
                            throw new SafeTensorsException(path, $"tensor '{info.Name}' holds the I64 value {l[i]}, which does not fit in int32; use ReadInt64.");
                        dst[i] = (int)l[i];
                    }
                    break;
                default: // I8, U8, Bool
                    WidenBytes(src, dtype, dst);
                    break;
            }
        });
        return result;
    }

    /// <summary>Reads tensor <paramref name="name"/> as int64 from I64, I32, I8, U8 or BOOL.</summary>
    /// <exception cref="SafeTensorsException">The tensor is floating point.</exception>
    public long[] ReadInt64(string name)
    {
        var info = GetInfo(name);
        RequireInteger(info, "ReadInt64");
        var result = new long[checked((int)info.ElementCount)];
        if (info.DType == SafeTensorDType.I64)
        {
            ReadBytes(info, MemoryMarshal.AsBytes(result.AsSpan()));
            return result;
        }
        ReadConverted(info, result.AsSpan(), static (src, dtype, dst) =>
        {
            switch (dtype)
            {
                case SafeTensorDType.I32:
                    var i32 = MemoryMarshal.Cast<byte, int>(src);
                    for (int i = 0; i < i32.Length; i++) dst[i] = i32[i];
                    break;
                default: // I8, U8, Bool
                    WidenBytes(src, dtype, dst);
                    break;
            }
        });
        return result;
    }

    /// <summary>Reads a U8, I8 or BOOL tensor as bytes (I8 reinterpreted); other dtypes are rejected.</summary>
    public byte[] ReadUInt8(string name)
    {
        var info = GetInfo(name);
        if (info.DType is not (SafeTensorDType.U8 or SafeTensorDType.I8 or SafeTensorDType.Bool))
            throw new SafeTensorsException(Path, $"tensor '{name}' is {info.DType.ToFormatName()}; ReadUInt8 reads U8, I8 or BOOL tensors only.");
        return ReadBytes(name);
    }

    // The one-byte dtypes, shared by the float and integer readers: I8 sign-extends, U8 and BOOL zero-extend (exact in every T).
    private static void WidenBytes<T>(ReadOnlySpan<byte> src, SafeTensorDType dtype, Span<T> dst) where T : INumberBase<T>
    {
        if (dtype == SafeTensorDType.I8)
            for (int i = 0; i < src.Length; i++) dst[i] = T.CreateTruncating((sbyte)src[i]);
        else
            for (int i = 0; i < src.Length; i++) dst[i] = T.CreateTruncating(src[i]);
    }

    private delegate void Converter<T>(ReadOnlySpan<byte> src, SafeTensorDType dtype, Span<T> dst);

    // Reads the tensor in chunks through a pooled buffer and converts each chunk, so memory stays bounded.
    private void ReadConverted<T>(SafeTensorInfo info, Span<T> destination, Converter<T> convert)
    {
        int size = info.DType.SizeOf();
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ChunkElements * size);
        try
        {
            long offset = DataStart + info.Begin;
            for (int start = 0; start < destination.Length; start += ChunkElements)
            {
                int n = Math.Min(ChunkElements, destination.Length - start);
                var chunk = buffer.AsSpan(0, n * size);
                ReadExactly(Path, _handle, chunk, offset + (long)start * size);
                convert(chunk, info.DType, destination.Slice(start, n));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void RequireInteger(SafeTensorInfo info, string method)
    {
        if (info.DType.IsFloatingPoint())
            throw new SafeTensorsException(Path, $"tensor '{info.Name}' is {info.DType.ToFormatName()}; {method} reads integer or BOOL tensors only (use ReadFloat32).");
    }

    private static void CheckLength(SafeTensorInfo info, int length)
    {
        if (length != info.ElementCount)
            throw new ArgumentException($"tensor '{info.Name}' has {info.ElementCount} elements; destination has {length}.");
    }

    private static void ReadExactly(string path, SafeFileHandle handle, Span<byte> destination, long offset)
    {
        while (destination.Length > 0)
        {
            int n = RandomAccess.Read(handle, destination, offset);
            if (n <= 0)
                throw new SafeTensorsException(path, $"unexpected end of file at byte {offset}; the file was truncated (possibly while open).");
            destination = destination[n..];
            offset += n;
        }
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => _handle.Dispose();

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Path}: {_ordered.Length} tensors, {FileLength - DataStart} data bytes" + (_metadata.Count > 0 ? $", metadata: {string.Join(", ", _metadata.Keys)}" : "");
}
