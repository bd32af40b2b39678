// Options of AudioFile.Read: downmix, resampling, and the window of the clip to return (offset,
// length, zero padding), so data loaders get fixed-size inputs in one call.
namespace Cochlea.Models.Audio;

/// <summary>How <see cref="AudioFile.Read(string, AudioReadOptions?)"/> shapes the decoded clip. Offsets and lengths are in frames at the output rate.</summary>
public sealed record AudioReadOptions
{
    /// <summary>Average all channels into one.</summary>
    public bool Mono { get; init; }

    /// <summary>Resample to this rate (Hz) when the file has another one; null keeps the file's rate.</summary>
    public int? SampleRate { get; init; }

    /// <summary>Resampler to use (its rates must match the file and <see cref="SampleRate"/>); null builds one per call. Reuse one across files to save the filter design.</summary>
    public Resampler? Resampler { get; init; }

    /// <summary>Frames to skip from the start (at the output rate), &gt;= 0.</summary>
    public long Offset { get; init; }

    /// <summary>Return at most this many frames (crop); null reads to the end.</summary>
    public long? Length { get; init; }

    /// <summary>With <see cref="Length"/>: append zeros when the clip is shorter, so exactly Length frames come back.</summary>
    public bool PadToLength { get; init; }
}
