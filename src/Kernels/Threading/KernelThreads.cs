// How many threads the kernels use, and a deterministic way to split work among them.
// The split depends only on the work size and the thread count, never on timing, so a
// fixed seed gives identical results run to run (each chunk reduces in a fixed order).
// Chunks run on the caller plus a small set of persistent worker threads (see For).
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
    /// <remarks>
    /// Chunk 0 runs on the calling thread, chunk i on persistent kernel worker i (created on first use, one per
    /// extra part ever requested). Why not Parallel.For: its chunks land on arbitrary thread-pool threads, and
    /// the GEMM keeps thread-local pack buffers, so every pool thread that ever ran a chunk would hold its own
    /// megabytes; a fixed set of workers bounds that and wakes faster. A call made while the workers are busy
    /// (another thread's kernel, or a kernel called from inside a chunk) falls back to Parallel.For, so it never
    /// waits on itself. Chunk boundaries are the same either way.
    /// </remarks>
    public static void For(int n, int minPerChunk, int maxParts, Action<int, int> body)
    {
        if (n <= 0) return;
        int parts = Math.Min(Math.Max(1, maxParts), Math.Max(1, n / Math.Max(1, minPerChunk)));
        if (parts == 1) { body(0, n); return; }
        if (Monitor.IsEntered(s_gate) || !Monitor.TryEnter(s_gate))
        {
            Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, i =>
            {
                var (s, e) = Chunk(n, parts, i);
                if (s < e) body(s, e);
            });
            return;
        }
        try
        {
            while (s_workers.Count < parts - 1) s_workers.Add(new Worker(s_workers.Count + 1));
            s_body = body; s_n = n; s_parts = parts; s_error = null;
            s_pending = parts;
            s_done.Reset();
            for (int i = 1; i < parts; i++) s_workers[i - 1].Go.Set();
            RunChunk(0);
            s_done.Wait();
            s_body = null; // do not keep the caller's closure alive
            if (s_error is { } error) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
        }
        finally
        {
            Monitor.Exit(s_gate);
        }
    }

    // The one job the workers run at a time; written under s_gate before the workers are woken.
    static readonly object s_gate = new();
    static readonly List<Worker> s_workers = [];
    static readonly ManualResetEventSlim s_done = new(false);
    static Action<int, int>? s_body;
    static int s_n, s_parts, s_pending;
    static Exception? s_error;

    static void RunChunk(int i)
    {
        try
        {
            var (s, e) = Chunk(s_n, s_parts, i);
            if (s < e) s_body!(s, e);
        }
        catch (Exception ex)
        {
            Interlocked.CompareExchange(ref s_error, ex, null);
        }
        finally
        {
            if (Interlocked.Decrement(ref s_pending) == 0) s_done.Set();
        }
    }

    /// <summary>A persistent background thread that runs chunk <c>Index</c> of each job it is woken for.</summary>
    sealed class Worker
    {
        public readonly ManualResetEventSlim Go = new(false);
        readonly int _index;

        public Worker(int index)
        {
            _index = index;
            new Thread(Loop) { IsBackground = true, Name = $"cochlea-kernel-{index}" }.Start();
        }

        void Loop()
        {
            while (true)
            {
                Go.Wait();
                // Safe: the next Set can only come after this chunk has finished (the caller waits for all chunks).
                Go.Reset();
                RunChunk(_index);
            }
        }
    }
}
