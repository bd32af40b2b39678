// Front ends of the keyword-spotting models: what turns a batch of 1 s, 16 kHz waveforms (B, 16000)
// into the model's input. WaveKws takes the waveform itself; DeepSpeechKws a log spectrogram and
// TutorialConv MFCC frames, both normalised per bin with statistics computed on the training set
// and saved in the checkpoint's metadata, so eval and predict see exactly what training saw.
// Optionally every clip is first scaled to a peak of 1 (input normalisation): recordings differ in
// level by 20 dB and more, and a front end that removes the level spares the model learning it.
// Everything a front end needs to be rebuilt is in its metadata (kws.frontend,
// kws.input_normalization, kws.feature_*).
using System.Globalization;
using System.Text.Json;

namespace Cochlea.Models.Kws;

/// <summary>Per-clip level normalisation applied before a front end's transform.</summary>
public enum KwsInputNormalization
{
    /// <summary>Samples as decoded.</summary>
    None,
    /// <summary>Each clip divided by its peak |x| (at least 1e-3, so near-silent clips are not blown up to full scale).</summary>
    Peak,
}

/// <summary>Turns (B, N) waveforms into a KWS model's input. Immutable once its statistics are set; safe to share.</summary>
public abstract class KwsFrontEnd
{
    /// <summary>Metadata keys of the front end's name and input normalisation.</summary>
    public const string NameKey = "kws.frontend", NormalizationKey = "kws.input_normalization";

    /// <summary>Smallest peak a clip is divided by under <see cref="KwsInputNormalization.Peak"/> (-60 dBFS).</summary>
    public const float PeakFloor = 1e-3f;

    /// <summary>Name stored in checkpoints ("wave", "logspec", "mfcc").</summary>
    public abstract string Name { get; }

    /// <summary>Level normalisation of each clip before <see cref="Transform"/>.</summary>
    public KwsInputNormalization InputNormalization { get; private set; }

    /// <summary>
    /// (B, N) float32 waveforms -> the model's input: the clips normalised (<see cref="InputNormalization"/>), then transformed.
    /// Not recorded for autograd: front ends have no parameters.
    /// </summary>
    public Tensor Forward(Tensor wav)
    {
        ArgumentNullException.ThrowIfNull(wav);
        if (wav.Rank != 2) throw new ArgumentException($"{Name} front end: expected (B, samples) waveforms, got {wav.Describe()}.", nameof(wav));
        return Transform(InputNormalization == KwsInputNormalization.Peak ? PeakNormalize(wav) : wav);
    }

    /// <summary>The front end's transform of (B, N) waveforms.</summary>
    protected abstract Tensor Transform(Tensor wav);

    /// <summary>y[b, t] = x[b, t] / max(max_t |x[b, t]|, <see cref="PeakFloor"/>), as a new tensor.</summary>
    public static Tensor PeakNormalize(Tensor wav)
    {
        ArgumentNullException.ThrowIfNull(wav);
        int b = wav.Size(0), n = wav.Size(1);
        using var x = wav.Detach().Contiguous();
        var y = Tensor.Empty(b, n);
        var xs = x.AsSpan();
        var ys = y.AsSpan();
        for (int i = 0; i < b; i++)
        {
            var row = xs.Slice(i * n, n);
            var dst = ys.Slice(i * n, n);
            float peak = PeakFloor;
            foreach (float v in row) peak = MathF.Max(peak, MathF.Abs(v));
            float scale = 1f / peak;
            for (int k = 0; k < n; k++) dst[k] = row[k] * scale;
        }
        return y;
    }

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
        metadata[NormalizationKey] = InputNormalization.ToString().ToLowerInvariant();
    }

    /// <summary>The front end of <paramref name="kind"/> with input normalisation <paramref name="normalization"/>, without statistics.</summary>
    public static KwsFrontEnd For(KwsModelKind kind, KwsInputNormalization normalization = KwsInputNormalization.None)
    {
        var fe = Create(kind);
        fe.InputNormalization = normalization;
        return fe;
    }

    static KwsFrontEnd Create(KwsModelKind kind) => kind switch
    {
        KwsModelKind.Wave => new WaveFrontEnd(),
        KwsModelKind.DeepSpeech => new LogSpectrogramFrontEnd(),
        KwsModelKind.Conv => new MfccFrontEnd(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown KWS model kind."),
    };

    /// <summary>Rebuilds the front end of <paramref name="kind"/> from checkpoint metadata (statistics included).</summary>
    /// <exception cref="InvalidDataException">The metadata names another front end, or its statistics are missing or malformed.</exception>
    public static KwsFrontEnd FromMetadata(KwsModelKind kind, IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        var fe = For(kind, metadata.TryGetValue(NormalizationKey, out var norm) ? ParseNormalization(norm) : KwsInputNormalization.None);
        if (metadata.TryGetValue(NameKey, out var name) && name != fe.Name)
            throw new InvalidDataException($"checkpoint front end '{name}' does not match the {kind.Name()} model's '{fe.Name}'.");
        fe.ReadMetadata(metadata);
        return fe;
    }

    /// <summary>Parses "none" or "peak" (case-insensitive).</summary>
    public static KwsInputNormalization ParseNormalization(string name) => name?.Trim().ToLowerInvariant() switch
    {
        "none" => KwsInputNormalization.None,
        "peak" => KwsInputNormalization.Peak,
        _ => throw new ArgumentException($"unknown input normalisation '{name}'; expected none or peak."),
    };

    /// <summary>Restores statistics written by <see cref="WriteMetadata"/>; nothing for stateless front ends.</summary>
    protected virtual void ReadMetadata(IReadOnlyDictionary<string, string> metadata) { }

    /// <summary>A float array as a JSON array with round-trip precision (checkpoint metadata values are strings).</summary>
    protected static string FloatsToJson(IEnumerable<float> values) =>
        "[" + string.Join(",", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "]";

    /// <summary>Parses a JSON array of numbers written by <see cref="FloatsToJson"/>; the error names the key.</summary>
    protected static float[] FloatsFromJson(IReadOnlyDictionary<string, string> metadata, string key)
    {
        if (!metadata.TryGetValue(key, out var json)) throw new InvalidDataException($"checkpoint metadata lacks '{key}'.");
        try { return JsonSerializer.Deserialize(json, KwsJson.Default.SingleArray) ?? throw new InvalidDataException($"checkpoint metadata '{key}' is null."); }
        catch (JsonException e) { throw new InvalidDataException($"checkpoint metadata '{key}' is not a JSON array of numbers: {e.Message}"); }
    }
}

/// <summary>The identity front end of <see cref="WaveKws"/>: the model reads the waveform.</summary>
public sealed class WaveFrontEnd : KwsFrontEnd
{
    /// <inheritdoc/>
    public override string Name => "wave";

    /// <inheritdoc/>
    protected override Tensor Transform(Tensor wav) => wav;
}
