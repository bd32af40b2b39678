// The frozen-model runtime end to end: a WaveKws classifier (random weights with non-trivial batch-norm
// statistics, and the demo's trained checkpoint when runs/demo has one) exported by KwsExport and run by
// FrozenModel must give the engine's eval-mode probabilities (<= 1e-5) on every SIMD path and thread
// count; an inference allocates nothing once warm; int8 files are small and close; compressed float32
// files fit 5,000,000 bytes and decode bit-exactly; truncated files, corrupt or truncated compressed
// planes, newer format versions and inconsistent shapes are refused with clear messages.
using System.Text.Json.Nodes;
using Cochlea.IO;
using Cochlea.Kernels;
using Cochlea.Models.Kws;
using Cochlea.Runtime;
using NUnit.Framework;

namespace Cochlea.Tests.Runtime;

[Category("Runtime")]
[NonParallelizable]
public class FrozenModelTests
{
    static readonly string[] Labels = RuntimeTestKit.Labels;
    TempDir _dir = null!;
    KwsClassifier _kws = null!;
    string _file = null!;

    [OneTimeSetUp]
    public void Setup()
    {
        _dir = new TempDir("runtime-wave");
        _kws = RandomClassifier(3);
        _file = _dir["wave.cochlea"];
        KwsExport.Save(_kws, _file);
    }

    [OneTimeTearDown]
    public void Teardown()
    {
        _kws.Dispose();
        _dir.Dispose();
    }

    /// <summary>WaveKws with peak normalisation and randomised batch-norm parameters and statistics, in eval mode.</summary>
    static KwsClassifier RandomClassifier(int seed)
    {
        var kws = KwsClassifier.Create(KwsModelKind.Wave, Labels, seed, normalization: KwsInputNormalization.Peak);
        var rng = new Random(seed);
        foreach (var (name, t) in kws.Model.NamedParameters().Concat(kws.Model.NamedBuffers()))
        {
            if (!name.Contains("bn.") || name.EndsWith("num_batches_tracked")) continue;
            var s = t.AsSpan();
            for (int i = 0; i < s.Length; i++)
                s[i] = name.EndsWith("running_var") ? 0.5f + (float)rng.NextDouble()
                    : name.EndsWith("running_mean") ? 0.2f * (float)(rng.NextDouble() - 0.5)
                    : name.EndsWith("weight") ? 0.7f + 0.6f * (float)rng.NextDouble() : 0.1f * (float)(rng.NextDouble() - 0.5);
        }
        kws.Model.Eval();
        return kws;
    }

    static float[] Clips(int count, int seed)
    {
        var rng = new Random(seed);
        var x = new float[count * KwsClassifier.ClipSamples];
        for (int c = 0; c < count; c++)
        {
            double f = 200 + 1800 * rng.NextDouble(), amp = 0.05 + 0.5 * rng.NextDouble();
            for (int i = 0; i < KwsClassifier.ClipSamples; i++)
                x[c * KwsClassifier.ClipSamples + i] = (float)(amp * Math.Sin(2 * Math.PI * f * i / 16000) * Math.Exp(-3.0 * i / 16000) + 0.02 * (rng.NextDouble() - 0.5));
        }
        return x;
    }

    static void AssertMatchesEngine(KwsClassifier kws, string file, int threads, SimdWidth? width, double atol)
    {
        const int count = 4;
        var clips = Clips(count, 5);
        var expected = kws.Probabilities(clips, count);
        using var m = FrozenModel.Load(file, threads, width);
        Assert.That(m.Labels, Is.EqualTo(kws.Labels));
        var p = new float[m.OutputLength];
        double worst = 0;
        for (int c = 0; c < count; c++)
        {
            m.Run(clips.AsSpan(c * KwsClassifier.ClipSamples, KwsClassifier.ClipSamples), p);
            for (int j = 0; j < p.Length; j++) worst = Math.Max(worst, Math.Abs(p[j] - expected[c * p.Length + j]));
        }
        TestContext.Out.WriteLine($"{Path.GetFileName(file)} threads {threads} path {width?.ToString() ?? "best"}: max |p - p_engine| = {worst:E2}");
        Assert.That(worst, Is.LessThanOrEqualTo(atol));
    }

