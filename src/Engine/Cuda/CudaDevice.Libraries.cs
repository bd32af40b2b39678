// The per-device library state of cuBLAS and cuDNN: handles created on first use and bound to the compute
// stream, a workspace grown as needed from the caching allocator, the cuDNN descriptors per shape (convolutions with
// their algorithms, batch norms, poolings; the CudaOptions.CudnnCacheCapacity most recently used shapes of each
// kind, LruCache), and a device vector of ones
// (bias broadcasts and sums as rank-1 GEMMs). Nothing here loads a library until used.
using Cochlea.Cuda.Cublas;
using Cochlea.Cuda.Cudnn;

namespace Cochlea.Cuda;

public sealed unsafe partial class CudaDevice
{
    readonly object _libraryLock = new();
    CublasHandle? _cublas;
    CudnnHandle? _cudnn;
    ulong _workspace, _ones;
    long _workspaceBytes, _onesCount;
    readonly LruCache<ConvKey, CudnnConvolution> _convolutions = new();
    readonly LruCache<BatchNormKey, CudnnBatchNorm> _batchNorms = new();
    readonly LruCache<PoolKey, CudnnPooling> _poolings = new();

    /// <summary>The device's cuBLAS handle (created on first use, on <see cref="Stream"/>), with the math mode of <see cref="CudaOptions.AllowTf32"/> applied.</summary>
    internal CublasHandle Cublas
    {
        get
        {
            lock (_libraryLock)
            {
                _cublas ??= CublasHandle.Create(Stream);
                _cublas.ApplyMathMode();
                return _cublas;
            }
        }
    }

    /// <summary>The device's cuDNN handle (created on first use, on <see cref="Stream"/>).</summary>
    internal CudnnHandle Cudnn
    {
        get { lock (_libraryLock) return _cudnn ??= CudnnHandle.Create(Stream); }
    }

    /// <summary>
    /// A scratch buffer of at least <paramref name="bytes"/> for cuDNN, valid until the next call (work is ordered on the
    /// compute stream, so the old buffer may go back to the allocator while queued work still reads it).
    /// </summary>
    internal ulong Workspace(long bytes)
    {
        lock (_libraryLock)
        {
            if (bytes <= _workspaceBytes) return _workspace;
            ReleaseWorkspace();
            _workspace = Allocate(bytes);
            _workspaceBytes = bytes;
            return _workspace;
        }
    }

    // Gives the workspace back to the allocator's cache (after a search, whose large one need not stay; EmptyCache); the
    // next library call that needs one allocates what it needs. Stream-ordered like Workspace's own replacement.
    internal void ReleaseWorkspace()
    {
        lock (_libraryLock)
        {
            if (_workspace != 0) Free(_workspace, _workspaceBytes);
            _workspace = 0; _workspaceBytes = 0;
        }
    }

    /// <summary>Size of the current workspace in bytes (0 before the first convolution).</summary>
    internal long WorkspaceBytes { get { lock (_libraryLock) return _workspaceBytes; } }

    /// <summary>A device vector of at least <paramref name="count"/> float ones (grown on demand; never written by kernels).</summary>
    internal ulong Ones(long count)
    {
        lock (_libraryLock)
        {
            if (count <= _onesCount) return _ones;
            long n = Math.Max(count, Math.Max(1024, _onesCount * 2));
            var host = new float[n];
            Array.Fill(host, 1f);
            ulong p = Allocate(n * sizeof(float));
            fixed (float* h = host) CopyToDevice(p, h, n * sizeof(float));
            if (_ones != 0) Free(_ones, _onesCount * sizeof(float));
            _ones = p; _onesCount = n;
            return _ones;
        }
    }

    // The cuDNN caches: a lease per lookup, disposed by the caller once its calls with the value are enqueued (an
    // eviction meanwhile destroys the descriptors only then). Ops look up again in their backward rather than keep a
    // value from the forward: the shape may have been evicted in between.

    /// <summary>The cuDNN descriptors and algorithms of one convolution shape, made on first use and kept while among the <see cref="CudaOptions.CudnnCacheCapacity"/> most recent (one algorithm search per shape and pass while kept).</summary>
    internal LruCache<ConvKey, CudnnConvolution>.Lease Convolution(in ConvKey key) =>
        _convolutions.Get(key, CudaOptions.CudnnCacheCapacity, static k => new CudnnConvolution(k));

    /// <summary>The cuDNN descriptors of one batch-norm shape, made on first use and kept while recent.</summary>
    internal LruCache<BatchNormKey, CudnnBatchNorm>.Lease BatchNorm(in BatchNormKey key) =>
        _batchNorms.Get(key, CudaOptions.CudnnCacheCapacity, static k => new CudnnBatchNorm(k));

    /// <summary>The cuDNN descriptors of one pooling shape, made on first use and kept while recent.</summary>
    internal LruCache<PoolKey, CudnnPooling>.Lease Pooling(in PoolKey key) =>
        _poolings.Get(key, CudaOptions.CudnnCacheCapacity, static k => new CudnnPooling(k));

    /// <summary>Shapes held by the cuDNN caches (convolutions, batch norms, poolings): tests see hits as no growth.</summary>
    internal (int Convolutions, int BatchNorms, int Poolings) CudnnCacheCounts =>
        (_convolutions.Statistics.Count, _batchNorms.Statistics.Count, _poolings.Statistics.Count);

    /// <summary>Hits, misses, evictions and size of each cuDNN cache.</summary>
    internal (LruStatistics Convolutions, LruStatistics BatchNorms, LruStatistics Poolings) CudnnCacheStatistics =>
        (_convolutions.Statistics, _batchNorms.Statistics, _poolings.Statistics);

    // ---- cuBLASLt: Linear's bias epilogue (handle probed and per-shape plans made on first use; see CudaLinearLt).
    CudaLinearLt? _linearLt;

    /// <summary>The device's cuBLASLt state for Linear with a bias (made on first use; loads nothing until its first call).</summary>
    internal CudaLinearLt LinearLt { get { lock (_libraryLock) return _linearLt ??= new CudaLinearLt(this); } }
}
