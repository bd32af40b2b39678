// Weight initialisation shared by the tagging backbones, as torchvision does it: convolutions
// kaiming-normal with fan_out (ResNet, EfficientNet) or truncated normal (Inception), batch
// norm weight 1 and bias 0 (the BatchNorm defaults already), conv biases 0.
using Cochlea.Nn;

namespace Cochlea.Models.Tagging.Backbones;

/// <summary>torchvision's initialisers for the backbones' conv layers.</summary>
public static class BackboneInit
{
    /// <summary>w ~ N(0, 2 / fan_out), fan_out = out_channels / groups * kh * kw (kaiming_normal_, mode fan_out, relu gain).</summary>
    public static void KaimingNormalFanOut(Conv2d conv, Random rng)
    {
        var w = conv.Weight;
        int fanOut = w.Size(0) * w.Size(2) * w.Size(3);
        FillNormal(w.AsSpan(), Math.Sqrt(2.0 / fanOut), 2.0, rng, truncate: false);
        conv.Bias?.AsSpan().Clear();
    }

    /// <summary>w ~ N(0, std^2) truncated to [-2, 2] (absolute, as torchvision's Inception init).</summary>
    public static void TruncatedNormal(Conv2d conv, double std, Random rng)
    {
        FillNormal(conv.Weight.AsSpan(), std, 2.0, rng, truncate: true);
        conv.Bias?.AsSpan().Clear();
    }

    static void FillNormal(Span<float> dst, double std, double bound, Random rng, bool truncate)
    {
        for (int i = 0; i < dst.Length; i++)
        {
            double v;
            do
            {
                double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
                v = std * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
            } while (truncate && Math.Abs(v) > bound);
            dst[i] = (float)v;
        }
    }
}
