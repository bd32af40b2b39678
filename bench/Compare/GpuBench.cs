// What the GPU comparisons (gpu-gemm, gpu-train) share: the "no GPU" exit, CUDA-event timing on the engine's
// compute stream, and device memory in use. The few driver calls bind libcuda.so.1 directly (the driver's soname
// is fixed), so the bench needs nothing from the engine's resolver for them.
using System.Runtime.InteropServices;
using Cochlea.Cuda;

namespace Cochlea.Bench.Compare;

/// <summary>No usable GPU: the runner prints "no GPU: &lt;message&gt;" and exits non-zero.</summary>
public sealed class NoGpuException(string reason) : Exception(reason);

public static unsafe partial class GpuBench
{
    /// <summary>cuda:0, or throws <see cref="NoGpuException"/> with the backend's reason.</summary>
    public static CudaDevice RequireGpu()
    {
        bool ok;
        string? why;
        try { ok = CudaBackend.IsAvailable; why = CudaBackend.UnavailableReason; }
        catch (NotImplementedException) { ok = false; why = "the CUDA runtime (CudaBackend) is not implemented in this build"; }
        if (!ok) throw new NoGpuException(why ?? "CUDA is unavailable");
        return CudaBackend.Get(0);
    }

    const string Driver = "libcuda.so.1";
    [LibraryImport(Driver, EntryPoint = "cuEventCreate")] private static partial int EventCreate(nint* ev, uint flags);
    [LibraryImport(Driver, EntryPoint = "cuEventRecord")] private static partial int EventRecord(nint ev, nint stream);
    [LibraryImport(Driver, EntryPoint = "cuEventSynchronize")] private static partial int EventSynchronize(nint ev);
    [LibraryImport(Driver, EntryPoint = "cuEventElapsedTime")] private static partial int EventElapsedTime(float* ms, nint start, nint end);
    [LibraryImport(Driver, EntryPoint = "cuEventDestroy_v2")] private static partial int EventDestroy(nint ev);
    [LibraryImport(Driver, EntryPoint = "cuMemGetInfo_v2")] private static partial int MemGetInfo(nuint* free, nuint* total);

    static void Check(int r, string call)
    {
        if (r != 0) throw new CudaException($"{call} failed: CUresult {r}.");
    }

    /// <summary>Seconds per call of <paramref name="body"/>, run <paramref name="reps"/> times between two CUDA events on the compute stream.</summary>
    public static double EventSeconds(CudaDevice dev, int reps, Action body)
    {
        nint start, end;
        Check(EventCreate(&start, 0), "cuEventCreate");
        Check(EventCreate(&end, 0), "cuEventCreate");
        try
        {
            Check(EventRecord(start, dev.Stream), "cuEventRecord");
            for (int i = 0; i < reps; i++) body();
            Check(EventRecord(end, dev.Stream), "cuEventRecord");
            Check(EventSynchronize(end), "cuEventSynchronize");
            float ms;
            Check(EventElapsedTime(&ms, start, end), "cuEventElapsedTime");
            return ms / 1e3 / reps;
        }
        finally { EventDestroy(start); EventDestroy(end); }
    }

    /// <summary>Device memory in use (total - free, MiB): the caching allocator's reserve plus library workspaces and the context.</summary>
    public static double UsedMiB()
    {
        nuint free, total;
        Check(MemGetInfo(&free, &total), "cuMemGetInfo_v2");
        return (total - free) / (1024.0 * 1024.0);
    }
}
