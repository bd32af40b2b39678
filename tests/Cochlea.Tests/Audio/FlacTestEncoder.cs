// A small FLAC encoder for the tests, written independently of the decoder (its own bit writer and
// bitwise CRCs), that can emit what the reference encoder never does on request: variable block sizes,
// escape partitions, CONSTANT/VERBATIM subframes, any fixed/LPC order, 4- or 5-bit Rice parameters,
// wasted bits, every stereo mode, odd rates and depths. It is lossless by construction (residuals are
// computed from the plan's predictor), so decoding must return the input samples exactly.
using System.Security.Cryptography;

namespace Cochlea.Tests.Audio;

enum SubKind { Constant, Verbatim, Fixed, Lpc }

/// <summary>How one subframe is coded.</summary>
sealed record SubPlan(SubKind Kind, int Order = 0, int[]? Coefs = null, int Precision = 12, int Shift = 0,
                      int PartitionOrder = 0, bool Escape = false, bool FiveBit = false, int RiceParam = -1, int Wasted = 0);

/// <summary>MSB-first bit writer.</summary>
sealed class BitWriter
{
    readonly List<byte> _bytes = [];
    int _acc, _n;

    public int ByteCount => _bytes.Count;
    public List<byte> Bytes => _bytes;

    public void Bit(int b)
    {
        _acc = (_acc << 1) | (b & 1);
        if (++_n == 8) { _bytes.Add((byte)_acc); _acc = 0; _n = 0; }
    }

    public void Write(long value, int bits)
    {
        for (int i = bits - 1; i >= 0; i--) Bit((int)(value >> i) & 1);
    }

    public void Unary(long zeros)
    {
        for (long i = 0; i < zeros; i++) Bit(0);
        Bit(1);
    }

    public void Align()
    {
        while (_n != 0) Bit(0);
    }
}

static class FlacTestEncoder
{
    /// <summary>Bitwise CRC (MSB first, init 0) over bytes[from..to).</summary>
    static int Crc(List<byte> bytes, int from, int to, int poly, int width)
    {
        int crc = 0, top = 1 << (width - 1), mask = (1 << width) - 1;
        for (int i = from; i < to; i++)
        {
            crc ^= bytes[i] << (width - 8);
            for (int b = 0; b < 8; b++) crc = ((crc & top) != 0 ? (crc << 1) ^ poly : crc << 1) & mask;
        }
        return crc;
    }

    /// <summary>
    /// Encodes channels (each the same length) as a FLAC file. blockSizes partitions the samples;
    /// plan(frame, channel) picks each subframe's coding; stereo(frame) the channel assignment
    /// (1 = independent, 8 left/side, 9 side/right, 10 mid/side; stereo only). The remaining arguments
    /// forge broken files: a wrong total, MD5, STREAMINFO maximum block size, frame number, or a dropped frame.
    /// </summary>
    public static byte[] Encode(long[][] channels, int bps, int rate, IReadOnlyList<int> blockSizes, bool variable,
                                Func<int, int, SubPlan> plan, Func<int, int>? stereo = null, bool md5 = true,
                                long? totalSamples = null, int? streamInfoMaxBlock = null, byte[]? md5Override = null,
                                Func<int, long>? frameNumber = null, Func<int, bool>? skipFrame = null)
    {
        int nch = channels.Length;
        long total = channels[0].Length;
        var w = new BitWriter();
        foreach (char c in "fLaC") w.Write(c, 8);
        // STREAMINFO (last metadata block)
        w.Write(1, 1); w.Write(0, 7); w.Write(34, 24);
        int maxBlock = streamInfoMaxBlock ?? Math.Max(16, blockSizes.Max());
        int minBlock = Math.Min(maxBlock, Math.Max(16, blockSizes.Min()));
        w.Write(minBlock, 16); w.Write(maxBlock, 16);
        w.Write(0, 24); w.Write(0, 24);
        w.Write(rate, 20); w.Write(nch - 1, 3); w.Write(bps - 1, 5); w.Write(totalSamples ?? total, 36);
        byte[] digest = md5Override ?? (md5 ? Md5(channels, bps) : new byte[16]);
        foreach (byte b in digest) w.Write(b, 8);

        long start = 0;
        for (int f = 0; f < blockSizes.Count; f++)
        {
            int n = blockSizes[f];
            int assignment = nch == 2 && stereo is not null ? stereo(f) : nch - 1;
            long number = frameNumber?.Invoke(f) ?? (variable ? start : f);
            if (skipFrame?.Invoke(f) != true)
                WriteFrame(w, channels, start, n, bps, rate, assignment, number, variable, c => plan(f, c));
            start += n;
        }
        return [.. w.Bytes];
    }

