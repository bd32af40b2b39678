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

    /// <summary>The index i of the chunk of <see cref="Chunk"/>(n, parts, i) that starts at <paramref name="start"/> (parts &lt;= n).</summary>
    public static int ChunkOf(int n, int parts, int start)
    {
        // The first r chunks have q + 1 elements, the rest q.
        int q = n / parts, r = n % parts, big = r * (q + 1);
        return start < big ? start / (q + 1) : r + (start - big) / q;
    }

    // Chunks of a For: at most maxParts, and none smaller than minPerChunk items (at least one).
    static int Parts(int n, int minPerChunk, int maxParts) => Math.Min(Math.Max(1, maxParts), Math.Max(1, n / Math.Max(1, minPerChunk)));

    /// <summary>A loop body over [start, end) carried by value (see <see cref="For{TBody}(int, int, int, in TBody)"/>).</summary>
    public interface IRangeBody
    {
        /// <summary>Runs the items [start, end).</summary>
        void Run(int start, int end);
    }

    /// <summary>
    /// As <see cref="For(int,int,int,Action{int,int})"/> for a struct body: when the work runs as one chunk it is called
    /// directly, with no delegate or closure allocated (a warm single-threaded kernel call then allocates nothing).
    /// </summary>
    public static void For<TBody>(int n, int minPerChunk, int maxParts, in TBody body) where TBody : struct, IRangeBody
    {
        if (n <= 0) return;
        if (Parts(n, minPerChunk, maxParts) == 1) { body.Run(0, n); return; }
        ForParts(n, minPerChunk, maxParts, body);
    }

    // Its own method: the delegate (a boxed copy of the body) is made only when the work is split.
    static void ForParts<TBody>(int n, int minPerChunk, int maxParts, TBody body) where TBody : struct, IRangeBody
        => For(n, minPerChunk, maxParts, body.Run);

    /// <summary>
    /// Runs <paramref name="body"/>(start, end) over [0, n) in at most <see cref="Count"/> contiguous chunks,
    /// using one chunk per thread and no more chunks than n / <paramref name="minPerChunk"/>.
    /// </summary>
    public static void For(int n, int minPerChunk, Action<int, int> body) => For(n, minPerChunk, Count, body);

    /// <summary>As <see cref="For(int,int,Action{int,int})"/>, with at most <paramref name="maxParts"/> chunks instead of <see cref="Count"/>.</summary>
    /// <remarks>
    /// Chunks are claimed from a shared counter by the calling thread and by persistent kernel workers (created
    /// on first use, one per extra part ever requested). Chunk boundaries depend only on n and the part count,
    /// so results do not depend on which thread ran which chunk; claiming means the caller never sits waiting
    /// for a worker the OS has not scheduled yet (it just runs that chunk itself). Why not Parallel.For: its
    /// chunks land on arbitrary thread-pool threads, and the GEMM keeps thread-local pack buffers, so every
    /// pool thread that ever ran a chunk would hold its own megabytes; a fixed set of workers bounds that. A
    /// call made while the workers are busy (another thread's kernel, or a kernel called from inside a chunk)
    /// falls back to Parallel.For with the same chunks, so it never waits on itself.
    /// </remarks>
    public static void For(int n, int minPerChunk, int maxParts, Action<int, int> body)
    {
        if (n <= 0) return;
        int parts = Parts(n, minPerChunk, maxParts);
        if (parts == 1) { body(0, n); return; }
        if (Monitor.IsEntered(s_gate) || !Monitor.TryEnter(s_gate))
        {
            ForOnPool(n, parts, body);
            return;
        }
        try
        {
            while (s_workers.Count < parts - 1) s_workers.Add(new Worker());
            s_body = body; s_n = n; s_parts = parts; s_error = null;
            s_pending = parts;
            // Publishing the counter last makes the job claimable only once its fields are written.
            Volatile.Write(ref s_next, 0);
            for (int i = 0; i < parts - 1; i++) s_workers[i].Go.Set();
            RunChunks();
            s_done.Wait();
            s_body = null; // do not keep the caller's closure alive
            Volatile.Write(ref s_next, int.MaxValue / 2); // nothing claimable between jobs
            if (s_error is { } error) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
        }
        finally
        {
            Monitor.Exit(s_gate);
        }
    }

    // The fallback lives in its own method: its lambda's closure would otherwise be allocated on every call
    // of For (C# allocates a closure at the start of the scope of the variables it captures).
    static void ForOnPool(int n, int parts, Action<int, int> body) =>
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, i =>
        {
            var (s, e) = Chunk(n, parts, i);
            if (s < e) body(s, e);
        });

    // The one job the workers run at a time; written under s_gate before the counter opens it.
    static readonly object s_gate = new();
    static readonly List<Worker> s_workers = [];
    // Released once per job, by whoever finishes its last chunk. A SemaphoreSlim, not a ManualResetEventSlim: the
    // latter creates its lock object the first time a Wait has to block, an allocation on the caller's thread
    // in the middle of some later inference; the semaphore's lock exists from construction.
    static readonly SemaphoreSlim s_done = new(0);
    static Action<int, int>? s_body;
    static int s_n, s_parts, s_pending;
    static int s_next = int.MaxValue / 2;
    static Exception? s_error;

    // Claims and runs chunks of the current job until none is left. A worker that wakes late finds the
    // counter past the end (or, if a new job has opened, helps with that one: its fields are already set).
    static void RunChunks()
    {
        int i;
        while ((i = Interlocked.Increment(ref s_next) - 1) < s_parts)
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
                if (Interlocked.Decrement(ref s_pending) == 0) s_done.Release();
            }
        }
    }

    /// <summary>A persistent background thread that helps with each job it is woken for.</summary>
    sealed class Worker
    {
        public readonly ManualResetEventSlim Go = new(false);

        public Worker()
        {
            new Thread(Loop) { IsBackground = true, Name = "cochlea-kernel" }.Start();
        }

        void Loop()
        {
            while (true)
            {
                Go.Wait();
                // A Set lost to this Reset only means this worker skips a job the others (and the caller) finish.
                Go.Reset();
                RunChunks();
            }
        }
    }
}
