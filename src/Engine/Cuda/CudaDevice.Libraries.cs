// The per-device library state of cuBLAS and cuDNN: handles created on first use and bound to the compute
// stream, a workspace grown as needed from the caching allocator, the cuDNN descriptors per shape (convolutions with
// their algorithms, batch norms, poolings; kept for the device's lifetime, as the handle), and a device vector of ones
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
    readonly Dictionary<ConvKey, CudnnConvolution> _convolutions = new();
    readonly Dictionary<BatchNormKey, CudnnBatchNorm> _batchNorms = new();
    readonly Dictionary<PoolKey, CudnnPooling> _poolings = new();

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
            if (_workspace != 0) Free(_workspace, _workspaceBytes);
            _workspace = 0; _workspaceBytes = 0;
            _workspace = Allocate(bytes);
            _workspaceBytes = bytes;
            return _workspace;
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

    /// <summary>The cuDNN descriptors and algorithms of one convolution shape, made on first use and kept (one algorithm search per shape and pass).</summary>
    internal CudnnConvolution Convolution(in ConvKey key) => Cached(_convolutions, key, static k => new CudnnConvolution(k));

    /// <summary>The cuDNN descriptors of one batch-norm shape, made on first use and kept.</summary>
    internal CudnnBatchNorm BatchNorm(in BatchNormKey key) => Cached(_batchNorms, key, static k => new CudnnBatchNorm(k));

    /// <summary>The cuDNN descriptors of one pooling shape, made on first use and kept.</summary>
    internal CudnnPooling Pooling(in PoolKey key) => Cached(_poolings, key, static k => new CudnnPooling(k));

    /// <summary>Shapes held by the cuDNN caches (convolutions, batch norms, poolings): tests see hits as no growth.</summary>
    internal (int Convolutions, int BatchNorms, int Poolings) CudnnCacheCounts
    {
        get { lock (_libraryLock) return (_convolutions.Count, _batchNorms.Count, _poolings.Count); }
    }

    // One lookup of a per-shape cache under the library lock; the value is made there on a miss (host calls only).
    T Cached<TKey, T>(Dictionary<TKey, T> cache, in TKey key, Func<TKey, T> make) where TKey : notnull
    {
        lock (_libraryLock)
        {
            if (!cache.TryGetValue(key, out var v)) cache[key] = v = make(key);
            return v;
        }
    }

    // ---- cuBLASLt: Linear's bias epilogue (handle probed and per-shape plans made on first use; see CudaLinearLt).
    CudaLinearLt? _linearLt;

    /// <summary>The device's cuBLASLt state for Linear with a bias (made on first use; loads nothing until its first call).</summary>
    internal CudaLinearLt LinearLt { get { lock (_libraryLock) return _linearLt ??= new CudaLinearLt(this); } }
}
