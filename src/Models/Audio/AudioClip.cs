// A decoded clip in memory: interleaved float samples plus rate and channel count. The unit that
// AudioFile.Read returns and AudioFile.WriteWav takes.
namespace Cochlea.Models.Audio;

/// <summary>Interleaved float samples (frames x channels) at a sample rate.</summary>
public sealed class AudioClip
{
    /// <summary>Wraps <paramref name="samples"/> (not copied): frame f, channel c is samples[f * channels + c].</summary>
    /// <exception cref="ArgumentOutOfRangeException">sampleRate or channels is not positive.</exception>
    /// <exception cref="ArgumentException">samples.Length is not a multiple of channels.</exception>
    public AudioClip(float[] samples, int sampleRate, int channels = 1)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (sampleRate <= 0) throw new ArgumentOutOfRangeException(nameof(sampleRate), sampleRate, "AudioClip: the sample rate must be a positive number of Hz.");
        if (channels < 1) throw new ArgumentOutOfRangeException(nameof(channels), channels, "AudioClip: channels must be >= 1.");
        if (samples.Length % channels != 0)
            throw new ArgumentException($"AudioClip: {samples.Length} samples is not a whole number of {channels}-channel frames.", nameof(samples));
        Samples = samples;
        SampleRate = sampleRate;
        Channels = channels;
    }

    /// <summary>Interleaved samples, length <see cref="Frames"/> * <see cref="Channels"/>.</summary>
    public float[] Samples { get; }

    /// <summary>Frames per second.</summary>
    public int SampleRate { get; }

    /// <summary>Channels per frame.</summary>
    public int Channels { get; }

    /// <summary>Number of frames (samples per channel).</summary>
    public int Frames => Samples.Length / Channels;

    /// <summary>Length in seconds.</summary>
    public double Duration => (double)Frames / SampleRate;

    /// <summary>A copy of channel <paramref name="channel"/> (length <see cref="Frames"/>).</summary>
    public float[] Channel(int channel)
    {
        if ((uint)channel >= (uint)Channels) throw new ArgumentOutOfRangeException(nameof(channel), channel, $"AudioClip.Channel: channel must be in [0, {Channels}).");
        var r = new float[Frames];
        for (int f = 0; f < r.Length; f++) r[f] = Samples[f * Channels + channel];
        return r;
    }
}
