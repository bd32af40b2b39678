// A trained (or training) keyword spotter as one object: the model, its front end and its class
// labels, with the checkpoint metadata that rebuilds all three. A KWS checkpoint is a Checkpoint
// file (model state_dict under the PyTorch twin's names, optional optimizer state) whose
// metadata says which model it is (kws.model, kws.widths), what it outputs (kws.labels), how its
// input is made (kws.frontend, feature statistics) and where its dropout streams were (kws.rng.*),
// so eval, predict, distillation teachers and resume need nothing but the file.
using System.Globalization;
using System.Text.Json;
using Cochlea.Checkpoints;
using Cochlea.IO;
using Cochlea.Nn;
using Cochlea.Optim;

namespace Cochlea.Models.Kws;

/// <summary>A KWS model with its front end and labels: (B, 16000) waveforms -> (B, classes) logits.</summary>
public sealed class KwsClassifier : IDisposable
{
    /// <summary>Metadata keys written by <see cref="Metadata"/>.</summary>
    public const string ModelKey = "kws.model", LabelsKey = "kws.labels", WidthsKey = "kws.widths", SampleRateKey = "kws.sample_rate",
        SamplesKey = "kws.samples", RngPrefix = "kws.rng.";

    /// <summary>Sample rate every KWS model expects.</summary>
    public const int SampleRate = 16000;

    /// <summary>Samples per clip (1 s).</summary>
    public const int ClipSamples = 16000;

    KwsClassifier(KwsModelKind kind, string[] labels, int[] widths, Module model, KwsFrontEnd frontEnd)
    {
        Kind = kind; Labels = labels; Widths = widths; Model = model; FrontEnd = frontEnd;
    }

    /// <summary>The architecture.</summary>
    public KwsModelKind Kind { get; }

    /// <summary>Class names in output order (e.g. [_silence_, _unknown_, yes, no, ...]).</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>WaveKws block widths (empty for the other kinds).</summary>
    public IReadOnlyList<int> Widths { get; }

    /// <summary>The network (its state_dict is the PyTorch twin's).</summary>
    public Module Model { get; }

    /// <summary>The input transform.</summary>
    public KwsFrontEnd FrontEnd { get; }

    /// <summary>Where the network's parameters live (the front end always runs on the host); see <see cref="To"/>.</summary>
    public Device Device { get; private set; } = Device.Cpu;

    /// <summary>
    /// Moves the network to <paramref name="device"/> (Module.To: in place, so optimizers built before keep working). From then on
    /// <see cref="Logits"/> runs the front end on the host and the network on the device; results stay on the device.
    /// </summary>
    /// <exception cref="Cochlea.Cuda.CudaException">A CUDA device and CUDA is unavailable (the message says why).</exception>
    public KwsClassifier To(Device device)
    {
        Model.To(device);
        Device = device;
        return this;
    }