    static byte[] Md5(long[][] ch, int bps)
    {
        int bytes = (bps + 7) / 8;
        var buf = new List<byte>();
        for (int i = 0; i < ch[0].Length; i++)
            foreach (var c in ch)
                for (int k = 0; k < bytes; k++) buf.Add((byte)(c[i] >> (8 * k)));
        return MD5.HashData(buf.ToArray());
    }

    static void WriteFrame(BitWriter w, long[][] channels, long start, int n, int bps, int rate, int assignment, long number, bool variable, Func<int, SubPlan> plan)
    {
        int begin = w.ByteCount;
        w.Write(0b11111111111110, 14); w.Write(0, 1); w.Write(variable ? 1 : 0, 1);
        int bsCode = n switch
        {
            192 => 1, 576 => 2, 1152 => 3, 2304 => 4, 4608 => 5,
            256 => 8, 512 => 9, 1024 => 10, 2048 => 11, 4096 => 12, 8192 => 13, 16384 => 14, 32768 => 15,
            <= 256 => 6, _ => 7,
        };
        int[] rates = [0, 88200, 176400, 192000, 8000, 16000, 22050, 24000, 32000, 44100, 48000, 96000];
        int srCode = Array.IndexOf(rates, rate) is int ix and > 0 ? ix
                   : rate % 1000 == 0 && rate / 1000 <= 255 ? 12 : rate <= 65535 ? 13 : rate % 10 == 0 && rate / 10 <= 65535 ? 14 : 0;
        int bpsCode = bps switch { 8 => 1, 12 => 2, 16 => 4, 20 => 5, 24 => 6, 32 => 7, _ => 0 };
        w.Write(bsCode, 4); w.Write(srCode, 4); w.Write(assignment, 4); w.Write(bpsCode, 3); w.Write(0, 1);
        WriteCoded(w, number);
        if (bsCode == 6) w.Write(n - 1, 8);
        if (bsCode == 7) w.Write(n - 1, 16);
        if (srCode == 12) w.Write(rate / 1000, 8);
        if (srCode == 13) w.Write(rate, 16);
        if (srCode == 14) w.Write(rate / 10, 16);
        w.Write(Crc(w.Bytes, begin, w.ByteCount, 0x07, 8), 8);

        var blocks = channels.Select(c => c.AsSpan((int)start, n).ToArray()).ToArray();
        var sideIdx = -1;
        if (assignment >= 8)
        {
            long[] l = blocks[0], r = blocks[1];
            var side = l.Zip(r, (a, b) => a - b).ToArray();
            var mid = l.Zip(r, (a, b) => (a + b) >> 1).ToArray();
            (blocks[0], blocks[1], sideIdx) = assignment switch
            {
                8 => (l, side, 1),
                9 => (side, r, 0),
                _ => (mid, side, 1),
            };
        }
        for (int c = 0; c < blocks.Length; c++)
            WriteSubframe(w, blocks[c], bps + (c == sideIdx ? 1 : 0), plan(c));
        w.Align();
        w.Write(Crc(w.Bytes, begin, w.ByteCount, 0x8005, 16), 16);
    }

    static void WriteCoded(BitWriter w, long v)
    {
        if (v < 0x80) { w.Write(v, 8); return; }
        int len = 2;
        while (v >= 1L << (5 * len + 1)) len++;
        for (int i = 0; i < len; i++) w.Bit(1);   // len ones, a zero, then 7 - len payload bits
        w.Bit(0);
        w.Write(v >> (6 * (len - 1)), 7 - len);
        for (int i = len - 2; i >= 0; i--) { w.Write(0b10, 2); w.Write((v >> (6 * i)) & 0x3F, 6); }
    }

