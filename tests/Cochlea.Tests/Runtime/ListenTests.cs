// Streaming keyword spotting: RecognizeCommands' averaging, threshold, suppression and minimum count
// on hand-made score sequences, KeywordStream's window timing, and `cochlea listen` on a long recording
// synthesised by concatenating shipped test clips (with the demo's trained model when runs/demo has one),
// from a WAV file and as raw PCM on stdin.
using System.Globalization;
using System.Text.RegularExpressions;
using Cochlea.Cli;
using Cochlea.Models.Audio;
using Cochlea.Models.Kws;
using Cochlea.Runtime;
using NUnit.Framework;

namespace Cochlea.Tests.Runtime;

[NonParallelizable, Category("Runtime")]
public class ListenTests
{
    static readonly string[] Labels = ["_silence_", "_unknown_", "yes", "no"];

    static float[] Scores(int top, float p)
    {
        var s = new float[Labels.Length];
        for (int i = 0; i < s.Length; i++) s[i] = (1 - p) / (s.Length - 1);
        s[top] = p;
        return s;
    }

    [Test]
    public void RecognizeCommandsAveragesThresholdsAndSuppresses()
    {
        var rc = new RecognizeCommands(Labels, averageWindowMs: 500, threshold: 0.7f, suppressionMs: 1500, minimumCount: 3);
        var hits = new List<Detection>();
        void Feed(long t, int top, float p) { if (rc.Process(Scores(top, p), t, out var d)) hits.Add(d); }
        Feed(0, 2, 0.99f);
        Feed(100, 2, 0.99f);
        Assert.That(hits, Is.Empty, "fewer than the minimum count");
        Feed(200, 2, 0.99f);
        Assert.That(hits.Select(h => (h.TimeMs, h.Label)), Is.EqualTo(new[] { (200L, "yes") }));
        for (long t = 300; t <= 1000; t += 100) Feed(t, 2, 0.99f);
        Assert.That(hits, Has.Count.EqualTo(1), "the same label again is not a new command");
        for (long t = 1100; t <= 1600; t += 100) Feed(t, 3, 0.99f);
        Assert.That(hits, Has.Count.EqualTo(1), "a new label within the suppression time is held back");
        Feed(1800, 3, 0.99f);
        Assert.That(hits.Select(h => (h.TimeMs, h.Label)), Is.EqualTo(new[] { (200L, "yes"), (1800L, "no") }));
        for (long t = 3400; t <= 4000; t += 100) Feed(t, 2, 0.5f);
        Assert.That(hits, Has.Count.EqualTo(2), "below the threshold");
        for (long t = 5000; t <= 6000; t += 100) Feed(t, 0, 0.99f);
        Assert.That(hits, Has.Count.EqualTo(2), "silence is never reported");
        Assert.Throws<ArgumentException>(() => rc.Process(Scores(2, 1), 10, out _), "time order");
    }

    static string? DemoCheckpoint()
    {
        for (string? d = TestContext.CurrentContext.TestDirectory; d is not null; d = Path.GetDirectoryName(d))
            if (File.Exists(Path.Combine(d, "runs", "demo", "best.safetensors"))) return Path.Combine(d, "runs", "demo", "best.safetensors");
        return null;
    }

    static string DataRoot()
    {
        for (string? d = TestContext.CurrentContext.TestDirectory; d is not null; d = Path.GetDirectoryName(d))
            if (Directory.Exists(Path.Combine(d, "data", "speech_commands_mini"))) return Path.Combine(d, "data", "speech_commands_mini");
        throw new DirectoryNotFoundException("data/speech_commands_mini");
    }

    [Test]
    public void ListenFindsTheWordsOfAConcatenatedRecording()
    {
        string? ckpt = DemoCheckpoint();
        if (ckpt is null) Assert.Ignore("no runs/demo/best.safetensors (run `cochlea demo` once to enable this test).");
        using var dir = new TempDir("listen");
        string model = dir["demo.cochlea"];
        using (var kws = KwsClassifier.Load(ckpt!)) KwsExport.Save(kws, model);
        // Test clips of six words, each followed by 1 s of silence: a 12 s recording with known word times.
        string data = DataRoot();
        var test = File.ReadAllLines(Path.Combine(data, "testing_list.txt"));
        string[] words = ["yes", "no", "left", "right", "stop", "go"];
        var audio = new List<float>();
        var starts = new List<(string Word, double Start)>();
        foreach (var w in words)
        {
            var clip = AudioFile.Read(Path.Combine(data, test.First(l => l.StartsWith(w + "/", StringComparison.Ordinal))), new AudioReadOptions { Mono = true, SampleRate = 16000 });
            starts.Add((w, audio.Count / 16000.0));
            audio.AddRange(clip.Samples);
            audio.AddRange(new float[16000]);
        }
        string wav = dir["long.wav"];
        AudioFile.WriteWav(wav, audio.ToArray(), 16000);

        var (code, output, err) = Cli(["listen", "--model", model, "--input", wav]);
        Assert.That(code, Is.EqualTo(0), err);
        TestContext.Out.WriteLine(output);
        var found = Regex.Matches(output, @"^\s*([\d.]+) s\s+(\S+)", RegexOptions.Multiline)
            .Select(m => (Time: double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), Label: m.Groups[2].Value)).ToList();
        // Each word is detected once, after it starts and within 2 s of its start (the window must cover most of it).
        int ok = starts.Count(s => found.Any(f => f.Label == s.Word && f.Time > s.Start && f.Time < s.Start + 2.0));
        Assert.That(ok, Is.GreaterThanOrEqualTo(5), $"words found at the right time: {ok} of 6");
        Assert.That(found.Count, Is.LessThanOrEqualTo(8), "few false alarms");

        // The same audio (as the WAV holds it) as raw 16-bit PCM on stdin gives the same detections.
        var pcm = new MemoryStream();
        foreach (var v in AudioFile.Read(wav).Samples) { short s = (short)Math.Clamp(MathF.Round(v * 32768f), -32768, 32767); pcm.WriteByte((byte)s); pcm.WriteByte((byte)(s >> 8)); }
        pcm.Position = 0;
        var sw = new StringWriter(CultureInfo.InvariantCulture);
        int code2 = ListenCommand.Run(["--model", model, "--input", "-"], CliConsole.Create(sw, new StringWriter()), pcm);
        Assert.That(code2, Is.EqualTo(0));
        var found2 = Regex.Matches(sw.ToString(), @"^\s*([\d.]+) s\s+(\S+)", RegexOptions.Multiline).Select(m => m.Groups[2].Value).ToList();
        Assert.That(found2, Is.EqualTo(found.Select(f => f.Label).ToList()));
    }

    static (int Code, string Out, string Err) Cli(string[] args)
    {
        var output = new StringWriter(CultureInfo.InvariantCulture);
        var error = new StringWriter(CultureInfo.InvariantCulture);
        int code = Commands.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
