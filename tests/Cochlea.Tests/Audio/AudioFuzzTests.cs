// Robustness of the decoders on damaged input: valid WAV and FLAC fixtures truncated at many points
// and with random bytes flipped (seeded; ~8,000 cases, a few seconds). Every failure must be an
// AudioFormatException (never IndexOutOfRange, NullReference, overflow or a hang), and every success
// must be sane: a truncated file decodes to a prefix of the original; a FLAC file that decodes despite
// flipped bytes (in skipped metadata, say) decodes to exactly the original; a flipped WAV never yields
// more samples than its bytes can hold or integer samples outside [-1, 1].
using System.Diagnostics;
using Cochlea.Models.Audio;
using NUnit.Framework;

namespace Cochlea.Tests.Audio;

[Category("Audio")]
public class AudioFuzzTests
{
    static readonly string[] Files =
    [
        "wav_s16_stereo_16k.wav", "wav_s24_mono_48k_ext.wav", "wav_f32_stereo_44k.wav", "wav_s16_chunks.wav",
        "wav_u8_mono_8k.wav", "wav_s32_3ch_22k.wav", "wav_s16_streamed.wav",
        "flac_s16_mono_48k_l12.flac", "flac_s24_stereo_48k.flac", "flac_s16_mono_48k_b100_nomd5.flac",
        "flac_s16_mono_48k_streamed.flac", "flac_s16_mono_11k_id3.flac", "flac_s32_stereo_16k.flac",
        "flac_s16_mono_48k_metadata.flac", "flac_s16_6ch_22k.flac",
    ];

    sealed record Outcome(float[]? Samples, AudioInfo? Info, Exception? Error);

    static Outcome Decode(byte[] bytes)
    {
        var sw = Stopwatch.StartNew();
        try
        {
            using var r = AudioFile.OpenRead(new MemoryStream(bytes, writable: false), "fuzz");
            var s = r.ReadToEnd();
            return new Outcome(s, r.Info, null);
        }
        catch (Exception e) { return new Outcome(null, null, e); }
        finally
        {
            if (sw.ElapsedMilliseconds > 2000) Assert.Fail($"decoding took {sw.ElapsedMilliseconds} ms (hang?)");
        }
    }

    static void CheckError(Exception? e, string what)
    {
        if (e is null or AudioFormatException) return;
        Assert.Fail($"{what}: {e.GetType().Name} instead of AudioFormatException: {e.Message}\n{e.StackTrace}");
    }

    static bool IsPrefix(float[] got, float[] full)
    {
        if (got.Length > full.Length) return false;
        for (int i = 0; i < got.Length; i++)
            if (BitConverter.SingleToInt32Bits(got[i]) != BitConverter.SingleToInt32Bits(full[i])) return false;
        return true;
    }

    [TestCaseSource(nameof(Files))]
    public void TruncatedFilesFailCleanlyOrDecodeAPrefix(string file)
    {
        var bytes = File.ReadAllBytes(Path.Combine(AudioFixtureTests.Folder, file));
        var full = Decode(bytes).Samples!;
        int step = Math.Max(1, bytes.Length / 150);
        var cuts = Enumerable.Range(0, 96).Concat(Enumerable.Range(0, bytes.Length / step).Select(k => k * step)).Where(c => c < bytes.Length).Distinct();
        int failures = 0;
        foreach (int cut in cuts)
        {
            var o = Decode(bytes[..cut]);
            CheckError(o.Error, $"{file} cut at {cut}");
            if (o.Error is not null) { failures++; continue; }
            Assert.That(IsPrefix(o.Samples!, full), $"{file} cut at {cut}: decoded {o.Samples!.Length} samples that are not a prefix of the original {full.Length}");
            // Only files whose header cannot know the length may end early without an error.
            bool unknownLength = file.Contains("streamed") || file.Contains("lying");
            if (!unknownLength && o.Samples!.Length != full.Length)
                Assert.Fail($"{file} cut at {cut}: {o.Samples.Length} of {full.Length} samples returned without an error");
        }
        Assert.That(failures, Is.GreaterThan(0));
    }

    [TestCaseSource(nameof(Files))]
    public void FlippedBytesFailCleanlyOrDecodeSanely(string file)
    {
        var bytes = File.ReadAllBytes(Path.Combine(AudioFixtureTests.Folder, file));
        var original = Decode(bytes);
        var rng = new Random(file.Aggregate(17, (h, c) => h * 31 + c));
        bool flac = file.EndsWith(".flac");
        for (int k = 0; k < 300; k++)
        {
            var b = (byte[])bytes.Clone();
            int flips = 1 + rng.Next(3);
            var where = new List<int>();
            for (int j = 0; j < flips; j++)
            {
                // Half the flips land in the first 160 bytes, where the headers are.
                int at = rng.Next(2) == 0 ? rng.Next(Math.Min(160, b.Length)) : rng.Next(b.Length);
                b[at] ^= (byte)(1 << rng.Next(8));
                where.Add(at);
            }
            string what = $"{file} flip #{k} at [{string.Join(", ", where)}]";
            var o = Decode(b);
            CheckError(o.Error, what);
            if (o.Error is not null) continue;
            var s = o.Samples!;
            if (flac)
            {
                // CRCs, numbering, totals and format checks leave only harmless flips (skipped metadata, frame-size hints).
                Assert.That(s, Is.EqualTo(original.Samples!), what + ": FLAC decoded despite damage, but differently");
                Assert.That(o.Info!.SampleRate, Is.EqualTo(original.Info!.SampleRate), what);
                continue;
            }
            Assert.That(s.Length, Is.LessThanOrEqualTo(b.Length), what + ": more samples than bytes");
            if (o.Info!.Encoding != SampleEncoding.Float)
                foreach (float v in s)
                    if (!(v >= -1f && v < 1f)) Assert.Fail($"{what}: integer sample decoded to {v}");
        }
    }
}
