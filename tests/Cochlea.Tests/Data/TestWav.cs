// Minimal 16-bit PCM mono WAV writer and reader for building temporary data-set folders in tests
// (the real WAV reader/writer lives in src/Models/Audio; these tests must not depend on it).
using System.Text;

namespace Cochlea.Tests.Data;

/// <summary>Writes and reads canonical 44-byte-header, 16-bit PCM mono WAV files.</summary>
public static class TestWav
{
    /// <summary>Writes <paramref name="samples"/> (clamped to [-1, 1], scaled by 32767) at <paramref name="rate"/> Hz.</summary>
    public static void Write(string path, ReadOnlySpan<float> samples, int rate = 16000)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var w = new BinaryWriter(File.Create(path));
        int data = samples.Length * 2;
        w.Write(Encoding.ASCII.GetBytes("RIFF")); w.Write(36 + data); w.Write(Encoding.ASCII.GetBytes("WAVE"));
        w.Write(Encoding.ASCII.GetBytes("fmt ")); w.Write(16); w.Write((short)1); w.Write((short)1);
        w.Write(rate); w.Write(rate * 2); w.Write((short)2); w.Write((short)16);
        w.Write(Encoding.ASCII.GetBytes("data")); w.Write(data);
        foreach (float s in samples) w.Write((short)Math.Round(Math.Clamp(s, -1f, 1f) * 32767));
    }

    /// <summary>Reads a file written by <see cref="Write"/>: samples / 32767.</summary>
    public static float[] Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 44 || Encoding.ASCII.GetString(bytes, 0, 4) != "RIFF") throw new InvalidDataException($"{path}: not a test WAV file.");
        int n = BitConverter.ToInt32(bytes, 40) / 2;
        var r = new float[n];
        for (int i = 0; i < n; i++) r[i] = BitConverter.ToInt16(bytes, 44 + 2 * i) / 32767f;
        return r;
    }
}
