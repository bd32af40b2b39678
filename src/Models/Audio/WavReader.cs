// RIFF/WAVE decoder: integer PCM 8 (unsigned) / 16 / 24 / 32-bit and any width in between stored
// left-justified in whole bytes, IEEE float 32/64, WAVE_FORMAT_EXTENSIBLE (PCM or float subformat),
// any channel count. Chunks other than "fmt " and "data" (LIST, fact, bext, cue, JUNK, ...) are
// skipped with their odd-size pad byte. The RIFF size is ignored (writers often get it wrong);
// a data size of 0 or a placeholder (>= 0x7FFFF000: sox/ffmpeg writing to a pipe) means "read to
// the end of the file". A data size larger than the file otherwise means the file was cut short,
// which is an error, as is every other inconsistency: the decoder never returns garbage silently.
using System.Buffers.Binary;

namespace Cochlea.Models.Audio;

/// <summary>Streaming WAV decoder (see <see cref="AudioReader"/>); open one with <see cref="AudioFile.OpenRead(string, bool)"/>.</summary>
public sealed class WavReader : AudioReader
{
    const string ConvertFix = "Convert it to PCM or float first, e.g. `sox in.wav -e signed-integer -b 16 out.wav`";
    // KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT share this GUID tail after the 4-byte format code.
    static ReadOnlySpan<byte> GuidTail => [0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71];

    readonly Stream _stream;
    readonly bool _ownsStream;
    readonly int _bytesPerSample, _blockAlign;
    long _dataLeft;          // bytes of audio left; long.MaxValue when reading to the end of the stream
    readonly bool _toEnd;    // placeholder data size: the end of the stream ends the audio
    byte[] _bytes = [];

    WavReader(string name, AudioInfo info, bool mono, Stream stream, bool ownsStream, int bytesPerSample, long dataBytes, bool toEnd)
        : base(name, info, mono)
    {
        _stream = stream;
        _ownsStream = ownsStream;
        _bytesPerSample = bytesPerSample;
        _blockAlign = bytesPerSample * info.Channels;
        _dataLeft = dataBytes;
        _toEnd = toEnd;
    }

    /// <summary>
    /// Parses the WAV header of <paramref name="stream"/> (positioned at the "RIFF" tag) and returns a
    /// reader positioned at the first frame. <paramref name="name"/> is used in error messages.
    /// </summary>
    /// <exception cref="AudioFormatException">Not a WAV file, truncated, malformed or unsupported encoding.</exception>
    public static WavReader Open(Stream stream, string name, bool mono = false, bool ownsStream = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        if (!stream.CanRead) throw new ArgumentException("WavReader.Open: the stream must be readable.", nameof(stream));
        try
        {
            return Parse(stream, name, mono, ownsStream);
        }
        catch
        {
            if (ownsStream) stream.Dispose();
            throw;
        }
    }

