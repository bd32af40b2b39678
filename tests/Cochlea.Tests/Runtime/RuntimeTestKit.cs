// What the runtime test fixtures share: the 12 labels and running two loaded models on the same clip.
using Cochlea.Runtime;

namespace Cochlea.Tests.Runtime;

static class RuntimeTestKit
{
    public static readonly string[] Labels = ["_silence_", "_unknown_", "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"];

    /// <summary>The first outputs (probabilities) of <paramref name="a"/> and <paramref name="b"/> on <paramref name="clip"/>.</summary>
    public static (float[] A, float[] B) RunBoth(FrozenModel a, FrozenModel b, float[] clip)
    {
        var pa = new float[a.OutputLength];
        var pb = new float[b.OutputLength];
        a.Run(clip, pa);
        b.Run(clip, pb);
        return (pa, pb);
    }
}
