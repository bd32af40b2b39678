// The three keyword-spotting architectures by the names the CLI and the checkpoints use
// ("wave", "deepspeech", "conv"), with one parser so every command reports the same error.
namespace Cochlea.Models.Kws;

/// <summary>Which keyword-spotting model a run trains or a checkpoint holds.</summary>
public enum KwsModelKind
{
    /// <summary><see cref="WaveKws"/> on the raw 16 kHz waveform (the Pi model).</summary>
    Wave,
    /// <summary><see cref="DeepSpeechKws"/> on a normalised log spectrogram (99 x 161).</summary>
    DeepSpeech,
    /// <summary><see cref="TutorialConv"/> on MFCC frames (98 x 40), the TF tutorial's model.</summary>
    Conv,
}

/// <summary>Names of <see cref="KwsModelKind"/> values.</summary>
public static class KwsModelKinds
{
    /// <summary>Every kind with its name, in the order usage messages list them.</summary>
    public static readonly IReadOnlyList<(KwsModelKind Kind, string Name)> All =
        [(KwsModelKind.Wave, "wave"), (KwsModelKind.DeepSpeech, "deepspeech"), (KwsModelKind.Conv, "conv")];

    /// <summary>The name of <paramref name="kind"/> ("wave", "deepspeech", "conv").</summary>
    public static string Name(this KwsModelKind kind) =>
        All.FirstOrDefault(k => k.Kind == kind).Name ?? throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown KWS model kind.");

    /// <summary>Parses a name (case-insensitive); the error lists the valid names.</summary>
    /// <exception cref="ArgumentException">Not one of wave, deepspeech, conv.</exception>
    public static KwsModelKind Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (var (kind, n) in All)
            if (string.Equals(n, name.Trim(), StringComparison.OrdinalIgnoreCase)) return kind;
        throw new ArgumentException($"unknown model '{name}'; expected one of {string.Join(", ", All.Select(k => k.Name))}.");
    }
}
