// The frozen-model file of the runtime: a safetensors file (u64 header length, JSON header, data buffer)
// whose "__metadata__" holds the format name, its version and the graph (ModelGraph). This reader is the
// runtime's own (the runtime references only src/Kernels): it validates the header completely, refuses
// truncated files and newer format versions, then memory-maps the file so weights are used in place.
// Version 2 adds encoded tensors (WeightEncoding: float32 byte planes, some zlib-compressed), decoded once
// at open into one 64-byte-aligned weight arena; raw and int8 tensors are still used in place from the map.
using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Text.Json;

namespace Cochlea.Runtime;

/// <summary>A model file the runtime cannot use; the message says which file and why.</summary>
public sealed class RuntimeModelException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>One tensor of a model file: dtype ("F32", "I8", or "U8" for an encoded blob), shape and byte range in the data buffer.</summary>
public sealed record RuntimeTensor(string Name, string DType, int[] Shape, long Begin, long End)
{
    /// <summary>For a decoded tensor (dtype F32, logical shape): its encoding, and its offset in the weight arena (bytes).</summary>
    public TensorEncoding? Encoding { get; init; }
    /// <inheritdoc cref="Encoding"/>
    public long DecodedOffset { get; init; }

    /// <summary>Elements (product of the shape).</summary>
    public long Elements => Shape.Aggregate(1L, (a, d) => a * d);

    /// <summary>The shape as "(a, b)".</summary>
    public string ShapeText => "(" + string.Join(", ", Shape) + ")";
}

/// <summary>An open, validated, memory-mapped model file. Dispose to unmap.</summary>
public sealed unsafe class RuntimeModelFile : IDisposable
{
    /// <summary>Metadata keys and the values this runtime writes and reads.</summary>
    public const string FormatKey = "cochlea.format", FormatName = "cochlea-runtime", VersionKey = "cochlea.format_version", GraphKey = "cochlea.graph";

    /// <summary>The newest format version this runtime reads (and the one the exporter writes).</summary>
    public const int FormatVersion = 2;

    readonly MemoryMappedFile? _map;
    readonly MemoryMappedViewAccessor? _view;
    readonly byte* _base;
    readonly long _dataStart;
    readonly Dictionary<string, RuntimeTensor> _tensors;
    byte* _decoded;

    RuntimeModelFile(string path, long length, long dataStart, Dictionary<string, string> metadata, Dictionary<string, RuntimeTensor> tensors)
    {
        Path = path; FileBytes = length; _dataStart = dataStart; Metadata = metadata; _tensors = tensors;
        _map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* p = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _base = p + _view.PointerOffset;
        try { DecodeAll(); }
        catch { Dispose(); throw; }
    }

    /// <summary>Bytes of the weight arena that encoded tensors are decoded into (0 when the file has none).</summary>
    public long DecodedBytes { get; private set; }

