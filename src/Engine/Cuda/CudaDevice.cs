// The CUDA backend's public surface, the contract the rest of the engine codes against:
// one CudaDevice per GPU (primary context, one compute stream, caching allocator, NVRTC
// kernels, cuBLAS/cuDNN handles). Nothing here loads a native library until first asked,
// so a machine without a GPU never touches libcuda.
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Cochlea.Cuda.Driver;
using Cochlea.Cuda.Memory;
using Cochlea.Cuda.Nvrtc;

namespace Cochlea.Cuda;

/// <summary>Grid or block dimensions of a kernel launch.</summary>
public readonly record struct Dim3(uint X, uint Y = 1, uint Z = 1);

/// <summary>Entry point: is CUDA usable here, and the device objects.</summary>
public static unsafe class CudaBackend
{
    sealed record ProbeResult(bool Available, string? Reason, int Count);

    static readonly object Gate = new();
    static ProbeResult? _probe;
    static CudaDevice?[] _devices = [];

    /// <summary>True when the driver loads, cuInit succeeds and at least one GPU exists. Never throws; probes once.</summary>
    public static bool IsAvailable => Probe().Available;

    /// <summary>Why <see cref="IsAvailable"/> is false (null when it is true): the library or call that failed and what to do.</summary>
    public static string? UnavailableReason => Probe().Reason;

    /// <summary>Number of CUDA devices (0 when unavailable).</summary>
    public static int DeviceCount => Probe().Count;

    /// <summary>True once something asked whether CUDA is available (CPU-only use never does).</summary>
    public static bool HasProbed => Volatile.Read(ref _probe) is not null;

    /// <summary>The device object for GPU <paramref name="index"/>; throws <see cref="CudaException"/> with <see cref="UnavailableReason"/> when CUDA is unusable.</summary>
    public static CudaDevice Get(int index = 0)
    {
        var p = Probe();
        if (!p.Available) throw new CudaException($"cuda:{index} cannot be used: CUDA is not available on this machine: {p.Reason}");
        if ((uint)index >= (uint)p.Count) throw new CudaException($"cuda:{index} does not exist: this machine has {p.Count} CUDA device(s), cuda:0 to cuda:{p.Count - 1}.");
        var d = Volatile.Read(ref _devices)[index];
        if (d is not null) return d;
        lock (Gate)
        {
            return _devices[index] ??= new CudaDevice(index);
        }
    }

    static ProbeResult Probe()
    {
        var p = Volatile.Read(ref _probe);
        if (p is not null) return p;
        lock (Gate)
        {
            if (_probe is null)
            {
                var r = DoProbe();
                _devices = new CudaDevice?[r.Count];
                Volatile.Write(ref _probe, r);
            }
            return _probe;
        }
    }

    static ProbeResult DoProbe()
    {
        try
        {
            CudaLibraries.EnsureResolver();
            if (!CudaLibraries.TryLoad("cuda", out _, out var error))
                return new(false, error + ". CUDA tensors need an NVIDIA GPU with its driver; use Device.Cpu on this machine.", 0);
            var r = NativeMethods.cuInit(0);
            if (r != CuResult.Success)
            {
                string why = r switch
                {
                    CuResult.ErrorNoDevice => "no CUDA-capable GPU",
                    CuResult.ErrorStubLibrary => "libcuda.so.1 is the toolkit's stub, not a real NVIDIA driver",
                    CuResult.ErrorInvalidDevice => "no usable GPU (check CUDA_VISIBLE_DEVICES)",
                    _ => DriverCheck.Text(r),
                };
                return new(false, $"cuInit: {DriverCheck.Name(r)} ({why}); use Device.Cpu on this machine.", 0);
            }
            int n;
            r = NativeMethods.cuDeviceGetCount(&n);
            if (r != CuResult.Success) return new(false, DriverCheck.Describe(r, "cuDeviceGetCount"), 0);
            if (n == 0) return new(false, "cuDeviceGetCount: 0 devices (no CUDA-capable GPU); use Device.Cpu on this machine.", 0);
            return new(true, null, n);
        }
        catch (Exception e)
        {
            return new(false, $"the CUDA driver could not be probed: {e.GetType().Name}: {e.Message}", 0);
        }
    }
}

