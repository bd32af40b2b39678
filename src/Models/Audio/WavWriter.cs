// WAV writer: 16-bit PCM or 32-bit float, any channel count (WAVE_FORMAT_EXTENSIBLE above two channels,
// as the format asks), streamed block by block. The file is written under a temporary name in the same
// folder and renamed over the target only by Commit(), so a crash or an exception never leaves a
// half-written WAV where a reader (or a resumed training job) would find it.
using System.Buffers.Binary;

namespace Cochlea.Models.Audio;

/// <summary>Sample format of a written WAV file.</summary>
public enum WavSampleFormat
{
    /// <summary>16-bit signed PCM: x is stored as round(x * 32768) clamped to [-32768, 32767] (NaN as 0).</summary>
    Pcm16,
    /// <summary>32-bit IEEE float: samples stored exactly.</summary>
    Float32,
}

/// <summary>
/// Writes a WAV file atomically: samples go to a temporary file, <see cref="Commit"/> renames it over the
/// target; disposing without Commit deletes the temporary file and leaves any existing target untouched.
/// </summary>
public sealed class WavWriter : IDisposable
{
    readonly string _path, _tempPath;
    readonly FileStream _file;
    readonly int _bytesPerSample;
    readonly long _factAt, _dataAt;
    byte[] _bytes = [];
    bool _committed, _disposed;

