// One FLAC frame (RFC 9639, section 9): frame header with CRC-8, one subframe per channel (CONSTANT,
// VERBATIM, FIXED orders 0-4, LPC orders 1-32, wasted bits), partitioned Rice residuals (4- and 5-bit
// parameters, escape partitions), stereo decorrelation (left/side, side/right, mid/side), byte padding
// and the CRC-16 footer. Written from the specification text, not from another decoder.
// Samples are kept as long: the side channel of a 32-bit stream needs 33 bits, and LPC sums of
// 15-bit coefficients times 33-bit samples need 64. Every field is validated, and every decoded
// sample is range-checked against its bit depth, so a corrupt frame is reported, never returned.
namespace Cochlea.Models.Audio;

/// <summary>STREAMINFO fields the frame decoder checks frames against.</summary>
internal sealed record FlacStreamInfo(int MinBlockSize, int MaxBlockSize, int MinFrameSize, int MaxFrameSize,
                                      int SampleRate, int Channels, int BitsPerSample, long TotalSamples, byte[] Md5);

/// <summary>Decodes frames into per-channel sample arrays (<see cref="Channel"/>), reusing its buffers.</summary>
internal sealed class FlacFrameDecoder
{
    static readonly int[] RateTable = [0, 88200, 176400, 192000, 8000, 16000, 22050, 24000, 32000, 44100, 48000, 96000];
    static readonly int[] DepthTable = [0, 8, 12, 0, 16, 20, 24, 32];

    readonly string _name;
    readonly FlacStreamInfo _si;
    readonly FlacBitReader _br = new();
    readonly long[][] _ch;
    readonly long[] _coef = new long[32];
    long _fileOffset;   // file offset of buf[0], for error messages
    int _frameStart;

    public FlacFrameDecoder(string name, FlacStreamInfo si)
    {
        _name = name;
        _si = si;
        _ch = new long[si.Channels][];
        // Sized for common block sizes; ReadHeader grows them for larger frames (the STREAMINFO maximum is untrusted).
        for (int c = 0; c < _ch.Length; c++) _ch[c] = new long[Math.Clamp(si.MaxBlockSize, 16, 4608)];
    }

    /// <summary>Samples of channel <paramref name="c"/> of the last decoded frame (first <see cref="BlockSize"/> valid).</summary>
    public long[] Channel(int c) => _ch[c];

    /// <summary>Block size of the last decoded frame.</summary>
    public int BlockSize { get; private set; }

    /// <summary>Blocking strategy bit of the last frame: true when it carries a sample number (variable block size).</summary>
    public bool VariableBlockSize { get; private set; }

    /// <summary>The coded number of the last frame: frame index (fixed block size) or first sample index (variable).</summary>
    public long Number { get; private set; }

    /// <summary>
    /// Decodes the frame starting at buf[start] (bytes up to end are available; buf has 8 bytes slack).
    /// Returns the frame length in bytes. Throws <see cref="FlacNeedMoreData"/> when the frame runs past
    /// end, <see cref="AudioFormatException"/> when it is invalid. <paramref name="fileOffset"/> is the
    /// file position of buf[0].
    /// </summary>
    public int Decode(byte[] buf, int start, int end, long fileOffset)
    {
        _fileOffset = fileOffset;
        _frameStart = start;
        _br.Reset(buf, start, end);
        var (blockSize, assignment, bps) = ReadHeader(buf);
        int channels = assignment <= 7 ? assignment + 1 : 2;
        for (int c = 0; c < channels; c++)
        {
            // The side channel carries one extra bit (a difference of two bps-bit values).
            bool side = (assignment == 8 && c == 1) || (assignment == 9 && c == 0) || (assignment == 10 && c == 1);
            ReadSubframe(_ch[c].AsSpan(0, blockSize), bps + (side ? 1 : 0), c);
        }
        _br.AlignToByte();
        int crcAt = _br.BytePosition;
        ushort stored = (ushort)_br.ReadBits(16);
        ushort actual = FlacCrc.Crc16(buf.AsSpan(start, crcAt - start));
        if (stored != actual)
            throw Corrupt($"frame CRC-16 mismatch (stored 0x{stored:X4}, computed 0x{actual:X4})");
        Decorrelate(assignment, blockSize, bps);
        BlockSize = blockSize;
        return crcAt + 2 - start;
    }

    AudioFormatException Corrupt(string problem)
        => new(_name, $"corrupt FLAC frame at byte {_fileOffset + _frameStart}: {problem}", HeaderIO.CorruptFix);

