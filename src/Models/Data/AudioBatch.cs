// The default batch type of the loader: B fixed-length clips stacked into one pooled (B, N) float
// buffer, their labels, and optional (B, C) soft targets (one-hot, or mixed by mixup). Buffers come
// from ArrayPool and go back on Dispose, so a long run does not churn the GC with 1 MB batches.
// Tensors are made on demand by the consumer (see AudioTensor), never on a worker thread, so they
// belong to the consumer's Tensor.Scope like any other temporary of the training step.
using System.Buffers;
using Cochlea.Models.Augment;

namespace Cochlea.Models.Data;

/// <summary>One loaded clip: mono audio and its class index.</summary>
/// <param name="Audio">Samples (N).</param>
/// <param name="Label">Class index.</param>
public sealed record AudioExample(float[] Audio, int Label);

/// <summary>Where a batch sits in the run, and the random stream reserved for batch-level work (mixup).</summary>
/// <param name="Epoch">Epoch number.</param>
/// <param name="Index">Batch index within the epoch.</param>
/// <param name="Rng">A stream that depends only on (seed, epoch, index), distinct from the examples' streams.</param>
public sealed record BatchContext(int Epoch, int Index, Philox Rng);

/// <summary>
/// A batch of clips: <see cref="Audio"/> (B, N), <see cref="Labels"/> (B), optional <see cref="Targets"/> (B, C).
/// Owns pooled buffers: dispose it when the step is done (the loader disposes batches it never handed out).
/// </summary>
public sealed class AudioBatch : IDisposable
{
    float[]? _audio, _targets;
    readonly int[] _labels;

    /// <summary>A batch over pooled buffers of at least size*samples (and size*classes) floats; takes ownership of them.</summary>
    internal AudioBatch(int epoch, int index, int size, int samples, int classes, float[] audio, int[] labels, float[]? targets)
    {
        Epoch = epoch; Index = index; Size = size; Samples = samples; Classes = classes;
        _audio = audio; _labels = labels; _targets = targets;
    }

    /// <summary>Epoch the batch belongs to.</summary>
    public int Epoch { get; }

    /// <summary>Batch index in the epoch.</summary>
    public int Index { get; }

    /// <summary>B, the number of clips.</summary>
    public int Size { get; }

    /// <summary>N, samples per clip.</summary>
    public int Samples { get; }

    /// <summary>C, classes of <see cref="Targets"/> (0 when there are no soft targets).</summary>
    public int Classes { get; }

    /// <summary>What mixup did to this batch, if it was applied.</summary>
    public MixupResult? Mixup { get; internal set; }

    /// <summary>(B, N) audio, row-major.</summary>
    public Span<float> Audio => (_audio ?? throw Disposed()).AsSpan(0, Size * Samples);

    /// <summary>(B) class indices (the original ones, also after mixup).</summary>
    public ReadOnlySpan<int> Labels => _labels;

    /// <summary>(B, C) soft targets; empty when <see cref="Classes"/> is 0.</summary>
    public Span<float> Targets => _targets is null ? (_audio is null ? throw Disposed() : Span<float>.Empty) : _targets.AsSpan(0, Size * Classes);

    /// <summary>A new (B, N) float32 tensor with a copy of the audio, created on the calling thread (owned by its current Tensor.Scope, if any).</summary>
    public Tensor AudioTensor() => Copy(Audio, Size, Samples);

    /// <summary>A new (B) int64 tensor of the labels (for cross-entropy), created on the calling thread.</summary>
    public Tensor LabelTensor() => Tensor.FromArray(_labels.Select(l => (long)l).ToArray(), Size);

    /// <summary>A new (B, C) float32 tensor of the soft targets; throws when the batch has none.</summary>
    public Tensor TargetTensor()
    {
        if (Classes == 0) throw new InvalidOperationException("AudioBatch: this batch has no soft targets (collate with classes > 0).");
        return Copy(Targets, Size, Classes);
    }

    /// <summary>Returns the buffers to the pool. The spans are invalid afterwards.</summary>
    public void Dispose()
    {
        if (_audio is not null) ArrayPool<float>.Shared.Return(_audio);
        if (_targets is not null) ArrayPool<float>.Shared.Return(_targets);
        _audio = _targets = null;
    }

