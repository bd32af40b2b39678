// The clips of one Speech Commands folder as batches: the decoder, the background noise (decoded
// once) and the TF-tutorial pipeline, and loaders over any list of its entries. Training loaders
// augment (time shift, noise at background_volume with background_frequency); evaluation loaders
// do not, except that silence entries always get noise, as in the tutorial. Every batch depends
// only on (seed, epoch, batch index), so validation sees identical clips every epoch.
using Cochlea.Models.Data;

namespace Cochlea.Models.Kws;

/// <summary>Batches of one data set's clips for training and evaluation.</summary>
public sealed class KwsClips
{
    /// <summary>Clips of <paramref name="dataset"/> with augmentation <paramref name="augment"/> (TF tutorial defaults when null).</summary>
    public KwsClips(SpeechCommandsDataset dataset, KwsAugmentOptions? augment = null, ClipDecoder? decoder = null)
    {
        Dataset = dataset ?? throw new ArgumentNullException(nameof(dataset));
        Decoder = decoder ?? KwsData.Decoder();
        augment ??= new KwsAugmentOptions();
        if (augment.Samples != KwsClassifier.ClipSamples)
            throw new ArgumentException($"KWS clips are {KwsClassifier.ClipSamples} samples; the augmentation options say {augment.Samples}.", nameof(augment));
        Noise = dataset.LoadBackgroundNoise(Decoder);
        Pipeline = new SpeechCommandsPipeline(Decoder, Noise, augment);
    }

    /// <summary>The indexed folder.</summary>
    public SpeechCommandsDataset Dataset { get; }

    /// <summary>The decoder (mono, 16 kHz).</summary>
    public ClipDecoder Decoder { get; }

    /// <summary>The decoded _background_noise_ clips; null when the folder has none (silence entries are then all zeros).</summary>
    public Augment.BackgroundNoise? Noise { get; }

    /// <summary>Per-item loading and augmentation.</summary>
    public SpeechCommandsPipeline Pipeline { get; }

    /// <summary>
    /// A loader over <paramref name="items"/>: augmented and shuffled when <paramref name="training"/>, in order otherwise; batches of
    /// (B, 16000) audio and labels. Dispose it when done.
    /// </summary>
    public DataLoader<SpeechCommandsItem, AudioExample, AudioBatch> Loader(IReadOnlyList<SpeechCommandsItem> items, bool training, int batchSize, int workers, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(items);
        return DataLoader.Create(items, (item, rng) => Pipeline.Load(item, rng, training), Collate.Audio(KwsClassifier.ClipSamples),
            new DataLoaderOptions { BatchSize = batchSize, Shuffle = training, Workers = workers, Seed = seed });
    }
}