    /// <summary>Starts writing <paramref name="path"/> (created or replaced on <see cref="Commit"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">sampleRate or channels is not positive (channels at most 65535).</exception>
    public WavWriter(string path, int sampleRate, int channels = 1, WavSampleFormat format = WavSampleFormat.Pcm16)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (sampleRate <= 0) throw new ArgumentOutOfRangeException(nameof(sampleRate), sampleRate, "WavWriter: the sample rate must be a positive number of Hz.");
        if (channels < 1 || channels > 65535) throw new ArgumentOutOfRangeException(nameof(channels), channels, "WavWriter: channels must be in [1, 65535].");
        if (format != WavSampleFormat.Pcm16 && format != WavSampleFormat.Float32) throw new ArgumentOutOfRangeException(nameof(format), format, "WavWriter: format must be Pcm16 or Float32.");
        _path = Path.GetFullPath(path);
        SampleRate = sampleRate;
        Channels = channels;
        Format = format;
        _bytesPerSample = format == WavSampleFormat.Pcm16 ? 2 : 4;
        string dir = Path.GetDirectoryName(_path) ?? ".";
        _tempPath = Path.Combine(dir, $".{Path.GetFileName(_path)}.{Guid.NewGuid():N}.tmp");
        _file = new FileStream(_tempPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 65536);
        var header = BuildHeader(out _factAt, out _dataAt);
        _file.Write(header);
    }

    /// <summary>Frames per second written in the header.</summary>
    public int SampleRate { get; }

    /// <summary>Channels per frame.</summary>
    public int Channels { get; }

    /// <summary>Sample format in the file.</summary>
    public WavSampleFormat Format { get; }

    /// <summary>Frames written so far.</summary>
    public long Frames { get; private set; }

    byte[] BuildHeader(out long factAt, out long dataAt)
    {
        bool floatFmt = Format == WavSampleFormat.Float32;
        bool extensible = Channels > 2;
        int fmtSize = extensible ? 40 : floatFmt ? 18 : 16;
        bool fact = floatFmt;   // non-PCM WAV files carry a 'fact' chunk with the frame count
        int size = 12 + 8 + fmtSize + (fact ? 12 : 0) + 8;
        var h = new byte[size];
        int blockAlign = Channels * _bytesPerSample;
        "RIFF"u8.CopyTo(h);
        "WAVE"u8.CopyTo(h.AsSpan(8));
        "fmt "u8.CopyTo(h.AsSpan(12));
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(16), fmtSize);
        var f = h.AsSpan(20, fmtSize);
        int tag = floatFmt ? 3 : 1;
        BinaryPrimitives.WriteUInt16LittleEndian(f, (ushort)(extensible ? 0xFFFE : tag));
        BinaryPrimitives.WriteUInt16LittleEndian(f[2..], (ushort)Channels);
        BinaryPrimitives.WriteInt32LittleEndian(f[4..], SampleRate);
        BinaryPrimitives.WriteInt32LittleEndian(f[8..], (int)Math.Min(int.MaxValue, (long)SampleRate * blockAlign));
        BinaryPrimitives.WriteUInt16LittleEndian(f[12..], (ushort)Math.Min(65535, blockAlign));
        BinaryPrimitives.WriteUInt16LittleEndian(f[14..], (ushort)(8 * _bytesPerSample));
        if (fmtSize > 16) BinaryPrimitives.WriteUInt16LittleEndian(f[16..], (ushort)(fmtSize - 18));
        if (extensible)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(f[18..], (ushort)(8 * _bytesPerSample));   // valid bits
            // Channel mask 0: no speaker positions claimed. Subformat GUID: format code + fixed tail.
            BinaryPrimitives.WriteInt32LittleEndian(f[24..], tag);
            ReadOnlySpan<byte> tail = [0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71];
            tail.CopyTo(f[28..]);
        }
        int at = 20 + fmtSize;
        factAt = -1;
        if (fact)
        {
            "fact"u8.CopyTo(h.AsSpan(at));
            BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(at + 4), 4);
            factAt = at + 8;
            at += 12;
        }
        "data"u8.CopyTo(h.AsSpan(at));
        dataAt = at + 4;   // the size field; the samples follow it
        return h;
    }

    /// <summary>Appends interleaved frames (length a multiple of <see cref="Channels"/>); values outside [-1, 1] are clipped in Pcm16.</summary>
    public void Write(ReadOnlySpan<float> interleaved)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_committed) throw new InvalidOperationException("WavWriter.Write: the file was already committed.");
        if (interleaved.Length % Channels != 0)
            throw new ArgumentException($"WavWriter.Write: {interleaved.Length} samples is not a whole number of {Channels}-channel frames.", nameof(interleaved));
        long frames = interleaved.Length / Channels;
        if ((Frames + frames) * Channels * _bytesPerSample > uint.MaxValue - 64)
            throw new InvalidOperationException($"WavWriter.Write: a WAV file cannot hold more than 4 GB of samples ({_path}); split the audio or write FLAC/RF64 with another tool.");
        const int chunk = 16384;
        for (int off = 0; off < interleaved.Length; off += chunk)
        {
            var src = interleaved.Slice(off, Math.Min(chunk, interleaved.Length - off));
            int n = src.Length * _bytesPerSample;
            if (_bytes.Length < n) _bytes = new byte[n];
            var dst = _bytes.AsSpan(0, n);
            if (Format == WavSampleFormat.Float32)
                for (int i = 0; i < src.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(dst[(4 * i)..], src[i]);
            else
                for (int i = 0; i < src.Length; i++) BinaryPrimitives.WriteInt16LittleEndian(dst[(2 * i)..], ToPcm16(src[i]));
            _file.Write(dst);
        }
        Frames += frames;
    }

    /// <summary>round(x * 32768) clamped to the 16-bit range; NaN becomes 0. Inverse of the reader's v / 32768.</summary>
    static short ToPcm16(float x)
    {
        if (float.IsNaN(x)) return 0;
        float v = MathF.Round(x * 32768f);
        return v >= 32767f ? short.MaxValue : v <= -32768f ? short.MinValue : (short)v;
    }

    /// <summary>Fills in the sizes, flushes to disk and renames the temporary file over the target path.</summary>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_committed) return;
        long dataBytes = Frames * Channels * _bytesPerSample;
        Span<byte> u32 = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(u32, (uint)(_dataAt + 4 + dataBytes - 8));
        _file.Position = 4;
        _file.Write(u32);
        if (_factAt >= 0)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(u32, (uint)Math.Min(uint.MaxValue, Frames));
            _file.Position = _factAt;
            _file.Write(u32);
        }
        BinaryPrimitives.WriteUInt32LittleEndian(u32, (uint)dataBytes);
        _file.Position = _dataAt;
        _file.Write(u32);
        _file.Flush(flushToDisk: true);
        _file.Dispose();
        File.Move(_tempPath, _path, overwrite: true);
        _committed = true;
    }

    /// <summary>Closes the file; without <see cref="Commit"/> the temporary file is deleted and the target is left as it was.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _file.Dispose();
        if (!_committed)
            try { File.Delete(_tempPath); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
