// AttentionTagger: the Rainforest species detector of DESIGN.md (model 4), as AttentionTagger in
// ../shared/reference/models.py, so state_dicts move both ways:
//   img (B, 3, H, W) -> backbone (B, C, H', W') -> mean over frequency H' (B, C, W') -> dropout .25
//   -> att = softmax over time of clamp(conv1x1(x), -10, 10), cls = conv1x1(x)    (B, K, W') each
//   -> logits = sum over time of att * cls                                          (B, K)
// The sigmoid is left to the loss (BCE with logits) and to prediction, as in the twin.
// Children: backbone, att, cls (the twin's names); the dropout holds no tensors.
using Cochlea.Models.Tagging.Backbones;
using Cochlea.Nn;

namespace Cochlea.Models.Tagging;

/// <summary>The tagging backbones (torchvision's).</summary>
public enum TaggerBackbone
{
    /// <summary>torchvision resnet50, named as the twin's nn.Sequential (backbone.0 = conv1, ..., backbone.7 = layer4).</summary>
    ResNet50,
    /// <summary>torchvision efficientnet_b3().features (backbone.0 .. backbone.8).</summary>
    EfficientNetB3,
    /// <summary>torchvision inception_v3 up to Mixed_7c (backbone.Conv2d_1a_3x3 ... backbone.Mixed_7c).</summary>
    InceptionV3,
}

/// <summary>Backbone features -> attention pooling over time -> (B, classes) logits. See the file header.</summary>
public sealed class AttentionTagger : Module
{
    /// <summary>The clip on the attention logits before the softmax.</summary>
    public const float AttentionClip = 10f;

    readonly Module _backbone;
    readonly Conv1d _att, _cls;
    readonly Dropout _drop;

    /// <summary>The backbone module (registered as "backbone").</summary>
    public Module Backbone => _backbone;
    /// <summary>Channels of the backbone's feature map.</summary>
    public int Channels { get; }
    /// <summary>Number of classes (species).</summary>
    public int NumClasses { get; }

    /// <summary>A tagger on <paramref name="backbone"/> whose feature map has <paramref name="channels"/> channels.</summary>
    public AttentionTagger(Module backbone, int channels, int numClasses = 24, float dropout = 0.25f, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        if (channels < 1) throw new ArgumentOutOfRangeException(nameof(channels), channels, "AttentionTagger: channels must be positive.");
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "AttentionTagger: needs at least one class.");
        (Channels, NumClasses) = (channels, numClasses);
        var rng = new Random(seed + 7919);
        _backbone = RegisterModule("backbone", backbone);
        _att = RegisterModule("att", new Conv1d(channels, numClasses, 1, rng: rng));
        _cls = RegisterModule("cls", new Conv1d(channels, numClasses, 1, rng: rng));
        _drop = RegisterModule("drop", new Dropout(dropout, new Philox((ulong)seed)));
    }

    /// <summary>The dropout stream (its offset belongs in a checkpoint for bit-exact resume).</summary>
    public Philox DropoutRng => _drop.Rng;

    /// <summary>
    /// Builds a tagger on one of torchvision's backbones. <paramref name="widthScale"/> 1 is torchvision's network; smaller
    /// values shrink it for training on few cores (ResNet50: stem width 64 * s; EfficientNet-B3: width_mult 1.2 * s;
    /// InceptionV3: every conv's channels / round(1 / s)); <paramref name="depthScale"/> shrinks the block counts where the
    /// architecture has them (ResNet50 blocks per stage, EfficientNet depth_mult 1.4 * d).
    /// </summary>
    public static AttentionTagger Create(TaggerBackbone kind, int numClasses = 24, double widthScale = 1, double depthScale = 1, int seed = 0)
    {
        if (!(widthScale > 0 && widthScale <= 1)) throw new ArgumentOutOfRangeException(nameof(widthScale), widthScale, "widthScale must be in (0, 1].");
        if (!(depthScale > 0 && depthScale <= 1)) throw new ArgumentOutOfRangeException(nameof(depthScale), depthScale, "depthScale must be in (0, 1].");
        switch (kind)
        {
            case TaggerBackbone.ResNet50:
            {
                int width = Math.Max(1, (int)Math.Round(64 * widthScale));
                var blocks = ResNet50.DefaultBlocks.Select(b => Math.Max(1, (int)Math.Ceiling(b * depthScale))).ToArray();
                var net = new ResNet50(width, blocks, sequentialNames: true, seed: seed);
                return new AttentionTagger(net, net.OutChannels, numClasses, seed: seed);
            }
            case TaggerBackbone.EfficientNetB3:
            {
                var net = new EfficientNetB3(1.2 * widthScale, 1.4 * depthScale, seed: seed);
                return new AttentionTagger(net, net.OutChannels, numClasses, seed: seed);
            }
            case TaggerBackbone.InceptionV3:
            {
                int div = widthScale switch { >= 1 => 1, >= 0.5 => 2, >= 0.25 => 4, _ => 8 };
                var net = new InceptionV3(div, seed: seed);
                return new AttentionTagger(net, net.OutChannels, numClasses, seed: seed);
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown backbone");
        }
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor img)
    {
        if (img.Rank != 4) throw new ArgumentException($"AttentionTagger: expected images (B, 3, H, W), got {img.Describe()}.");
        var f = _backbone.Forward(img);                     // (B, C, H', W')
        if (f.Rank != 4 || f.Size(1) != Channels) throw new InvalidOperationException($"AttentionTagger: the backbone gave {f.Describe()}, expected (B, {Channels}, H', W').");
        var x = Ops.Mean(f, [2]);                            // (B, C, W'): mean over frequency
        x = _drop.Forward(x);
        var att = Ops.Softmax(Ops.Clamp(_att.Forward(x), -AttentionClip, AttentionClip), 2);
        return Ops.Sum(Ops.Mul(att, _cls.Forward(x)), [2]);  // (B, K)
    }
}
