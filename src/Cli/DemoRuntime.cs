// The demo's last step before its result line (issue 4: "when the Pi runtime exists, the demo also exports
// and times it"): the trained checkpoint is exported to the runtime format (float32, lossless encoding) and
// FrozenModel is timed as the Pi would run it — one thread, batch 1, median of many single inferences after a
// warm-up (tiered JIT reaches its optimised code) — and summarised in one line.
using System.Diagnostics;
using System.Globalization;
using Cochlea.Models.Kws;
using Cochlea.Runtime;

namespace Cochlea.Cli;

static class DemoRuntime
{
    /// <summary>Exports <paramref name="classifier"/> to DIR/model.cochlea, times it and returns the line to print.</summary>
    public static string ExportAndTime(KwsClassifier classifier, string dir)
    {
        string file = Path.Combine(dir, "model.cochlea");
        long bytes = KwsExport.Save(classifier, file);
        using var m = FrozenModel.Load(file, threads: 1);
        var clip = new float[m.InputLength];
        var rng = new Random(1);
        for (int i = 0; i < clip.Length; i++) clip[i] = 0.1f * (float)(rng.NextDouble() - 0.5);
        var probs = new float[m.OutputLength];
        for (int i = 0; i < 100; i++) m.Run(clip, probs);
        var ms = new double[201];
        for (int i = 0; i < ms.Length; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            m.Run(clip, probs);
            ms[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }
        Array.Sort(ms);
        return $"runtime: {Path.GetFullPath(file)}, {bytes.ToString("N0", CultureInfo.InvariantCulture)} bytes (float32, lossless), " +
            $"median latency {ms[ms.Length / 2]:F2} ms (FrozenModel, 1 thread, batch 1, {m.Width} path)";
    }
}