    (int BlockSize, int Assignment, int Bps) ReadHeader(byte[] buf)
    {
        ulong sync = _br.ReadBits(15);
        if (sync != 0x7FFC) throw Corrupt("no frame sync code (0xFFF8/0xFFF9) where a frame should start");
        VariableBlockSize = _br.ReadBits(1) == 1;
        int bsCode = (int)_br.ReadBits(4), srCode = (int)_br.ReadBits(4);
        int assignment = (int)_br.ReadBits(4), depthCode = (int)_br.ReadBits(3);
        if (_br.ReadBits(1) != 0) throw Corrupt("reserved header bit is set");
        Number = ReadCodedNumber(VariableBlockSize ? 7 : 6);

        int blockSize = bsCode switch
        {
            0 => throw Corrupt("reserved block size code 0"),
            1 => 192,
            >= 2 and <= 5 => 576 << (bsCode - 2),
            6 => (int)_br.ReadBits(8) + 1,
            7 => (int)_br.ReadBits(16) + 1,
            _ => 256 << (bsCode - 8),
        };
        if (blockSize > 65535) throw Corrupt($"block size {blockSize} (at most 65535)");
        int rate = srCode switch
        {
            0 => _si.SampleRate,
            12 => (int)_br.ReadBits(8) * 1000,
            13 => (int)_br.ReadBits(16),
            14 => (int)_br.ReadBits(16) * 10,
            15 => throw Corrupt("invalid sample rate code 15"),
            _ => RateTable[srCode],
        };
        if (assignment > 10) throw Corrupt($"reserved channel assignment {assignment}");
        int bps = depthCode == 0 ? _si.BitsPerSample : DepthTable[depthCode];
        if (bps == 0) throw Corrupt("reserved bit depth code 3");

        int headerEnd = _br.BytePosition;
        byte stored = (byte)_br.ReadBits(8);
        byte actual = FlacCrc.Crc8(buf.AsSpan(_frameStart, headerEnd - _frameStart));
        if (stored != actual) throw Corrupt($"frame header CRC-8 mismatch (stored 0x{stored:X2}, computed 0x{actual:X2})");

        // A frame that disagrees with STREAMINFO would change the stream's format mid-way: refuse it.
        int channels = assignment <= 7 ? assignment + 1 : 2;
        if (channels != _si.Channels) throw Corrupt($"{channels} channels but STREAMINFO says {_si.Channels}");
        if (bps != _si.BitsPerSample) throw Corrupt($"{bps} bits per sample but STREAMINFO says {_si.BitsPerSample}");
        if (rate != _si.SampleRate) throw Corrupt($"sample rate {rate} Hz but STREAMINFO says {_si.SampleRate}");
        if (blockSize > _ch[0].Length)
            for (int c = 0; c < _ch.Length; c++) Array.Resize(ref _ch[c], blockSize);
        return (blockSize, assignment, bps);
    }

    /// <summary>The UTF-8-like variable-length number of the frame header (at most <paramref name="maxBytes"/> bytes).</summary>
    long ReadCodedNumber(int maxBytes)
    {
        int first = (int)_br.ReadBits(8);
        if (first < 0x80) return first;
        int len = first >= 0xFE ? 7 : first >= 0xFC ? 6 : first >= 0xF8 ? 5 : first >= 0xF0 ? 4 : first >= 0xE0 ? 3 : first >= 0xC0 ? 2 : 0;
        if (len == 0 || len > maxBytes) throw Corrupt($"invalid coded frame/sample number (first byte 0x{first:X2})");
        long v = len == 7 ? 0 : first & (0x7F >> len);
        for (int i = 1; i < len; i++)
        {
            int b = (int)_br.ReadBits(8);
            if ((b & 0xC0) != 0x80) throw Corrupt("invalid continuation byte in the coded frame/sample number");
            v = (v << 6) | (uint)(b & 0x3F);
        }
        return v;
    }

    void ReadSubframe(Span<long> s, int bps, int channel)
    {
        if (_br.ReadBits(1) != 0) throw Corrupt($"channel {channel}: subframe padding bit is set");
        int type = (int)_br.ReadBits(6);
        int wasted = 0;
        if (_br.ReadBits(1) == 1)
        {
            int z = _br.ReadUnary();
            if (z < 0 || z + 1 >= bps) throw Corrupt($"channel {channel}: {(z < 0 ? "too many" : (z + 1).ToString())} wasted bits with {bps}-bit samples");
            wasted = z + 1;
        }
        int b = bps - wasted;
        int n = s.Length;
        if (type == 0)
            s.Fill(_br.ReadSigned(b));
        else if (type == 1)
            for (int i = 0; i < n; i++) s[i] = _br.ReadSigned(b);
        else if (type >= 8 && type <= 12)
            Fixed(s, b, type - 8, channel);
        else if (type >= 32)
            Lpc(s, b, type - 31, channel);
        else
            throw Corrupt($"channel {channel}: reserved subframe type {type}");
        CheckRange(s, b, channel);
        if (wasted > 0)
            for (int i = 0; i < n; i++) s[i] <<= wasted;
    }

