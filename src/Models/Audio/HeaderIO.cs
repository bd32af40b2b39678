// Byte-level helpers the WAV and FLAC header parsers share: exact reads and skips that turn a short
// stream into an AudioFormatException saying where the file ended, printable tags for messages, and
// the standard "what to do about it" texts.
namespace Cochlea.Models.Audio;

internal static class HeaderIO
{
    public const string TruncatedFix = "The file was cut short (interrupted copy or download?); re-create or re-download it";
    public const string CorruptFix = "The file is corrupt; re-encode it from the original audio or re-download it";

    /// <summary>Reads until <paramref name="buf"/> is full or the stream ends; returns the bytes read.</summary>
    public static int ReadUpTo(Stream s, Span<byte> buf) => s.ReadAtLeast(buf, buf.Length, throwOnEndOfStream: false);

    /// <summary>Fills <paramref name="buf"/> or throws "truncated in <paramref name="what"/>"; advances <paramref name="pos"/>.</summary>
    public static void ReadExactly(Stream s, Span<byte> buf, string name, string what, ref long pos)
    {
        int got = ReadUpTo(s, buf);
        if (got < buf.Length)
            throw new AudioFormatException(name, got == 0 && pos == 0 ? "the file is empty (0 bytes)" : $"truncated in {what} at byte {pos + got}", TruncatedFix);
        pos += got;
    }

    /// <summary>
    /// Skips <paramref name="count"/> bytes of <paramref name="what"/> (which starts at byte <paramref name="at"/>),
    /// seeking when possible. Up to <paramref name="slack"/> bytes may be missing at the end of the file
    /// (WAV writers often drop the pad byte of an odd-sized last chunk).
    /// </summary>
    public static void Skip(Stream s, long count, string name, string what, long at, ref long pos, long slack = 0)
    {
        if (count == 0) return;
        if (s.CanSeek)
        {
            long length = s.Length, here = s.Position;
            if (here + count > length + slack)
                throw new AudioFormatException(name, $"{what} at byte {at} declares {count} bytes but the file ends at byte {pos + length - here}", TruncatedFix);
            long n = Math.Min(count, length - here);
            s.Seek(n, SeekOrigin.Current);
            pos += n;
            return;
        }
        var tmp = new byte[(int)Math.Min(count, 65536)];
        for (long left = count; left > 0;)
        {
            int got = s.Read(tmp, 0, (int)Math.Min(left, tmp.Length));
            if (got == 0)
            {
                if (left <= slack) return;
                throw new AudioFormatException(name, $"{what} at byte {at} runs past the end of the stream", TruncatedFix);
            }
            left -= got;
            pos += got;
        }
    }

    /// <summary>The bytes as ASCII with non-printable ones shown as '?', for messages.</summary>
    public static string Printable(ReadOnlySpan<byte> b)
    {
        var c = new char[b.Length];
        for (int i = 0; i < b.Length; i++) c[i] = b[i] >= 0x20 && b[i] < 0x7F ? (char)b[i] : '?';
        return new string(c);
    }
}