/// <summary>One GPU: its context, compute stream, allocator and compiled kernels.</summary>
public sealed unsafe partial class CudaDevice
{
    readonly PrimaryContextHandle _context;
    readonly StreamHandle _stream;
    readonly object _kernelGate = new();
    readonly Dictionary<string, CuModuleHandle> _modules = new(StringComparer.Ordinal);
    readonly ConcurrentDictionary<string, nint> _functions = new(StringComparer.Ordinal);
    readonly Staging _staging;

    // The context current on this thread: cuCtxSetCurrent only when it changes.
    [ThreadStatic] static nint t_current;

    /// <summary>Ordinal of the device.</summary>
    public int Index { get; }

    /// <summary>The engine's device value for this GPU.</summary>
    public Device Device => Device.Cuda(Index);

    /// <summary>The GPU's name ("NVIDIA H100 80GB HBM3").</summary>
    public string Name { get; }

    /// <summary>Compute capability as major*10+minor (90 for Hopper): the sm_XY kernels are built for.</summary>
    public int Arch { get; }

    /// <summary>The caching allocator behind <see cref="Allocate"/>/<see cref="Free"/>.</summary>
    public CachingAllocator Allocator { get; }

    internal CudaDevice(int index)
    {
        Index = index;
        int dev, major, minor;
        DriverCheck.Check(NativeMethods.cuDeviceGet(&dev, index), $"cuDeviceGet({index})");
        DriverCheck.Check(NativeMethods.cuDeviceGetAttribute(&major, CuDeviceAttribute.ComputeCapabilityMajor, dev), "cuDeviceGetAttribute(COMPUTE_CAPABILITY_MAJOR)");
        DriverCheck.Check(NativeMethods.cuDeviceGetAttribute(&minor, CuDeviceAttribute.ComputeCapabilityMinor, dev), "cuDeviceGetAttribute(COMPUTE_CAPABILITY_MINOR)");
        Arch = major * 10 + minor;
        var name = stackalloc byte[256];
        DriverCheck.Check(NativeMethods.cuDeviceGetName(name, 256, dev), "cuDeviceGetName");
        Name = Marshal.PtrToStringUTF8((nint)name) ?? $"cuda:{index}";
        _context = PrimaryContextHandle.Retain(dev);
        MakeCurrent();
        _stream = StreamHandle.Create();
        Allocator = new CachingAllocator(new DriverMemory(this), Device.ToString());
        _staging = new Staging(this);
    }

    /// <summary>Makes this device's primary context current on the calling thread (every entry point does this).</summary>
    public void MakeCurrent()
    {
        nint c = _context.DangerousGetHandle();
        if (t_current == c) return;
        DriverCheck.Check(NativeMethods.cuCtxSetCurrent(c), $"cuCtxSetCurrent(cuda:{Index})");
        t_current = c;
    }

    /// <summary>Allocates <paramref name="bytes"/> of device memory from the caching allocator (stream-ordered on the compute stream).</summary>
    public ulong Allocate(long bytes)
    {
        MakeCurrent();
        return Allocator.Allocate(bytes);
    }

    /// <summary>Returns a block from <see cref="Allocate"/> to the allocator's cache.</summary>
    public void Free(ulong ptr, long bytes) => Allocator.Free(ptr);

    /// <summary>Frees a block later, from any thread (finalizers): no lock, no CUDA call here.</summary>
    internal void FreeDeferred(ulong ptr) => Allocator.FreeDeferred(ptr);

    /// <summary>Waits for the compute stream, then returns every cached block with no live tensor to the driver, the libraries' workspace included (the next call that needs one takes what it needs); throws a failed device-side input check, as <see cref="Synchronize"/>.</summary>
    public void EmptyCache()
    {
        WaitForStream();
        ReleaseWorkspace();
        Allocator.EmptyCache();
        ReportChecks();
    }

    /// <summary>The allocator's counters.</summary>
    public AllocatorStatistics MemoryStatistics => Allocator.Statistics;

    long _totalMemoryBytes;

    /// <summary>The device's memory in bytes (cuMemGetInfo's total; asked once).</summary>
    public long TotalMemoryBytes => _totalMemoryBytes != 0 ? _totalMemoryBytes : (_totalMemoryBytes = new DriverMemory(this).Info().Total);