    /// <summary>
    /// A freshly initialised model of <paramref name="kind"/> for <paramref name="labels"/> (at least 2). <paramref name="widths"/>
    /// shortens WaveKws for quick experiments (default: the document's 128..512); other kinds must not get one.
    /// <paramref name="normalization"/> is the front end's per-clip level normalisation.
    /// </summary>
    public static KwsClassifier Create(KwsModelKind kind, IReadOnlyList<string> labels, int seed = 0, int[]? widths = null,
        KwsInputNormalization normalization = KwsInputNormalization.None)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var names = labels.ToArray();
        if (names.Length < 2) throw new ArgumentException($"a keyword spotter needs at least 2 classes, got {names.Length}.", nameof(labels));
        if (names.Any(string.IsNullOrWhiteSpace) || names.Distinct(StringComparer.Ordinal).Count() != names.Length)
            throw new ArgumentException($"class labels must be distinct and non-empty: [{string.Join(", ", names)}].", nameof(labels));
        if (widths is not null && kind != KwsModelKind.Wave)
            throw new ArgumentException($"widths apply to the wave model only, not to {kind.Name()}.", nameof(widths));
        if (widths is not null && (widths.Length == 0 || widths.Any(w => w < 1)))
            throw new ArgumentException($"widths must be one or more positive channel counts, got [{string.Join(", ", widths)}].", nameof(widths));
        var frontEnd = KwsFrontEnd.For(kind, normalization);
        return Build(kind, names, widths, seed, frontEnd);
    }

    static KwsClassifier Build(KwsModelKind kind, string[] labels, int[]? widths, int seed, KwsFrontEnd frontEnd)
    {
        Module model = kind switch
        {
            KwsModelKind.Wave => new WaveKws(labels.Length, widths ?? WaveKws.DefaultWidths, seed),
            KwsModelKind.DeepSpeech => new DeepSpeechKws(labels.Length, seed: seed),
            KwsModelKind.Conv => new TutorialConv(labels.Length, seed: seed),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown KWS model kind."),
        };
        return new KwsClassifier(kind, labels, kind == KwsModelKind.Wave ? (widths ?? WaveKws.DefaultWidths).ToArray() : [], model, frontEnd);
    }

    /// <summary>Logits (B, classes) of a (B, 16000) waveform batch, in the model's current mode (recorded for autograd in training).</summary>
    /// <remarks>The waveforms may be on any device: the front end reads them on the host, its features move to <see cref="Device"/>.</remarks>
    public Tensor Logits(Tensor wav)
    {
        ArgumentNullException.ThrowIfNull(wav);
        var features = FrontEnd.Forward(wav.Device.IsCpu ? wav : wav.To(Device.Cpu));
        return Model.Forward(features.Device == Device ? features : features.To(Device));
    }

    /// <summary>
    /// Class probabilities softmax(logits) of <paramref name="count"/> clips stacked in <paramref name="clips"/> (count x 16000),
    /// in eval mode without gradients: (count x classes), row-major. Leaves the model in eval mode.
    /// </summary>
    public float[] Probabilities(ReadOnlySpan<float> clips, int count)
    {
        if (count < 0 || clips.Length != (long)count * ClipSamples)
            throw new ArgumentException($"expected {count} clips of {ClipSamples} samples ({(long)count * ClipSamples} values), got {clips.Length} values.", nameof(clips));
        if (count == 0) return [];
        Model.Eval();
        using var noGrad = Tensor.NoGrad();
        using var scope = Tensor.Scope();
        var x = Tensor.Empty(count, ClipSamples);
        clips.CopyTo(x.AsSpan());
        return Ops.Softmax(Logits(x), 1).ToArray();
    }

    /// <summary>Everything needed to rebuild this classifier (model kind, labels, widths, front end, dropout stream offsets).</summary>
    public Dictionary<string, string> Metadata()
    {
        var m = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ModelKey] = Kind.Name(),
            [LabelsKey] = JsonSerializer.Serialize(Labels, KwsJson.Default.IReadOnlyListString),
            [SampleRateKey] = SampleRate.ToString(CultureInfo.InvariantCulture),
            [SamplesKey] = ClipSamples.ToString(CultureInfo.InvariantCulture),
        };
        if (Kind == KwsModelKind.Wave) m[WidthsKey] = JsonSerializer.Serialize(Widths, KwsJson.Default.IReadOnlyListInt32);
        FrontEnd.WriteMetadata(m);
        // Dropout streams: restoring their offsets makes a resumed run draw the masks an uninterrupted one would.
        foreach (var (name, d) in Dropouts()) m[RngPrefix + name] = d.Rng.Offset.ToString(CultureInfo.InvariantCulture);
        return m;
    }

    /// <summary>Sets the dropout streams to the offsets saved in <paramref name="metadata"/> (keys kws.rng.*; missing keys leave a stream as it is).</summary>
    public void RestoreRandomState(IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        foreach (var (name, d) in Dropouts())
            if (metadata.TryGetValue(RngPrefix + name, out var v))
                d.Rng.Offset = ulong.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var off) ? off
                    : throw new InvalidDataException($"checkpoint metadata '{RngPrefix + name}' is not an offset: '{v}'.");
    }

    IEnumerable<(string Name, Dropout Module)> Dropouts() =>
        Model.NamedModules().Where(m => m.Module is Dropout).Select(m => (m.Name, (Dropout)m.Module));

    /// <summary>Saves the model (and <paramref name="optimizer"/>'s state, when given) with <see cref="Metadata"/> plus <paramref name="extra"/>.</summary>
    public void Save(string path, Optimizer? optimizer = null, IReadOnlyDictionary<string, string>? extra = null)
    {
        var meta = Metadata();
        if (extra is not null)
            foreach (var (k, v) in extra) meta[k] = v;
        Checkpoint.Save(Model, optimizer, path, meta);
    }

    /// <summary>The metadata of a checkpoint file without loading its tensors.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">The file is not a KWS checkpoint (no kws.model).</exception>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint not found: {Path.GetFullPath(path)}", path);
        using var f = SafeTensorsFile.Open(path);
        if (!f.Metadata.ContainsKey(ModelKey))
            throw new InvalidDataException($"{path} is not a keyword-spotting checkpoint (its metadata has no '{ModelKey}'; it was not written by `cochlea train kws`).");
        return f.Metadata;
    }

    /// <summary>An untrained classifier shaped as the checkpoint described by <paramref name="metadata"/> (front-end statistics included).</summary>
    public static KwsClassifier FromMetadata(IReadOnlyDictionary<string, string> metadata, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        string Get(string key) => metadata.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"checkpoint metadata lacks '{key}'.");
        var kind = KwsModelKinds.Parse(Get(ModelKey));
        string[] labels;
        int[]? widths = null;
        try
        {
            labels = JsonSerializer.Deserialize(Get(LabelsKey), KwsJson.Default.StringArray) ?? [];
            if (kind == KwsModelKind.Wave) widths = JsonSerializer.Deserialize(Get(WidthsKey), KwsJson.Default.Int32Array);
        }
        catch (JsonException e) { throw new InvalidDataException($"checkpoint metadata is malformed: {e.Message}"); }
        if (metadata.TryGetValue(SampleRateKey, out var sr) && sr != SampleRate.ToString(CultureInfo.InvariantCulture))
            throw new InvalidDataException($"checkpoint was trained at {sr} Hz; this build's KWS models use {SampleRate} Hz.");
        if (labels.Length < 2) throw new InvalidDataException($"checkpoint metadata '{LabelsKey}' lists {labels.Length} classes; at least 2 are needed.");
        return Build(kind, labels, widths, seed, KwsFrontEnd.FromMetadata(kind, metadata));
    }

    /// <summary>Loads a checkpoint written by <see cref="Save"/> for inference (optimizer state is ignored); the model is in eval mode.</summary>
    public static KwsClassifier Load(string path)
    {
        var meta = ReadMetadata(path);
        var c = FromMetadata(meta);
        try
        {
            Checkpoint.Load(c.Model, null, path);
            c.RestoreRandomState(meta);
            c.Model.Eval();
            return c;
        }
        catch
        {
            c.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public void Dispose() => Model.Dispose();
}
