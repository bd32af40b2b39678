// Bit-level input for the FLAC decoder (RFC 9639 numbers are big-endian, MSB first) and the two
// checksums a frame carries: CRC-8 (poly 0x07) over the header, CRC-16 (poly 0x8005) over the frame.
// The reader works on a window of a byte array that the stream layer refills; reading past the window
// throws FlacNeedMoreData so the caller can fetch more bytes and decode the frame again from its start
// (decoding a frame has no side effects until it succeeds). Every read peeks 8 bytes at once, so the
// array must hold 8 bytes of slack after the window: no per-bit bounds checks in the Rice loop.
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Cochlea.Models.Audio;

/// <summary>Thrown by <see cref="FlacBitReader"/> when a read needs bytes beyond the buffered window.</summary>
internal sealed class FlacNeedMoreData : Exception
{
    public static readonly FlacNeedMoreData Instance = new();
}

/// <summary>MSB-first bit reader over buf[start, end); buf.Length must be &gt;= end + 8.</summary>
internal sealed class FlacBitReader
{
    /// <summary>Longest run of zero bits accepted in a unary code; real encoders stay far below (they raise the Rice parameter instead).</summary>
    public const int MaxUnary = 1 << 24;

    byte[] _buf = [];
    long _bit, _limit;

    public void Reset(byte[] buf, int start, int end)
    {
        if (buf.Length < end + 8) throw new ArgumentException($"FlacBitReader: the buffer needs 8 bytes of slack after the window (length {buf.Length}, end {end}).", nameof(buf));
        _buf = buf;
        _bit = (long)start * 8;
        _limit = (long)end * 8;
    }

    /// <summary>Index of the byte holding the next bit.</summary>
    public int BytePosition => (int)(_bit >> 3);

    public bool IsByteAligned => (_bit & 7) == 0;

    public void AlignToByte() => _bit = (_bit + 7) & ~7L;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    ulong Peek() => BinaryPrimitives.ReadUInt64BigEndian(_buf.AsSpan((int)(_bit >> 3), 8)) << (int)(_bit & 7);

    /// <summary>The next <paramref name="n"/> bits (0..56) as an unsigned number.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong ReadBits(int n)
    {
        if (n == 0) return 0;
        if (_bit + n > _limit) throw FlacNeedMoreData.Instance;
        ulong w = Peek();
        _bit += n;
        return w >> (64 - n);
    }

    /// <summary>The next <paramref name="n"/> bits (1..56) as a two's-complement number.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long ReadSigned(int n)
    {
        if (n == 0) return 0;
        if (_bit + n > _limit) throw FlacNeedMoreData.Instance;
        ulong w = Peek();
        _bit += n;
        return (long)w >> (64 - n);
    }

    /// <summary>Counts zero bits up to the next one bit and consumes both (unary code).</summary>
    /// <returns>The number of zeros, or -1 when the run exceeds <see cref="MaxUnary"/> (corrupt data).</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int ReadUnary()
    {
        int count = 0;
        while (true)
        {
            if (_bit >= _limit) throw FlacNeedMoreData.Instance;
            ulong w = Peek();
            if (w != 0)
            {
                // The shift filled the low bits with zeros, so a set bit is always a real one.
                int z = BitOperations.LeadingZeroCount(w);
                _bit += z + 1;
                if (_bit > _limit) throw FlacNeedMoreData.Instance;
                return count + z;
            }
            int valid = 64 - (int)(_bit & 7);
            count += valid;
            _bit += valid;
            if (count > MaxUnary) return -1;
        }
    }

    /// <summary>
    /// Decodes dst.Length Rice-coded residuals with parameter <paramref name="k"/> (zigzag-folded:
    /// 0, -1, 1, -2, ... for codes 0, 1, 2, 3, ...). Returns false on a corrupt (over-long) code.
    /// </summary>
    public unsafe bool ReadRice(Span<long> dst, int k)
    {
        // Fast path: while 64 bits remain in the window, one big-endian load holds the whole code
        // (at least 57 valid bits) in the common case; the careful methods handle the rest.
        long bit = _bit, fastEnd = _limit - 64;
        fixed (byte* b = _buf)
        fixed (long* d = dst)
            for (int i = 0; i < dst.Length; i++)
            {
                ulong v;
                if (bit <= fastEnd)
                {
                    ulong w = BinaryPrimitives.ReverseEndianness(*(ulong*)(b + (bit >> 3))) << (int)(bit & 7);
                    int z = BitOperations.LeadingZeroCount(w);
                    if (z + 1 + k <= 64 - (int)(bit & 7))
                    {
                        // Quotient z, then the k bits after the stop bit (>> 1 >> (63 - k) is 0 for k = 0).
                        v = ((ulong)z << k) | ((w << (z + 1)) >> 1 >> (63 - k));
                        bit += z + 1 + k;
                        d[i] = (long)(v >> 1) ^ -(long)(v & 1);
                        continue;
                    }
                }
                _bit = bit;
                int q = ReadUnary();
                if (q < 0) return false;
                v = ((ulong)q << k) | ReadBits(k);
                bit = _bit;
                d[i] = (long)(v >> 1) ^ -(long)(v & 1);
            }
        _bit = bit;
        return true;
    }
}

/// <summary>The CRCs of RFC 9639 frames (both MSB-first, initial value 0, no final xor).</summary>
internal static class FlacCrc
{
    static readonly byte[] Table8 = BuildTable8();
    static readonly ushort[] Table16 = BuildTable16();

    static byte[] BuildTable8()
    {
        var t = new byte[256];
        for (int i = 0; i < 256; i++)
        {
            int c = i;
            for (int b = 0; b < 8; b++) c = (c & 0x80) != 0 ? (c << 1) ^ 0x07 : c << 1;
            t[i] = (byte)c;
        }
        return t;
    }

    static ushort[] BuildTable16()
    {
        var t = new ushort[256];
        for (int i = 0; i < 256; i++)
        {
            int c = i << 8;
            for (int b = 0; b < 8; b++) c = (c & 0x8000) != 0 ? (c << 1) ^ 0x8005 : c << 1;
            t[i] = (ushort)c;
        }
        return t;
    }

    /// <summary>CRC-8, polynomial x^8 + x^2 + x + 1.</summary>
    public static byte Crc8(ReadOnlySpan<byte> data)
    {
        byte c = 0;
        foreach (byte b in data) c = Table8[c ^ b];
        return c;
    }

    /// <summary>CRC-16, polynomial x^16 + x^15 + x^2 + 1.</summary>
    public static ushort Crc16(ReadOnlySpan<byte> data)
    {
        int c = 0;
        foreach (byte b in data) c = ((c << 8) ^ Table16[((c >> 8) ^ b) & 0xFF]) & 0xFFFF;
        return (ushort)c;
    }
}