    /// <summary>Launches kernel <paramref name="kernel"/> (an <c>extern "C" __global__</c> name from native/cuda/*.cu, compiled on first use) on the compute stream. <paramref name="args"/> points at one pointer per kernel parameter, each pointing at the argument's value (cuLaunchKernel's kernelParams).</summary>
    public void Launch(string kernel, Dim3 grid, Dim3 block, uint sharedBytes, void** args)
    {
        MakeCurrent();
        var f = Function(kernel);
        DriverCheck.Check(NativeMethods.cuLaunchKernel(f, grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z, sharedBytes, Stream, args, null),
            $"cuLaunchKernel({kernel}, grid ({grid.X},{grid.Y},{grid.Z}), block ({block.X},{block.Y},{block.Z}), shared {sharedBytes} B)");
    }

    /// <summary>The CUfunction of <paramref name="kernel"/>, loading (and if needed compiling) the file that defines it.</summary>
    public nint Function(string kernel)
    {
        if (_functions.TryGetValue(kernel, out var f)) return f;
        lock (_kernelGate)
        {
            if (_functions.TryGetValue(kernel, out f)) return f;
            MakeCurrent();
            var files = KernelSources.CandidateFiles(kernel);
            foreach (var file in files)
            {
                if (!_modules.TryGetValue(file, out var module))
                    _modules[file] = module = CuModuleHandle.Load(KernelCache.Get(file, Arch).Bytes, $"{file} for sm_{Arch}");
                var r = NativeMethods.cuModuleGetFunction(&f, module.DangerousGetHandle(), kernel);
                if (r == CuResult.Success) return _functions[kernel] = f;
                if (r != CuResult.ErrorNotFound) DriverCheck.Check(r, $"cuModuleGetFunction({kernel}) in {file}");
            }
            throw new CudaException($"No kernel named '{kernel}' in the embedded native/cuda files ({string.Join(", ", files)}); a kernel is an extern \"C\" __global__ function.");
        }
    }

    /// <summary>Copies host memory to the device (ordered on the compute stream; returns once the source may be reused).</summary>
    public void CopyToDevice(ulong dst, void* src, long bytes)
    {
        if (bytes <= 0) return;
        MakeCurrent();
        _staging.ToDevice(dst, (byte*)src, bytes);
    }

    /// <summary>Copies device memory to the host; returns when the data has arrived. Then throws a failed device-side input check, as <see cref="Synchronize"/>.</summary>
    public void CopyToHost(void* dst, ulong src, long bytes)
    {
        if (bytes <= 0) return;
        MakeCurrent();
        Interlocked.Increment(ref _hostWaits);
        _staging.ToHost((byte*)dst, src, bytes);
        ReportChecks();
    }

    /// <summary>Device-to-device copy on the compute stream.</summary>
    public void CopyOnDevice(ulong dst, ulong src, long bytes)
    {
        if (bytes <= 0) return;
        MakeCurrent();
        DriverCheck.Check(NativeMethods.cuMemcpyDtoDAsync(dst, src, (nuint)bytes, Stream), $"cuMemcpyDtoDAsync({bytes} B)");
    }

    /// <summary>Fills <paramref name="bytes"/> bytes at <paramref name="dst"/> with zero on the compute stream.</summary>
    public void Zero(ulong dst, long bytes)
    {
        if (bytes <= 0) return;
        MakeCurrent();
        DriverCheck.Check(NativeMethods.cuMemsetD8Async(dst, 0, (nuint)bytes, Stream), $"cuMemsetD8Async({bytes} B)");
    }

    /// <summary>
    /// Waits until all work queued on the compute stream has finished, then reports the input checks kernels did on
    /// the device since the last synchronisation (labels, target ranges, indices): the first that failed is thrown
    /// here, with the exception type the CPU path throws at the call.
    /// </summary>
    public void Synchronize()
    {
        WaitForStream();
        ReportChecks();
    }

    /// <summary>The compute stream (CUstream), for cuBLAS/cuDNN to run on.</summary>
    public nint Stream => _stream.DangerousGetHandle();

    /// <inheritdoc/>
    public override string ToString() => $"cuda:{Index} ({Name}, sm_{Arch})";

    // cuMemAlloc/cuMemFree/cuMemGetInfo for the allocator.
    sealed class DriverMemory(CudaDevice device) : IDeviceMemory
    {
        public bool TryAllocate(long bytes, out ulong ptr)
        {
            device.MakeCurrent();
            ulong p;
            var r = NativeMethods.cuMemAlloc(&p, (nuint)bytes);
            ptr = p;
            if (r == CuResult.ErrorOutOfMemory) return false;
            DriverCheck.Check(r, $"cuMemAlloc({CachingAllocator.Format(bytes)})");
            return true;
        }

