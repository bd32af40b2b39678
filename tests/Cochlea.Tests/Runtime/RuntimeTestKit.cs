// What the runtime test fixtures share: the 12 labels, a private temporary folder per fixture, and running
// two loaded models on the same clip.
using Cochlea.Runtime;

namespace Cochlea.Tests.Runtime;

static class RuntimeTestKit
{
    public static readonly string[] Labels = ["_silence_", "_unknown_", "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"];

    /// <summary>A new folder under the temp path (the fixture deletes it).</summary>
    public static string TempDir(string what)
    {
        string dir = Path.Combine(Path.GetTempPath(), $"cochlea-runtime-{what}-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }

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
