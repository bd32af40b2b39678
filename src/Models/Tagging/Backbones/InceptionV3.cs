// Inception v3 as torchvision 0.14 builds it (inception_v3(): BasicConv2d = conv (no bias) -> BN
// (eps 1e-3) -> ReLU; blocks InceptionA..E), without the auxiliary classifier, avgpool, dropout and
// fc: img (B, 3, H, W) -> Mixed_7c (B, 2048, ~H/32 - 1, ~W/32 - 1); H, W >= 75. Parameter names are
// torchvision's (Conv2d_1a_3x3.conv.weight, Mixed_5b.branch1x1.bn.running_var, ...).
// transformInput reproduces transform_input=True (what torchvision sets with ImageNet weights).
// widthDivisor d divides every conv's channels by d (the input's 3 excepted), as torchvision's own
// Inception3 does when handed a conv_block that divides them: branch sums stay consistent because
// every channel count of the network is a multiple of 8 (d in 1, 2, 4, 8).
using Cochlea.Nn;

namespace Cochlea.Models.Tagging.Backbones;

/// <summary>torchvision's BasicConv2d: conv (no bias) -> BN (eps 1e-3) -> ReLU. Children conv, bn.</summary>
public sealed class BasicConv2d : Module
{
    readonly Conv2d _conv;
    readonly BatchNorm2d _bn;

    /// <summary>A conv of kernel <paramref name="kernel"/>, stride and (per-axis) padding as given.</summary>
    public BasicConv2d(int cin, int cout, (int H, int W) kernel, Random rng, int stride = 1, (int H, int W) padding = default)
    {
        _conv = RegisterModule("conv", new Conv2d(cin, cout, kernel, (stride, stride), ConvPadding.Symmetric(padding.H, padding.W), bias: false, rng: rng));
        BackboneInit.TruncatedNormal(_conv, 0.1, rng);
        _bn = RegisterModule("bn", new BatchNorm2d(cout, eps: 1e-3f));
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.Relu(_bn.Forward(_conv.Forward(x)));
}

/// <summary>The branch structure shared by InceptionA..E: named BasicConv2d children and a forward that concatenates branches.</summary>
public abstract class InceptionBlock : Module
{
    readonly int _div;
    readonly Random _rng;

    /// <summary>A block whose convs divide their channels by <paramref name="div"/>.</summary>
    protected InceptionBlock(int div, Random rng) => (_div, _rng) = (div, rng);

    /// <summary>Registers conv <paramref name="name"/> from <paramref name="cin"/> to <paramref name="cout"/> torchvision channels.</summary>
    protected BasicConv2d Conv(string name, int cin, int cout, (int H, int W) k, int stride = 1, (int H, int W) pad = default) =>
        RegisterModule(name, new BasicConv2d(cin / _div, cout / _div, k, _rng, stride, pad));

    /// <summary>avg_pool2d(x, 3, stride 1, padding 1), count_include_pad (torchvision's pool branch).</summary>
    protected static Tensor AvgPool3(Tensor x) => Ops.AvgPool2d(x, (3, 3), (1, 1), (1, 1));

    /// <summary>max_pool2d(x, 3, stride 2).</summary>
    protected static Tensor MaxPool3s2(Tensor x) => Ops.MaxPool2d(x, (3, 3), (2, 2));
}

/// <summary>InceptionA: 1x1 | 1x1-5x5 | 1x1-3x3-3x3 | avgpool-1x1 (pool_features).</summary>
public sealed class InceptionA : InceptionBlock
{
    readonly BasicConv2d _b1, _b5a, _b5b, _b3a, _b3b, _b3c, _bp;

    /// <summary>Block on <paramref name="cin"/> channels (torchvision's count).</summary>
    public InceptionA(int cin, int poolFeatures, int div, Random rng) : base(div, rng)
    {
        _b1 = Conv("branch1x1", cin, 64, (1, 1));
        _b5a = Conv("branch5x5_1", cin, 48, (1, 1));
        _b5b = Conv("branch5x5_2", 48, 64, (5, 5), pad: (2, 2));
        _b3a = Conv("branch3x3dbl_1", cin, 64, (1, 1));
        _b3b = Conv("branch3x3dbl_2", 64, 96, (3, 3), pad: (1, 1));
        _b3c = Conv("branch3x3dbl_3", 96, 96, (3, 3), pad: (1, 1));
        _bp = Conv("branch_pool", cin, poolFeatures, (1, 1));
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.Concat(
        [_b1.Forward(x), _b5b.Forward(_b5a.Forward(x)), _b3c.Forward(_b3b.Forward(_b3a.Forward(x))), _bp.Forward(AvgPool3(x))], 1);
}

/// <summary>InceptionB (grid reduction): 3x3 s2 | 1x1-3x3-3x3 s2 | maxpool s2.</summary>
public sealed class InceptionB : InceptionBlock
{
    readonly BasicConv2d _b3, _bda, _bdb, _bdc;

