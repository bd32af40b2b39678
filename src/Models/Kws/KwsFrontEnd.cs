// Front ends of the keyword-spotting models: what turns a batch of 1 s, 16 kHz waveforms (B, 16000)
// into the model's input. WaveKws takes the waveform itself; DeepSpeechKws a log spectrogram and
// TutorialConv MFCC frames, both normalised per bin with statistics computed on the training set
// and saved in the checkpoint's metadata, so eval and predict see exactly what training saw.
// Everything a front end needs to be rebuilt is in its metadata (kws.frontend, kws.feature_*).
using System.Globalization;
using System.Text.Json;

namespace Cochlea.Models.Kws;

/// <summary>Turns (B, N) waveforms into a KWS model's input. Immutable once its statistics are set; safe to share.</summary>
public abstract class KwsFrontEnd
{
    /// <summary>Metadata key of the front end's name.</summary>
    public const string NameKey = "kws.frontend";

    /// <summary>Name stored in checkpoints ("wave", "logspec", "mfcc").</summary>
    public abstract string Name { get; }

    /// <summary>(B, N) float32 waveforms -> the model's input (not recorded for autograd: front ends have no parameters).</summary>
    public abstract Tensor Forward(Tensor wav);

    /// <summary>True when <see cref="Forward"/> needs statistics from the training set that have not been set yet.</summary>
    public virtual bool NeedsStatistics => false;

    /// <summary>
    /// Computes the front end's statistics (per-bin mean and standard deviation) from (B, N) waveform batches of the training
    /// set; a no-op for front ends without statistics.
    /// </summary>
    public virtual void FitStatistics(IEnumerable<Tensor> waveBatches) => ArgumentNullException.ThrowIfNull(waveBatches);

    /// <summary>Writes what is needed to rebuild this front end into checkpoint metadata.</summary>
    public virtual void WriteMetadata(IDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        metadata[NameKey] = Name;
    }

    /// <summary>The front end of <paramref name="kind"/>, without statistics.</summary>
    /// <exception cref="NotSupportedException">The kind's features are not available in this build.</exception>
    public static KwsFrontEnd For(KwsModelKind kind) => kind switch
    {
        KwsModelKind.Wave => new WaveFrontEnd(),
        // The spectrogram and MFCC front ends arrive with the audio-features work (Stft, Mfcc, FeatureStats).
        KwsModelKind.DeepSpeech => throw new NotSupportedException("the deepspeech model needs the log-spectrogram front end (Cochlea.Models.Audio.Stft), which this build does not have yet; use --model wave."),
        KwsModelKind.Conv => throw new NotSupportedException("the conv model needs the MFCC front end (Cochlea.Models.Audio.Mfcc), which this build does not have yet; use --model wave."),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown KWS model kind."),
    };

    /// <summary>Rebuilds the front end of <paramref name="kind"/> from checkpoint metadata (statistics included).</summary>
    public static KwsFrontEnd FromMetadata(KwsModelKind kind, IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        var fe = For(kind);
        if (metadata.TryGetValue(NameKey, out var name) && name != fe.Name)
            throw new InvalidDataException($"checkpoint front end '{name}' does not match the {kind.Name()} model's '{fe.Name}'.");
        fe.ReadMetadata(metadata);
        return fe;
    }

    /// <summary>Restores statistics written by <see cref="WriteMetadata"/>; nothing for stateless front ends.</summary>
    protected virtual void ReadMetadata(IReadOnlyDictionary<string, string> metadata) { }

    /// <summary>A float array as a JSON array with round-trip precision (checkpoint metadata values are strings).</summary>
    protected static string FloatsToJson(IEnumerable<float> values) =>
        "[" + string.Join(",", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "]";

    /// <summary>Parses a JSON array of numbers written by <see cref="FloatsToJson"/>; the error names the key.</summary>
    protected static float[] FloatsFromJson(IReadOnlyDictionary<string, string> metadata, string key)
    {
        if (!metadata.TryGetValue(key, out var json)) throw new InvalidDataException($"checkpoint metadata lacks '{key}'.");
        try { return JsonSerializer.Deserialize<float[]>(json) ?? throw new InvalidDataException($"checkpoint metadata '{key}' is null."); }
        catch (JsonException e) { throw new InvalidDataException($"checkpoint metadata '{key}' is not a JSON array of numbers: {e.Message}"); }
    }
}

/// <summary>The identity front end of <see cref="WaveKws"/>: the model reads the waveform.</summary>
public sealed class WaveFrontEnd : KwsFrontEnd
{
    /// <inheritdoc/>
    public override string Name => "wave";

    /// <inheritdoc/>
    public override Tensor Forward(Tensor wav)
    {
        ArgumentNullException.ThrowIfNull(wav);
        return wav;
    }
}
