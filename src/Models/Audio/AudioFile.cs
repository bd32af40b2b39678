// Entry point for audio files: open, inspect, read whole (with downmix, resampling, crop and pad) and
// write WAV. The decoder is picked by the file's magic bytes, never by its extension, because data
// sets routinely hold FLAC named .wav and vice versa.
namespace Cochlea.Models.Audio;

/// <summary>Reads WAV and FLAC files, writes WAV files.</summary>
public static class AudioFile
{
    /// <summary>Opens <paramref name="path"/> for streaming (WAV or FLAC, chosen by magic bytes); <paramref name="mono"/> averages the channels.</summary>
    /// <exception cref="AudioFormatException">Not WAV/FLAC, truncated or malformed header.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static AudioReader OpenRead(string path, bool mono = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 65536, FileOptions.SequentialScan);
        return Open(fs, path, mono, ownsStream: true);
    }

    /// <summary>
    /// Opens a seekable <paramref name="stream"/> (positioned at the start of a WAV or FLAC file) for streaming.
    /// <paramref name="name"/> is used in error messages. For unseekable streams, call
    /// <see cref="WavReader.Open"/> or <see cref="FlacReader.Open"/> directly.
    /// </summary>
    public static AudioReader OpenRead(Stream stream, string name, bool mono = false, bool ownsStream = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        if (!stream.CanSeek) throw new ArgumentException("AudioFile.OpenRead: format detection needs a seekable stream; use WavReader.Open or FlacReader.Open for pipes.", nameof(stream));
        return Open(stream, name, mono, ownsStream);
    }

    static AudioReader Open(Stream s, string name, bool mono, bool ownsStream)
    {
        Span<byte> magic = stackalloc byte[4];
        long start = s.Position;
        int got;
        try { got = s.ReadAtLeast(magic, 4, throwOnEndOfStream: false); }
        catch { if (ownsStream) s.Dispose(); throw; }
        s.Position = start;
        string tag = got == 4 ? System.Text.Encoding.ASCII.GetString(magic) : "";
        if (tag is "RIFF" or "RIFX" or "RF64" or "BW64") return WavReader.Open(s, name, mono, ownsStream);
        if (tag == "fLaC" || tag.StartsWith("ID3", StringComparison.Ordinal)) return FlacReader.Open(s, name, mono, ownsStream);
        if (ownsStream) s.Dispose();
        if (got == 0) throw new AudioFormatException(name, "the file is empty (0 bytes)", "Re-create or re-download it");
        throw new AudioFormatException(name, $"unrecognised audio format (starts with '{HeaderIO.Printable(magic[..got])}'); WAV (RIFF) and FLAC (fLaC) are supported",
            "Convert it, e.g. `sox in.xxx out.wav` or `ffmpeg -i in.xxx out.flac`");
    }

    /// <summary>Format and length of <paramref name="path"/> without decoding the audio.</summary>
    public static AudioInfo ReadInfo(string path)
    {
        using var r = OpenRead(path);
        return r.Info;
    }

    /// <summary>
    /// Decodes <paramref name="path"/> into memory, shaped by <paramref name="options"/>: downmix, resampling
    /// (with <see cref="Resampler"/>; output length ceil(frames * out / in)), then the window
    /// [Offset, Offset + Length) of the result, zero-padded to Length when <see cref="AudioReadOptions.PadToLength"/>.
    /// Decoding stops as soon as the window is complete, so crops from long files are cheap.
    /// </summary>
    /// <exception cref="AudioFormatException">The file is truncated, malformed or unsupported.</exception>
    /// <exception cref="ArgumentException">Inconsistent options (negative offset/length, padding without a length, mismatched resampler).</exception>
    public static AudioClip Read(string path, AudioReadOptions? options = null)
    {
        var o = options ?? new AudioReadOptions();
        if (o.Offset < 0) throw new ArgumentOutOfRangeException(nameof(options), o.Offset, "AudioReadOptions.Offset must be >= 0.");
        if (o.Length is < 0) throw new ArgumentOutOfRangeException(nameof(options), o.Length, "AudioReadOptions.Length must be >= 0.");
        if (o.PadToLength && o.Length is null) throw new ArgumentException("AudioReadOptions.PadToLength needs a Length to pad to.", nameof(options));
        if (o.SampleRate is <= 0) throw new ArgumentOutOfRangeException(nameof(options), o.SampleRate, "AudioReadOptions.SampleRate must be a positive number of Hz.");
        using var r = OpenRead(path, o.Mono);
        int rate = o.SampleRate ?? r.Info.SampleRate;
        float[] samples = rate == r.Info.SampleRate ? ReadWindow(r, o) : ReadResampled(r, o, rate, path);
        int ch = r.Channels;
        if (o.Length is long len && o.PadToLength && samples.Length < len * ch)
            Array.Resize(ref samples, checked((int)(len * ch)));
        return new AudioClip(samples, rate, ch);
    }

    static float[] ReadWindow(AudioReader r, AudioReadOptions o)
    {
        r.Skip(o.Offset);
        if (o.Length is not long len) return r.ReadToEnd();
        if (r.Info.Frames is long total) len = Math.Min(len, Math.Max(0, total - r.Position));
        var buf = new float[checked(len * r.Channels)];
        int n = r.Read(buf);
        return n == len ? buf : buf.AsSpan(0, n * r.Channels).ToArray();
    }

    static float[] ReadResampled(AudioReader r, AudioReadOptions o, int rate, string path)
    {
        var rs = o.Resampler ?? new Resampler(r.Info.SampleRate, rate);
        if (rs.InputRate != r.Info.SampleRate || rs.OutputRate != rate)
            throw new ArgumentException($"AudioReadOptions.Resampler converts {rs.InputRate} -> {rs.OutputRate} Hz but {path} needs {r.Info.SampleRate} -> {rate} Hz.", nameof(o));
        int ch = r.Channels;
        long want = o.Length is long l ? o.Offset + l : long.MaxValue;
        var stream = rs.CreateStream(ch);
        var output = new List<float>();
        var input = new float[8192 * ch];
        var outBuf = Array.Empty<float>();
        void Take(ReadOnlySpan<float> produced)
        {
            // Keep only output frames inside [Offset, Offset + Length).
            long first = stream.OutputFrames - produced.Length / ch;
            long lo = Math.Max(first, o.Offset), hi = Math.Min(stream.OutputFrames, want);
            if (hi > lo) output.AddRange(produced.Slice((int)(lo - first) * ch, (int)(hi - lo) * ch));
        }
        while (stream.OutputFrames < want)
        {
            int n = r.Read(input);
            if (n == 0)
            {
                if (outBuf.Length < stream.FlushFrames * ch) outBuf = new float[stream.FlushFrames * ch];
                int m = stream.Flush(outBuf);
                Take(outBuf.AsSpan(0, m * ch));
                break;
            }
            int cap = stream.OutputFramesFor(n) * ch;
            if (outBuf.Length < cap) outBuf = new float[cap];
            int k = stream.Write(input.AsSpan(0, n * ch), outBuf);
            Take(outBuf.AsSpan(0, k * ch));
        }
        return output.ToArray();
    }

    /// <summary>Writes <paramref name="clip"/> to <paramref name="path"/> atomically (temporary file + rename).</summary>
    public static void WriteWav(string path, AudioClip clip, WavSampleFormat format = WavSampleFormat.Pcm16)
    {
        ArgumentNullException.ThrowIfNull(clip);
        WriteWav(path, clip.Samples, clip.SampleRate, clip.Channels, format);
    }

    /// <summary>Writes interleaved <paramref name="samples"/> (frames x <paramref name="channels"/>) to <paramref name="path"/> atomically.</summary>
    public static void WriteWav(string path, ReadOnlySpan<float> samples, int sampleRate, int channels = 1, WavSampleFormat format = WavSampleFormat.Pcm16)
    {
        using var w = new WavWriter(path, sampleRate, channels, format);
        w.Write(samples);
        w.Commit();
    }
}
