// Loads a model-level golden fixture (tests/fixtures/models/<case>.safetensors, made by make_model_fixtures.py):
// a torch state_dict under "state.", inputs, outputs, BN buffers and gradients under their own prefixes, and
// metadata (widths, classes, torch's state_dict key order, parameter counts). Also the comparison helper the
// model tests share: |actual - expected| <= atol + rtol * |expected|, reporting the largest errors seen.
using System.Text.Json;
using Cochlea.IO;
using Cochlea.Nn;
using NUnit.Framework;

namespace Cochlea.Tests.Fixtures;

/// <summary>A model fixture file, read on demand. Dispose it to close the file.</summary>
public sealed class ModelFixture : IDisposable
{
    readonly SafeTensorsFile _file;

    ModelFixture(SafeTensorsFile file) => _file = file;

    /// <summary>Folder the fixtures are copied to: &lt;test output&gt;/fixtures/models.</summary>
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "fixtures", "models");

    /// <summary>Opens case <paramref name="name"/> (the file name without extension) of fixtures/<paramref name="folder"/>.</summary>
    public static ModelFixture Open(string name, string folder = "models")
    {
        string path = Path.Combine(AppContext.BaseDirectory, "fixtures", folder, name + ".safetensors");
        if (!File.Exists(path))
            throw new FileNotFoundException($"No fixture '{name}' at {path}. Regenerate with /usr/bin/python3 tests/fixtures/make_{(folder == "models" ? "model" : folder)}_fixtures.py.", path);
        return new ModelFixture(SafeTensorsFile.Open(path));
    }

    /// <summary>The file's metadata (producer, widths, num_classes, state_dict_keys, ...).</summary>
    public IReadOnlyDictionary<string, string> Metadata => _file.Metadata;

    /// <summary>Metadata value <paramref name="key"/>; fails the test clearly if absent.</summary>
    public string Meta(string key) =>
        _file.Metadata.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"{_file.Path}: no '{key}' metadata.");

    /// <summary>Integer metadata value.</summary>
    public long MetaInt(string key) => long.Parse(Meta(key), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Metadata holding a JSON array of integers (e.g. widths).</summary>
    public int[] MetaInts(string key) => JsonSerializer.Deserialize<int[]>(Meta(key))!;

    /// <summary>Metadata holding a JSON array of strings (e.g. state_dict_keys, in torch's order).</summary>
    public string[] MetaStrings(string key) => JsonSerializer.Deserialize<string[]>(Meta(key))!;

    /// <summary>Metadata holding a JSON object of name -> shape.</summary>
    public Dictionary<string, int[]> MetaShapes(string key) => JsonSerializer.Deserialize<Dictionary<string, int[]>>(Meta(key))!;

    /// <summary>True if the file holds tensor <paramref name="name"/>.</summary>
    public bool Has(string name) => _file.Contains(name);

    /// <summary>Tensor names in file order.</summary>
    public IEnumerable<string> Names => _file.Names;

    /// <summary>Shape of tensor <paramref name="name"/>.</summary>
    public int[] Shape(string name) => _file.GetInfo(name).ShapeInt32;

    /// <summary>Values of tensor <paramref name="name"/> as float32 (integers and float64 converted).</summary>
    public float[] Floats(string name) => _file.ReadFloat32(name);

    /// <summary>Values of an integer tensor.</summary>
    public long[] Longs(string name) => _file.ReadInt64(name);

    /// <summary>Values of a float64 tensor.</summary>
    public double[] Doubles(string name) => _file.ReadFloat64(name);

    /// <summary>A new tensor with the values and shape of <paramref name="name"/> (float32, or int64 for integer dtypes).</summary>
    public Tensor ToTensor(string name)
    {
        var info = _file.GetInfo(name);
        return info.DType.IsFloatingPoint()
            ? Tensor.FromArray(_file.ReadFloat32(name), info.ShapeInt32)
            : Tensor.FromArray(_file.ReadInt64(name), info.ShapeInt32);
    }

    /// <summary>
    /// Every tensor whose name starts with <paramref name="prefix"/>, keyed by the rest of the name, in file order
    /// (new tensors: create them inside a <c>Tensor.Scope()</c>).
    /// </summary>
    public OrderedDictionary<string, Tensor> WithPrefix(string prefix)
    {
        var d = new OrderedDictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var name in _file.Names)
            if (name.StartsWith(prefix, StringComparison.Ordinal)) d.Add(name[prefix.Length..], ToTensor(name));
        return d;
    }

    /// <summary>
    /// Backpropagates sum(y * g) (g: the fixture's "g") and checks the gradient of <paramref name="x"/> against the
    /// fixture's <paramref name="dxName"/> and every parameter's against "grad." + its name; then frees x's gradient.
    /// </summary>
    public void CheckGradients(Module model, Tensor x, Tensor y, string dxName, double atol, double rtol)
    {
        Ops.Sum(Ops.Mul(y, ToTensor("g"))).Backward();
        Close.Check(x.Grad!.ToArray(), Floats(dxName), atol, rtol, "grad " + dxName);
        foreach (var (name, p) in model.NamedParameters())
            Close.Check(p.Grad!.ToArray(), Floats("grad." + name), atol, rtol, "grad " + name);
        x.Grad.Dispose();
    }

    /// <inheritdoc/>
    public void Dispose() => _file.Dispose();
}

/// <summary>Element-wise closeness with a report of the worst error, shared by the model golden tests.</summary>
public static class Close
{
    /// <summary>
    /// Asserts |actual - expected| &lt;= atol + rtol * |expected| element-wise and returns the largest absolute error
    /// (also written to the test log, so the margins actually observed are visible in the output).
    /// </summary>
    public static double Check(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, double atol, double rtol, string what)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), $"{what}: element count");
        double maxAbs = 0, worstRatio = 0;
        int worst = -1;
        for (int i = 0; i < actual.Length; i++)
        {
            double err = Math.Abs((double)actual[i] - expected[i]);
            if (!(err <= double.MaxValue)) err = double.PositiveInfinity;  // NaN counts as a failure
            double ratio = err / (atol + rtol * Math.Abs(expected[i]));
            maxAbs = Math.Max(maxAbs, err);
            if (ratio > worstRatio || worst < 0) (worstRatio, worst) = (ratio, i);
        }
        TestContext.Out.WriteLine($"{what}: max |err| {maxAbs:E2}, worst err/tol {worstRatio:F3}");
        if (worst >= 0 && !(worstRatio <= 1))
            Assert.Fail($"{what}: element {worst} is {actual[worst]:R}, expected {expected[worst]:R} " +
                        $"(|err| {Math.Abs(actual[worst] - expected[worst]):E2} > {atol:E0} + {rtol:E0} * |expected|); max |err| {maxAbs:E2}.");
        return maxAbs;
    }
}