        public void Free(ulong ptr)
        {
            // Cached blocks may still be read by queued work: let the stream drain first (checks stay pending:
            // the allocator must not be left half-way by a throw).
            device.WaitForStream();
            DriverCheck.Check(NativeMethods.cuMemFree(ptr), "cuMemFree");
        }

        public (long Free, long Total) Info()
        {
            device.MakeCurrent();
            nuint free, total;
            DriverCheck.Check(NativeMethods.cuMemGetInfo(&free, &total), "cuMemGetInfo");
            return ((long)free, (long)total);
        }
    }

    // Host<->device transfers through two pinned chunks, so the host-side memcpy of one chunk
    // overlaps the DMA of the other; an event per chunk says when it may be reused. Uploads take the
    // chunks in turn across calls: restarting at chunk 0 made a batch's labels wait for its features'
    // copy, queued behind the whole previous step - a host stall per batch in `train --device cuda`.
    sealed class Staging(CudaDevice device)
    {
        const long Chunk = 4L << 20;
        readonly PinnedBuffer?[] _buf = new PinnedBuffer?[2];
        readonly EventHandle?[] _done = new EventHandle?[2];
        readonly bool[] _pending = new bool[2];
        readonly object _gate = new();
        int _next;   // the chunk the next upload starts with

        /// <summary>After a stream wait: every chunk's copy has finished, so none needs waiting for.</summary>
        public void StreamDrained()
        {
            lock (_gate) _pending[0] = _pending[1] = false;
        }

        byte* Buffer(int k)
        {
            _buf[k] ??= new PinnedBuffer(Chunk);
            _done[k] ??= EventHandle.Create(timing: false);
            return (byte*)_buf[k]!.Pointer;
        }

        void Wait(int k)
        {
            if (!_pending[k]) return;
            DriverCheck.Check(NativeMethods.cuEventSynchronize(_done[k]!.DangerousGetHandle()), "cuEventSynchronize(staging)");
            _pending[k] = false;
        }

        void Mark(int k)
        {
            DriverCheck.Check(NativeMethods.cuEventRecord(_done[k]!.DangerousGetHandle(), device.Stream), "cuEventRecord(staging)");
            _pending[k] = true;
        }

        public void ToDevice(ulong dst, byte* src, long bytes)
        {
            lock (_gate)
            {
                for (long off = 0; off < bytes; off += Chunk)
                {
                    int k = _next;
                    _next ^= 1;
                    long n = Math.Min(Chunk, bytes - off);
                    byte* b = Buffer(k);
                    if (_pending[k]) Interlocked.Increment(ref device._hostWaits);   // the buffer's last copy may still be queued
                    Wait(k);
                    System.Buffer.MemoryCopy(src + off, b, n, n);
                    DriverCheck.Check(NativeMethods.cuMemcpyHtoDAsync(dst + (ulong)off, b, (nuint)n, device.Stream), $"cuMemcpyHtoDAsync({n} B)");
                    Mark(k);
                }
            }
        }

        public void ToHost(byte* dst, ulong src, long bytes)
        {
            lock (_gate)
            {
                long chunks = (bytes + Chunk - 1) / Chunk;
                for (long i = 0; i <= chunks; i++)
                {
                    if (i < chunks)
                    {
                        int k = (int)(i & 1);
                        long off = i * Chunk, n = Math.Min(Chunk, bytes - off);
                        byte* b = Buffer(k);
                        Wait(k);
                        DriverCheck.Check(NativeMethods.cuMemcpyDtoHAsync(b, src + (ulong)off, (nuint)n, device.Stream), $"cuMemcpyDtoHAsync({n} B)");
                        Mark(k);
                    }
                    if (i > 0)
                    {
                        // Chunk i-1 is copied out while chunk i is in flight.
                        int k = (int)((i - 1) & 1);
                        long off = (i - 1) * Chunk, n = Math.Min(Chunk, bytes - off);
                        Wait(k);
                        System.Buffer.MemoryCopy(Buffer(k), dst + off, n, n);
                    }
                }
            }
        }
    }
}

/// <summary>A CUDA, NVRTC, cuBLAS or cuDNN call failed, or CUDA is unavailable; the message names the call and the error.</summary>
public sealed class CudaException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CudaException(string message, Exception? inner = null) : base(message, inner) { }

    /// <summary>True when the device could not hold an allocation even after the allocator emptied its cache.</summary>
    public bool IsOutOfMemory { get; init; }
}