    // Decoded tensors get 64-byte-aligned slots of one arena, so the kernels see the same alignment as a fresh buffer.
    void DecodeAll()
    {
        var encoded = _tensors.Values.Where(t => t.Encoding is not null).OrderBy(t => t.Begin).ToArray();
        if (encoded.Length == 0) return;
        long total = 0;
        foreach (var t in encoded)
        {
            _tensors[t.Name] = t with { DecodedOffset = total };
            total += (t.Elements * sizeof(float) + 63) & ~63L;
        }
        DecodedBytes = total;
        _decoded = (byte*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)Math.Max(total, 64), 64);
        var plane = new byte[encoded.Max(t => t.Elements)];
        foreach (var t in encoded)
        {
            var d = _tensors[t.Name];
            d.Encoding!.Decode(Path, t.Name, _base + _dataStart + t.Begin, t.End - t.Begin, (float*)(_decoded + d.DecodedOffset), plane);
        }
    }

    /// <summary>The file's path.</summary>
    public string Path { get; }

    /// <summary>File size in bytes.</summary>
    public long FileBytes { get; }

    /// <summary>The "__metadata__" map.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensors by name.</summary>
    public IReadOnlyDictionary<string, RuntimeTensor> Tensors => _tensors;

    /// <summary>Opens and validates <paramref name="path"/> (header, format name and version, tensor offsets); maps it.</summary>
    /// <exception cref="RuntimeModelException">Not a model file, truncated, or from a newer format version.</exception>
    public static RuntimeModelFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"model file not found: {System.IO.Path.GetFullPath(path)}", path);
        long length;
        byte[] header;
        using (var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1))
        {
            length = fs.Length;
            if (length < 8) throw Bad(path, $"it is {length} bytes, shorter than the 8-byte header length: the file is truncated.");
            Span<byte> len = stackalloc byte[8];
            fs.ReadExactly(len);
            ulong n = BinaryPrimitives.ReadUInt64LittleEndian(len);
            if (n > (ulong)(length - 8)) throw Bad(path, $"its header is {n} bytes but only {length - 8} follow: the file is truncated.");
            if (n < 2 || n > 100_000_000) throw Bad(path, $"header length {n} is not plausible; this is not a model file.");
            header = new byte[n];
            fs.ReadExactly(header);
        }
        long dataStart = 8 + header.Length, bufferBytes = length - dataStart;
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var tensors = new Dictionary<string, RuntimeTensor>(StringComparer.Ordinal);
        try
        {
            using var doc = JsonDocument.Parse(header);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Bad(path, "its header is not a JSON object.");
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    foreach (var m in prop.Value.EnumerateObject())
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : throw Bad(path, $"metadata '{m.Name}' is not a string.");
                    continue;
                }
                tensors.Add(prop.Name, ParseTensor(path, prop));
            }
        }
        catch (JsonException e) { throw Bad(path, $"its header is not valid JSON ({e.Message}).", e); }
        catch (ArgumentException e) { throw Bad(path, $"its header lists a tensor twice ({e.Message}).", e); }

        if (!metadata.TryGetValue(FormatKey, out var format) || format != FormatName)
            throw Bad(path, $"it is a safetensors file but not a Cochlea runtime model (metadata '{FormatKey}' is {(format is null ? "missing" : "'" + format + "'")}); make one with `cochlea export`.");
        if (!metadata.TryGetValue(VersionKey, out var vText) || !int.TryParse(vText, out int version) || version < 1)
            throw Bad(path, $"metadata '{VersionKey}' is missing or not a positive integer ('{vText}').");
        if (version > FormatVersion)
            throw Bad(path, $"it is format version {version}, newer than this runtime reads ({FormatVersion}); update Cochlea or export the model again with this version.");

        long expected = 0;
        foreach (var t in tensors.Values.OrderBy(t => t.Begin))
        {
            if (t.End > bufferBytes)
                throw Bad(path, $"tensor '{t.Name}' ends at byte {t.End} of the data but the file holds {bufferBytes}: the file is truncated.");
            if (t.Begin != expected)
                throw Bad(path, $"tensor '{t.Name}' starts at {t.Begin}, expected {expected}: tensors must tile the data without gaps or overlaps.");
            expected = t.End;
        }
        if (expected != bufferBytes)
            throw Bad(path, expected < bufferBytes ? $"{bufferBytes - expected} bytes follow the last tensor; the file is damaged."
                : $"the tensors need {expected} bytes of data but the file holds {bufferBytes}: the file is truncated.");
        // Encoded tensors: the stored U8 blob becomes an F32 tensor of the logical shape (decoded once the file is mapped).
        foreach (var (name, enc) in TensorEncoding.Parse(path, metadata))
        {
            if (!tensors.TryGetValue(name, out var blob) || blob.DType != "U8" || blob.Shape.Length != 1)
                throw Bad(path, $"metadata '{TensorEncoding.Key}' encodes tensor '{name}', but the file has no U8 blob of that name.");
            if (enc.Elements > int.MaxValue / 4) throw Bad(path, $"encoded tensor '{name}' has {enc.Elements} elements; at most {int.MaxValue / 4} are supported.");
            tensors[name] = blob with { DType = "F32", Shape = enc.Shape, Encoding = enc };
        }
        return new RuntimeModelFile(path, length, dataStart, metadata, tensors);
    }

    static RuntimeTensor ParseTensor(string path, JsonProperty prop)
    {
        var v = prop.Value;
        if (v.ValueKind != JsonValueKind.Object || !v.TryGetProperty("dtype", out var dt) || !v.TryGetProperty("shape", out var sh)
            || !v.TryGetProperty("data_offsets", out var off) || off.GetArrayLength() != 2)
            throw Bad(path, $"tensor '{prop.Name}' needs dtype, shape and data_offsets.");
        string dtype = dt.GetString() ?? "";
        int size = dtype switch { "F32" => 4, "I8" or "U8" => 1, _ => throw Bad(path, $"tensor '{prop.Name}' has dtype {dtype}; the runtime reads F32, I8 and U8 (encoded blobs).") };
        var shape = sh.EnumerateArray().Select(e => e.GetInt32()).ToArray();
        if (shape.Any(d => d < 0)) throw Bad(path, $"tensor '{prop.Name}' has a negative dimension.");
        long begin = off[0].GetInt64(), end = off[1].GetInt64();
        var t = new RuntimeTensor(prop.Name, dtype, shape, begin, end);
        if (begin < 0 || end < begin || end - begin != t.Elements * size)
            throw Bad(path, $"tensor '{prop.Name}' {dtype} {t.ShapeText} needs {t.Elements * size} bytes but data_offsets [{begin}, {end}] give {end - begin}: inconsistent shapes.");
        return t;
    }

    /// <summary>A tensor's description, checked for dtype and shape.</summary>
    /// <exception cref="RuntimeModelException">Missing, another dtype, or another shape.</exception>
    public RuntimeTensor Get(string name, string dtype, params int[] shape)
    {
        if (!_tensors.TryGetValue(name, out var t)) throw Bad(Path, $"the graph uses tensor '{name}', which the file lacks.");
        if (t.DType != dtype) throw Bad(Path, $"tensor '{name}' is {t.DType}; the graph needs {dtype}.");
        if (!t.Shape.SequenceEqual(shape))
            throw Bad(Path, $"tensor '{name}' is {t.ShapeText} but the graph needs ({string.Join(", ", shape)}): inconsistent shapes.");
        return t;
    }

    /// <summary>The first byte of tensor <paramref name="t"/>: in the mapping, or in the weight arena for a decoded tensor (valid until Dispose).</summary>
    public byte* Data(RuntimeTensor t) => t.Encoding is null ? _base + _dataStart + t.Begin : _decoded + _tensors[t.Name].DecodedOffset;

    internal static RuntimeModelException Bad(string path, string why, Exception? inner = null) =>
        new($"cannot use model file '{path}': {why}", inner);

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_decoded != null) { System.Runtime.InteropServices.NativeMemory.AlignedFree(_decoded); _decoded = null; }
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
        _map?.Dispose();
    }
}
