// The one exception type audio decoding throws for bad input: a truncated, malformed or unsupported
// file. It names the file, the problem and a fix, so a data-loading job that meets one bad clip among
// thousands can report it in one line. Derives from IOException (InvalidDataException is sealed).
namespace Cochlea.Models.Audio;

/// <summary>A WAV or FLAC file is truncated, malformed or uses an unsupported feature.</summary>
public sealed class AudioFormatException : IOException
{
    /// <summary>The file (or stream name) being decoded.</summary>
    public string FileName { get; }

    /// <summary>What is wrong, without the file name.</summary>
    public string Problem { get; }

    /// <summary>What the user can do about it.</summary>
    public string Fix { get; }

    /// <summary>Creates the exception; the message is "<paramref name="source"/>: <paramref name="problem"/>. <paramref name="fix"/>".</summary>
    public AudioFormatException(string source, string problem, string fix, Exception? inner = null)
        : base($"{source}: {problem}. {fix}", inner)
    {
        FileName = source;
        Problem = problem;
        Fix = fix;
    }
}
