// The one exception type for malformed or unreadable safetensors files.
namespace Cochlea.IO;

/// <summary>
/// A safetensors file is malformed, truncated, or holds something this reader cannot convert.
/// The message names the file and the problem and, where there is one, the fix. (It derives from
/// <see cref="IOException"/> because <see cref="InvalidDataException"/> is sealed.)
/// </summary>
public sealed class SafeTensorsException : IOException
{
    /// <summary>Creates the exception; the message is prefixed with <paramref name="path"/>.</summary>
    /// <param name="path">The file concerned.</param>
    /// <param name="problem">What is wrong, and how to fix it where possible.</param>
    /// <param name="inner">The underlying error (e.g. a JSON parse error), if any.</param>
    public SafeTensorsException(string path, string problem, Exception? inner = null)
        : base($"safetensors file '{path}': {problem}", inner)
    {
        FilePath = path;
    }

    /// <summary>The file the problem was found in.</summary>
    public string FilePath { get; }
}