    static Tensor Copy(ReadOnlySpan<float> data, int rows, int cols)
    {
        var t = Tensor.Empty(rows, cols);
        data.CopyTo(t.AsSpan());
        return t;
    }

    static ObjectDisposedException Disposed() => new(nameof(AudioBatch), "This batch was disposed; its pooled buffers have been returned.");
}

/// <summary>Collate functions: examples of one batch -> a batch object.</summary>
public static class Collate
{
    /// <summary>
    /// Stacks <see cref="AudioExample"/>s of exactly <paramref name="samples"/> samples into an <see cref="AudioBatch"/>.
    /// With <paramref name="classes"/> &gt; 0 the batch carries one-hot targets (B, C), optionally label-smoothed; with
    /// <paramref name="mixupAlpha"/> &gt; 0 inputs and targets are mixed (<see cref="Augment.Mixup"/>) from the batch's stream.
    /// </summary>
    public static Func<AudioExample[], BatchContext, AudioBatch> Audio(int samples, int classes = 0, double mixupAlpha = 0, float labelSmoothing = 0f)
    {
        if (samples <= 0) throw new ArgumentOutOfRangeException(nameof(samples), $"Collate.Audio: samples must be > 0 (got {samples}).");
        if (classes < 0) throw new ArgumentOutOfRangeException(nameof(classes), $"Collate.Audio: classes must be >= 0 (got {classes}).");
        if (!(mixupAlpha >= 0) || !double.IsFinite(mixupAlpha)) throw new ArgumentOutOfRangeException(nameof(mixupAlpha), $"Collate.Audio: mixupAlpha must be finite and >= 0 (got {mixupAlpha}).");
        if (mixupAlpha > 0 && classes == 0) throw new ArgumentException("Collate.Audio: mixup needs soft targets; pass the number of classes.", nameof(classes));
        if (!(labelSmoothing >= 0 && labelSmoothing < 1)) throw new ArgumentOutOfRangeException(nameof(labelSmoothing), $"Collate.Audio: labelSmoothing must be in [0, 1) (got {labelSmoothing}).");
        if (labelSmoothing > 0 && classes == 0) throw new ArgumentException("Collate.Audio: label smoothing needs soft targets; pass the number of classes.", nameof(classes));

        return (examples, ctx) =>
        {
            ArgumentNullException.ThrowIfNull(examples);
            ArgumentNullException.ThrowIfNull(ctx);
            int b = examples.Length;
            var audio = ArrayPool<float>.Shared.Rent(Math.Max(1, b * samples));
            var labels = new int[b];
            float[]? targets = classes > 0 ? ArrayPool<float>.Shared.Rent(Math.Max(1, b * classes)) : null;
            var batch = new AudioBatch(ctx.Epoch, ctx.Index, b, samples, classes, audio, labels, targets);
            try
            {
                for (int i = 0; i < b; i++)
                {
                    var ex = examples[i] ?? throw new ArgumentException($"Collate.Audio: example {i} is null.", nameof(examples));
                    if (ex.Audio.Length != samples)
                        throw new ArgumentException($"Collate.Audio: example {i} has {ex.Audio.Length} samples; this batch stacks clips of {samples} (fit them to length in the load function).", nameof(examples));
                    if (classes > 0 && (uint)ex.Label >= (uint)classes)
                        throw new ArgumentOutOfRangeException(nameof(examples), $"Collate.Audio: example {i} has label {ex.Label}, outside [0, {classes}).");
                    ex.Audio.CopyTo(audio, i * samples);
                    labels[i] = ex.Label;
                }
                if (classes > 0) Augment.Mixup.OneHot(labels, batch.Targets, classes, labelSmoothing);
                if (mixupAlpha > 0) batch.Mixup = Augment.Mixup.Apply(batch.Audio, batch.Targets, b, mixupAlpha, ctx.Rng);
                return batch;
            }
            catch
            {
                batch.Dispose();
                throw;
            }
        };
    }
}
