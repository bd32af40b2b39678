// ResNet-50 as torchvision 0.14 builds it (resnet50(): Bottleneck v1.5, stride on the 3x3 conv),
// without its head (avgpool, fc): img (B, 3, H, W) -> features (B, 32 * width, H/32, W/32)
// (2048 channels at the default width 64). Parameter names are torchvision's (conv1, bn1,
// layer1.0.conv1, layer1.0.downsample.0, ...), so a torchvision state_dict loads directly (its
// fc.* entries are the classifier this backbone does not have; see TorchvisionImport). With
// sequentialNames the stem and stages are named as nn.Sequential(*list(resnet.children())[:-2])
// names them ("0" conv1, "1" bn1, "4".."7" layer1..layer4): the backbone of the reference twin
// resnet50_tagger in ../shared/reference/models.py.
// width (64) and blocks (3, 4, 6, 3) can be reduced for small experiments and fixtures; channels
// are then width, and width * (1, 2, 4, 8) planes with expansion 4, exactly as torchvision's layers.
using Cochlea.Nn;

namespace Cochlea.Models.Tagging.Backbones;

/// <summary>torchvision's Bottleneck: 1x1 -> 3x3 (stride) -> 1x1 (x4), BN after each, ReLU, identity or downsample added.</summary>
public sealed class Bottleneck : Module
{
    /// <summary>Output channels = planes * 4.</summary>
    public const int Expansion = 4;

    readonly Conv2d _conv1, _conv2, _conv3;
    readonly BatchNorm2d _bn1, _bn2, _bn3;
    readonly Sequential? _downsample;
    readonly Conv2d? _downConv;
    readonly BatchNorm2d? _downBn;

    /// <summary>A block from <paramref name="inplanes"/> to planes * 4 channels; a downsample (1x1 conv, BN) when the shape changes.</summary>
    public Bottleneck(int inplanes, int planes, int stride, Random rng)
    {
        _conv1 = RegisterModule("conv1", new Conv2d(inplanes, planes, (1, 1), bias: false, rng: rng));
        _bn1 = RegisterModule("bn1", new BatchNorm2d(planes));
        _conv2 = RegisterModule("conv2", new Conv2d(planes, planes, (3, 3), (stride, stride), 1, bias: false, rng: rng));
        _bn2 = RegisterModule("bn2", new BatchNorm2d(planes));
        _conv3 = RegisterModule("conv3", new Conv2d(planes, planes * Expansion, (1, 1), bias: false, rng: rng));
        _bn3 = RegisterModule("bn3", new BatchNorm2d(planes * Expansion));
        if (stride != 1 || inplanes != planes * Expansion)
        {
            _downConv = new Conv2d(inplanes, planes * Expansion, (1, 1), (stride, stride), bias: false, rng: rng);
            BackboneInit.KaimingNormalFanOut(_downConv, rng);
            _downBn = new BatchNorm2d(planes * Expansion);
            _downsample = RegisterModule("downsample", new Sequential(_downConv, _downBn));
        }
        foreach (var c in new[] { _conv1, _conv2, _conv3 }) BackboneInit.KaimingNormalFanOut(c, rng);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        // Each conv with its batch norm (+ residual) and ReLU: fused into the conv's GEMM in eval, the modules in training.
        var h = ConvBatchNorm.Forward(_conv1, _bn1, x);
        h = ConvBatchNorm.Forward(_conv2, _bn2, h);
        var identity = _downsample is null ? x : ConvBatchNorm.Forward(_downConv!, _downBn!, x, relu: false);
        return ConvBatchNorm.Forward(_conv3, _bn3, h, residual: identity);
    }
}

/// <summary>ResNet-50 feature extractor (torchvision layout, no avgpool/fc): (B, 3, H, W) -> (B, <see cref="OutChannels"/>, H/32, W/32).</summary>
public sealed class ResNet50 : Module
{
    /// <summary>torchvision's blocks per stage.</summary>
    public static readonly int[] DefaultBlocks = [3, 4, 6, 3];

    readonly Conv2d _conv1;
    readonly BatchNorm2d _bn1;
    readonly Sequential[] _layers;

    /// <summary>Channels of the feature map: width * 8 * 4 (2048 at width 64).</summary>
    public int OutChannels { get; }

    /// <summary>
    /// Builds the backbone. <paramref name="width"/>: stem channels (64 in torchvision); <paramref name="blocks"/>: blocks per stage
    /// (3, 4, 6, 3). <paramref name="sequentialNames"/>: name the children as the reference twin's nn.Sequential does (see file header).
    /// </summary>
    public ResNet50(int width = 64, int[]? blocks = null, bool sequentialNames = false, int seed = 0)
    {
        blocks ??= DefaultBlocks;
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), width, "ResNet50: width must be positive.");
        if (blocks.Length != 4 || blocks.Any(b => b < 1)) throw new ArgumentException($"ResNet50: expected 4 positive block counts, got [{string.Join(", ", blocks)}].", nameof(blocks));
        var rng = new Random(seed);
        _conv1 = RegisterModule(sequentialNames ? "0" : "conv1", new Conv2d(3, width, (7, 7), (2, 2), 3, bias: false, rng: rng));
        BackboneInit.KaimingNormalFanOut(_conv1, rng);
        _bn1 = RegisterModule(sequentialNames ? "1" : "bn1", new BatchNorm2d(width));
        int inplanes = width;
        _layers = new Sequential[4];
        for (int s = 0; s < 4; s++)
        {
            int planes = width << s;
            var stage = new Sequential();
            for (int b = 0; b < blocks[s]; b++)
            {
                stage.Add(new Bottleneck(inplanes, planes, b == 0 && s > 0 ? 2 : 1, rng));
                inplanes = planes * Bottleneck.Expansion;
            }
            _layers[s] = RegisterModule(sequentialNames ? (s + 4).ToString(System.Globalization.CultureInfo.InvariantCulture) : $"layer{s + 1}", stage);
        }
        OutChannels = inplanes;
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor img)
    {
        if (img.Rank != 4 || img.Size(1) != 3) throw new ArgumentException($"ResNet50: expected images (B, 3, H, W), got {img.Describe()}.");
        var x = ConvBatchNorm.Forward(_conv1, _bn1, img);
        x = Ops.MaxPool2d(x, (3, 3), (2, 2), (1, 1));
        foreach (var layer in _layers) x = layer.Forward(x);
        return x;
    }
}
