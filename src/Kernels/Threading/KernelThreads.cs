// How many threads the kernels use, and a deterministic way to split work among them.
// The split depends only on the work size and the thread count, never on timing, so a
// fixed seed gives identical results run to run (each chunk reduces in a fixed order).
namespace Cochlea.Kernels.Threading;

/// <summary>Thread count for the CPU kernels (env <c>COCHLEA_THREADS</c>, default all cores) and a static range splitter.</summary>
public static class KernelThreads
{
    static int _count = ReadDefault();

    /// <summary>Maximum number of threads a kernel may use (>= 1).</summary>
    public static int Count
    {
        get => _count;
        set
        {
            if (value < 1) throw new ArgumentOutOfRangeException(nameof(value), value, "Thread count must be at least 1.");
            _count = value;
        }
    }

    static int ReadDefault()
    {
        var s = Environment.GetEnvironmentVariable("COCHLEA_THREADS");
        if (s is not null && int.TryParse(s, out int n) && n >= 1) return n;
        return Math.Max(1, Environment.ProcessorCount);
    }

    /// <summary>Chunk <paramref name="i"/> of <paramref name="parts"/> over [0, n): contiguous, sizes differ by at most one.</summary>
    public static (int Start, int End) Chunk(int n, int parts, int i)
    {
        int q = n / parts, r = n % parts;
        int start = i * q + Math.Min(i, r);
        return (start, start + q + (i < r ? 1 : 0));
    }

    /// <summary>
    /// Runs <paramref name="body"/>(start, end) over [0, n) in at most <see cref="Count"/> contiguous chunks,
    /// using one chunk per thread and no more chunks than n / <paramref name="minPerChunk"/>.
    /// </summary>
    public static void For(int n, int minPerChunk, Action<int, int> body) => For(n, minPerChunk, Count, body);

    /// <summary>As <see cref="For(int,int,Action{int,int})"/>, with at most <paramref name="maxParts"/> chunks instead of <see cref="Count"/>.</summary>
    public static void For(int n, int minPerChunk, int maxParts, Action<int, int> body)
    {
        if (n <= 0) return;
        int parts = Math.Min(Math.Max(1, maxParts), Math.Max(1, n / Math.Max(1, minPerChunk)));
        if (parts == 1) { body(0, n); return; }
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, i =>
        {
            var (s, e) = Chunk(n, parts, i);
            if (s < e) body(s, e);
        });
    }
}