    void CheckRange(ReadOnlySpan<long> s, int bits, int channel)
    {
        long lo = -(1L << (bits - 1)), hi = (1L << (bits - 1)) - 1;
        foreach (long v in s)
            if (v < lo || v > hi) throw Corrupt($"channel {channel}: decoded sample {v} does not fit in {bits} bits");
    }

    void Warmup(Span<long> s, int bps, int order, int channel, string kind)
    {
        if (order > s.Length) throw Corrupt($"channel {channel}: {kind} order {order} exceeds the block size {s.Length}");
        for (int i = 0; i < order; i++) s[i] = _br.ReadSigned(bps);
    }

    void Fixed(Span<long> s, int bps, int order, int channel)
    {
        Warmup(s, bps, order, channel, "fixed predictor");
        Residual(s, order, channel);
        // Fixed predictors are the polynomial extrapolations of orders 0..4 (RFC 9639 section 9.2.5).
        switch (order)
        {
            case 1: for (int i = 1; i < s.Length; i++) s[i] += s[i - 1]; break;
            case 2: for (int i = 2; i < s.Length; i++) s[i] += 2 * s[i - 1] - s[i - 2]; break;
            case 3: for (int i = 3; i < s.Length; i++) s[i] += 3 * s[i - 1] - 3 * s[i - 2] + s[i - 3]; break;
            case 4: for (int i = 4; i < s.Length; i++) s[i] += 4 * s[i - 1] - 6 * s[i - 2] + 4 * s[i - 3] - s[i - 4]; break;
        }
    }

    unsafe void Lpc(Span<long> s, int bps, int order, int channel)
    {
        Warmup(s, bps, order, channel, "LPC");
        int precision = (int)_br.ReadBits(4) + 1;
        if (precision == 16) throw Corrupt($"channel {channel}: invalid LPC coefficient precision code 15");
        int shift = (int)_br.ReadSigned(5);
        if (shift < 0) throw Corrupt($"channel {channel}: negative LPC shift {shift}");
        var coef = _coef.AsSpan(0, order);
        for (int j = 0; j < order; j++) coef[j] = _br.ReadSigned(precision);
        Residual(s, order, channel);
        // The first coefficient multiplies the sample just before the predicted one.
        // Pointers: this loop and the Rice decoder are where a FLAC decode spends its time.
        fixed (long* p = s)
        fixed (long* c = coef)
            for (int i = order; i < s.Length; i++)
            {
                long sum = 0;
                long* past = p + i - 1;
                for (int j = 0; j < order; j++) sum += c[j] * past[-j];
                p[i] += sum >> shift;
            }
    }

    /// <summary>Reads the coded residual into s[order..].</summary>
    void Residual(Span<long> s, int order, int channel)
    {
        int method = (int)_br.ReadBits(2);
        if (method > 1) throw Corrupt($"channel {channel}: reserved residual coding method {method}");
        int paramBits = method == 0 ? 4 : 5, escape = (1 << paramBits) - 1;
        int partOrder = (int)_br.ReadBits(4);
        int n = s.Length, parts = 1 << partOrder;
        int perPart = n >> partOrder;
        if ((perPart << partOrder) != n || perPart < order)
            throw Corrupt($"channel {channel}: partition order {partOrder} does not fit block size {n} with predictor order {order}");
        int at = order;
        for (int p = 0; p < parts; p++)
        {
            int count = p == 0 ? perPart - order : perPart;
            var dst = s.Slice(at, count);
            int k = (int)_br.ReadBits(paramBits);
            if (k == escape)
            {
                // Escape: the partition holds raw signed numbers of a given width (0 means all zero).
                int bits = (int)_br.ReadBits(5);
                for (int i = 0; i < count; i++) dst[i] = _br.ReadSigned(bits);
            }
            else if (!_br.ReadRice(dst, k))
                throw Corrupt($"channel {channel}: residual code longer than {FlacBitReader.MaxUnary} bits");
            at += count;
        }
    }

    void Decorrelate(int assignment, int n, int bps)
    {
        if (assignment < 8) return;
        var a = _ch[0].AsSpan(0, n);
        var b = _ch[1].AsSpan(0, n);
        switch (assignment)
        {
            case 8:   // left, side: right = left - side
                for (int i = 0; i < n; i++) b[i] = a[i] - b[i];
                break;
            case 9:   // side, right: left = side + right
                for (int i = 0; i < n; i++) a[i] += b[i];
                break;
            default:  // mid, side: the side's low bit restores the bit the mid lost when halved
                for (int i = 0; i < n; i++)
                {
                    long mid = (a[i] << 1) | (b[i] & 1), side = b[i];
                    a[i] = (mid + side) >> 1;
                    b[i] = (mid - side) >> 1;
                }
                break;
        }
        CheckRange(a, bps, 0);
        CheckRange(b, bps, 1);
    }
}
