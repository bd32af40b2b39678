// Loads a PyTorch golden fixture (tests/fixtures/ops/<case>.safetensors, made by make_op_fixtures.py):
// inputs x*, outputs y*, upstream gradients g*, input gradients dx*, extras (rm, rv, running_mean, running_var),
// and the metadata op / attrs / note. See tests/fixtures/README.md for the format.
using System.Text.Json;
using System.Text.RegularExpressions;
using Cochlea.IO;

namespace Cochlea.Tests.Fixtures;

/// <summary>One tensor of a fixture: its name, shape, dtype and values.</summary>
/// <param name="Name">Tensor name in the file (x0, y1, dx0, rm, ...).</param>
/// <param name="Shape">Dimensions; empty for a scalar.</param>
/// <param name="DType">Stored dtype (F32 for float data, I64 for indices/labels, U8 for masks).</param>
/// <param name="Data">The values as float32 (integers converted).</param>
/// <param name="Int64">The values as int64 for integer dtypes; null for float tensors.</param>
public sealed record FixtureTensor(string Name, int[] Shape, SafeTensorDType DType, float[] Data, long[]? Int64)
{
    /// <summary>True for integer and boolean dtypes (indices, labels, masks).</summary>
    public bool IsInteger => Int64 is not null;

    /// <summary>Number of elements (product of the shape).</summary>
    public int Length => Data.Length;

    /// <inheritdoc/>
    public override string ToString() => $"{Name} {DType.ToFormatName()}[{string.Join(", ", Shape)}]";
}

/// <summary>A golden op case: inputs, outputs and gradients from PyTorch.</summary>
public sealed partial class OpFixture
{
    private OpFixture(string name) => Name = name;

    /// <summary>Folder the fixtures are copied to: &lt;test output&gt;/fixtures/ops.</summary>
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "fixtures", "ops");

    /// <summary>Case name (the file name without extension).</summary>
    public string Name { get; }

    /// <summary>Op name, e.g. "conv1d".</summary>
    public string Op { get; private set; } = "";

    /// <summary>Short description from the generator.</summary>
    public string Note { get; private set; } = "";

    /// <summary>The op's attributes (a JSON object; empty object when the op has none).</summary>
    public JsonElement Attrs { get; private set; }

    /// <summary>Inputs x0, x1, ... in op order.</summary>
    public IReadOnlyList<FixtureTensor> Inputs { get; private set; } = [];

    /// <summary>Outputs y0, y1, ...</summary>
    public IReadOnlyList<FixtureTensor> Outputs { get; private set; } = [];

    /// <summary>Upstream gradients g0, g1, ..., one per output, same shapes.</summary>
    public IReadOnlyList<FixtureTensor> UpstreamGrads { get; private set; } = [];

    /// <summary>
    /// Input gradients aligned with <see cref="Inputs"/>: InputGrads[i] is dx_i = d sum_k(y_k * g_k) / d x_i,
    /// or null where x_i is not differentiable (indices, masks) or treated as a constant (targets, teacher).
    /// </summary>
    public IReadOnlyList<FixtureTensor?> InputGrads { get; private set; } = [];

    /// <summary>Other tensors: batch_norm's rm, rv (inputs) and running_mean, running_var (outputs).</summary>
    public IReadOnlyDictionary<string, FixtureTensor> Extras { get; private set; } = new Dictionary<string, FixtureTensor>();

    /// <summary>Names of all cases present in <see cref="Folder"/>, sorted.</summary>
    public static IReadOnlyList<string> CaseNames() =>
        Directory.Exists(Folder)
            ? Directory.GetFiles(Folder, "*.safetensors").Select(f => Path.GetFileNameWithoutExtension(f)!).Order(StringComparer.Ordinal).ToList()
            : [];

    /// <summary>Loads case <paramref name="name"/> completely (fixtures are small).</summary>
    public static OpFixture Load(string name)
    {
        string path = Path.Combine(Folder, name + ".safetensors");
        if (!File.Exists(path))
            throw new FileNotFoundException($"No op fixture '{name}' at {path}. Regenerate with /usr/bin/python3 tests/fixtures/make_op_fixtures.py.", path);
        using var file = SafeTensorsFile.Open(path);
        var fx = new OpFixture(name);
        fx.Op = file.Metadata.TryGetValue("op", out var op) ? op : throw new InvalidDataException($"{path}: no 'op' metadata.");
        fx.Note = file.Metadata.GetValueOrDefault("note", "");
        using (var doc = JsonDocument.Parse(file.Metadata.GetValueOrDefault("attrs", "{}")))
            fx.Attrs = doc.RootElement.Clone();

        var groups = new Dictionary<string, SortedDictionary<int, FixtureTensor>>
        {
            ["x"] = new(), ["y"] = new(), ["g"] = new(), ["dx"] = new(),
        };
        var extras = new Dictionary<string, FixtureTensor>(StringComparer.Ordinal);
        foreach (var info in file.Tensors)
        {
            var t = Read(file, info);
            var m = IndexedName().Match(info.Name);
            if (m.Success) groups[m.Groups[1].Value][int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture)] = t;
            else extras[info.Name] = t;
        }
        fx.Inputs = Dense(path, "x", groups["x"]);
        fx.Outputs = Dense(path, "y", groups["y"]);
        fx.UpstreamGrads = Dense(path, "g", groups["g"]);
        fx.InputGrads = Enumerable.Range(0, fx.Inputs.Count).Select(i => groups["dx"].GetValueOrDefault(i)).ToList();
        if (groups["dx"].Keys.Any(i => i >= fx.Inputs.Count))
            throw new InvalidDataException($"{path}: has a dx without a matching x.");
        fx.Extras = extras;
        return fx;
    }

    /// <summary>Integer attribute <paramref name="key"/>.</summary>
    public int AttrInt(string key) => Attrs.GetProperty(key).GetInt32();

    /// <summary>Float attribute <paramref name="key"/>.</summary>
    public float AttrFloat(string key) => Attrs.GetProperty(key).GetSingle();

    /// <summary>Boolean attribute <paramref name="key"/>.</summary>
    public bool AttrBool(string key) => Attrs.GetProperty(key).GetBoolean();

    /// <summary>Integer-list attribute <paramref name="key"/> (a bare integer gives a one-element list).</summary>
    public int[] AttrInts(string key)
    {
        var e = Attrs.GetProperty(key);
        return e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().Select(v => v.GetInt32()).ToArray() : [e.GetInt32()];
    }

    /// <summary>True if the attributes contain <paramref name="key"/>.</summary>
    public bool HasAttr(string key) => Attrs.ValueKind == JsonValueKind.Object && Attrs.TryGetProperty(key, out _);

    /// <inheritdoc/>
    public override string ToString() => $"{Name} ({Op} {Attrs.GetRawText()})";

    private static FixtureTensor Read(SafeTensorsFile file, SafeTensorInfo info)
    {
        bool isFloat = info.DType.IsFloatingPoint();
        return new FixtureTensor(info.Name, info.ShapeInt32, info.DType, file.ReadFloat32(info.Name), isFloat ? null : file.ReadInt64(info.Name));
    }

    private static List<FixtureTensor> Dense(string path, string prefix, SortedDictionary<int, FixtureTensor> items)
    {
        var list = new List<FixtureTensor>(items.Count);
        foreach (var (i, t) in items)
        {
            if (i != list.Count) throw new InvalidDataException($"{path}: {prefix}{list.Count} is missing (found {prefix}{i}).");
            list.Add(t);
        }
        return list;
    }

    [GeneratedRegex(@"^(x|y|g|dx)(\d+)$")]
    private static partial Regex IndexedName();
}