    /// <summary>Block on <paramref name="cin"/> channels.</summary>
    public InceptionB(int cin, int div, Random rng) : base(div, rng)
    {
        _b3 = Conv("branch3x3", cin, 384, (3, 3), stride: 2);
        _bda = Conv("branch3x3dbl_1", cin, 64, (1, 1));
        _bdb = Conv("branch3x3dbl_2", 64, 96, (3, 3), pad: (1, 1));
        _bdc = Conv("branch3x3dbl_3", 96, 96, (3, 3), stride: 2);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.Concat(
        [_b3.Forward(x), _bdc.Forward(_bdb.Forward(_bda.Forward(x))), MaxPool3s2(x)], 1);
}

/// <summary>InceptionC: 1x1 | 1x1-1x7-7x1 | 1x1-7x1-1x7-7x1-1x7 | avgpool-1x1.</summary>
public sealed class InceptionC : InceptionBlock
{
    readonly BasicConv2d _b1, _b7a, _b7b, _b7c, _bd1, _bd2, _bd3, _bd4, _bd5, _bp;

    /// <summary>Block on <paramref name="cin"/> channels with <paramref name="c7"/> channels in the 7x7 branches.</summary>
    public InceptionC(int cin, int c7, int div, Random rng) : base(div, rng)
    {
        _b1 = Conv("branch1x1", cin, 192, (1, 1));
        _b7a = Conv("branch7x7_1", cin, c7, (1, 1));
        _b7b = Conv("branch7x7_2", c7, c7, (1, 7), pad: (0, 3));
        _b7c = Conv("branch7x7_3", c7, 192, (7, 1), pad: (3, 0));
        _bd1 = Conv("branch7x7dbl_1", cin, c7, (1, 1));
        _bd2 = Conv("branch7x7dbl_2", c7, c7, (7, 1), pad: (3, 0));
        _bd3 = Conv("branch7x7dbl_3", c7, c7, (1, 7), pad: (0, 3));
        _bd4 = Conv("branch7x7dbl_4", c7, c7, (7, 1), pad: (3, 0));
        _bd5 = Conv("branch7x7dbl_5", c7, 192, (1, 7), pad: (0, 3));
        _bp = Conv("branch_pool", cin, 192, (1, 1));
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.Concat(
        [_b1.Forward(x), _b7c.Forward(_b7b.Forward(_b7a.Forward(x))),
         _bd5.Forward(_bd4.Forward(_bd3.Forward(_bd2.Forward(_bd1.Forward(x))))), _bp.Forward(AvgPool3(x))], 1);
}

/// <summary>InceptionD (grid reduction): 1x1-3x3 s2 | 1x1-1x7-7x1-3x3 s2 | maxpool s2.</summary>
public sealed class InceptionD : InceptionBlock
{
    readonly BasicConv2d _b3a, _b3b, _b7a, _b7b, _b7c, _b7d;

    /// <summary>Block on <paramref name="cin"/> channels.</summary>
    public InceptionD(int cin, int div, Random rng) : base(div, rng)
    {
        _b3a = Conv("branch3x3_1", cin, 192, (1, 1));
        _b3b = Conv("branch3x3_2", 192, 320, (3, 3), stride: 2);
        _b7a = Conv("branch7x7x3_1", cin, 192, (1, 1));
        _b7b = Conv("branch7x7x3_2", 192, 192, (1, 7), pad: (0, 3));
        _b7c = Conv("branch7x7x3_3", 192, 192, (7, 1), pad: (3, 0));
        _b7d = Conv("branch7x7x3_4", 192, 192, (3, 3), stride: 2);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.Concat(
        [_b3b.Forward(_b3a.Forward(x)), _b7d.Forward(_b7c.Forward(_b7b.Forward(_b7a.Forward(x)))), MaxPool3s2(x)], 1);
}

/// <summary>InceptionE: 1x1 | 1x1-(1x3 | 3x1) | 1x1-3x3-(1x3 | 3x1) | avgpool-1x1.</summary>
public sealed class InceptionE : InceptionBlock
{
    readonly BasicConv2d _b1, _b3a, _b3b2a, _b3b2b, _bd1, _bd2, _bd3a, _bd3b, _bp;

