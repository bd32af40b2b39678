// EfficientNet-B3 as torchvision 0.14 builds it (efficientnet_b3(): width_mult 1.2, depth_mult 1.4,
// MBConv blocks with squeeze-excitation and SiLU, stochastic depth 0.2 * block / blocks), without its
// head: this is efficientnet_b3().features, an nn.Sequential of 9 children, so parameter names are
// torchvision's minus the "features." prefix ("0.0.weight", "1.0.block.0.0.weight", ...):
//   img (B, 3, H, W) -> (B, 1536, H/32, W/32).
// Other width/depth multipliers give torchvision's other B-variants' structure (channels rounded to
// multiples of 8 by _make_divisible, block counts ceil(n * depth_mult)); smaller ones train on 2 cores.
using Cochlea.Nn;

namespace Cochlea.Models.Tagging.Backbones;

/// <summary>torchvision's Conv2dNormActivation: conv (no bias, padding (k-1)/2) -> BN -> SiLU (optional). Children "0", "1" (, "2").</summary>
public sealed class ConvBnSilu : Sequential
{
    /// <summary>The block; <paramref name="activation"/> false leaves out the SiLU (the MBConv projection).</summary>
    public ConvBnSilu(int cin, int cout, int kernel, int stride, int groups, bool activation, Random rng, float bnEps = 1e-5f)
    {
        var conv = new Conv2d(cin, cout, (kernel, kernel), (stride, stride), (kernel - 1) / 2, groups: groups, bias: false, rng: rng);
        BackboneInit.KaimingNormalFanOut(conv, rng);
        Add(conv);
        Add(new BatchNorm2d(cout, eps: bnEps));
        if (activation) Add(new Silu());
    }
}

/// <summary>torchvision's SqueezeExcitation with SiLU: x * sigmoid(fc2(silu(fc1(mean over H, W of x)))). Children fc1, fc2 (1x1 convs).</summary>
public sealed class SqueezeExcitation : Module
{
    readonly Conv2d _fc1, _fc2;

    /// <summary>Squeeze <paramref name="channels"/> to <paramref name="squeeze"/> and back.</summary>
    public SqueezeExcitation(int channels, int squeeze, Random rng)
    {
        _fc1 = RegisterModule("fc1", new Conv2d(channels, squeeze, (1, 1), rng: rng));
        _fc2 = RegisterModule("fc2", new Conv2d(squeeze, channels, (1, 1), rng: rng));
        BackboneInit.KaimingNormalFanOut(_fc1, rng);
        BackboneInit.KaimingNormalFanOut(_fc2, rng);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        var s = Ops.GlobalAvgPool(x).Reshape(x.Size(0), x.Size(1), 1, 1);   // AdaptiveAvgPool2d(1)
        s = Ops.Sigmoid(_fc2.Forward(Ops.Silu(_fc1.Forward(s))));
        return Ops.Mul(x, s);                                                // broadcast over H, W
    }
}

/// <summary>torchvision's MBConv: [expand 1x1] -> depthwise k x k (stride) -> SE -> project 1x1 (no activation), residual with stochastic depth.</summary>
public sealed class MBConv : Module
{
    readonly Sequential _block;
    readonly StochasticDepth _drop;
    readonly bool _residual;

    /// <summary>One block; channels already rounded (torchvision's MBConvConfig).</summary>
    public MBConv(double expandRatio, int kernel, int stride, int cin, int cout, float dropPath, Philox dropRng, Random rng)
    {
        _residual = stride == 1 && cin == cout;
        int expanded = EfficientNetB3.MakeDivisible(cin * expandRatio);
        var layers = new List<Module>();
        if (expanded != cin) layers.Add(new ConvBnSilu(cin, expanded, 1, 1, 1, true, rng));
        layers.Add(new ConvBnSilu(expanded, expanded, kernel, stride, expanded, true, rng));
        layers.Add(new SqueezeExcitation(expanded, Math.Max(1, cin / 4), rng));
        layers.Add(new ConvBnSilu(expanded, cout, 1, 1, 1, false, rng));
        _block = RegisterModule("block", new Sequential(layers));
        _drop = RegisterModule("stochastic_depth", new StochasticDepth(dropPath, dropRng));
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        var r = _block.Forward(x);
        return _residual ? Ops.Add(_drop.Forward(r), x) : r;
    }
}

/// <summary>efficientnet_b3().features: (B, 3, H, W) -> (B, <see cref="OutChannels"/>, H/32, W/32). Children "0".."8".</summary>
public sealed class EfficientNetB3 : Sequential
{
    /// <summary>(expand ratio, kernel, stride, in, out, layers) of EfficientNet-B0, scaled by the multipliers.</summary>
    static readonly (double Expand, int Kernel, int Stride, int In, int Out, int Layers)[] B0 =
    [
        (1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
        (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1),
    ];

    /// <summary>Channels of the feature map: 4 x the last stage's (1536 for B3).</summary>
    public int OutChannels { get; }

    /// <summary>The stochastic-depth stream (shared by every block).</summary>
    public Philox DropRng { get; }

    /// <summary>torchvision's _make_divisible(v, 8): the nearest multiple of 8, at least 8, never below 90 % of v.</summary>
    public static int MakeDivisible(double v, int divisor = 8)
    {
        int n = Math.Max(divisor, (int)(v + divisor / 2.0) / divisor * divisor);
        return n < 0.9 * v ? n + divisor : n;
    }

    /// <summary>
    /// B3 by default (width 1.2, depth 1.4, stochastic depth 0.2). Smaller multipliers shrink it the way torchvision's
    /// configuration does (channels via <see cref="MakeDivisible"/>, block counts ceil(n * depthMult)).
    /// </summary>
    public EfficientNetB3(double widthMult = 1.2, double depthMult = 1.4, float stochasticDepth = 0.2f, int seed = 0)
    {
        if (!(widthMult > 0) || !(depthMult > 0)) throw new ArgumentOutOfRangeException(nameof(widthMult), $"EfficientNetB3: multipliers must be positive (width {widthMult}, depth {depthMult}).");
        var rng = new Random(seed);
        DropRng = new Philox((ulong)seed + 17);
        var cfg = B0.Select(c => (c.Expand, c.Kernel, c.Stride, In: MakeDivisible(c.In * widthMult), Out: MakeDivisible(c.Out * widthMult),
            Layers: (int)Math.Ceiling(c.Layers * depthMult))).ToArray();
        Add(new ConvBnSilu(3, cfg[0].In, 3, 2, 1, true, rng));
        int total = cfg.Sum(c => c.Layers), id = 0;
        foreach (var c in cfg)
        {
            var stage = new Sequential();
            for (int i = 0; i < c.Layers; i++, id++)
                stage.Add(new MBConv(c.Expand, c.Kernel, i == 0 ? c.Stride : 1, i == 0 ? c.In : c.Out, c.Out,
                    stochasticDepth * id / total, DropRng, rng));
            Add(stage);
        }
        OutChannels = 4 * cfg[^1].Out;
        Add(new ConvBnSilu(cfg[^1].Out, OutChannels, 1, 1, 1, true, rng));
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor img)
    {
        if (img.Rank != 4 || img.Size(1) != 3) throw new ArgumentException($"EfficientNetB3: expected images (B, 3, H, W), got {img.Describe()}.");
        return base.Forward(img);
    }
}