    static WavReader Parse(Stream s, string name, bool mono, bool ownsStream)
    {
        long length = s.CanSeek ? s.Length : -1;
        long pos = s.CanSeek ? s.Position : 0;
        Span<byte> hdr = stackalloc byte[12];
        HeaderIO.ReadExactly(s, hdr, name, "the 12-byte RIFF header", ref pos);
        string riff = FourCC(hdr[..4]);
        if (riff == "RIFX") throw new AudioFormatException(name, "big-endian WAV (RIFX) is not supported", "Convert it: `sox in.wav -L out.wav`");
        if (riff == "RF64" || riff == "BW64") throw new AudioFormatException(name, $"{riff} (64-bit WAV) is not supported", "Convert it to a plain WAV or FLAC with sox or ffmpeg");
        if (riff != "RIFF" || FourCC(hdr[8..12]) != "WAVE")
            throw new AudioFormatException(name, $"not a WAV file (starts with '{HeaderIO.Printable(hdr[..4])}'...'{HeaderIO.Printable(hdr[8..12])}', expected 'RIFF'...'WAVE')", "Check the path and the file type");

        Fmt? fmt = null;
        long dataStart = -1, dataSize = 0;
        Span<byte> ch = stackalloc byte[8];
        Span<byte> fmtBytes = stackalloc byte[40];
        while (true)
        {
            int got = HeaderIO.ReadUpTo(s, ch);
            if (got == 0)
                throw new AudioFormatException(name, fmt is null ? "no 'fmt ' chunk before the end of the file" : "no 'data' chunk before the end of the file", HeaderIO.TruncatedFix);
            if (got < 8) throw new AudioFormatException(name, $"truncated chunk header at byte {pos}", HeaderIO.TruncatedFix);
            pos += 8;
            string id = FourCC(ch[..4]);
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(ch[4..]);
            if (id == "fmt ")
            {
                if (fmt is not null) throw new AudioFormatException(name, "two 'fmt ' chunks", "The file is malformed; re-export it");
                if (size < 16) throw new AudioFormatException(name, $"'fmt ' chunk of {size} bytes (at least 16 expected)", "The header is corrupt; re-export the file");
                if (length >= 0 && pos + size > length) throw new AudioFormatException(name, $"'fmt ' chunk of {size} bytes runs past the end of the file", HeaderIO.TruncatedFix);
                int keep = (int)Math.Min(size, 40u);
                var fb = fmtBytes[..keep];
                HeaderIO.ReadExactly(s, fb, name, "the 'fmt ' chunk", ref pos);
                HeaderIO.Skip(s, size - keep + (size & 1), name, "'fmt ' chunk", pos - keep - 8, ref pos, slack: 1);
                fmt = ParseFmt(fb, name);
                if (dataStart >= 0) { s.Position = dataStart; pos = dataStart; break; }
            }
            else if (id == "data")
            {
                dataStart = pos;
                dataSize = size;
                if (fmt is not null) break;
                // 'data' before 'fmt ': legal but rare. Only a seekable stream with a real size can come back to it.
                if (!s.CanSeek || IsPlaceholder(size))
                    throw new AudioFormatException(name, "'data' chunk comes before the 'fmt ' chunk", "Rewrite the file with the format chunk first, e.g. `sox in.wav out.wav`");
                HeaderIO.Skip(s, size + (size & 1), name, "'data' chunk", pos - 8, ref pos, slack: 1);
            }
            else
            {
                // LIST, fact, bext, cue , JUNK, PAD , iXML, ...: not needed for decoding.
                HeaderIO.Skip(s, size + (size & 1L), name, $"'{HeaderIO.Printable(ch[..4])}' chunk", pos - 8, ref pos, slack: 1);
            }
        }
        var f = fmt!.Value;

        bool toEnd = false;
        long dataBytes = dataSize;
        if (length >= 0)
        {
            long avail = length - dataStart;
            if (dataSize > avail)
            {
                if (!IsPlaceholder((uint)dataSize))
                    throw new AudioFormatException(name, $"the 'data' chunk declares {dataSize} bytes but only {avail} follow", HeaderIO.TruncatedFix);
                dataBytes = avail;   // streamed WAV: the size field was never filled in
            }
            else if (dataSize == 0 && avail > 0 && !LooksLikeChunk(s, dataStart, avail))
                dataBytes = avail;   // size 0 with audio after it: a streamed WAV, not an empty one
        }
        else if (IsPlaceholder((uint)dataSize) || dataSize == 0)
        {
            // Unseekable stream: cannot look ahead, so a placeholder or 0 size reads to the end.
            toEnd = true;
            dataBytes = long.MaxValue;
        }

        long? frames = toEnd ? null : dataBytes / f.BlockAlign;
        var info = new AudioInfo(AudioContainer.Wav, f.Encoding, f.ValidBits, f.SampleRate, f.Channels, frames);
        return new WavReader(name, info, mono, s, ownsStream, f.BytesPerSample, toEnd ? long.MaxValue : frames!.Value * f.BlockAlign, toEnd);
    }

    readonly record struct Fmt(SampleEncoding Encoding, int Channels, int SampleRate, int BlockAlign, int BytesPerSample, int ValidBits);

    static Fmt ParseFmt(ReadOnlySpan<byte> b, string name)
    {
        int tag = BinaryPrimitives.ReadUInt16LittleEndian(b);
        int channels = BinaryPrimitives.ReadUInt16LittleEndian(b[2..]);
        uint rate = BinaryPrimitives.ReadUInt32LittleEndian(b[4..]);
        int blockAlign = BinaryPrimitives.ReadUInt16LittleEndian(b[12..]);
        int bits = BinaryPrimitives.ReadUInt16LittleEndian(b[14..]);
        int validBits = bits;
        if (tag == 0xFFFE)
        {
            if (b.Length < 40) throw new AudioFormatException(name, $"WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk of {b.Length} bytes (40 expected)", "The header is corrupt; re-export the file");
            int vb = BinaryPrimitives.ReadUInt16LittleEndian(b[18..]);
            if (vb != 0) validBits = vb;
            if (!b[28..40].SequenceEqual(GuidTail))
                throw new AudioFormatException(name, "WAVE_FORMAT_EXTENSIBLE with a non-standard subformat GUID", ConvertFix);
            tag = (int)BinaryPrimitives.ReadUInt32LittleEndian(b[24..]);
        }
        var enc = tag switch
        {
            1 => SampleEncoding.SignedInt,
            3 => SampleEncoding.Float,
            _ => throw new AudioFormatException(name, $"unsupported WAV encoding (format tag 0x{tag:X4}{TagName(tag)}); PCM and IEEE float are supported", ConvertFix),
        };
        if (channels == 0) throw new AudioFormatException(name, "the 'fmt ' chunk says 0 channels", "The header is corrupt; re-export the file");
        if (rate == 0 || rate > int.MaxValue) throw new AudioFormatException(name, $"invalid sample rate {rate} Hz", "The header is corrupt; re-export the file");
        if (bits == 0) throw new AudioFormatException(name, "the 'fmt ' chunk says 0 bits per sample", "The header is corrupt; re-export the file");
        int bytes = (bits + 7) / 8;
        if (blockAlign != channels * bytes)
            throw new AudioFormatException(name, $"block align {blockAlign} does not match {channels} channels x {bytes} bytes per sample", "The header is corrupt; re-export the file");
        if (validBits > bits)
            throw new AudioFormatException(name, $"{validBits} valid bits in a {bits}-bit sample", "The header is corrupt; re-export the file");
        if (enc == SampleEncoding.Float && bits != 32 && bits != 64)
            throw new AudioFormatException(name, $"{bits}-bit float samples (32 or 64 expected)", ConvertFix);
        if (enc == SampleEncoding.SignedInt && bytes > 4)
            throw new AudioFormatException(name, $"{bits}-bit integer samples (at most 32 supported)", ConvertFix);
        // 8-bit (and narrower) WAV PCM is unsigned by definition of the format.
        if (enc == SampleEncoding.SignedInt && bytes == 1) enc = SampleEncoding.UnsignedInt;
        return new Fmt(enc, channels, (int)rate, blockAlign, bytes, validBits);
    }

