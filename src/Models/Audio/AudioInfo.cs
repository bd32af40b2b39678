// What a decoder knows about an audio stream before reading its samples: container, sample
// encoding, rate, channel count and (when the header says so) the length.
namespace Cochlea.Models.Audio;

/// <summary>The file format, recognised by its magic bytes (never by the extension).</summary>
public enum AudioContainer
{
    /// <summary>RIFF/WAVE.</summary>
    Wav,
    /// <summary>FLAC (native stream, "fLaC").</summary>
    Flac,
}

/// <summary>How samples are stored in the file.</summary>
public enum SampleEncoding
{
    /// <summary>Unsigned integers with an offset of 2^(bits-1) (8-bit WAV).</summary>
    UnsignedInt,
    /// <summary>Two's-complement integers (WAV 16/24/32-bit, every FLAC).</summary>
    SignedInt,
    /// <summary>IEEE 754 float (WAV float32/float64).</summary>
    Float,
}

/// <summary>Format of an audio stream.</summary>
/// <param name="Container">WAV or FLAC.</param>
/// <param name="Encoding">Sample encoding in the file.</param>
/// <param name="BitsPerSample">Significant bits per sample (e.g. 16, 24, 32, 64 for float64).</param>
/// <param name="SampleRate">Frames per second, &gt; 0.</param>
/// <param name="Channels">Channels in the file, &gt;= 1.</param>
/// <param name="Frames">Frames (samples per channel) in the file, or null when the header does not say
/// (FLAC with total samples 0); integer samples are scaled to [-1, 1) by 1 / 2^(BitsPerSample-1).</param>
public sealed record AudioInfo(AudioContainer Container, SampleEncoding Encoding, int BitsPerSample, int SampleRate, int Channels, long? Frames)
{
    /// <summary>Length in seconds (Frames / SampleRate), or null when the length is unknown.</summary>
    public double? Duration => Frames is long f ? (double)f / SampleRate : null;
}