    static void WriteSubframe(BitWriter w, long[] s, int bps, SubPlan p)
    {
        int typeCode = p.Kind switch
        {
            SubKind.Constant => 0,
            SubKind.Verbatim => 1,
            SubKind.Fixed => 8 + p.Order,
            _ => 32 + p.Order - 1,
        };
        w.Write(0, 1); w.Write(typeCode, 6);
        if (p.Wasted > 0) { w.Write(1, 1); w.Unary(p.Wasted - 1); } else w.Write(0, 1);
        var x = s.Select(v => v >> p.Wasted).ToArray();
        if (p.Wasted > 0 && x.Zip(s).Any(t => t.First << p.Wasted != t.Second)) throw new ArgumentException("samples do not have that many wasted bits");
        int b = bps - p.Wasted;
        switch (p.Kind)
        {
            case SubKind.Constant:
                if (x.Distinct().Count() > 1) throw new ArgumentException("CONSTANT plan for a non-constant block");
                w.Write(x[0], b);
                return;
            case SubKind.Verbatim:
                foreach (long v in x) w.Write(v, b);
                return;
        }
        for (int i = 0; i < p.Order; i++) w.Write(x[i], b);
        var res = new long[x.Length];
        if (p.Kind == SubKind.Fixed)
        {
            for (int i = p.Order; i < x.Length; i++)
                res[i] = x[i] - p.Order switch
                {
                    0 => 0,
                    1 => x[i - 1],
                    2 => 2 * x[i - 1] - x[i - 2],
                    3 => 3 * x[i - 1] - 3 * x[i - 2] + x[i - 3],
                    _ => 4 * x[i - 1] - 6 * x[i - 2] + 4 * x[i - 3] - x[i - 4],
                };
        }
        else
        {
            var coefs = p.Coefs!;
            w.Write(p.Precision - 1, 4);
            w.Write(p.Shift, 5);
            foreach (int c in coefs) w.Write(c, p.Precision);
            for (int i = p.Order; i < x.Length; i++)
            {
                long sum = 0;
                for (int j = 0; j < p.Order; j++) sum += coefs[j] * x[i - 1 - j];
                res[i] = x[i] - (sum >> p.Shift);
            }
        }
        WriteResidual(w, res, p);
    }

    static void WriteResidual(BitWriter w, long[] res, SubPlan p)
    {
        int paramBits = p.FiveBit ? 5 : 4, escape = (1 << paramBits) - 1;
        w.Write(p.FiveBit ? 1 : 0, 2);
        w.Write(p.PartitionOrder, 4);
        int per = res.Length >> p.PartitionOrder;
        for (int part = 0; part < 1 << p.PartitionOrder; part++)
        {
            int from = part == 0 ? p.Order : part * per, to = (part + 1) * per;
            long[] r = from <= to ? res[from..to] : [];   // an invalid plan (order > partition) writes an empty partition
            if (p.Escape)
            {
                int bits = r.All(v => v == 0) ? 0 : 1;   // narrowest signed width holding every value
                while (bits > 0 && r.Any(v => v < -(1L << (bits - 1)) || v >= 1L << (bits - 1))) bits++;
                w.Write(escape, paramBits);
                w.Write(bits, 5);
                foreach (long v in r) w.Write(v, bits);
                continue;
            }
            int k = p.RiceParam;
            if (k < 0)
            {
                double mean = r.Length == 0 ? 0 : r.Average(v => Math.Abs((double)v));
                k = mean < 1 ? 0 : Math.Min(escape - 1, (int)Math.Log2(mean));
            }
            w.Write(k, paramBits);
            foreach (long v in r)
            {
                long u = v >= 0 ? 2 * v : -2 * v - 1;
                w.Unary(u >> k);
                w.Write(u & ((1L << k) - 1), k);
            }
        }
    }
}
