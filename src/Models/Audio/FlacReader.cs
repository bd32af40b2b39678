// FLAC stream decoder (RFC 9639): the "fLaC" marker (an ID3v2 tag before it is skipped), STREAMINFO,
// other metadata blocks skipped, then frames decoded one at a time from a refilled byte window, so
// long files stream in constant memory. Frames must follow each other without gaps and carry the
// expected frame / sample numbers; the total sample count (when STREAMINFO has one) and the MD5 of
// the decoded PCM (when not all zero) are verified once the last frame is decoded. Any mismatch is
// an AudioFormatException: a damaged file is reported, never played back as garbage.
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Cochlea.Models.Audio;

/// <summary>Streaming FLAC decoder (see <see cref="AudioReader"/>); open one with <see cref="AudioFile.OpenRead(string, bool)"/>.</summary>
public sealed class FlacReader : AudioReader
{
    const int MaxBuffer = 1 << 28;   // a frame is at most 65535 x 8 x 33 bits (~2 MB) unless it is corrupt

    readonly Stream _stream;
    readonly bool _ownsStream;
    readonly FlacStreamInfo _si;
    readonly FlacFrameDecoder _dec;
    readonly IncrementalHash? _md5;
    readonly float _scale;
    byte[] _buf;
    int _start, _end;        // unread bytes are _buf[_start.._end)
    long _bufOffset;         // file offset of _buf[0]
    bool _eof, _done;
    int _frameLen, _framePos;
    long _decoded, _frameIndex;
    bool? _variable;
    byte[] _md5Bytes = [];

    FlacReader(string name, AudioInfo info, bool mono, Stream stream, bool ownsStream, FlacStreamInfo si, long audioOffset, bool checkMd5)
        : base(name, info, mono)
    {
        _stream = stream;
        _ownsStream = ownsStream;
        _si = si;
        _dec = new FlacFrameDecoder(name, si);
        _scale = 1f / (1L << (si.BitsPerSample - 1));
        bool hasMd5 = si.Md5.AsSpan().ContainsAnyExcept((byte)0);
        if (hasMd5 && checkMd5) _md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        // Room for about two frames: STREAMINFO's frame-size hint, bounded by the size of an uncompressed
        // (verbatim) frame, since the hint is untrusted. A larger frame makes the buffer grow (see NextFrame).
        long verbatim = (long)si.MaxBlockSize * si.Channels * (si.BitsPerSample + 1) / 8 + 64;
        long hint = si.MaxFrameSize > 0 ? Math.Min(2L * si.MaxFrameSize, 2 * verbatim) : 2 * verbatim;
        int cap = (int)Math.Clamp(hint, 65536, MaxBuffer);
        _buf = new byte[cap + 8];
        _bufOffset = audioOffset;
    }

