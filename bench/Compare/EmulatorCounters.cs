// The host emulator's call counters read in-process (tools/cuda-emu/host-libs: COCHLEA_EMU_STATS=<file> makes its fake
// libcuda count, the export cochlea_emu_stats_dump writes the counts so far). Used by gpu-audit and linked into
// tests/Cochlea.Tests (the Gpu tests that count host waits), so both read the counters one way.
using System.Globalization;
using System.Runtime.InteropServices;

namespace Cochlea.Bench.Compare;

internal static class EmulatorCounters
{
    /// <summary>
    /// A function returning the counters so far ("group\tname" -> count; groups as in the emulator's README: launch,
    /// wait, copy, alloc, ...), each call dumping them through <paramref name="snapshot"/>; null when libcuda.so.1 is not
    /// the emulator's or COCHLEA_EMU_STATS is unset (the emulator counts nothing then).
    /// </summary>
    public static unsafe Func<Dictionary<string, long>>? Open(string snapshot)
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("COCHLEA_EMU_STATS"))) return null;
        if (!NativeLibrary.TryLoad("libcuda.so.1", out var lib) || !NativeLibrary.TryGetExport(lib, "cochlea_emu_stats_dump", out var fn)) return null;
        var dumpTo = (delegate* unmanaged<byte*, int>)fn;
        return () =>
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(snapshot + "\0");
            fixed (byte* p = bytes)
                if (dumpTo(p) != 0) throw new IOException($"cochlea_emu_stats_dump could not write {snapshot}");
            var counts = new Dictionary<string, long>();
            foreach (var line in File.ReadLines(snapshot))
            {
                if (line.StartsWith('#')) continue;
                var f = line.Split('\t');
                counts[f[0] + "\t" + f[1]] = long.Parse(f[2], CultureInfo.InvariantCulture);
            }
            return counts;
        };
    }

    /// <summary>How much <paramref name="key"/> grew from <paramref name="a"/> to <paramref name="b"/>: one counter ("group\tname"), or a whole group's sum.</summary>
    public static long Delta(Dictionary<string, long> a, Dictionary<string, long> b, string key)
        => key.Contains('\t') ? b.GetValueOrDefault(key) - a.GetValueOrDefault(key) : Sum(b, key) - Sum(a, key);

    /// <summary>The sum of the counters of <paramref name="groups"/>.</summary>
    public static long Sum(Dictionary<string, long> counts, params string[] groups)
        => counts.Where(kv => groups.Any(g => kv.Key.StartsWith(g + "\t", StringComparison.Ordinal))).Sum(kv => kv.Value);
}