    [Test]
    public void RandomWeightsMatchTheEngineOnEveryPath()
    {
        foreach (var w in Simd.Available) AssertMatchesEngine(_kws, _file, 1, w, 1e-5);
    }

    [Test]
    public void ThreadsGiveTheSameResult()
    {
        var clip = Clips(1, 9);
        using var one = FrozenModel.Load(_file, 1);
        using var two = FrozenModel.Load(_file, 2);
        var a = new float[one.OutputLength];
        var b = new float[two.OutputLength];
        one.Run(clip, a);
        two.Run(clip, b);
        Assert.That(b, Is.EqualTo(a));
        Assert.That(two.Output(1).ToArray(), Is.EqualTo(one.Output(1).ToArray()), "logits");
    }

    [Test]
    public void TrainedDemoCheckpointMatchesTheEngine()
    {
        string? root = TestContext.CurrentContext.TestDirectory;
        while (root is not null && !File.Exists(Path.Combine(root, "runs", "demo", "best.safetensors"))) root = Path.GetDirectoryName(root);
        if (root is null) Assert.Ignore("no runs/demo/best.safetensors (run `cochlea demo` once to enable this test).");
        using var kws = KwsClassifier.Load(Path.Combine(root, "runs", "demo", "best.safetensors"));
        string file = _dir["demo.cochlea"];
        KwsExport.Save(kws, file);
        AssertMatchesEngine(kws, file, 1, null, 1e-5);
        AssertMatchesEngine(kws, file, 1, SimdWidth.V128, 1e-5);
    }