    /// <summary>Block on <paramref name="cin"/> channels.</summary>
    public InceptionE(int cin, int div, Random rng) : base(div, rng)
    {
        _b1 = Conv("branch1x1", cin, 320, (1, 1));
        _b3a = Conv("branch3x3_1", cin, 384, (1, 1));
        _b3b2a = Conv("branch3x3_2a", 384, 384, (1, 3), pad: (0, 1));
        _b3b2b = Conv("branch3x3_2b", 384, 384, (3, 1), pad: (1, 0));
        _bd1 = Conv("branch3x3dbl_1", cin, 448, (1, 1));
        _bd2 = Conv("branch3x3dbl_2", 448, 384, (3, 3), pad: (1, 1));
        _bd3a = Conv("branch3x3dbl_3a", 384, 384, (1, 3), pad: (0, 1));
        _bd3b = Conv("branch3x3dbl_3b", 384, 384, (3, 1), pad: (1, 0));
        _bp = Conv("branch_pool", cin, 192, (1, 1));
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        var b3 = _b3a.Forward(x);
        var bd = _bd2.Forward(_bd1.Forward(x));
        return Ops.Concat(
            [_b1.Forward(x), _b3b2a.Forward(b3), _b3b2b.Forward(b3), _bd3a.Forward(bd), _bd3b.Forward(bd), _bp.Forward(AvgPool3(x))], 1);
    }
}

/// <summary>Inception v3 feature extractor (torchvision names, no aux/avgpool/fc): (B, 3, H, W) -> (B, <see cref="OutChannels"/>, H', W').</summary>
public sealed class InceptionV3 : Module
{
    readonly BasicConv2d _c1a, _c2a, _c2b, _c3b, _c4a;
    readonly Module[] _mixed;
    readonly bool _transformInput;

    /// <summary>Channels of Mixed_7c: 2048 / widthDivisor.</summary>
    public int OutChannels { get; }

    /// <summary>torchvision's network (widthDivisor 1), or one with every conv's channels divided by 2, 4 or 8.</summary>
    public InceptionV3(int widthDivisor = 1, bool transformInput = false, int seed = 0)
    {
        if (widthDivisor is not (1 or 2 or 4 or 8)) throw new ArgumentOutOfRangeException(nameof(widthDivisor), widthDivisor, "InceptionV3: widthDivisor must be 1, 2, 4 or 8.");
        int d = widthDivisor;
        var rng = new Random(seed);
        _transformInput = transformInput;
        _c1a = RegisterModule("Conv2d_1a_3x3", new BasicConv2d(3, 32 / d, (3, 3), rng, stride: 2));
        _c2a = RegisterModule("Conv2d_2a_3x3", new BasicConv2d(32 / d, 32 / d, (3, 3), rng));
        _c2b = RegisterModule("Conv2d_2b_3x3", new BasicConv2d(32 / d, 64 / d, (3, 3), rng, padding: (1, 1)));
        _c3b = RegisterModule("Conv2d_3b_1x1", new BasicConv2d(64 / d, 80 / d, (1, 1), rng));
        _c4a = RegisterModule("Conv2d_4a_3x3", new BasicConv2d(80 / d, 192 / d, (3, 3), rng));
        _mixed =
        [
            RegisterModule("Mixed_5b", new InceptionA(192, 32, d, rng)),
            RegisterModule("Mixed_5c", new InceptionA(256, 64, d, rng)),
            RegisterModule("Mixed_5d", new InceptionA(288, 64, d, rng)),
            RegisterModule("Mixed_6a", new InceptionB(288, d, rng)),
            RegisterModule("Mixed_6b", new InceptionC(768, 128, d, rng)),
            RegisterModule("Mixed_6c", new InceptionC(768, 160, d, rng)),
            RegisterModule("Mixed_6d", new InceptionC(768, 160, d, rng)),
            RegisterModule("Mixed_6e", new InceptionC(768, 192, d, rng)),
            RegisterModule("Mixed_7a", new InceptionD(768, d, rng)),
            RegisterModule("Mixed_7b", new InceptionE(1280, d, rng)),
            RegisterModule("Mixed_7c", new InceptionE(2048, d, rng)),
        ];
        OutChannels = 2048 / d;
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor img)
    {
        if (img.Rank != 4 || img.Size(1) != 3 || img.Size(2) < 75 || img.Size(3) < 75)
            throw new ArgumentException($"InceptionV3: expected images (B, 3, H, W) with H, W >= 75, got {img.Describe()}.");
        var x = _transformInput ? TransformInput(img) : img;
        x = _c2b.Forward(_c2a.Forward(_c1a.Forward(x)));
        x = Ops.MaxPool2d(x, (3, 3), (2, 2));
        x = _c4a.Forward(_c3b.Forward(x));
        x = Ops.MaxPool2d(x, (3, 3), (2, 2));
        foreach (var m in _mixed) x = m.Forward(x);
        return x;
    }

    // transform_input: ImageNet normalisation (mean, std) re-expressed for inputs normalised with 0.5, 0.5.
    static Tensor TransformInput(Tensor img)
    {
        float[] scale = [0.229f / 0.5f, 0.224f / 0.5f, 0.225f / 0.5f];
        float[] shift = [(0.485f - 0.5f) / 0.5f, (0.456f - 0.5f) / 0.5f, (0.406f - 0.5f) / 0.5f];
        return Ops.Add(Ops.Mul(img, Tensor.FromArray(scale, 1, 3, 1, 1)), Tensor.FromArray(shift, 1, 3, 1, 1));
    }
}
