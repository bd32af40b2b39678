// Tests of the safetensors reader/writer (Cochlea.IO): round trips of every dtype, a file written by an
// independent implementation (PyTorch + tests/fixtures/st_writer.py), malformed files, and atomic saves.
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Cochlea.IO;
using NUnit.Framework;

namespace Cochlea.Tests.IO;

[Category("SafeTensors")]
public class SafeTensorsTests
{
    private TempDir _dir = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = new TempDir("st");
    }

    [TearDown]
    public void TearDown()
    {
        _dir.Dispose();
    }

    private string PathFor(string name) => _dir[name];

    // ---- round trips ---------------------------------------------------------------------------

    [Test]
    public void RoundTripsEveryDType()
    {
        float[] f32 = [1.5f, -2.25f, 3.1415927f, float.MaxValue, float.Epsilon, -0f];
        double[] f64 = [Math.PI, -1e300, 0.1];
        float[] f16 = [0.5f, -1.25f, 65504f, 6.1035156e-05f];       // exact in half
        float[] bf16 = [1f, -3.5f, 256f, 0.0078125f, 1.0e30f];   // 1e30 rounds; compare after rounding
        int[] i32 = [int.MinValue, -1, 0, 7, int.MaxValue, 3];
        long[] i64 = [long.MinValue, -(1L << 40), 0, long.MaxValue];
        byte[] u8 = [0, 1, 127, 128, 255];
        sbyte[] i8 = [-128, -1, 0, 1, 127];
        byte[] boolean = [1, 0, 1];

        var w = new SafeTensorsWriter()
            .AddFloat32("f32", f32, 2, 3)
            .AddFloat64("f64", f64, 3)
            .AddFloat("f16", SafeTensorDType.F16, f16, 2, 2)
            .AddFloat("bf16", SafeTensorDType.BF16, bf16, 5)
            .AddInt32("i32", i32, 3, 2)
            .AddInt64("i64", i64, 4)
            .AddBytes("u8", SafeTensorDType.U8, u8, 5)
            .AddBytes("i8", SafeTensorDType.I8, System.Runtime.InteropServices.MemoryMarshal.AsBytes(i8.AsSpan()), 5)
            .AddBytes("bool", SafeTensorDType.Bool, boolean, 3)
            .AddFloat32("scalar", [42f])
            .AddFloat32("empty", [], 0, 3)
            .AddMetadata("format", "pt")
            .AddMetadata("note", "ünïcode ✓");
        string path = PathFor("all.safetensors");
        w.Save(path);

        using var f = SafeTensorsFile.Open(path);
        Assert.That(f.Metadata["format"], Is.EqualTo("pt"));
        Assert.That(f.Metadata["note"], Is.EqualTo("ünïcode ✓"));
        Assert.That(f.Tensors, Has.Count.EqualTo(11));
        Assert.That(f.DataStart % 8, Is.EqualTo(0), "data must start 8-byte aligned");

        Assert.That(f.GetInfo("f32").DType, Is.EqualTo(SafeTensorDType.F32));
        Assert.That(f.GetInfo("f32").Shape, Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(f.ReadFloat32("f32"), Is.EqualTo(f32));
        Assert.That(f.ReadFloat64("f64"), Is.EqualTo(f64));
        Assert.That(f.ReadFloat32("f64"), Is.EqualTo(f64.Select(d => (float)d).ToArray()));
        Assert.That(f.GetInfo("f16").DType, Is.EqualTo(SafeTensorDType.F16));
        Assert.That(f.ReadFloat32("f16"), Is.EqualTo(f16));
        Assert.That(f.GetInfo("bf16").DType, Is.EqualTo(SafeTensorDType.BF16));
        var bf = f.ReadFloat32("bf16");
        Assert.That(bf.Take(4), Is.EqualTo(bf16.Take(4)));
        Assert.That(bf[4], Is.EqualTo(1.0e30f).Within(1e30 / 128), "bf16 keeps 8 significant bits");
        Assert.That(f.ReadInt32("i32"), Is.EqualTo(i32));
        Assert.That(f.ReadInt64("i32"), Is.EqualTo(i32.Select(v => (long)v).ToArray()));
        Assert.That(f.ReadInt64("i64"), Is.EqualTo(i64));
        Assert.That(f.ReadBytes("u8"), Is.EqualTo(u8));
        Assert.That(f.ReadInt32("u8"), Is.EqualTo(u8.Select(v => (int)v).ToArray()));
        Assert.That(f.ReadInt64("i8"), Is.EqualTo(i8.Select(v => (long)v).ToArray()));
        Assert.That(f.ReadFloat32("i8"), Is.EqualTo(i8.Select(v => (float)v).ToArray()));
        Assert.That(f.GetInfo("bool").DType, Is.EqualTo(SafeTensorDType.Bool));
        Assert.That(f.ReadUInt8("bool"), Is.EqualTo(boolean));
        Assert.That(f.GetInfo("scalar").Shape, Is.Empty);
        Assert.That(f.GetInfo("scalar").ElementCount, Is.EqualTo(1));
        Assert.That(f.ReadFloat32("scalar"), Is.EqualTo(new[] { 42f }));
        Assert.That(f.ReadFloat32("empty"), Is.Empty);
        Assert.That(f.GetInfo("empty").Shape, Is.EqualTo(new long[] { 0, 3 }));

        // Span accessors.
        Span<byte> raw = stackalloc byte[24];
        f.ReadBytes("i32", raw);
        Assert.That(BinaryPrimitives.ReadInt32LittleEndian(raw), Is.EqualTo(int.MinValue));
        var dst = new float[6];
        f.ReadFloat32("f32", dst);
        Assert.That(dst, Is.EqualTo(f32));
    }

    [Test]
    public void HeaderIsSortedPaddedAndAligned()
    {
        var w = new SafeTensorsWriter()
            .AddBytes("b", SafeTensorDType.U8, [1, 2, 3], 3)
            .AddFloat32("a", [1f], 1)
            .AddFloat64("z", [2.0], 1)
            .AddInt32("c", [5], 1)
            .AddMetadata("k", "v");
        byte[] bytes = w.ToArray();
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.That((8 + n) % 8, Is.EqualTo(0));
        string header = Encoding.UTF8.GetString(bytes, 8, (int)n);
        Assert.That(header, Does.StartWith("{\"__metadata__\":{\"k\":\"v\"}"));
        Assert.That(header.TrimEnd(' '), Does.EndWith("}"));
        // Data order as the Python library: element size descending, then name.
        using var doc = JsonDocument.Parse(header);
        var names = doc.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.That(names, Is.EqualTo(new[] { "__metadata__", "z", "a", "c", "b" }));
        Assert.That(doc.RootElement.GetProperty("z").GetProperty("data_offsets")[0].GetInt64(), Is.EqualTo(0));
        Assert.That(doc.RootElement.GetProperty("b").GetProperty("data_offsets")[1].GetInt64(), Is.EqualTo(bytes.Length - 8 - n));
    }

    [Test]
    public void ConvertsLargeHalfTensorsInChunks()
    {
        const int n = 200_003; // more than one conversion chunk, odd tail
        var values = new float[n];
        for (int i = 0; i < n; i++) values[i] = (i % 2048) - 1024;  // integers, exact in F16 and BF16
        string path = PathFor("big.safetensors");
        new SafeTensorsWriter().AddFloat("h", SafeTensorDType.F16, values, n).AddFloat("b", SafeTensorDType.BF16, values, n).Save(path);
        using var f = SafeTensorsFile.Open(path);
        Assert.That(f.ReadFloat32("h"), Is.EqualTo(values));
        Assert.That(f.ReadFloat32("b").Select((v, i) => v == values[i] || Math.Abs(values[i]) > 256).All(b => b), Is.True);
    }

    [Test]
    public void BFloat16RoundsToNearestEven()
    {
        Assert.That(SafeTensorsWriter.ToBFloat16(1f), Is.EqualTo(0x3F80));
        Assert.That(SafeTensorsWriter.ToBFloat16(BitConverter.UInt32BitsToSingle(0x3F808000)), Is.EqualTo(0x3F80), "tie to even (down)");
        Assert.That(SafeTensorsWriter.ToBFloat16(BitConverter.UInt32BitsToSingle(0x3F818000)), Is.EqualTo(0x3F82), "tie to even (up)");
        Assert.That(SafeTensorsWriter.ToBFloat16(BitConverter.UInt32BitsToSingle(0x3F808001)), Is.EqualTo(0x3F81));
        Assert.That(float.IsNaN(BitConverter.Int32BitsToSingle(SafeTensorsWriter.ToBFloat16(float.NaN) << 16)), Is.True);
    }

    // ---- independent implementation ------------------------------------------------------------

    [Test]
    public void ReadsFileWrittenByPyTorchScript()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "fixtures", "interop", "torch_dtypes.safetensors");
        Assert.That(File.Exists(path), Is.True, $"missing {path}; run /usr/bin/python3 tests/fixtures/make_safetensors_interop.py");
        using var f = SafeTensorsFile.Open(path);
        Assert.That(f.Metadata["format"], Is.EqualTo("pt"));
        Assert.That(f.ReadFloat32("f32"), Is.EqualTo(Enumerable.Range(0, 12).Select(i => -1 + 0.5f * i).ToArray()));
        Assert.That(f.GetInfo("f32").Shape, Is.EqualTo(new long[] { 3, 4 }));
        Assert.That(f.ReadFloat64("f64"), Is.EqualTo(Enumerable.Range(0, 6).Select(i => i / 3.0).ToArray()));
        Assert.That(f.GetInfo("f16").DType, Is.EqualTo(SafeTensorDType.F16));
        Assert.That(f.ReadFloat32("f16"), Is.EqualTo(Enumerable.Range(0, 8).Select(i => -1 + 0.25f * i).ToArray()));
        Assert.That(f.GetInfo("bf16").DType, Is.EqualTo(SafeTensorDType.BF16));
        Assert.That(f.ReadFloat32("bf16"), Is.EqualTo(Enumerable.Range(0, 8).Select(i => -3 + 1.5f * i).ToArray()));
        Assert.That(f.ReadInt32("i32"), Is.EqualTo(new[] { -3, -2, -1, 0, 1, 2 }));
        Assert.That(f.ReadInt64("i64"), Is.EqualTo(new[] { -(1L << 40), -1, 0, 1, 1L << 40 }));
        Assert.That(f.ReadBytes("u8"), Is.EqualTo(new byte[] { 0, 1, 127, 128, 255 }));
        Assert.That(f.ReadInt32("i8"), Is.EqualTo(new[] { -128, -1, 0, 1, 127 }));
        Assert.That(f.GetInfo("bool").DType, Is.EqualTo(SafeTensorDType.Bool));
        Assert.That(f.ReadInt32("bool"), Is.EqualTo(new[] { 1, 0, 1 }));
        Assert.That(f.GetInfo("scalar").Shape, Is.Empty);
        Assert.That(f.ReadFloat32("scalar"), Is.EqualTo(new[] { 3.25f }));
        Assert.That(f.ReadFloat32("empty"), Is.Empty);
        Assert.That(f.ReadFloat32("naïve.ü"), Is.EqualTo(new[] { 1f, 2f }));

        using var sums = JsonDocument.Parse(f.Metadata["sums"]);
        foreach (var name in new[] { "conv.weight", "conv.bias" })
        {
            double expected = sums.RootElement.GetProperty(name).GetDouble();
            double actual = f.ReadFloat32(name).Sum(v => (double)v);
            Assert.That(actual, Is.EqualTo(expected).Within(1e-9), name);
        }
        Assert.That(f.GetInfo("conv.weight").Shape, Is.EqualTo(new long[] { 3, 2, 3 }));

        // And our writer reproduces every tensor of it bit for bit.
        var w = new SafeTensorsWriter();
        foreach (var t in f.Tensors) w.AddBytes(t.Name, t.DType, f.ReadBytes(t.Name), t.Shape);
        foreach (var (k, v) in f.Metadata) w.AddMetadata(k, v);
        string copy = PathFor("copy.safetensors");
        w.Save(copy);
        using var g = SafeTensorsFile.Open(copy);
        Assert.That(g.Metadata, Is.EquivalentTo(f.Metadata));
        foreach (var t in f.Tensors)
        {
            Assert.That(g.GetInfo(t.Name).Shape, Is.EqualTo(t.Shape));
            Assert.That(g.ReadBytes(t.Name), Is.EqualTo(f.ReadBytes(t.Name)), t.Name);
        }
    }

    // ---- malformed files -----------------------------------------------------------------------

    private string WriteRaw(string name, string header, int dataBytes, long? declaredLength = null)
    {
        byte[] h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)(declaredLength ?? h.Length));
        h.CopyTo(bytes, 8);
        string path = PathFor(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static SafeTensorsException ExpectError(string path, params string[] fragments)
    {
        var ex = Assert.Throws<SafeTensorsException>(() => SafeTensorsFile.Open(path).Dispose())!;
        Assert.That(ex.Message, Does.Contain(path), "the message names the file");
        Assert.That(ex.FilePath, Is.EqualTo(path));
        foreach (var f in fragments) Assert.That(ex.Message, Does.Contain(f));
        Assert.That(ex, Is.InstanceOf<IOException>());
        return ex;
    }

    [Test]
    public void TruncatedFileIsRejected()
    {
        string path = PathFor("short.safetensors");
        File.WriteAllBytes(path, [1, 2, 3, 4, 5]);
        ExpectError(path, "5 bytes", "truncated");
    }

    [Test]
    public void TruncatedDataIsRejected()
    {
        string good = PathFor("good.safetensors");
        new SafeTensorsWriter().AddFloat32("a", new float[16], 16).Save(good);
        byte[] bytes = File.ReadAllBytes(good);
        string path = PathFor("cut.safetensors");
        File.WriteAllBytes(path, bytes[..^10]);
        ExpectError(path, "'a'", "beyond", "truncated");
    }

    [Test]
    public void HeaderLengthBeyondFileIsRejected()
    {
        string path = WriteRaw("len.safetensors", "{}", 0, declaredLength: 1000);
        ExpectError(path, "header length 1000", "truncated");
    }

    [Test]
    public void BadJsonIsRejected()
    {
        string path = WriteRaw("json.safetensors", "{\"a\": {\"dtype\": \"F32\", ", 0);
        var ex = ExpectError(path, "not valid JSON");
        Assert.That(ex.InnerException, Is.InstanceOf<JsonException>());
        ExpectError(WriteRaw("notobj.safetensors", "[1, 2]  ", 0), "does not start with '{'");
    }

    [Test]
    public void OffsetsOutOfRangeAreRejected()
    {
        string path = WriteRaw("range.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8);
        ExpectError(path, "'a'", "[0, 16]", "8-byte data buffer");
    }

    [Test]
    public void ShapeSizeMismatchIsRejected()
    {
        string path = WriteRaw("shape.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}", 16);
        ExpectError(path, "'a'", "12 bytes", "16 bytes");
    }

    [Test]
    public void UnknownDTypeIsRejected()
    {
        string path = WriteRaw("dtype.safetensors", "{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4);
        ExpectError(path, "'F8_E4M3'", "not supported", "Convert");
    }

    [Test]
    public void OverlapsGapsAndTrailingBytesAreRejected()
    {
        ExpectError(WriteRaw("overlap.safetensors",
            "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[2,6]}}", 6), "overlap");
        ExpectError(WriteRaw("gap.safetensors",
            "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[4,6]}}", 6), "gaps");
        ExpectError(WriteRaw("trail.safetensors",
            "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}", 5), "trailing");
        ExpectError(WriteRaw("dup.safetensors",
            "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]}}", 4), "twice");
        ExpectError(WriteRaw("meta.safetensors", "{\"__metadata__\":{\"n\":3}}", 0), "only strings");
        ExpectError(WriteRaw("neg.safetensors",
            "{\"a\":{\"dtype\":\"U8\",\"shape\":[-2],\"data_offsets\":[0,2]}}", 2), "non-negative");
        ExpectError(WriteRaw("offs.safetensors",
            "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,0]}}", 2), "begin <= end");
    }

    [Test]
    public void WrongAccessorsAndNamesFailClearly()
    {
        string path = PathFor("acc.safetensors");
        new SafeTensorsWriter().AddFloat32("w", [1f, 2f], 2).AddInt64("big", [1L << 40], 1).Save(path);
        using var f = SafeTensorsFile.Open(path);
        Assert.That(Assert.Throws<SafeTensorsException>(() => f.ReadInt32("w"))!.Message, Does.Contain("ReadFloat32"));
        Assert.That(Assert.Throws<SafeTensorsException>(() => f.ReadInt32("big"))!.Message, Does.Contain("ReadInt64"));
        Assert.That(Assert.Throws<KeyNotFoundException>(() => f.GetInfo("nope"))!.Message, Does.Contain("w"));
        Assert.Throws<ArgumentException>(() => f.ReadFloat32("w", new float[3]));
    }

    // ---- atomic writes ---------------------------------------------------------------------------

    [Test]
    public void MismatchedTensorIsRejectedBeforeAnythingIsWritten()
    {
        string path = PathFor("model.safetensors");
        new SafeTensorsWriter().AddFloat32("w", [1f, 2f, 3f], 3).Save(path);
        byte[] before = File.ReadAllBytes(path);

        var w = new SafeTensorsWriter().AddFloat32("w", [9f, 9f, 9f], 3);
        var ex = Assert.Throws<ArgumentException>(() => w.AddBytes("bad", SafeTensorDType.F32, new byte[10], 3))!;
        Assert.That(ex.Message, Does.Contain("'bad'").And.Contain("12 bytes").And.Contain("10 bytes"));
        Assert.Throws<ArgumentException>(() => w.AddFloat32("w", [1f], 1), "duplicate name");
        Assert.Throws<ArgumentException>(() => w.AddFloat32("__metadata__", [1f], 1), "reserved name");
        Assert.Throws<ArgumentException>(() => w.AddFloat32("neg", [], -1), "negative dimension");
        Assert.Throws<ArgumentException>(() => w.AddFloat("h", SafeTensorDType.I32, [1f], 1), "AddFloat needs a float dtype");

        Assert.That(File.ReadAllBytes(path), Is.EqualTo(before));
        Assert.That(Directory.GetFiles(_dir.Path), Has.Length.EqualTo(1));
    }

    [Test]
    public void IoFailureMidwayLeavesOldFileAndNoTempFiles()
    {
        string path = PathFor("model.safetensors");
        new SafeTensorsWriter().AddFloat32("w", [1f, 2f, 3f], 3).Save(path);
        byte[] before = File.ReadAllBytes(path);

        var w = new SafeTensorsWriter().AddFloat32("w", new float[10_000], 10_000);
        w.WrapStreamForTesting = s => new FailingStream(s, failAfterBytes: 5_000);
        var ex = Assert.Throws<IOException>(() => w.Save(path))!;
        Assert.That(ex.Message, Does.Contain("simulated"));

        Assert.That(File.ReadAllBytes(path), Is.EqualTo(before), "the old file is untouched");
        Assert.That(Directory.GetFiles(_dir.Path).Select(Path.GetFileName), Is.EqualTo(new[] { "model.safetensors" }), "no temp file left");

        // Without the failure the same writer replaces the file, again leaving no temp file.
        w.WrapStreamForTesting = null;
        w.Save(path);
        using (var f = SafeTensorsFile.Open(path)) Assert.That(f.GetInfo("w").ElementCount, Is.EqualTo(10_000));
        Assert.That(Directory.GetFiles(_dir.Path), Has.Length.EqualTo(1));
    }

    [Test]
    public void SaveIntoMissingDirectoryFailsWithoutSideEffects()
    {
        string path = Path.Combine(_dir["no-such-dir"], "m.safetensors");
        Assert.Throws<DirectoryNotFoundException>(() => new SafeTensorsWriter().AddFloat32("a", [1f], 1).Save(path));
        Assert.That(Directory.GetFileSystemEntries(_dir.Path), Is.Empty);
    }

    /// <summary>A stream that throws after a number of bytes, to simulate a full disk or a dying device.</summary>
    private sealed class FailingStream(Stream inner, long failAfterBytes) : Stream
    {
        private long _written;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => _written; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (_written + buffer.Length > failAfterBytes)
            {
                int part = (int)(failAfterBytes - _written);
                inner.Write(buffer[..part]);
                _written += part;
                throw new IOException("simulated I/O failure (disk full)");
            }
            inner.Write(buffer);
            _written += buffer.Length;
        }
    }
}