    [Test]
    public void InferenceAllocatesNothingOnceWarm()
    {
        // One thread (the default) and threads handed to the kernel workers: both allocate nothing.
        var clip = Clips(1, 11);
        foreach (int threads in new[] { 1, 2, 3 })
        {
            using var m = FrozenModel.Load(_file, threads);
            var p = new float[m.OutputLength];
            for (int i = 0; i < 3; i++) m.Run(clip, p);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 10; i++) m.Run(clip, p);
            long after = GC.GetAllocatedBytesForCurrentThread();
            Assert.That(after - before, Is.Zero, $"threads {threads}: bytes allocated by 10 inferences");
        }
    }

    [Test]
    public void FileSizesAndMemoryPlan()
    {
        string q = _dir["wave-int8.cochlea"];
        long bytes = KwsExport.Save(_kws, q, int8: true);
        using var f = FrozenModel.Load(_file);
        using var i8 = FrozenModel.Load(q);
        TestContext.Out.WriteLine($"float32 {f.FileBytes} bytes, int8 {i8.FileBytes} bytes, arena {f.ArenaBytes} bytes");
        Assert.That(bytes, Is.LessThanOrEqualTo(1_500_000));
        // Liveness-based reuse: the arena is the peak of what is alive at once (first conv: its input, 191 KB of im2row rows and its output).
        Assert.That(f.ArenaBytes, Is.LessThan(400_000));
        var (a, b) = RuntimeTestKit.RunBoth(f, i8, Clips(1, 13));
        for (int j = 0; j < a.Length; j++) Assert.That(b[j], Is.EqualTo(a[j]).Within(0.05), $"int8 class {j}");
    }

    static string Rewrite(string dir, string name, Action<SafeTensorsWriter> change, KwsClassifier kws)
    {
        var w = KwsExport.Build(kws);
        change(w);
        string path = Path.Combine(dir, name);
        w.Save(path);
        return path;
    }

    [Test]
    public void TruncatedFileIsRefused()
    {
        var bytes = File.ReadAllBytes(_file);
        foreach (int keep in new[] { 4, 100, bytes.Length / 2, bytes.Length - 1 })
        {
            string p = _dir[$"cut{keep}.cochlea"];
            File.WriteAllBytes(p, bytes[..keep]);
            var e = Assert.Throws<RuntimeModelException>(() => FrozenModel.Load(p).Dispose())!;
            Assert.That(e.Message, Does.Contain("truncated"), e.Message);
        }
    }

    [Test]
    public void NewerFormatVersionIsRefused()
    {
        int newer = RuntimeModelFile.FormatVersion + 1;
        string p = Rewrite(_dir.Path, "newer.cochlea", w => w.AddMetadata(KwsExport.VersionKey, newer.ToString()), _kws);
        var e = Assert.Throws<RuntimeModelException>(() => FrozenModel.Load(p).Dispose())!;
        Assert.That(e.Message, Does.Contain($"format version {newer}, newer than this runtime reads ({RuntimeModelFile.FormatVersion})"), e.Message);
    }

    [Test]
    public void CompressedFloat32FitsTheBudgetAndDecodesBitExactly()
    {
        string raw = _dir["wave-raw.cochlea"];
        long rawBytes = KwsExport.Save(_kws, raw, compress: false);
        long bytes = new FileInfo(_file).Length;
        var t0 = System.Diagnostics.Stopwatch.StartNew();
        using var c = FrozenModel.Load(_file);
        double loadMs = t0.Elapsed.TotalMilliseconds;
        using var r = FrozenModel.Load(raw);
        TestContext.Out.WriteLine($"float32 raw {rawBytes} bytes, compressed {bytes} bytes (decoded arena {c.DecodedBytes} bytes, load {loadMs:F1} ms)");
        Assert.That(bytes, Is.LessThanOrEqualTo(5_000_000));
        Assert.That(rawBytes, Is.GreaterThan(5_000_000), "the raw file cannot fit: the reason for the encoding");
        using (var f = SafeTensorsFile.Open(_file)) Assert.That(f.Metadata[KwsExport.VersionKey], Is.EqualTo("2"));
        using (var f = SafeTensorsFile.Open(raw)) Assert.That(f.Metadata[KwsExport.VersionKey], Is.EqualTo("1"), "no encoded tensors: readable by version-1 runtimes");
        Assert.That(r.DecodedBytes, Is.Zero, "a raw file is used from the mapping");
        Assert.That(c.DecodedBytes, Is.GreaterThan(4_000_000));
        // Bit-exact decoding: the same weights through the same kernels give identical outputs.
        var (a, b) = RuntimeTestKit.RunBoth(c, r, Clips(1, 17));
        Assert.That(a, Is.EqualTo(b));
        Assert.That(c.Output(1).ToArray(), Is.EqualTo(r.Output(1).ToArray()), "logits");
    }

    /// <summary>The largest encoded tensor of <paramref name="file"/> and its planes' codecs and sizes.</summary>
    static (string Name, JsonArray Planes) LargestEncoded(string file)
    {
        using var f = SafeTensorsFile.Open(file);
        var enc = JsonNode.Parse(f.Metadata[KwsExportEncoding.Key])!.AsObject();
        var name = enc.OrderByDescending(kv => kv.Value!["shape"]!.AsArray().Aggregate(1L, (a, d) => a * (long)d!)).First().Key;
        return (name, enc[name]!["planes"]!.AsArray());
    }

    /// <summary>Copies model file <paramref name="src"/> with tensor <paramref name="name"/>'s stored bytes and the metadata changed.</summary>
    static string CopyWith(string src, string dst, string name, Func<byte[], byte[]> bytes, Func<string, string, string> metadata)
    {
        using var f = SafeTensorsFile.Open(src);
        var w = new SafeTensorsWriter();
        foreach (var (k, v) in f.Metadata) w.AddMetadata(k, metadata(k, v));
        foreach (var t in f.Tensors)
        {
            var b = f.ReadBytes(t.Name);
            if (t.Name == name) { b = bytes(b); w.AddBytes(t.Name, t.DType, b, b.Length); }
            else w.AddBytes(t.Name, t.DType, b, t.Shape);
        }
        w.Save(dst);
        return dst;
    }

    [Test]
    public void CorruptOrTruncatedCompressedWeightsAreRefused()
    {
        var (name, planes) = LargestEncoded(_file);
        int zlib = planes.Select((p, i) => (p, i)).First(x => (string)x.p!["codec"]! == "zlib").i;
        long before = planes.Take(zlib).Sum(p => (long)p!["bytes"]!), size = (long)planes[zlib]!["bytes"]!;
        TestContext.Out.WriteLine($"'{name}' plane {zlib}: zlib, {size} bytes at {before}");

        // Bytes flipped inside a compressed plane: the inflater or the plane's Adler-32 notices.
        string corrupt = CopyWith(_file, _dir["corrupt.cochlea"], name, b =>
        {
            for (long i = before + size / 2; i < before + size / 2 + 8; i++) b[i] ^= 0x5A;
            return b;
        }, (k, v) => v);
        var e = Assert.Throws<RuntimeModelException>(() => FrozenModel.Load(corrupt).Dispose())!;
        Assert.That(e.Message, Does.Contain($"'{name}' plane {zlib}").And.Contain("corrupt"), e.Message);

        // A compressed plane cut short, with the sizes in the metadata made consistent: the stream ends early.
        long keep = size / 2;
        string cut = CopyWith(_file, _dir["cutplane.cochlea"], name,
            b => [.. b.AsSpan(0, (int)(before + keep)), .. b.AsSpan((int)(before + size))],
            (k, v) =>
            {
                if (k != KwsExportEncoding.Key) return v;
                var enc = JsonNode.Parse(v)!;
                enc[name]!["planes"]![zlib]!["bytes"] = keep;
                return enc.ToJsonString();
            });
        e = Assert.Throws<RuntimeModelException>(() => FrozenModel.Load(cut).Dispose())!;
        Assert.That(e.Message, Does.Contain($"'{name}' plane {zlib}").And.Contain("truncated"), e.Message);

        // Plane sizes that do not add up to the stored blob.
        string sizes = CopyWith(_file, _dir["sizes.cochlea"], name, b => b, (k, v) =>
        {
            if (k != KwsExportEncoding.Key) return v;
            var enc = JsonNode.Parse(v)!;
            enc[name]!["planes"]![zlib]!["bytes"] = size - 1;
            return enc.ToJsonString();
        });
        e = Assert.Throws<RuntimeModelException>(() => FrozenModel.Load(sizes).Dispose())!;
        Assert.That(e.Message, Does.Contain($"'{name}'").And.Contain("damaged"), e.Message);
    }

    [Test]
    public void InconsistentShapesAreRefused()
    {
        string p = Rewrite(_dir.Path, "shape.cochlea", w => w.AddMetadata(KwsExport.GraphKey,
            w.Metadata[KwsExport.GraphKey].Replace("\"conv\":[399,32]", "\"conv\":[398,32]")), _kws);
        var e = Assert.Throws<RuntimeModelException>(() => FrozenModel.Load(p).Dispose())!;
        Assert.That(e.Message, Does.Contain("inconsistent shapes").And.Contain("(399, 32)"), e.Message);

        string p2 = Rewrite(_dir.Path, "weight.cochlea", w => w.AddMetadata(KwsExport.GraphKey,
            w.Metadata[KwsExport.GraphKey].Replace("\"weight\":\"blocks.1.pw.weight\"", "\"weight\":\"blocks.2.pw.weight\"")), _kws);
        e = Assert.Throws<RuntimeModelException>(() => FrozenModel.Load(p2).Dispose())!;
        Assert.That(e.Message, Does.Contain("inconsistent shapes"), e.Message);

        string p3 = _dir["notmodel.safetensors"];
        new SafeTensorsWriter().AddFloat32("x", new float[] { 1, 2 }, 2).Save(p3);
        e = Assert.Throws<RuntimeModelException>(() => FrozenModel.Load(p3).Dispose())!;
        Assert.That(e.Message, Does.Contain("cochlea export"), e.Message);
    }
}