    static string TagName(int tag) => tag switch
    {
        2 => ", MS ADPCM", 6 => ", A-law", 7 => ", mu-law", 0x11 => ", IMA ADPCM", 0x31 => ", GSM 6.10",
        0x50 => ", MPEG", 0x55 => ", MPEG Layer 3", _ => "",
    };

    /// <summary>Sizes writers use when they could not seek back to fill in the real one.</summary>
    static bool IsPlaceholder(uint size) => size >= 0x7FFFF000u;

    /// <summary>True when the bytes after an empty 'data' chunk form a plausible chunk header (the file really is empty).</summary>
    static bool LooksLikeChunk(Stream s, long at, long avail)
    {
        if (avail < 8) return false;
        long keep = s.Position;
        Span<byte> h = stackalloc byte[8];
        s.Position = at;
        int got = HeaderIO.ReadUpTo(s, h);
        s.Position = keep;
        if (got < 8) return false;
        foreach (byte c in h[..4]) if (c < 0x20 || c > 0x7E) return false;
        return BinaryPrimitives.ReadUInt32LittleEndian(h[4..]) <= avail - 8;
    }

    static string FourCC(ReadOnlySpan<byte> b) => string.Create(4, b.ToArray(), (d, a) => { for (int i = 0; i < 4; i++) d[i] = (char)a[i]; });

    /// <inheritdoc/>
    protected override int ReadCore(Span<float> interleaved, int maxFrames)
    {
        long frames = Math.Min(maxFrames, _dataLeft / _blockAlign);
        if (frames == 0) return 0;
        int chunkFrames = (int)Math.Min(frames, Math.Max(1, 65536 / _blockAlign));
        int byteCount = chunkFrames * _blockAlign;
        if (_bytes.Length < byteCount) _bytes = new byte[byteCount];
        int got = HeaderIO.ReadUpTo(_stream, _bytes.AsSpan(0, byteCount));
        int whole = got / _blockAlign;
        if (got < byteCount)
        {
            if (!_toEnd)
                throw new AudioFormatException(Name, $"the audio data ends {(_dataLeft - got)} bytes early", HeaderIO.TruncatedFix);
            _dataLeft = 0;   // streamed WAV: a partial last frame is dropped
        }
        else if (!_toEnd) _dataLeft -= got;
        int samples = whole * Info.Channels;
        Convert(_bytes.AsSpan(0, whole * _blockAlign), interleaved[..samples]);
        return whole;
    }

    void Convert(ReadOnlySpan<byte> src, Span<float> dst)
    {
        switch (Info.Encoding, _bytesPerSample)
        {
            case (SampleEncoding.UnsignedInt, 1):
                for (int i = 0; i < dst.Length; i++) dst[i] = (src[i] - 128) * (1f / 128);
                break;
            case (SampleEncoding.SignedInt, 2):
                for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadInt16LittleEndian(src[(2 * i)..]) * (1f / 32768);
                break;
            case (SampleEncoding.SignedInt, 3):
                for (int i = 0; i < dst.Length; i++)
                {
                    int j = 3 * i;
                    dst[i] = (src[j] | src[j + 1] << 8 | (sbyte)src[j + 2] << 16) * (1f / 8388608);
                }
                break;
            case (SampleEncoding.SignedInt, 4):
                for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadInt32LittleEndian(src[(4 * i)..]) * (1f / 2147483648f);
                break;
            case (SampleEncoding.Float, 4):
                for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadSingleLittleEndian(src[(4 * i)..]);
                break;
            case (SampleEncoding.Float, 8):
                for (int i = 0; i < dst.Length; i++) dst[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(src[(8 * i)..]);
                break;
            default:
                throw new InvalidOperationException($"WavReader: no converter for {Info.Encoding} with {_bytesPerSample} bytes (ParseFmt should have rejected it).");
        }
    }

    /// <inheritdoc/>
    protected override long SkipCore(long frames)
    {
        if (!_stream.CanSeek || _toEnd) return base.SkipCore(frames);
        long n = Math.Min(frames, _dataLeft / _blockAlign);
        _stream.Seek(n * _blockAlign, SeekOrigin.Current);
        _dataLeft -= n * _blockAlign;
        return n;
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing && _ownsStream) _stream.Dispose();
    }
}