    /// <summary>
    /// Parses the FLAC metadata of <paramref name="stream"/> (positioned at "fLaC" or at an ID3v2 tag before
    /// it) and returns a reader positioned at the first frame. <paramref name="name"/> is used in error
    /// messages. <paramref name="checkMd5"/> = false skips the MD5 check of the decoded audio.
    /// </summary>
    /// <exception cref="AudioFormatException">Not a FLAC stream, truncated or malformed metadata.</exception>
    public static FlacReader Open(Stream stream, string name, bool mono = false, bool ownsStream = false, bool checkMd5 = true)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        if (!stream.CanRead) throw new ArgumentException("FlacReader.Open: the stream must be readable.", nameof(stream));
        try
        {
            long pos = 0;
            var si = ReadMetadata(stream, name, ref pos);
            var info = new AudioInfo(AudioContainer.Flac, SampleEncoding.SignedInt, si.BitsPerSample, si.SampleRate, si.Channels,
                                     si.TotalSamples > 0 ? si.TotalSamples : null);
            return new FlacReader(name, info, mono, stream, ownsStream, si, pos, checkMd5);
        }
        catch
        {
            if (ownsStream) stream.Dispose();
            throw;
        }
    }

    static FlacStreamInfo ReadMetadata(Stream s, string name, ref long pos)
    {
        Span<byte> h = stackalloc byte[4];
        HeaderIO.ReadExactly(s, h, name, "the stream marker", ref pos);
        if (h[0] == 'I' && h[1] == 'D' && h[2] == '3')
        {
            // ID3v2 tag (some taggers prepend one): 10-byte header with a 28-bit "syncsafe" size.
            Span<byte> id3 = stackalloc byte[6];
            HeaderIO.ReadExactly(s, id3, name, "the ID3v2 header", ref pos);
            int size = id3[2] << 21 | id3[3] << 14 | id3[4] << 7 | id3[5];
            if (((id3[2] | id3[3] | id3[4] | id3[5]) & 0x80) != 0) throw new AudioFormatException(name, "malformed ID3v2 tag size", HeaderIO.CorruptFix);
            HeaderIO.Skip(s, size + ((id3[1] & 0x10) != 0 ? 10 : 0), name, "the ID3v2 tag", 0, ref pos);
            HeaderIO.ReadExactly(s, h, name, "the stream marker", ref pos);
        }
        if (h[0] != 'f' || h[1] != 'L' || h[2] != 'a' || h[3] != 'C')
            throw new AudioFormatException(name, "not a FLAC stream (no 'fLaC' marker)", "Check the path and the file type; Ogg-FLAC is not supported");

        FlacStreamInfo? si = null;
        Span<byte> bh = stackalloc byte[4];
        Span<byte> b = stackalloc byte[34];
        for (bool last = false; !last;)
        {
            HeaderIO.ReadExactly(s, bh, name, "a metadata block header", ref pos);
            last = (bh[0] & 0x80) != 0;
            int type = bh[0] & 0x7F;
            int len = bh[1] << 16 | bh[2] << 8 | bh[3];
            if (type == 127) throw new AudioFormatException(name, $"invalid metadata block type 127 at byte {pos - 4}", HeaderIO.CorruptFix);
            if (si is null)
            {
                if (type != 0 || len != 34)
                    throw new AudioFormatException(name, $"the first metadata block must be a 34-byte STREAMINFO (got type {type}, {len} bytes)", HeaderIO.CorruptFix);
                HeaderIO.ReadExactly(s, b, name, "STREAMINFO", ref pos);
                si = ParseStreamInfo(b, name);
            }
            else
            {
                if (type == 0) throw new AudioFormatException(name, "a second STREAMINFO block", HeaderIO.CorruptFix);
                HeaderIO.Skip(s, len, name, $"metadata block (type {type})", pos - 4, ref pos);
            }
        }
        return si!;
    }

    static FlacStreamInfo ParseStreamInfo(ReadOnlySpan<byte> b, string name)
    {
        int minBlock = BinaryPrimitives.ReadUInt16BigEndian(b);
        int maxBlock = BinaryPrimitives.ReadUInt16BigEndian(b[2..]);
        int minFrame = b[4] << 16 | b[5] << 8 | b[6];
        int maxFrame = b[7] << 16 | b[8] << 8 | b[9];
        ulong packed = BinaryPrimitives.ReadUInt64BigEndian(b[10..]);   // rate 20 | channels-1 3 | bps-1 5 | total 36
        int rate = (int)(packed >> 44);
        int channels = (int)((packed >> 41) & 7) + 1;
        int bps = (int)((packed >> 36) & 31) + 1;
        long total = (long)(packed & 0xF_FFFF_FFFFUL);
        const string Fix = HeaderIO.CorruptFix;
        if (rate == 0) throw new AudioFormatException(name, "STREAMINFO sample rate is 0", Fix);
        if (bps < 4) throw new AudioFormatException(name, $"STREAMINFO bit depth {bps} (4..32 expected)", Fix);
        if (maxBlock < 16 || minBlock > maxBlock)
            throw new AudioFormatException(name, $"STREAMINFO block sizes min {minBlock} / max {maxBlock} (16 <= min <= max expected)", Fix);
        return new FlacStreamInfo(minBlock, maxBlock, minFrame, maxFrame, rate, channels, bps, total, b[18..34].ToArray());
    }

    /// <inheritdoc/>
    protected override int ReadCore(Span<float> interleaved, int maxFrames)
    {
        int ch = _si.Channels, done = 0;
        while (done < maxFrames)
        {
            if (_framePos == _frameLen && !NextFrame()) break;
            int n = Math.Min(maxFrames - done, _frameLen - _framePos);
            for (int c = 0; c < ch; c++)
            {
                var src = _dec.Channel(c).AsSpan(_framePos, n);
                var dst = interleaved[(done * ch + c)..];
                for (int i = 0; i < n; i++) dst[i * ch] = src[i] * _scale;
            }
            _framePos += n;
            done += n;
        }
        return done;
    }

    /// <summary>Fills the window from the stream after moving the unread bytes to the front; grows it when <paramref name="grow"/>.</summary>
    void Refill(bool grow)
    {
        if (grow)
        {
            if (_buf.Length - 8 >= MaxBuffer)
                throw new AudioFormatException(Name, $"a frame at byte {_bufOffset + _start} is larger than {MaxBuffer >> 20} MB", HeaderIO.CorruptFix);
            var bigger = new byte[Math.Min(MaxBuffer, 2L * (_buf.Length - 8)) + 8];
            Buffer.BlockCopy(_buf, _start, bigger, 0, _end - _start);
            _buf = bigger;
        }
        else if (_start > 0) Buffer.BlockCopy(_buf, _start, _buf, 0, _end - _start);
        _bufOffset += _start;
        _end -= _start;
        _start = 0;
        while (!_eof && _end < _buf.Length - 8)
        {
            int got = _stream.Read(_buf, _end, _buf.Length - 8 - _end);
            if (got == 0) _eof = true;
            _end += got;
        }
    }

    bool NextFrame()
    {
        if (_done) return false;
        if (_si.TotalSamples > 0 && _decoded == _si.TotalSamples) { Finish(); return false; }
        // Keep at least half a window buffered so a frame is normally decoded in one go.
        if (!_eof && _end - _start < (_buf.Length - 8) / 2) Refill(grow: false);
        if (_start == _end)
        {
            if (_si.TotalSamples > 0)
                throw new AudioFormatException(Name, $"the stream ends after {_decoded} of {_si.TotalSamples} samples", HeaderIO.TruncatedFix);
            Finish();
            return false;
        }
        if (_si.TotalSamples == 0 && IsId3v1Tail()) { Finish(); return false; }
        int len;
        while (true)
        {
            try
            {
                len = _dec.Decode(_buf, _start, _end, _bufOffset);
                break;
            }
            catch (FlacNeedMoreData)
            {
                if (_eof) throw new AudioFormatException(Name, $"the last frame (at byte {_bufOffset + _start}) is cut short after {_decoded} samples", HeaderIO.TruncatedFix);
                Refill(grow: _end - _start >= (_buf.Length - 8) / 2);
            }
        }
        CheckNumbering();
        _start += len;
        int bs = _dec.BlockSize;
        _decoded += bs;
        _frameIndex++;
        if (_si.TotalSamples > 0 && _decoded > _si.TotalSamples)
            throw new AudioFormatException(Name, $"the frames hold more than the {_si.TotalSamples} samples STREAMINFO declares", HeaderIO.CorruptFix);
        if (_md5 is not null) HashFrame(bs);
        _frameLen = bs;
        _framePos = 0;
        return true;
    }

    /// <summary>Frames must come in order: a missing or repeated frame means a damaged file.</summary>
    void CheckNumbering()
    {
        bool variable = _dec.VariableBlockSize;
        _variable ??= variable;
        if (_variable != variable)
            throw new AudioFormatException(Name, $"frame {_frameIndex} switches the blocking strategy", HeaderIO.CorruptFix);
        long expected = variable ? _decoded : _frameIndex;
        if (_dec.Number != expected)
            throw new AudioFormatException(Name, $"frame {_frameIndex} carries {(variable ? "sample" : "frame")} number {_dec.Number}, expected {expected} (a frame is missing or repeated)", HeaderIO.CorruptFix);
    }

    /// <summary>True when exactly an ID3v1 tag ("TAG" + 125 bytes) is left: some taggers append one.</summary>
    bool IsId3v1Tail() => _eof && _end - _start == 128 && _buf[_start] == 'T' && _buf[_start + 1] == 'A' && _buf[_start + 2] == 'G';

    /// <summary>Adds the frame's samples to the MD5: interleaved, little-endian, (bps+7)/8 bytes each, as RFC 9639 defines it.</summary>
    void HashFrame(int bs)
    {
        int ch = _si.Channels, bytes = (_si.BitsPerSample + 7) / 8;
        int total = bs * ch * bytes;
        if (_md5Bytes.Length < total) _md5Bytes = new byte[total];
        var dst = _md5Bytes.AsSpan(0, total);
        for (int c = 0; c < ch; c++)
        {
            var src = _dec.Channel(c);
            int at = c * bytes;
            for (int i = 0; i < bs; i++, at += ch * bytes)
            {
                long v = src[i];
                for (int k = 0; k < bytes; k++) dst[at + k] = (byte)(v >> (8 * k));
            }
        }
        _md5!.AppendData(dst);
    }

    void Finish()
    {
        _done = true;
        if (_md5 is null) return;
        var actual = _md5.GetHashAndReset();
        if (!actual.AsSpan().SequenceEqual(_si.Md5))
            throw new AudioFormatException(Name, $"MD5 of the decoded audio ({Convert.ToHexString(actual)}) differs from STREAMINFO ({Convert.ToHexString(_si.Md5)})", HeaderIO.CorruptFix);
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (!disposing) return;
        _md5?.Dispose();
        if (_ownsStream) _stream.Dispose();
    }
}
